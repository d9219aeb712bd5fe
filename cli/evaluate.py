"""``tfsg evaluate`` and ``tfsg make-dataset``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from .errors import configure_logging, import_tensorflow_quietly, fail, user_errors


def evaluate(
    run_dir: Annotated[Path, typer.Option("--run-dir", help="Training run directory to evaluate (latest checkpoint).")] = Path("runs/structgen"),
    dataset: Annotated[Optional[Path], typer.Option(help="A saved dataset (.npz from `tfsg make-dataset`) instead of the seeded validation set.")] = None,
    count: Annotated[int, typer.Option(help="Proteins in the seeded validation set (paper: 100).")] = 100,
    seed: Annotated[Optional[int], typer.Option(help="Validation seed (default: the run's seed; its validation stream never overlaps training).")] = None,
    out: Annotated[Path, typer.Option("--out", help="Folder for report.json and the PNG figures.")] = Path("evaluation"),
    structures: Annotated[Optional[str], typer.Option("--structures", help="Instead: a folder or glob of PDB/mmCIF files, simulated at --realism, threaded with --model/--decoder.")] = None,
    realism: Annotated[str, typer.Option("--realism", help="With --structures: paper, realistic, hard or clean.")] = "realistic",
    model: Annotated[Optional[Path], typer.Option("--model", help="With --structures: SavedModel folder (default: bundled).")] = None,
    decoder: Annotated[Optional[str], typer.Option(help="With --structures: constrained (default, with the bundled model; auto with --model), hmm, links, auto, unique or greedy (see tfsg predict --help).")] = None,
    direction: Annotated[str, typer.Option(help="With --structures: forward, backward or ensemble.")] = "ensemble",
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
):
    """Assignment accuracy (AA): a trained run on synthetic graphs, or a model on real structures."""
    configure_logging(verbose)
    import_tensorflow_quietly(verbose)
    if structures is not None:
        return _evaluate_structures(structures, realism, model, decoder, direction,
                                    seed or 0, out, verbose)
    with user_errors(verbose):
        from tf_structgen.training.evaluate_run import evaluate_run

        if count < 1:
            raise fail("--count must be at least 1")
        report, files = evaluate_run(run_dir, out, dataset=dataset, count=count, seed=seed)
    typer.echo(f"{report['num_proteins']} proteins from {report['dataset']}; "
               f"model step {report['step']}")
    for direction, aa in report["aa"].items():
        typer.echo(f"AA {direction:<8} {aa:.4f}")
    typer.echo("wrote " + ", ".join(str(f) for f in files))


def _evaluate_structures(spec, realism, model, decoder, direction, seed, out, verbose):
    from .simulate import build_realism

    with user_errors(verbose):
        from rich.progress import Progress

        from tf_structgen.evaluation.report import structures_report, write_structures_report
        from tf_structgen.inference.model_store import resolve_model_dir
        from tf_structgen.inference.predictor import Predictor, choose_decoder, needs_model
        from tf_structgen.io.structures import structure_files

        settings = build_realism(realism)
        decoder = choose_decoder(decoder, model)
        paths = structure_files(spec)
        predictor = Predictor(resolve_model_dir(model) if needs_model(decoder) else None,
                              decoder=decoder, direction=direction,
                              coord_noise=max(settings.coord_noise, 0.1))
        with Progress(transient=True) as progress:
            task = progress.add_task("structures", total=len(paths))
            report = structures_report(paths, predictor, settings, realism_name=realism,
                                       direction=direction, seed=seed,
                                       on_done=lambda: progress.advance(task))
        files = write_structures_report(report, out)
    for row in report["structures"]:
        typer.echo(f"{row['structure']:<24} chains {row['chains']:>2}  "
                   f"positions {row['positions']:>5}  AA {row['aa']:.4f}")
    typer.echo(f"AA mean over {len(report['structures'])} structures {report['aa']:.4f}; "
               f"pooled over positions {report['aa_positions']:.4f}")
    typer.echo("wrote " + ", ".join(str(f) for f in files))


def make_dataset(
    out: Annotated[Path, typer.Argument(help="Output .npz file.")],
    preset: Annotated[str, typer.Option(help="Preset whose data settings to use.")] = "paper",
    count: Annotated[int, typer.Option(help="Number of proteins.")] = 100,
    seed: Annotated[int, typer.Option(help="Seed.")] = 12345,
):
    """Write a seeded paper-protocol dataset (forward sequences) to a file."""
    with user_errors():
        from tf_structgen.data import pipeline
        from tf_structgen.training.config import PRESETS

        if preset not in PRESETS:
            raise fail(f"unknown preset {preset!r}; choose from {', '.join(PRESETS)}")
        if count < 1:
            raise fail("--count must be at least 1")
        n = pipeline.save_validation_examples(out, PRESETS[preset].data, count=count, seed=seed)
    typer.echo(f"wrote {n} proteins to {out}")
