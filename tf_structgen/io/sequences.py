"""Target sequences: a FASTA file (one record per chain or per entity) or a literal string.

A FASTA header may give the number of copies of its entity in the assembly,
either as ``copies=N`` anywhere after the id (``>A copies=4``) or, as in the
PDB's entity FASTA files, as the chains of the second ``|`` field
(``>7KJR_1|Chains A, B|ORF3a protein|...``; ``Chains A[auth C]`` names the
author chain id C). See ``docs/formats.md`` §2.
"""

from __future__ import annotations

import dataclasses
import itertools
import logging
import os
import re
import string
from collections.abc import Iterator, Sequence

from tf_structgen.common import residue_constants as rc
from tf_structgen.common.atomic import atomic_write
from tf_structgen.common.errors import InputError
from tf_structgen.io.input_files import read_text

logger = logging.getLogger(__name__)

# Arguments with these endings are meant as files even when they don't exist.
_FASTA_SUFFIXES = (".fa", ".fasta", ".faa", ".fas", ".txt")
_LITERAL_CHAIN_ID = "A"
# Single-character chain ids, in the order fresh ids are handed out.
CHAIN_ID_ALPHABET = (string.ascii_uppercase + string.ascii_lowercase
                      + string.digits)
# ``copies=N`` as its own word of a header (words are split at white space
# and '|').
_COPIES = re.compile(r"(?:^|(?<=[\s|]))copies=([^\s|]*)", re.IGNORECASE)
# The second '|' field of a PDB entity FASTA header: "Chain A",
# "Chains A, B", "Chains A[auth C], B[auth D]".
_PDB_CHAINS_FIELD = re.compile(r"chains?(?:\s+(.*))?", re.IGNORECASE | re.DOTALL)
# One chain, "A" or "A[auth C]", and what may separate two of them.
_PDB_CHAIN_SEPARATOR = re.compile(r"[\s,]*")
_PDB_CHAIN = re.compile(
    r"([^\s,\[\]]+)(?:\s*\[\s*auth\s+([^\s,\[\]]+)\s*\])?", re.IGNORECASE)


@dataclasses.dataclass(frozen=True)
class SequenceRecord:
    """One target chain.

    Attributes:
      id: the FASTA record id (first word of the header; for a PDB entity
        header the part before the first '|', e.g. ``7KJR_1``), or "A" for
        a literal sequence. Use :func:`chain_ids` for ids valid in PDB files.
      sequence: upper-case one-letter codes; non-standard letters (X, U, O,
        B, Z, ...) are kept.
      copies: number of copies of this entity in the assembly (>= 1).
      chain_ids: the copies' chain ids when the header names them (PDB
        entity FASTA ``Chains A, B``), else empty.
    """

    id: str
    sequence: str
    copies: int = 1
    chain_ids: tuple[str, ...] = ()


def checked_sequence(sequence, where: str) -> str:
    """A cleaned one-letter sequence, or InputError "<where>: ..." (one line)."""
    if not isinstance(sequence, str):
        raise InputError(f"{where}: sequence must be a string")
    try:
        cleaned = rc.clean_sequence(sequence)
    except ValueError as e:
        raise InputError(f"{where}: {e}") from None
    if not cleaned:
        raise InputError(f"{where}: empty sequence")
    return cleaned


def _pdb_chain_ids(field: str, where: str) -> tuple[str, ...]:
    """The chain ids of a PDB entity header's "Chains ..." field.

    Author ids (``A[auth C]`` -> ``C``) are preferred: they are the ones PDB
    files and viewers show.
    """
    listed = _PDB_CHAINS_FIELD.fullmatch(field.strip()).group(1) or ""
    ids = []
    pos = _PDB_CHAIN_SEPARATOR.match(listed).end()
    while pos < len(listed):
        chain = _PDB_CHAIN.match(listed, pos)
        if chain is None:
            raise InputError(f"{where}: cannot read the chain ids in "
                             f"{field.strip()!r} at {listed[pos:].strip()!r} "
                             f"(expected e.g. 'Chains A, B[auth C]')")
        ids.append(chain.group(2) or chain.group(1))
        pos = _PDB_CHAIN_SEPARATOR.match(listed, chain.end()).end()
    if not ids:
        raise InputError(f"{where}: no chain id in {field.strip()!r}")
    repeated = sorted({i for i in ids if ids.count(i) > 1})
    if repeated:
        raise InputError(f"{where}: repeated chain id(s) {', '.join(repeated)} "
                         f"in {field.strip()!r}")
    return tuple(ids)


def _copies(rest: str, where: str) -> int | None:
    """The value of ``copies=N`` in the header text after the id, else None."""
    values = _COPIES.findall(rest)
    if not values:
        return None
    if len(values) > 1:
        raise InputError(f"{where}: copies= given {len(values)} times")
    value = values[0]
    if not (value.isascii() and value.isdigit()) or int(value) < 1:
        raise InputError(f"{where}: copies must be a positive integer, not "
                         f"{value!r}")
    return int(value)


def _parse_header(header: str, lineno: int, source: str
                  ) -> tuple[str, int, tuple[str, ...]]:
    """(record id, copies, chain ids) of one stripped, non-empty FASTA header."""
    fields = header.split("|")
    first = fields[0].split()
    pdb_entity = (len(fields) >= 2 and bool(first)
                  and _PDB_CHAINS_FIELD.fullmatch(fields[1].strip()) is not None)
    # The id is the first word, or for a PDB entity header the first field
    # (a prefix of the header either way).
    record_id = first[0] if pdb_entity else header.split()[0]
    where = f"{source}: record {record_id!r} (line {lineno})"
    copies = _copies(header[len(record_id):], where)
    if not pdb_entity:
        return record_id, copies or 1, ()
    names = _pdb_chain_ids(fields[1], where)
    if copies is not None and copies != len(names):
        raise InputError(f"{where}: copies={copies} disagrees with the "
                         f"{len(names)} chain(s) named in "
                         f"{fields[1].strip()!r}")
    return record_id, len(names), names


def parse_fasta(text: str, source: str) -> list[SequenceRecord]:
    """Parses FASTA text (blank lines and ';' comment lines are ignored).

    A header gives the record id (its first word) and, optionally, the
    entity's number of copies: ``copies=N`` anywhere after the id, or the
    chains listed in the second ``|`` field of a PDB entity header
    (``>7KJR_1|Chains A, B|...``: id ``7KJR_1``, two copies named A and B;
    ``A[auth C]`` is named C). Without either, a record has one copy.

    Args:
      text: the FASTA content.
      source: file name, the prefix of error messages.

    Returns:
      The records in file order.

    Raises:
      InputError: for empty text, text before the first '>' header, a header
        without id, a record with an empty or invalid sequence, repeated
        record ids, a ``copies=`` value that is not a positive integer (or
        disagrees with the chains of a PDB header), an unreadable chain list,
        or a chain id named by two records.
    """
    headers: list[tuple[int, str]] = []
    chunks: list[list[str]] = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith(";"):
            continue
        if line.startswith(">"):
            headers.append((lineno, line[1:].strip()))
            chunks.append([])
        elif not headers:
            raise InputError(f"{source}: not a FASTA file (line {lineno} is "
                             f"not a '>' header)")
        else:
            chunks[-1].append(line)
    if not headers:
        raise InputError(f"{source}: empty file, no FASTA record")
    records = []
    seen = set()
    named: dict[str, str] = {}
    for (lineno, header), lines in zip(headers, chunks):
        if not header:
            raise InputError(f"{source}: line {lineno}: FASTA header has no id")
        record_id, copies, names = _parse_header(header, lineno, source)
        if record_id in seen:
            raise InputError(f"{source}: duplicated record id {record_id!r}")
        seen.add(record_id)
        for name in names:
            if name in named:
                raise InputError(f"{source}: chain id {name!r} is named by "
                                 f"records {named[name]!r} and {record_id!r}")
            named[name] = record_id
        where = f"{source}: record {record_id!r} (line {lineno})"
        records.append(SequenceRecord(record_id,
                                      checked_sequence("".join(lines), where),
                                      copies=copies, chain_ids=names))
    return records


def read_sequences(arg: str | os.PathLike) -> list[SequenceRecord]:
    """Reads target sequences from a FASTA file or a literal sequence.

    Args:
      arg: an existing FASTA file (optionally gzipped); FASTA text starting
        with '>'; or a one-letter sequence, which becomes chain "A". An
        argument that looks like a path (contains '/' or ends in .fa, .fasta,
        .faa, .fas or .txt) but does not exist is an error, not a sequence.

    Returns:
      One SequenceRecord per chain, in order.

    Raises:
      InputError: one line for a missing or unreadable file, a file that is
        not FASTA, an empty file or record, invalid characters, or repeated
        record ids.
    """
    text = os.fspath(arg)
    # os.path.isfile, not Path.exists: a long literal sequence must not raise
    # "file name too long".
    if os.path.isfile(text) or os.path.isdir(text):
        records = parse_fasta(read_text(text), source=text)
    elif "/" in text or os.sep in text or text.lower().endswith(
            _FASTA_SUFFIXES):
        # repr() for odd arguments, so that e.g. "/\r" stays on one line.
        shown = text if text.isprintable() else repr(text)
        raise InputError(f"{shown}: no such file")
    elif text.lstrip().startswith(">"):
        records = parse_fasta(text, source="sequence")
    else:
        shown = text if len(text) <= 20 else text[:17] + "..."
        records = [SequenceRecord(_LITERAL_CHAIN_ID,
                                  checked_sequence(text, f"sequence {shown!r}"))]
    logger.info("Read %d sequence(s): %s", len(records),
                ", ".join(f"{r.id} ({len(r.sequence)} aa)" for r in records))
    return records


def write_fasta(path: str | os.PathLike, records: Sequence) -> None:
    """Writes one ``>id`` line and one sequence line per record, atomically.

    Args:
      path: output FASTA file.
      records: objects with ``id`` and ``sequence`` (:class:`SequenceRecord`,
        :class:`~tf_structgen.io.structures.ChainRecord`, ...).
    """
    with atomic_write(path) as f:
        for record in records:
            f.write(f">{record.id}\n{record.sequence}\n")


def _fresh_chain_ids(max_length: int) -> Iterator[str]:
    for length in range(1, max_length + 1):
        for letters in itertools.product(CHAIN_ID_ALPHABET, repeat=length):
            yield "".join(letters)


def chain_ids(records: Sequence[SequenceRecord], max_length: int = 4
              ) -> list[str]:
    """Maps records to distinct chain ids usable in PDB/mmCIF files.

    A record keeps its id if it is 1 to ``max_length`` ASCII letters or digits
    and no earlier record took it; the others get the first unused id among
    A..Z, a..z, 0..9, then AA, AB, ... (up to ``max_length`` characters).

    Args:
      records: the target chains.
      max_length: the longest id allowed; 4 for mmCIF, 1 for the PDB format.

    Returns:
      One chain id per record.

    Raises:
      InputError: if ``max_length`` ids are too short for that many chains.
    """
    ids: list[str | None] = []
    for record in records:
        keep = (1 <= len(record.id) <= max_length and record.id.isascii()
                and record.id.isalnum() and record.id not in ids)
        ids.append(record.id if keep else None)
    fresh = (c for c in _fresh_chain_ids(max_length) if c not in ids)
    try:
        return [i if i is not None else next(fresh) for i in ids]
    except StopIteration:
        raise InputError(f"too many chains ({len(records)}) for chain ids of "
                         f"at most {max_length} character(s)") from None
