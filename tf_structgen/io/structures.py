"""Protein structures: reading Cα traces and writing threaded Cα models.

Parsing and writing go through Biopython (``PDBParser``/``MMCIFParser``,
``StructureBuilder`` + ``PDBIO``/``MMCIFIO``); this module only chooses what
to keep and turns every failure into a one-line :class:`InputError`.
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
from Bio.PDB import MMCIFIO, PDBIO, MMCIFParser, PDBParser
from Bio.PDB.Residue import DisorderedResidue
from Bio.PDB.StructureBuilder import StructureBuilder

from tf_structgen.common import residue_constants as rc
from tf_structgen.common.atomic import atomic_write
from tf_structgen.common.errors import InputError
from tf_structgen.io.input_files import one_line, read_text

logger = logging.getLogger(__name__)

_PDB_SUFFIXES = (".pdb", ".ent")
_CIF_SUFFIXES = (".cif", ".mmcif")
# Readable structure file suffixes (gzip is detected from the content).
STRUCTURE_SUFFIXES = tuple(s + gz for s in _PDB_SUFFIXES + _CIF_SUFFIXES
                           for gz in ("", ".gz"))
_PDB_MAX_RESIDUE_NUMBER = 9999
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
      sequence: the target sequence (n one-letter codes).
      xyz: ``[n, 3]`` Cα coordinates; all-NaN rows for unassigned positions.
      confidence: ``[n]`` assignment probabilities in [0, 1].
    """

    id: str
    sequence: str
    xyz: np.ndarray
    confidence: np.ndarray


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


def write_threaded_model(chains: Sequence[ThreadedChain],
                         path: str | os.PathLike) -> None:
    """Writes a Cα model (``docs/formats.md`` §4) as ``.pdb``, ``.cif``/``.mmcif``.

    One CA atom (element C) per assigned position; residue name from the
    sequence (UNK for non-standard letters); residue number = 1-based
    sequence position; one chain per record; B-factor = 100 × confidence.
    The file is written atomically. In mmCIF the position is the author
    number (``auth_seq_id``, what Biopython, PyMOL and ChimeraX show);
    Biopython's MMCIFIO numbers ``label_seq_id`` consecutively per chain.
    Chains without any assigned position are left out of the file.

    Raises:
      InputError: for an unknown extension, repeated or (for PDB) too long
        chain ids, inconsistent arrays, confidences outside [0, 1], or an
        output directory that is missing or not writable.
    """
    path = Path(path)
    fmt = _structure_format(path, _PDB_SUFFIXES + _CIF_SUFFIXES)
    ids = [c.id for c in chains]
    repeated = sorted({i for i in ids if ids.count(i) > 1})
    if repeated:
        raise InputError(f"{path}: repeated chain id(s) {', '.join(repeated)}")
    builder = StructureBuilder()
    builder.init_structure("tf_structgen")
    builder.init_model(0)
    serial = 1
    for chain in chains:
        positions = _assigned_positions(chain, fmt, path)
        builder.init_chain(chain.id)
        builder.init_seg("    ")
        for t in positions.tolist():
            builder.init_residue(rc.one_to_three(chain.sequence[t]), " ",
                                 t + 1, " ")
            builder.init_atom("CA", np.asarray(chain.xyz[t], dtype=np.float32),
                              100.0 * float(chain.confidence[t]), 1.0, " ",
                              " CA ", serial_number=serial, element="C")
            serial += 1
    writer = PDBIO() if fmt == "pdb" else MMCIFIO()
    writer.set_structure(builder.get_structure())
    with atomic_write(path) as f:
        writer.save(f)
    logger.info("Wrote %d CA atoms in %d chain(s) to %s", serial - 1,
                len(chains), path)
