"""Evaluating a training run: its latest checkpoint, AA report and figures."""

from __future__ import annotations

from pathlib import Path

from tf_structgen.data import pipeline
from tf_structgen.evaluation.report import evaluate_batches, example_figures, write_report
from tf_structgen.models import DIRECTIONS
from tf_structgen.training.config import Preset
from tf_structgen.training.trainer import load_trained_model, validation_batches


def evaluation_batches(preset: Preset, *, dataset: str | Path | None = None,
                       count: int = 100, seed: int | None = None):
    """The batches a run is evaluated on, and a description of them.

    Args:
      preset: the run's preset (batch size, data settings, seed).
      dataset: a saved dataset (``.npz`` of :func:`pipeline.save_examples`);
        default: the run's seeded validation set.
      count: proteins in the seeded validation set.
      seed: validation seed (default: the run's seed).

    Returns:
      ``(batches, source)``: a tf.data dataset of batch GraphTensors and a
      one-line description for the report.
    """
    if dataset is not None:
        examples = pipeline.load_examples(dataset)
        batches = pipeline.dataset_from_examples(
            lambda: iter(examples), preset.train.batch_size,
            with_xyz=bool(examples) and "xyz" in examples[0])
        return batches, str(dataset)
    batches = validation_batches(preset, count=count, seed=seed)
    return batches, (f"seeded validation set ({count} proteins, "
                     f"seed {seed if seed is not None else preset.train.seed})")


def evaluate_run(run_dir: str | Path, out_dir: str | Path, *,
                 dataset: Path | None = None, count: int = 100,
                 seed: int | None = None) -> tuple[dict, list[Path]]:
    """``tfsg evaluate``: AA of a run's latest checkpoint in every direction.

    Writes ``report.json`` and the figures into ``out_dir`` (see
    :func:`~tf_structgen.evaluation.report.write_report` and
    :func:`~tf_structgen.evaluation.report.example_figures`).

    Returns:
      ``(report, files)``: the report dict (with ``run_dir``, ``step``,
      ``dataset``, ``pointer`` and ``data_source``) and the files written.
    """
    model, preset, step = load_trained_model(run_dir)
    batches, source = evaluation_batches(preset, dataset=dataset, count=count, seed=seed)
    report = evaluate_batches(model, batches, DIRECTIONS)
    report |= {"run_dir": str(run_dir), "step": step, "dataset": source,
               "pointer": preset.model.pointer,
               "data_source": preset.data.source if dataset is None else Path(dataset).name}
    files = write_report(report, out_dir)
    files += example_figures(model, next(iter(batches)), out_dir)
    return report, files
