"""Batch prediction of many candidate files as an Apache Beam pipeline.

read + validate -> RunInference (a ModelHandler around :class:`Predictor`,
the SavedModel loaded once per worker) -> decode -> write model and
assignments. Bad files (an InputError while reading, threading or
writing) go to a side output and are reported in ``OUT/errors-*.txt``
without stopping the run; files whose outputs already exist are skipped,
so a rerun finishes an interrupted batch. Memory stays bounded: elements
are streamed through bundles, one candidate set each.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Iterable, Sequence

import apache_beam as beam
from apache_beam.ml.inference.base import ModelHandler, PredictionResult, RunInference
from apache_beam.options.pipeline_options import PipelineOptions

from tf_structgen.common.errors import InputError

logger = logging.getLogger(__name__)
ERRORS = "errors"


class ThreadingModelHandler(ModelHandler):
    """RunInference handler: element ``(name, candidates, records)`` ->
    ``PredictionResult(element, [ChainAssignment, ...])``, or
    ``PredictionResult(element, InputError("name: ..."))`` when threading that
    element fails on bad input (WriteFn sends it to the errors output)."""

    def __init__(self, model_dir: str | None, **predictor_kwargs):
        self._model_dir = model_dir
        self._kwargs = predictor_kwargs

    def load_model(self):
        from tf_structgen.inference.predictor import Predictor

        return Predictor(Path(self._model_dir) if self._model_dir else None, **self._kwargs)

    def run_inference(self, batch: Sequence, model, inference_args=None
                      ) -> Iterable[PredictionResult]:
        for element in batch:
            name, candidates, records = element
            try:
                inference = model.thread(candidates, records)
            except InputError as e:
                # One bad file must not fail the batch. Predictor's messages
                # do not name the file, so the error line does.
                inference = InputError(f"{name}: {e}")
            yield PredictionResult(element, inference)

    def batch_elements_kwargs(self):
        return {"min_batch_size": 1, "max_batch_size": 1}


class ReadFn(beam.DoFn):
    """(input, model path, assignments path) -> (name, CandidateSet, records)."""

    def __init__(self, sequence_arg: str | None):
        self._sequence = sequence_arg

    def process(self, job):
        from tf_structgen.inference.jobs import records_for
        from tf_structgen.io import read_candidates

        path, _, _ = job
        try:
            candidates = read_candidates(path)
            yield (str(path), candidates, records_for(candidates, self._sequence, path))
        except InputError as e:
            yield beam.pvalue.TaggedOutput(ERRORS, str(e))


class WriteFn(beam.DoFn):
    """PredictionResult -> model + assignments files (atomic), or its
    threading error -> the errors output."""

    def __init__(self, outputs: dict, model_name: str):
        self._outputs = outputs
        self._model_name = model_name

    def process(self, result: PredictionResult):
        from tf_structgen.inference.jobs import threaded_chains
        from tf_structgen.io import write_assignments, write_threaded_model

        name, candidates, _ = result.example
        if isinstance(result.inference, InputError):
            yield beam.pvalue.TaggedOutput(ERRORS, str(result.inference))
            return
        model_path, assignment_path = (Path(p) for p in self._outputs[name])
        try:
            write_threaded_model(threaded_chains(result.inference, candidates, model_path),
                                 model_path)
            write_assignments(assignment_path, self._model_name,
                              [a.to_json() for a in result.inference])
            yield name
        except InputError as e:
            model_path.unlink(missing_ok=True)
            yield beam.pvalue.TaggedOutput(ERRORS, str(e))


def pending_jobs(jobs: Sequence[tuple[Path, Path, Path]]) -> list[tuple[str, str, str]]:
    """Jobs whose outputs are not both there yet (a rerun skips finished files)."""
    return [(str(a), str(b), str(c)) for a, b, c in jobs
            if not (b.exists() and c.exists())]


def run_pipeline(jobs: Sequence[tuple[Path, Path, Path]], out_dir: Path, *,
                 model_dir: str | None, sequence_arg: str | None, runner: str,
                 pipeline_args: Sequence[str] = (), copies: str | int = "fasta",
                 **predictor_kwargs) -> int:
    """Runs the batch; returns the number of files processed (not skipped).

    ``copies`` and ``predictor_kwargs`` go to every worker's
    :class:`~tf_structgen.inference.predictor.Predictor`; ``copies`` is
    checked here first, so that a bad value is one InputError, not a failed
    pipeline.
    """
    from tf_structgen.inference.predictor import parse_copies

    copies = parse_copies(copies)
    todo = pending_jobs(jobs)
    if not todo:
        return 0
    outputs = {a: (b, c) for a, b, c in todo}
    options = PipelineOptions(list(pipeline_args), runner=runner)
    decoder = predictor_kwargs.get("decoder")
    model_name = str(model_dir) if model_dir is not None else str(decoder)
    with beam.Pipeline(options=options) as p:
        read = (p | "Files" >> beam.Create(todo)
                | "Read" >> beam.ParDo(ReadFn(sequence_arg)).with_outputs(ERRORS, main="ok"))
        written = (read.ok
                   | "Thread" >> RunInference(ThreadingModelHandler(
                       model_dir, copies=copies, **predictor_kwargs))
                   | "Write" >> beam.ParDo(WriteFn(outputs, model_name)).with_outputs(
                       ERRORS, main="ok"))
        ((read[ERRORS], written[ERRORS]) | "Errors" >> beam.Flatten()
         | "Report" >> beam.io.WriteToText(str(out_dir / "errors"), file_name_suffix=".txt",
                                           shard_name_template="-SS"))
    return len(todo)
