"""Protein structures: reading Cα traces and writing threaded Cα models.

Parsing goes through Biopython (``PDBParser``/``MMCIFParser``), and so does
PDB output (``StructureBuilder`` + ``PDBIO``). mmCIF output is written here:
Biopython's ``MMCIFIO`` has no ``_entity``, ``_entity_poly``,
``_entity_poly_seq`` or ``_struct_asym``, which refinement programs and
viewers need to tell the copies of one entity apart from other entities.
Every failure becomes a one-line :class:`InputError`.
"""

from __future__ import annotations

import dataclasses
import io
import logging
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from Bio.Data.PDBData import protein_letters_3to1_extended
from Bio.PDB import PDBIO, MMCIFParser, PDBParser
from Bio.PDB.Residue import DisorderedResidue
from Bio.PDB.StructureBuilder import StructureBuilder

from tf_structgen.common import residue_constants as rc
from tf_structgen.common.atomic import atomic_write
from tf_structgen.common.errors import InputError
from tf_structgen.io.input_files import one_line, read_text
from tf_structgen.io.sequences import CHAIN_ID_ALPHABET

logger = logging.getLogger(__name__)

_PDB_SUFFIXES = (".pdb", ".ent")
_CIF_SUFFIXES = (".cif", ".mmcif")
# Readable structure file suffixes (gzip is detected from the content).
STRUCTURE_SUFFIXES = tuple(s + gz for s in _PDB_SUFFIXES + _CIF_SUFFIXES
                           for gz in ("", ".gz"))
_PDB_MAX_RESIDUE_NUMBER = 9999
# Single-character chain ids: A..Z, a..z, 0..9 (62).
PDB_MAX_CHAINS = len(CHAIN_ID_ALPHABET)
_FORMAT_NAMES = {"pdb": "PDB", "cif": "mmCIF"}


@dataclasses.dataclass(frozen=True)
class ChainRecord:
    """The observed Cα trace of one protein chain.

    Attributes:
      id: author chain id.
      sequence: observed one-letter sequence, one letter per residue with a
        CA atom ('X' for unknown residues).
      ca_xyz: ``[n, 3]`` float32 Cα coordinates.
      residue_numbers: ``[n]`` int author residue numbers (insertion codes
        are dropped).
    """

    id: str
    sequence: str
    ca_xyz: np.ndarray
    residue_numbers: np.ndarray


@dataclasses.dataclass(frozen=True)
class ThreadedChain:
    """One chain of a threaded model, one row per sequence position.

    Attributes:
      id: chain id written to the file.
      sequence: the target sequence (n one-letter codes), the entity's full
        sequence.
      xyz: ``[n, 3]`` Cα coordinates; all-NaN rows for unassigned positions.
      confidence: ``[n]`` assignment probabilities in [0, 1].
      entity: entity key (e.g. the FASTA record id): chains with the same
        key are copies of one entity and must have the same sequence. Empty:
        the chain is an entity of its own.
    """

    id: str
    sequence: str
    xyz: np.ndarray
    confidence: np.ndarray
    entity: str = ""


def _structure_format(path: Path, suffixes=STRUCTURE_SUFFIXES) -> str:
    """Returns "pdb" or "cif" from the extension of ``path``."""
    name = path.name.lower()
    if name.endswith(suffixes):
        return "pdb" if name.removesuffix(".gz").endswith(_PDB_SUFFIXES) else "cif"
    raise InputError(f"{path}: unknown structure file extension; expected one "
                     f"of {', '.join(suffixes)}")


def _is_amino_acid(resname: str) -> bool:
    return (resname == "UNK" or rc.three_to_one(resname) != "X"
            or resname in protein_letters_3to1_extended)


def _one_letter(resname: str) -> str:
    letter = rc.three_to_one(resname)
    if letter == "X":
        letter = protein_letters_3to1_extended.get(resname, "X")
    return letter


def _first_model(path: Path):
    """Parses ``path`` with Biopython and returns its first model."""
    fmt = _structure_format(path)
    text = read_text(path)
    parser = (PDBParser(QUIET=True) if fmt == "pdb"
              else MMCIFParser(QUIET=True))
    try:
        structure = parser.get_structure(path.name, io.StringIO(text))
    except Exception as e:  # noqa: BLE001 - Biopython raises many types.
        raise InputError(f"{path}: cannot parse as {_FORMAT_NAMES[fmt]} "
                         f"({one_line(e)})") from None
    model = next(iter(structure), None)
    if model is None:
        raise InputError(f"{path}: no atoms found (not a {_FORMAT_NAMES[fmt]} "
                         f"file?)")
    return model


def _protein_ca(residue):
    """Returns (one-letter code, CA atom) of an amino-acid residue, else None.

    Waters, ligands and nucleotides are skipped; for alternate locations the
    first residue variant and the first CA altloc are kept.
    """
    if isinstance(residue, DisorderedResidue):
        residue = residue.disordered_get_list()[0]
    resname = residue.get_resname().strip().upper()
    if residue.id[0] == "W" or not _is_amino_acid(resname):
        return None
    atom = residue.child_dict.get("CA")
    if atom is None:
        return None
    if atom.is_disordered():
        atom = atom.disordered_get_list()[0]
    return _one_letter(resname), atom


def structure_files(spec: str) -> list[Path]:
    """A PDB/mmCIF file, a directory of them, or a glob -> their paths."""
    from tf_structgen.io.input_files import expand_paths

    return expand_paths(spec, STRUCTURE_SUFFIXES, "PDB/mmCIF")


_LINKED_CA = 4.5  # Å: a HETATM amino acid this close to a chain residue's CA is part of it


def _linked(residues: list) -> list:
    """Drops HETATM amino acids that are not part of the polymer.

    Modified residues (MSE, ...) are HETATM records inside the chain; free
    amino acids bound as ligands (a GLY in a pocket) are HETATM records
    too, after the polymer. A HETATM residue is kept when its CA is within
    ``_LINKED_CA`` of the CA of a kept neighbour in file order (chains of
    modified residues are followed). A chain with no ATOM residue keeps
    all of them (a peptide given as HETATM).
    """
    hetero = np.array([a.get_parent().id[0].startswith("H_") for _, a in residues], bool)
    if not hetero.any() or hetero.all():
        return residues
    xyz = np.array([a.coord for _, a in residues], dtype=np.float64)
    keep = ~hetero
    with np.errstate(invalid="ignore", over="ignore"):
        step = np.linalg.norm(xyz[1:] - xyz[:-1], axis=1) <= _LINKED_CA
    changed = True
    while changed:
        grow = keep.copy()
        grow[1:] |= keep[:-1] & step
        grow[:-1] |= keep[1:] & step
        changed = bool((grow != keep).any())
        keep = grow
    return [r for r, k in zip(residues, keep) if k]


def read_structure_chains(path: str | os.PathLike) -> list[ChainRecord]:
    """Reads the Cα trace of every protein chain in the first model.

    Args:
      path: a ``.pdb``/``.ent``/``.cif``/``.mmcif`` file, optionally gzipped.

    Returns:
      One ChainRecord per chain with at least one amino-acid residue that has
      a CA atom, in file order.

    Raises:
      InputError: if the file is missing, unreadable, malformed, or has no
        protein chain.
    """
    path = Path(path)
    chains = []
    for chain in _first_model(path):
        try:
            residues = [r for r in map(_protein_ca, chain) if r is not None]
        except Exception as e:  # noqa: BLE001 - Biopython's lazy errors, e.g.
            # a multi-character altloc only fails when the altlocs are sorted.
            raise InputError(f"{path}: cannot read chain {chain.id!r} "
                             f"({one_line(e)})") from None
        residues = _linked(residues)
        if not residues:
            continue
        with np.errstate(over="ignore"):
            ca_xyz = np.array([a.coord for _, a in residues], dtype=np.float32)
        finite = np.isfinite(ca_xyz).all(axis=1)
        if not finite.all():
            atom = residues[int(np.flatnonzero(~finite)[0])][1]
            raise InputError(f"{path}: chain {chain.id!r} residue "
                             f"{atom.get_parent().id[1]}: CA coordinates are "
                             f"NaN, infinite or too large")
        chains.append(ChainRecord(
            id=chain.id,
            sequence="".join(letter for letter, _ in residues),
            ca_xyz=ca_xyz,
            residue_numbers=np.array(
                [a.get_parent().id[1] for _, a in residues], dtype=np.int64)))
    if not chains:
        raise InputError(f"{path}: no protein chain (no amino-acid residue "
                         f"with a CA atom) in the first model")
    logger.info("Read %d protein chain(s) from %s", len(chains), path)
    return chains


def _assigned_positions(chain: ThreadedChain, fmt: str, path: Path
                        ) -> np.ndarray:
    """Validates ``chain`` and returns the indices of its assigned positions."""
    where = f"{path}: chain {chain.id!r}"
    if not chain.id or (fmt == "pdb" and len(chain.id) != 1):
        raise InputError(f"{where}: PDB chain ids must be one character; "
                         f"write .cif for longer ids")
    if fmt == "cif" and (_cif_value(chain.id) != chain.id or "," in chain.id):
        raise InputError(f"{where}: not a valid mmCIF chain id (use letters "
                         f"and digits)")
    n = len(chain.sequence)
    xyz = np.asarray(chain.xyz, dtype=np.float64)
    confidence = np.asarray(chain.confidence, dtype=np.float64)
    if xyz.shape != (n, 3) or confidence.shape != (n,):
        raise InputError(f"{where}: expected xyz [{n}, 3] and confidence "
                         f"[{n}] for a sequence of length {n}, got "
                         f"{xyz.shape} and {confidence.shape}")
    finite = np.isfinite(xyz)
    assigned = finite.all(axis=1)
    if (finite.any(axis=1) != assigned).any():
        raise InputError(f"{where}: xyz rows must be all finite (assigned) "
                         f"or all NaN (unassigned)")
    conf = confidence[assigned]
    if not (np.isfinite(conf).all() and (conf >= 0).all()
            and (conf <= 1).all()):
        raise InputError(f"{where}: confidence must be in [0, 1]")
    positions = np.flatnonzero(assigned)
    if fmt == "pdb" and positions.size and (
            positions[-1] + 1 > _PDB_MAX_RESIDUE_NUMBER):
        raise InputError(f"{where}: residue number {positions[-1] + 1} does "
                         f"not fit the PDB format; write .cif instead")
    return positions


def _entities(chains: Sequence[ThreadedChain], path: Path
              ) -> list[list[ThreadedChain]]:
    """Chains grouped by entity key, in order of first appearance; a chain
    without key is a group of its own."""
    groups: dict[tuple, list[ThreadedChain]] = {}
    for k, chain in enumerate(chains):
        key = ("entity", chain.entity) if chain.entity else ("chain", k)
        group = groups.setdefault(key, [])
        if group and group[0].sequence != chain.sequence:
            raise InputError(f"{path}: chains {group[0].id!r} and {chain.id!r} "
                             f"of entity {chain.entity!r} have different "
                             f"sequences")
        group.append(chain)
    return list(groups.values())


def _cif_value(value: str) -> str:
    """A CIF 1.1 token for ``value`` (bare when safe, else quoted)."""
    if not value:
        return "?"
    bare = (not any(c.isspace() for c in value)
            and value[0] not in "_#$'\"[];"
            and value not in (".", "?")
            and not value.lower().startswith(("data_", "save_"))
            and value.lower() not in ("loop_", "stop_", "global_"))
    if bare:
        return value
    if "\n" not in value:
        for quote in "'\"":
            # Inside quotes, a quote followed by white space ends the value.
            if not any(value[i] == quote and value[i + 1].isspace()
                       for i in range(len(value) - 1)) and not value.endswith(quote):
                return f"{quote}{value}{quote}"
    return f"\n;{value}\n;"


def _cif_loop(f, category: str, keys: Sequence[str], rows) -> None:
    f.write("loop_\n")
    for key in keys:
        f.write(f"_{category}.{key}\n")
    for row in rows:
        # Text fields ("\n;...\n;") start on their own line.
        f.write(" ".join(row).replace(" \n;", "\n;") + "\n")
    f.write("#\n")


def _one_letter_code(sequence: str, width: int = 80) -> str:
    """pdbx_seq_one_letter_code: X for non-standard letters (their residues
    are UNK), as a text field of lines of ``width`` letters."""
    letters = "".join(c if c in rc.ALPHABET else "X" for c in sequence)
    lines = [letters[i:i + width] for i in range(0, len(letters), width)]
    return "\n;" + "\n".join(lines) + "\n;"


def _write_mmcif(f, written: Sequence[tuple[ThreadedChain, np.ndarray]],
                 groups: Sequence[Sequence[ThreadedChain]]) -> int:
    """Writes the model as mmCIF; returns the number of atoms.

    Args:
      f: the open text file.
      written: (chain, assigned positions) of the chains with atoms.
      groups: all chains, grouped by entity.
    """
    present = {id(chain) for chain, _ in written}
    entities = []  # (entity id, description, sequence, chain ids)
    entity_of = {}  # id(chain) -> entity id
    for group in groups:
        copies = [c for c in group if id(c) in present]
        if not copies:
            continue
        entity_id = str(len(entities) + 1)
        entities.append((entity_id, copies[0].entity or copies[0].id,
                         copies[0].sequence, [c.id for c in copies]))
        entity_of.update({id(c): entity_id for c in copies})
    f.write("data_tf_structgen\n#\n_entry.id tf_structgen\n#\n")
    if not entities:
        return 0
    _cif_loop(f, "entity", ("id", "type", "pdbx_description",
                            "pdbx_number_of_molecules"),
              ([e, "polymer", _cif_value(name), str(len(ids))]
               for e, name, _, ids in entities))
    _cif_loop(f, "entity_poly", ("entity_id", "type", "nstd_linkage",
                                 "nstd_monomer", "pdbx_strand_id",
                                 "pdbx_seq_one_letter_code",
                                 "pdbx_seq_one_letter_code_can"),
              # Non-standard letters are written as UNK, so no monomer is
              # non-standard.
              ([e, "polypeptide(L)", "no", "no",
                _cif_value(",".join(ids)), _one_letter_code(seq),
                _one_letter_code(seq)]
               for e, _, seq, ids in entities))
    _cif_loop(f, "entity_poly_seq", ("entity_id", "num", "mon_id", "hetero"),
              ([e, str(t + 1), rc.one_to_three(letter), "n"]
               for e, _, seq, _ in entities
               for t, letter in enumerate(seq)))
    _cif_loop(f, "struct_asym", ("id", "pdbx_blank_PDB_chainid_flag",
                                 "pdbx_modified", "entity_id"),
              ([chain.id, "N", "N", entity_of[id(chain)]]
               for chain, _ in written))
    rows = []
    for chain, positions in written:
        entity_id = entity_of[id(chain)]
        for t in positions.tolist():
            x, y, z = (float(v) for v in np.asarray(chain.xyz[t], np.float32))
            name, number = rc.one_to_three(chain.sequence[t]), str(t + 1)
            rows.append(["ATOM", str(len(rows) + 1), "C", "CA", ".", name,
                         chain.id, entity_id, number, "?", f"{x:.3f}",
                         f"{y:.3f}", f"{z:.3f}", "1.00",
                         f"{100.0 * float(chain.confidence[t]):.2f}", "?",
                         number, name, chain.id, "CA", "1"])
    _cif_loop(f, "atom_site", (
        "group_PDB", "id", "type_symbol", "label_atom_id", "label_alt_id",
        "label_comp_id", "label_asym_id", "label_entity_id", "label_seq_id",
        "pdbx_PDB_ins_code", "Cartn_x", "Cartn_y", "Cartn_z", "occupancy",
        "B_iso_or_equiv", "pdbx_formal_charge", "auth_seq_id", "auth_comp_id",
        "auth_asym_id", "auth_atom_id", "pdbx_PDB_model_num"), rows)
    return len(rows)


def _write_pdb(f, written: Sequence[tuple[ThreadedChain, np.ndarray]]) -> int:
    """Writes the model with Biopython's PDBIO; returns the number of atoms."""
    builder = StructureBuilder()
    builder.init_structure("tf_structgen")
    builder.init_model(0)
    serial = 1
    for chain, positions in written:
        builder.init_chain(chain.id)
        builder.init_seg("    ")
        for t in positions.tolist():
            builder.init_residue(rc.one_to_three(chain.sequence[t]), " ",
                                 t + 1, " ")
            builder.init_atom("CA", np.asarray(chain.xyz[t], dtype=np.float32),
                              100.0 * float(chain.confidence[t]), 1.0, " ",
                              " CA ", serial_number=serial, element="C")
            serial += 1
    writer = PDBIO()
    writer.set_structure(builder.get_structure())
    writer.save(f)
    return serial - 1


def write_threaded_model(chains: Sequence[ThreadedChain],
                         path: str | os.PathLike) -> None:
    """Writes a Cα model (``docs/formats.md`` §4) as ``.pdb``, ``.cif``/``.mmcif``.

    One CA atom (element C) per assigned position; residue name from the
    sequence (UNK for non-standard letters); residue number = 1-based
    sequence position; one chain per copy; B-factor = 100 × confidence,
    two decimals. Chains without any assigned position are left out of the
    file. The file is written atomically, and nothing is written when an
    argument is invalid.

    mmCIF also describes the entities: ``_entity`` (one polymer per entity
    key, see :class:`ThreadedChain`), ``_entity_poly`` (type
    ``polypeptide(L)``, the full sequence, the copies' chain ids as strand
    ids), ``_entity_poly_seq`` (every residue of the full sequence,
    unmodelled ones included), ``_struct_asym`` (each chain's entity), and in
    ``_atom_site`` the ``label_entity_id``; ``label_seq_id`` and
    ``auth_seq_id`` are both the sequence position, and label and author
    chain ids are the chain id.

    Raises:
      InputError: for an unknown extension, repeated or (for PDB) too long
        chain ids, more than 62 chains in a PDB file, copies of one entity
        with different sequences, inconsistent arrays, confidences outside
        [0, 1], or an output directory that is missing or not writable.
    """
    path = Path(path)
    fmt = _structure_format(path, _PDB_SUFFIXES + _CIF_SUFFIXES)
    if fmt == "pdb" and len(chains) > PDB_MAX_CHAINS:
        raise InputError(f"{path}: {len(chains)} chains do not fit the PDB "
                         f"format (at most {PDB_MAX_CHAINS} one-character "
                         f"chain ids); write mmCIF (.cif) instead")
    ids = [c.id for c in chains]
    repeated = sorted({i for i in ids if ids.count(i) > 1})
    if repeated:
        raise InputError(f"{path}: repeated chain id(s) {', '.join(repeated)}")
    groups = _entities(chains, path)
    written = []
    for chain in chains:
        positions = _assigned_positions(chain, fmt, path)
        if positions.size:
            written.append((chain, positions))
    with atomic_write(path) as f:
        atoms = (_write_pdb(f, written) if fmt == "pdb"
                 else _write_mmcif(f, written, groups))
    logger.info("Wrote %d CA atoms in %d chain(s) to %s", atoms, len(written),
                path)
