"""``tfsg simulate``: detector-like candidates from a real structure."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import Annotated, Optional

import typer

from .errors import configure_logging, fail, user_errors

RealismPreset = Annotated[str, typer.Option("--realism", help="Realism preset: paper, realistic, hard or clean.")]
Noise = Annotated[Optional[float], typer.Option("--noise", help="Coordinate noise sigma (Å).")]
Top1 = Annotated[Optional[float], typer.Option("--top1", help="Detector top-1 accuracy in [0, 1].")]
Missing = Annotated[Optional[float], typer.Option("--missing", help="Fraction of residues without a node.")]
Decoys = Annotated[Optional[int], typer.Option("--decoys", help="Number of decoys (default: up to the node budget).")]
NodeBudget = Annotated[Optional[int], typer.Option("--node-budget", help="Total nodes when --decoys is not given.")]
Near = Annotated[Optional[float], typer.Option("--near-decoys", help="Share of decoys 2.5–5 Å from the chain.")]


# Each override: its Realism field, its CLI option and its allowed range
# (high None: no upper bound). Checked here so that a bad value names the
# option the user typed, not the dataclass field behind it.
_OVERRIDES = (
    ("coord_noise", "--noise", 0, None),
    ("top1_accuracy", "--top1", 0, 1),
    ("missing_fraction", "--missing", 0, 1),
    ("num_decoys", "--decoys", 0, None),
    ("node_budget", "--node-budget", 0, None),
    ("near_decoy_fraction", "--near-decoys", 0, 1),
)


def _check_option(option: str, value, low, high) -> None:
    """Fails with one line naming ``option`` when ``value`` is out of range."""
    if math.isfinite(value) and low <= value and (high is None or value <= high):
        return
    allowed = f"within [{low}, {high}]" if high is not None else f"a number >= {low}"
    raise fail(f"{option} must be {allowed}, got {value:g}")


def build_realism(realism: str, noise=None, top1=None, missing=None, decoys=None,
                  node_budget=None, near=None):
    """A realism preset with the user's overrides (one line on bad values)."""
    from tf_structgen.data.simulate import REALISM_PRESETS

    if realism not in REALISM_PRESETS:
        raise fail(f"unknown realism {realism!r}; choose from {', '.join(REALISM_PRESETS)}")
    values = (noise, top1, missing, decoys, node_budget, near)
    overrides = {}
    for (field, option, low, high), value in zip(_OVERRIDES, values):
        if value is not None:
            _check_option(option, value, low, high)
            overrides[field] = value
    try:
        return dataclasses.replace(REALISM_PRESETS[realism], **overrides)
    except ValueError as e:
        raise fail(str(e)) from None


def simulate(
    structure: Annotated[Path, typer.Argument(help="PDB or mmCIF file (gzip allowed); all protein chains are used.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Candidate file to write (.json, .json.gz, .npz, .csv, .tsv).")],
    truth: Annotated[Optional[Path], typer.Option("--truth", help="Write the true node of every residue here (assignment JSON).")] = None,
    fasta: Annotated[Optional[Path], typer.Option("--fasta", help="Write the chains' sequences here (FASTA).")] = None,
    realism: RealismPreset = "realistic",
    noise: Noise = None, top1: Top1 = None, missing: Missing = None, decoys: Decoys = None,
    node_budget: NodeBudget = None, near_decoys: Near = None,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
):
    """Simulate detector output (candidates + truth) from a real structure.

    Residues missing from the model (gaps in the numbering) become 'X' in the
    written sequence and have no node.
    """
    configure_logging(verbose)
    with user_errors(verbose):
        from tf_structgen.evaluation.structures import simulate_structure_file

        settings = build_realism(realism, noise, top1, missing, decoys, node_budget, near_decoys)
        sim, chains = simulate_structure_file(structure, settings, seed, out,
                                              truth=truth, fasta=fasta)
    typer.echo(f"{sim.num_nodes} candidates for {len(chains)} chain(s) "
               f"({sum(len(c.sequence) for c in chains)} residues) written to {out}")
