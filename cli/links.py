"""``tfsg train-links`` and ``tfsg export-links``: the link head."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from .errors import (EXIT_INTERRUPTED, configure_logging, fail,
                     import_tensorflow_quietly, sigterm_as_interrupt, user_errors)
from .train import parse_duration


def train_links(
    run_dir: Annotated[Path, typer.Option("--run-dir", help="Run directory: settings, checkpoints, metrics.jsonl.")] = Path("runs/links"),
    max_steps: Annotated[Optional[int], typer.Option("--max-steps", help="Last training step (default 20000; with --resume: the run's own unless given).")] = None,
    batch_size: Annotated[int, typer.Option("--batch-size", help="Candidate sets per step.")] = 4,
    units: Annotated[int, typer.Option(help="Width of the node states.")] = 64,
    layers: Annotated[int, typer.Option(help="Message-passing rounds.")] = 4,
    seed: Annotated[int, typer.Option(help="Data and initialisation seed.")] = 0,
    time_limit: Annotated[Optional[str], typer.Option("--time-limit", help="Stop and checkpoint after this wall time (e.g. 30m).")] = None,
    resume: Annotated[bool, typer.Option("--resume", help="Continue the run directory's run from its latest checkpoint (its saved settings).")] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
):
    """Train the link head on generated candidate sets (single chains and touching copies)."""
    configure_logging(verbose)
    import_tensorflow_quietly(verbose)
    with user_errors(verbose):
        from tf_structgen.training.link_trainer import LinkTrainConfig, train_links as run

        try:
            config = LinkTrainConfig(max_steps=20_000 if max_steps is None else max_steps,
                                     batch_size=batch_size,
                                     units=units, num_layers=layers, seed=seed)
        except ValueError as e:
            raise fail(str(e)) from None
        limit = parse_duration(time_limit) if time_limit else None
        sigterm_as_interrupt()
        last = [0]

        def on_step(step, loss):
            last[0] = step
            if step % 100 == 0:
                typer.echo(f"step {step} loss {loss:.4f}")
        try:
            run(run_dir, None if resume else config, resume=resume, time_limit=limit,
                on_step=on_step, max_steps=max_steps if resume else None)
        except KeyboardInterrupt:
            typer.echo(f"interrupted; checkpoint saved in {run_dir}; "
                       "continue with --resume", err=True)
            raise typer.Exit(EXIT_INTERRUPTED) from None
    typer.echo(f"stopped at step {last[0]}; run directory {run_dir}")


def export_links(
    run_dir: Annotated[Path, typer.Option("--run-dir", help="Link training run (latest checkpoint).")] = Path("runs/links"),
    out: Annotated[Path, typer.Option("--out", help="Model base folder; the SavedModel goes to OUT/<version>/.")] = Path("saved_models/links"),
    version: Annotated[Optional[int], typer.Option(help="Integer version (default: next free).")] = None,
    link_weight: Annotated[float, typer.Option("--link-weight", help="Factor on the link scores in the links decoder, stored with the model (tune it with benchmarks/tune_links.py).")] = 1.0,
    link_mode: Annotated[str, typer.Option("--link-mode", help="relative (each contact against its nodes' second best) or absolute (log P(link)), stored with the model.")] = "relative",
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
):
    """Export a link head as a SavedModel (signature link_scores)."""
    configure_logging(verbose)
    import_tensorflow_quietly(verbose)
    with user_errors(verbose):
        if not 0.0 <= link_weight <= 10.0:
            raise fail("--link-weight must be within [0, 10]")
        if link_mode not in ("relative", "absolute"):
            raise fail("--link-mode must be relative or absolute")
        from tf_structgen.export.links import export_link_model
        from tf_structgen.training.link_trainer import load_link_scorer

        model, step = load_link_scorer(run_dir)
        path = export_link_model(model, out, version, metadata={
            "training_step": step, "run_dir": str(run_dir), "link_weight": link_weight,
            "link_mode": link_mode})
    typer.echo(f"exported step {step} of {run_dir} to {path}")
