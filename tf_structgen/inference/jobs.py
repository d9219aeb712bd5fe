"""File-level jobs behind ``tfsg predict``: read, thread, write."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np

from tf_structgen.common.errors import InputError
from tf_structgen.inference.predictor import ChainAssignment, Predictor
from tf_structgen.io import (CandidateSet, SequenceRecord, ThreadedChain, chain_ids,
                             read_candidates, read_sequences, write_assignments,
                             write_threaded_model)
from tf_structgen.io.candidates import CANDIDATE_SUFFIXES
from tf_structgen.io.input_files import expand_paths, matching_suffix
from tf_structgen.io.structures import PDB_MAX_CHAINS

logger = logging.getLogger(__name__)

MODEL_SUFFIXES = (".pdb", ".cif", ".mmcif")


def candidate_suffix(path: Path) -> str | None:
    """The candidate-format suffix of a file name, or None if not a candidate file."""
    return matching_suffix(path, CANDIDATE_SUFFIXES)


def expand_inputs(spec: str) -> list[Path]:
    """A file, a directory (its candidate files) or a glob -> candidate files."""
    return expand_paths(spec, CANDIDATE_SUFFIXES, "candidate")


def stem_of(path: Path) -> str:
    suffix = candidate_suffix(path)
    return path.name[:-len(suffix)] if suffix else path.stem


def records_for(candidates: CandidateSet, sequence_arg: str | None, source) -> list[SequenceRecord]:
    """The sequences to thread: --sequence, else the candidate file's own."""
    if sequence_arg is not None:
        return read_sequences(sequence_arg)
    if candidates.sequence:
        return [SequenceRecord("A", candidates.sequence)]
    raise InputError(f"{source}: no sequence given (use --sequence, or a 'sequence' "
                     "key in the candidate file)")


def threaded_chains(assignments: Sequence[ChainAssignment], candidates: CandidateSet,
                    out_path: Path) -> list[ThreadedChain]:
    """One ThreadedChain per assignment (one per copy), with chain ids valid
    for the output format and the record id as entity key.

    More chains than one-character ids allow keep longer ids here, so that
    :func:`write_threaded_model` rejects the PDB file with its clear message.
    """
    pdb = out_path.suffix.lower() == ".pdb" and len(assignments) <= PDB_MAX_CHAINS
    ids = chain_ids([SequenceRecord(a.id, a.sequence) for a in assignments],
                    1 if pdb else 4)
    chains = []
    for chain_id, a in zip(ids, assignments):
        xyz = np.full((len(a.nodes), 3), np.nan, np.float32)
        assigned = a.nodes >= 0
        xyz[assigned] = candidates.xyz[a.nodes[assigned]]
        chains.append(ThreadedChain(chain_id, a.sequence, xyz, a.confidence,
                                    entity=a.entity or a.id))
    return chains


def predict_file(predictor: Predictor, candidates_path: Path, sequence_arg: str | None,
                 out_path: Path, assignments_path: Path | None) -> list[ChainAssignment]:
    """Threads one candidate file and writes the model (and assignments)."""
    if out_path.suffix.lower() not in MODEL_SUFFIXES:
        raise InputError(f"{out_path}: output must end in .pdb, .cif or .mmcif")
    for path in (out_path, assignments_path):
        if path is not None:
            check_output_path(path)
    candidates = read_candidates(candidates_path)
    records = records_for(candidates, sequence_arg, candidates_path)
    result = predictor.thread(candidates, records)
    chains = threaded_chains(result, candidates, out_path)
    write_threaded_model(chains, out_path)
    if assignments_path is not None:
        try:
            write_assignments(assignments_path, predictor.name,
                              [a.to_json() for a in result])
        except BaseException:
            out_path.unlink(missing_ok=True)  # both outputs or neither
            raise
    return result


def error_line(path: Path, error: BaseException) -> str:
    """The batch report line of a failed file: ``"<path>: <message>"``.

    Reader messages already start with the file's path and are kept as they
    are; others (the predictor's limits, a bad sequence, an output path) get
    the input file's path in front, so that each line says which file failed.
    """
    message = str(error)
    return message if message.startswith(f"{path}:") else f"{path}: {message}"


def check_output_path(path: Path) -> None:
    """Fails early (before any work) when ``path`` cannot be written."""
    parent = path.parent
    if not parent.is_dir():
        raise InputError(f"{path}: output directory {parent} does not exist")
    if not os.access(parent, os.W_OK):
        raise InputError(f"{path}: output directory {parent} is not writable")
    if path.is_dir():
        raise InputError(f"{path}: is a directory")


def batch_outputs(inputs: Sequence[Path], out_dir: Path, fmt: str
                  ) -> Iterator[tuple[Path, Path, Path]]:
    """(input, model path, assignments path) for each input of a batch."""
    seen: set[str] = set()
    for path in inputs:
        stem = stem_of(path)
        if stem in seen:
            raise InputError(f"{path}: two inputs would write {stem}.{fmt}")
        seen.add(stem)
        yield path, out_dir / f"{stem}.{fmt}", out_dir / f"{stem}.assignments.json"


# The Beam pipeline's error report: beam_pipeline.run_pipeline writes the
# failed files' messages as text shards OUT/errors-SS.txt.
ERROR_FILES = "errors-*.txt"


def clear_error_files(out_dir: Path) -> None:
    """Removes the error report of an earlier Beam run in ``out_dir``."""
    for old in out_dir.glob(ERROR_FILES):
        old.unlink()


def read_error_files(out_dir: Path) -> list[str]:
    """The error lines of the Beam run in ``out_dir``, shard by shard."""
    return [line for f in sorted(out_dir.glob(ERROR_FILES))
            for line in f.read_text().splitlines() if line]


def predict_batch_beam(inputs: Sequence[Path], sequence_arg: str | None, out_dir: Path,
                       fmt: str, *, runner: str, pipeline_args: Sequence[str],
                       model_dir: Path | None, **predictor_kwargs
                       ) -> tuple[int, int, list[str]]:
    """Batch mode on Apache Beam (see :mod:`tf_structgen.inference.beam_pipeline`).

    Files whose outputs both exist are skipped; a failed file does not stop
    the others and leaves one line in the error report.

    Returns:
      ``(processed, planned, errors)``: files processed (not skipped), files
      in the batch, and the error lines of this run.
    """
    from tf_structgen.inference.beam_pipeline import run_pipeline

    clear_error_files(out_dir)
    planned = list(batch_outputs(inputs, out_dir, fmt))
    done = run_pipeline(planned, out_dir, model_dir=str(model_dir) if model_dir else None,
                        sequence_arg=sequence_arg, runner=runner, pipeline_args=pipeline_args,
                        **predictor_kwargs)
    return done, len(planned), read_error_files(out_dir)
