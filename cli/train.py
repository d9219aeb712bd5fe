"""``tfsg train``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from .errors import (EXIT_INTERRUPTED, configure_logging, fail,
                     import_tensorflow_quietly, sigterm_as_interrupt, user_errors)


def parse_duration(text: str) -> float:
    """'90', '90s', '30m', '2h' -> seconds."""
    units = {"s": 1, "m": 60, "h": 3600}
    try:
        if text[-1:].lower() in units:
            return float(text[:-1]) * units[text[-1].lower()]
        return float(text)
    except ValueError:
        raise fail(f"cannot read duration {text!r} (use e.g. 90s, 30m, 2h)") from None


def train(
    run_dir: Annotated[Path, typer.Option("--run-dir", help="Run directory: config, checkpoints, TensorBoard logs.")] = Path("runs/structgen"),
    preset: Annotated[str, typer.Option(help="Preset: paper, paper-dot, fast, hybrid, tiny or tiny-hybrid.")] = "paper",
    max_steps: Annotated[Optional[int], typer.Option("--max-steps", help="Last training step (with --resume: the run's own unless given).")] = None,
    batch_size: Annotated[Optional[int], typer.Option("--batch-size", help="Graphs per step.")] = None,
    lr_drop_step: Annotated[Optional[int], typer.Option("--lr-drop-step", help="Step where the learning rate drops 1e-3 -> 1e-4.")] = None,
    pointer: Annotated[Optional[str], typer.Option(help="Pointer head: additive (paper) or dot.")] = None,
    gcn_layers: Annotated[Optional[int], typer.Option("--gcn-layers", help="Number T of GCN layers (0 = ablation).")] = None,
    shared_weights: Annotated[Optional[bool], typer.Option("--shared-weights/--separate-weights", help="Share one GCN layer's weights across the T rounds.")] = None,
    node_skip: Annotated[Optional[bool], typer.Option("--node-skip/--no-node-skip", help="Give the pointer each node's own embedding beside its GCN state.")] = None,
    decoys_touch_chain: Annotated[Optional[bool], typer.Option("--decoys-touch-chain/--decoys-apart", help="Synthetic decoys' random edges may end on chain nodes (harder variant).")] = None,
    local_loss_weight: Annotated[Optional[float], typer.Option("--local-loss-weight", help="Weight of the local (decoder-choice) cross-entropy added to the paper's loss.")] = None,
    checkpoint_every: Annotated[Optional[int], typer.Option("--checkpoint-every", help="Steps between checkpoints.")] = None,
    validate_every: Annotated[Optional[int], typer.Option("--validate-every", help="Steps between validation-AA measurements.")] = None,
    seed: Annotated[Optional[int], typer.Option(help="Data and initialisation seed.")] = None,
    time_limit: Annotated[Optional[str], typer.Option("--time-limit", help="Stop and checkpoint after this wall time (e.g. 30m).")] = None,
    strategy: Annotated[str, typer.Option(help="default (one device), mirrored (all local GPUs, or --logical-cpus), multi-worker (TF_CONFIG).")] = "default",
    logical_cpus: Annotated[Optional[int], typer.Option("--logical-cpus", help="Split the CPU into N logical devices (test multi-replica training without GPUs).")] = None,
    resume: Annotated[bool, typer.Option("--resume", help="Continue from the run directory's latest checkpoint (its saved settings).")] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
):
    """Train the Structure Generator on synthetic graphs."""
    configure_logging(verbose)
    import_tensorflow_quietly(verbose)
    from rich.progress import (BarColumn, MofNCompleteColumn, Progress,
                               TextColumn, TimeElapsedColumn)

    from tf_structgen.training import config as train_config
    from tf_structgen.training.trainer import train as run_training

    if preset not in train_config.PRESETS:
        raise fail(f"unknown preset {preset!r}; choose from {', '.join(train_config.PRESETS)}")
    overrides = {
        "train__max_steps": max_steps, "train__batch_size": batch_size,
        "train__lr_drop_step": lr_drop_step, "model__pointer": pointer,
        "model__gcn_layers": gcn_layers, "model__shared_weights": shared_weights,
        "model__node_skip": node_skip,
        "data__decoys_touch_chain": decoys_touch_chain,
        "train__checkpoint_every": checkpoint_every,
        "train__local_loss_weight": local_loss_weight,
        "train__validate_every": validate_every, "train__seed": seed,
    }
    with user_errors(verbose):
        try:
            chosen = train_config.PRESETS[preset].replace(
                **{k: v for k, v in overrides.items() if v is not None})
        except ValueError as e:
            raise fail(str(e)) from None
        if resume and max_steps is None:
            # A resumed run keeps its own last step unless --max-steps moves it.
            from tf_structgen.training.trainer import CONFIG_FILE, load_preset

            if (run_dir / CONFIG_FILE).exists():
                saved = load_preset(run_dir)
                chosen = chosen.replace(train__max_steps=saved.train.max_steps)
        limit = parse_duration(time_limit) if time_limit else None
        from tf_structgen.training.distribute import make_strategy

        dist = make_strategy(strategy, logical_cpus)
        sigterm_as_interrupt()
        columns = (TextColumn("[bold]train"), BarColumn(), MofNCompleteColumn(),
                   TextColumn("{task.fields[rate]:.2f} steps/s"),
                   TextColumn("loss {task.fields[loss]:.2f}"),
                   TextColumn("val AA {task.fields[aa]}"), TimeElapsedColumn())
        with Progress(*columns, transient=False) as progress:
            task = progress.add_task("train", total=chosen.train.max_steps,
                                     rate=0.0, loss=float("nan"), aa="-")
            last_aa = ["-"]

            def on_step(info):
                if info.validation_aa is not None:
                    last_aa[0] = f"{info.validation_aa:.4f}"
                progress.update(task, completed=info.step, rate=info.steps_per_second,
                                loss=info.loss, aa=last_aa[0])
            try:
                info = run_training(run_dir, chosen, resume=resume,
                                    time_limit_s=limit, on_step=on_step,
                                    strategy=dist)
            except KeyboardInterrupt:
                typer.echo(f"interrupted; checkpoint saved in {run_dir}; "
                           "continue with --resume", err=True)
                raise typer.Exit(EXIT_INTERRUPTED) from None
    typer.echo(f"stopped at step {info.step}; run directory {run_dir}")
