"""Target sequences: a FASTA file (one record per chain) or a literal string."""

from __future__ import annotations

import dataclasses
import itertools
import logging
import os
import string
from collections.abc import Iterator, Sequence

from tf_structgen.common import residue_constants as rc
from tf_structgen.common.errors import InputError
from tf_structgen.io.input_files import read_text

logger = logging.getLogger(__name__)

# Arguments with these endings are meant as files even when they don't exist.
_FASTA_SUFFIXES = (".fa", ".fasta", ".faa", ".fas", ".txt")
_LITERAL_CHAIN_ID = "A"
_CHAIN_ID_ALPHABET = (string.ascii_uppercase + string.ascii_lowercase
                      + string.digits)


@dataclasses.dataclass(frozen=True)
class SequenceRecord:
    """One target chain.

    Attributes:
      id: the FASTA record id (first word of the header), or "A" for a
        literal sequence. Use :func:`chain_ids` for ids valid in PDB files.
      sequence: upper-case one-letter codes; non-standard letters (X, U, O,
        B, Z, ...) are kept.
    """

    id: str
    sequence: str


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


def parse_fasta(text: str, source: str) -> list[SequenceRecord]:
    """Parses FASTA text (blank lines and ';' comment lines are ignored).

    Args:
      text: the FASTA content.
      source: file name, the prefix of error messages.

    Returns:
      The records in file order.

    Raises:
      InputError: for empty text, text before the first '>' header, a header
        without id, a record with an empty or invalid sequence, or repeated
        record ids.
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
    for (lineno, header), lines in zip(headers, chunks):
        if not header:
            raise InputError(f"{source}: line {lineno}: FASTA header has no id")
        record_id = header.split()[0]
        if record_id in seen:
            raise InputError(f"{source}: duplicated record id {record_id!r}")
        seen.add(record_id)
        where = f"{source}: record {record_id!r} (line {lineno})"
        records.append(SequenceRecord(record_id, checked_sequence("".join(lines), where)))
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


def _fresh_chain_ids(max_length: int) -> Iterator[str]:
    for length in range(1, max_length + 1):
        for letters in itertools.product(_CHAIN_ID_ALPHABET, repeat=length):
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
