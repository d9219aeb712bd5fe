"""``tfsg export``: a training run -> SavedModel for TF Serving and predict."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from .errors import configure_logging, fail, import_tensorflow_quietly, user_errors


def export(
    run_dir: Annotated[Path, typer.Option("--run-dir", help="Training run directory (latest checkpoint).")] = Path("runs/structgen"),
    out: Annotated[Path, typer.Option("--out", help="Model base folder; the SavedModel goes to OUT/<version>/.")] = Path("saved_models/structgen"),
    version: Annotated[Optional[int], typer.Option(help="Integer version (default: next free).")] = None,
    cutoff: Annotated[Optional[float], typer.Option(help="Contact cutoff (Å) used inside the signatures (default: the model's training cutoff).")] = None,
    min_confidence: Annotated[float, typer.Option("--min-confidence", help="node_index is -1 below this probability.")] = 0.1,
    correction_weight: Annotated[float, typer.Option("--correction-weight", help="Factor on the network's emission correction in the constrained decoder (stored with the model; tune it with benchmarks/tune_correction.py).")] = 1.0,
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
):
    """Export a trained model as a SavedModel (TF Serving layout)."""
    configure_logging(verbose)
    import_tensorflow_quietly(verbose)
    with user_errors(verbose):
        if not 0.0 <= correction_weight <= 10.0:
            raise fail("--correction-weight must be within [0, 10]")
        from tf_structgen.export.serving import export_saved_model
        from tf_structgen.training.trainer import load_trained_model

        model, preset, step = load_trained_model(run_dir)
        path = export_saved_model(model, out, version, cutoff=cutoff,
                                  min_confidence=min_confidence,
                                  metadata={"training_step": step, "run_dir": str(run_dir),
                                            "preset": preset.to_json(),
                                            "correction_weight": correction_weight})
    typer.echo(f"exported step {step} of {run_dir} to {path}")
