"""Candidate sets: m unordered Cα positions with 20-way amino-acid probabilities.

Reads and writes the formats of ``docs/formats.md`` §1 (JSON, JSON.gz, NPZ,
CSV, TSV; PDB/mmCIF read-only). Whatever the format, the arrays go through
:func:`validate_candidates`, so every file gets the same checks and messages.
"""

from __future__ import annotations

import csv
import dataclasses
import gzip
import io
import json
import logging
import os
from pathlib import Path

import numpy as np

from tf_structgen.common import residue_constants as rc
from tf_structgen.common.atomic import atomic_write
from tf_structgen.common.errors import InputError
from tf_structgen.io.input_files import (check_input_file, one_line, read_json,
                                         read_text)
from tf_structgen.io.sequences import checked_sequence
from tf_structgen.io.structures import STRUCTURE_SUFFIXES, read_structure_chains

logger = logging.getLogger(__name__)

_WRITE_FORMATS = {".json": "json", ".json.gz": "json", ".npz": "npz",
                  ".csv": "csv", ".tsv": "tsv"}
_READ_FORMATS = {**_WRITE_FORMATS, **dict.fromkeys(STRUCTURE_SUFFIXES,
                                                   "structure")}
_DELIMITERS = {"csv": ",", "tsv": "\t"}
_CSV_COLUMNS = ("x", "y", "z") + tuple(rc.ALPHABET)
_ID = "id"
# Every file-name ending read_candidates accepts.
CANDIDATE_SUFFIXES = tuple(_READ_FORMATS)


@dataclasses.dataclass(frozen=True)
class CandidateSet:
    """A validated candidate set (build it with :func:`validate_candidates`).

    Attributes:
      xyz: ``[num_nodes, 3]`` float32 Cα coordinates in ångström.
      aa_probs: ``[num_nodes, 20]`` float32 amino-acid probabilities in
        ``ALPHABET`` order, each row summing to 1.
      ids: optional node names, echoed back in outputs.
      sequence: optional target sequence stored in the file (cleaned).
    """

    xyz: np.ndarray
    aa_probs: np.ndarray
    ids: tuple[str, ...] | None = None
    sequence: str | None = None

    @property
    def num_nodes(self) -> int:
        """Number of candidate nodes m."""
        return int(self.xyz.shape[0])


def _format_of(path: Path, formats: dict[str, str]) -> str:
    name = path.name.lower()
    # Longest suffix first, so that ".json.gz" is not taken for ".gz".
    for suffix in sorted(formats, key=len, reverse=True):
        if name.endswith(suffix):
            return formats[suffix]
    raise InputError(f"{path}: unsupported candidate file extension; "
                     f"expected one of {', '.join(sorted(formats))}")


def _as_float_array(value, name: str, source) -> np.ndarray:
    # numpy would silently drop the imaginary part (NPZ can hold complex).
    if isinstance(value, np.ndarray) and np.iscomplexobj(value):
        raise InputError(f"{source}: {name} has complex numbers, expected "
                         f"real numbers")
    try:
        return np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise InputError(f"{source}: {name} is not a rectangular array of "
                         f"numbers") from None


def _first_row(mask: np.ndarray) -> int:
    """Index of the first row of a ``[m, k]`` bool mask with a True value."""
    return int(np.flatnonzero(mask.any(axis=1))[0])


def _check_no_duplicates(xyz: np.ndarray, source) -> None:
    """Raises if two rows of ``xyz`` are identical; O(m log m)."""
    order = np.lexsort(xyz.T[::-1])
    same = np.all(xyz[order[1:]] == xyz[order[:-1]], axis=1)
    if not same.any():
        return
    k = int(np.flatnonzero(same)[0])
    i, j = sorted((int(order[k]), int(order[k + 1])))
    x, y, z = xyz[i].tolist()
    raise InputError(f"{source}: duplicated nodes: nodes {i} and {j} are both "
                     f"at ({x:g}, {y:g}, {z:g}); {int(same.sum())} node(s) "
                     f"repeat another node's coordinates")


def _clean_optional_sequence(sequence, source) -> str | None:
    if sequence is None:
        return None
    return checked_sequence(sequence, str(source))


def validate_candidates(xyz, aa_probs, ids=None, source="candidates", *,
                        sequence: str | None = None) -> CandidateSet:
    """Checks raw candidate arrays and returns them as a :class:`CandidateSet`.

    Every reader and :func:`write_candidates` go through this function.

    Args:
      xyz: ``[m, 3]`` array-like of coordinates.
      aa_probs: ``[m, 20]`` array-like of non-negative amino-acid scores;
        each row is renormalised to sum to 1.
      ids: optional m node names (converted to ``str``).
      source: file name, the prefix of error messages.
      sequence: optional target sequence; cleaned with ``clean_sequence``.

    Returns:
      A CandidateSet with float32 arrays.

    Raises:
      InputError: one line ``"<source>: <problem>"`` for a wrong shape,
        mismatched row counts, an empty set, NaN/inf values, a negative
        probability, an all-zero probability row, two nodes at identical
        coordinates, ids of the wrong length or an invalid sequence.
    """
    xyz = _as_float_array(xyz, "xyz", source)
    probs = _as_float_array(aa_probs, "aa_probs", source)
    if xyz.ndim >= 1 and xyz.shape[0] == 0:
        raise InputError(f"{source}: the candidate set is empty (no nodes)")
    if xyz.ndim != 2 or xyz.shape[1] != 3:
        raise InputError(f"{source}: xyz must have 3 columns (x, y, z), got "
                         f"an array of shape {xyz.shape}")
    if probs.ndim != 2 or probs.shape[1] != rc.NUM_AMINO_ACIDS:
        raise InputError(f"{source}: aa_probs must have {rc.NUM_AMINO_ACIDS} "
                         f"columns ({rc.ALPHABET}), got an array of shape "
                         f"{probs.shape}")
    m = xyz.shape[0]
    if probs.shape[0] != m:
        raise InputError(f"{source}: xyz has {m} rows but aa_probs has "
                         f"{probs.shape[0]}")
    with np.errstate(over="ignore"):
        xyz = xyz.astype(np.float32)
    if not np.isfinite(xyz).all():
        raise InputError(f"{source}: xyz has a NaN, infinite or too large "
                         f"value at node {_first_row(~np.isfinite(xyz))}")
    if not np.isfinite(probs).all():
        raise InputError(f"{source}: aa_probs has a NaN or infinite value at "
                         f"node {_first_row(~np.isfinite(probs))}")
    if (probs < 0).any():
        raise InputError(f"{source}: aa_probs has a negative value at node "
                         f"{_first_row(probs < 0)}")
    # Scale each row by its largest score first, so that huge scores (1e308)
    # cannot overflow the sum to inf and turn the row into zeros.
    peaks = probs.max(axis=1, keepdims=True)
    if (peaks == 0).any():
        raise InputError(f"{source}: aa_probs row of node "
                         f"{_first_row(peaks == 0)} is all zeros")
    probs = probs / peaks
    totals = probs.sum(axis=1, keepdims=True)
    if ids is not None:
        ids = tuple(str(i) for i in
                    np.asarray(ids, dtype=object).ravel().tolist())
        if len(ids) != m:
            raise InputError(f"{source}: {len(ids)} ids given for {m} nodes")
    _check_no_duplicates(xyz, source)
    return CandidateSet(xyz=xyz, aa_probs=(probs / totals).astype(np.float32),
                        ids=ids,
                        sequence=_clean_optional_sequence(sequence, source))


def _read_json(path: Path) -> CandidateSet:
    doc = read_json(path)
    if not isinstance(doc, dict) or "nodes" not in doc:
        raise InputError(f"{path}: missing key 'nodes' (expected {{\"nodes\": "
                         f"{{\"xyz\": [...], \"aa_probs\": [...]}}}})")
    nodes = doc["nodes"]
    if not isinstance(nodes, dict):
        raise InputError(f"{path}: 'nodes' must be an object with keys 'xyz' "
                         f"and 'aa_probs'")
    for key in ("xyz", "aa_probs"):
        if key not in nodes:
            raise InputError(f"{path}: missing key 'nodes.{key}'")
    return validate_candidates(nodes["xyz"], nodes["aa_probs"], nodes.get(_ID),
                               path, sequence=doc.get("sequence"))


def _read_npz(path: Path) -> CandidateSet:
    # Opened here, not by np.load, so that a file that cannot be read (no
    # permission, NFS root squash) is reported as such, not as a bad archive.
    try:
        handle = open(path, "rb")
    except OSError as e:
        raise InputError(f"{path}: cannot read file ({e.strerror})") from None
    try:
        with handle, np.load(handle, allow_pickle=False) as npz:
            if not isinstance(npz, np.lib.npyio.NpzFile):
                raise InputError(f"{path}: not an NPZ archive")
            missing = [k for k in ("xyz", "aa_probs") if k not in npz.files]
            if missing:
                raise InputError(
                    f"{path}: missing array(s) {', '.join(missing)} (found: "
                    f"{', '.join(npz.files) or 'none'})")
            arrays = {k: npz[k] for k in ("xyz", "aa_probs", _ID, "sequence")
                      if k in npz.files}
    except InputError:
        raise
    except Exception as e:  # noqa: BLE001 - numpy and zipfile raise many types.
        raise InputError(f"{path}: not a valid NPZ file ({one_line(e)})") from None
    sequence = arrays.get("sequence")
    if sequence is not None and sequence.ndim == 0:
        sequence = sequence.item()
    return validate_candidates(arrays["xyz"], arrays["aa_probs"],
                               arrays.get(_ID), path, sequence=sequence)


def _parse_numbers(path: Path, lines: list[int], cells: list[list[str]]
                   ) -> np.ndarray:
    """``[rows, columns]`` strings -> float64 array; names the first bad cell."""
    try:
        return np.asarray(cells, dtype=np.float64).reshape(
            len(cells), len(_CSV_COLUMNS))
    except ValueError:
        pass
    for line, row in zip(lines, cells):
        for name, cell in zip(_CSV_COLUMNS, row):
            try:
                float(cell)
            except ValueError:
                raise InputError(f"{path}: line {line}, column {name}: not a "
                                 f"number: {cell!r}") from None
    raise AssertionError("unreachable: numpy and float() disagree")


def _read_table(path: Path, delimiter: str) -> CandidateSet:
    reader = csv.reader(io.StringIO(read_text(path)), delimiter=delimiter,
                        strict=True)
    try:
        rows = [(reader.line_num, row) for row in reader if row]
    except csv.Error as e:
        raise InputError(f"{path}: line {reader.line_num}: malformed "
                         f"({one_line(e)})") from None
    if not rows:
        raise InputError(f"{path}: empty file, expected a header line "
                         f"{delimiter.join(_CSV_COLUMNS)}")
    header = [h.strip() for h in rows[0][1]]
    repeated = sorted({h for h in header if header.count(h) > 1})
    if repeated:
        raise InputError(f"{path}: repeated column(s) {', '.join(repeated)}")
    missing = [c for c in _CSV_COLUMNS if c not in header]
    if missing:
        raise InputError(f"{path}: missing column(s) {', '.join(missing)} "
                         f"(header must be {delimiter.join(_CSV_COLUMNS)})")
    body = rows[1:]
    for line, row in body:
        if len(row) != len(header):
            raise InputError(f"{path}: line {line}: expected {len(header)} "
                             f"fields, found {len(row)}")
    columns = [header.index(c) for c in _CSV_COLUMNS]
    values = _parse_numbers(path, [line for line, _ in body],
                            [[row[i] for i in columns] for _, row in body])
    ids = None
    if _ID in header:
        ids = [row[header.index(_ID)] for _, row in body]
    return validate_candidates(values[:, :3], values[:, 3:], ids, path)


def _read_structure(path: Path) -> CandidateSet:
    chains = read_structure_chains(path)
    indices = rc.encode_sequence("".join(c.sequence for c in chains))
    probs = np.full((indices.size, rc.NUM_AMINO_ACIDS),
                    1.0 / rc.NUM_AMINO_ACIDS)
    known = indices != rc.UNKNOWN_INDEX
    probs[known] = np.eye(rc.NUM_AMINO_ACIDS)[indices[known]]
    ids = [f"{c.id}:{n}" for c in chains for n in c.residue_numbers.tolist()]
    return validate_candidates(np.concatenate([c.ca_xyz for c in chains]),
                               probs, ids, path)


def read_candidates(path: str | os.PathLike) -> CandidateSet:
    """Reads a candidate set, choosing the format from the file extension.

    Accepted: ``.json``, ``.json.gz``, ``.npz``, ``.csv``, ``.tsv`` (see
    ``docs/formats.md`` §1) and ``.pdb``, ``.ent``, ``.cif``, ``.mmcif``
    (optionally ``.gz``). In a PDB/mmCIF file each amino-acid residue with a
    CA atom in the first model is one candidate, with one-hot probabilities
    for its residue name (uniform for UNK and other non-standard residues)
    and id ``"<chain>:<residue number>"``.

    Raises:
      InputError: one line starting with ``path`` for any problem.
    """
    path = Path(path)
    kind = _format_of(path, _READ_FORMATS)
    check_input_file(path)
    if kind == "json":
        cands = _read_json(path)
    elif kind == "npz":
        cands = _read_npz(path)
    elif kind == "structure":
        cands = _read_structure(path)
    else:
        cands = _read_table(path, _DELIMITERS[kind])
    logger.info("Read %d candidate nodes from %s", cands.num_nodes, path)
    return cands


def _decimal_strings(array: np.ndarray) -> np.ndarray:
    """Shortest decimal strings that read back to the same float32 values."""
    return np.asarray(array, dtype=np.float32).astype(str)


def _write_json(cands: CandidateSet, path: Path) -> None:
    nodes = {key: _decimal_strings(value).astype(np.float64).tolist()
             for key, value in (("xyz", cands.xyz),
                                ("aa_probs", cands.aa_probs))}
    if cands.ids is not None:
        nodes[_ID] = list(cands.ids)
    doc = {"nodes": nodes}
    if cands.sequence is not None:
        doc["sequence"] = cands.sequence
    text = json.dumps(doc) + "\n"
    if path.name.lower().endswith(".gz"):
        with atomic_write(path, "wb") as f, \
                gzip.GzipFile(fileobj=f, mode="wb", mtime=0) as gz:
            gz.write(text.encode("utf-8"))
    else:
        with atomic_write(path) as f:
            f.write(text)


def _write_npz(cands: CandidateSet, path: Path) -> None:
    arrays = {"xyz": cands.xyz, "aa_probs": cands.aa_probs}
    if cands.ids is not None:
        arrays[_ID] = np.array(cands.ids, dtype=str)
    if cands.sequence is not None:
        # Optional key (a backward-compatible extension of formats.md §1), so
        # that NPZ keeps the sequence like JSON does.
        arrays["sequence"] = np.array(cands.sequence)
    with atomic_write(path, "wb") as f:
        np.savez_compressed(f, **arrays)


def _write_table(cands: CandidateSet, path: Path, delimiter: str) -> None:
    if cands.sequence is not None:
        logger.warning("%s: CSV/TSV has no sequence field; sequence dropped",
                       path)
    header = list(_CSV_COLUMNS)
    rows = _decimal_strings(
        np.concatenate([cands.xyz, cands.aa_probs], axis=1)).tolist()
    if cands.ids is not None:
        header.insert(0, _ID)
        rows = [[i, *row] for i, row in zip(cands.ids, rows)]
    with atomic_write(path) as f:
        writer = csv.writer(f, delimiter=delimiter, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def write_candidates(cands: CandidateSet, path: str | os.PathLike) -> None:
    """Writes ``cands`` atomically as JSON(.gz), NPZ, CSV or TSV (by extension).

    The file reads back with :func:`read_candidates` to the same float32
    arrays. CSV and TSV have no field for ``cands.sequence``, which is dropped
    with a warning.

    Raises:
      InputError: for an unsupported extension, invalid candidates, or an
        output directory that is missing or not writable; no file is left.
    """
    path = Path(path)
    kind = _format_of(path, _WRITE_FORMATS)
    cands = validate_candidates(cands.xyz, cands.aa_probs, cands.ids, path,
                                sequence=cands.sequence)
    if kind == "json":
        _write_json(cands, path)
    elif kind == "npz":
        _write_npz(cands, path)
    else:
        _write_table(cands, path, _DELIMITERS[kind])
    logger.info("Wrote %d candidate nodes to %s", cands.num_nodes, path)
