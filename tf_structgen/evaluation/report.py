"""Evaluating a trained run on a seeded or saved dataset: AA, JSON, figures."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Sequence

import numpy as np

from tf_structgen.common.atomic import atomic_write
from tf_structgen.evaluation import plots
from tf_structgen.evaluation.accuracy import greedy_accuracy
from tf_structgen.training.metrics import mean_accuracy


def evaluate_batches(model, batches, directions: Sequence[str]) -> dict:
    """AA per direction plus per-protein details, as a JSON-ready dict."""
    result = greedy_accuracy(model, batches, directions)
    return {
        "num_proteins": int(len(result["lengths"])),
        "aa": {d: mean_accuracy(a) for d, a in result["accuracy"].items()},
        "proteins": [
            {"length": int(n),
             "aa": {d: float(result["accuracy"][d][i]) for d in directions},
             "errors": {d: int(result["errors"][d][i]) for d in directions}}
            for i, n in enumerate(result["lengths"])],
    }


def example_figures(model, graph, out_dir: str | Path) -> list[Path]:
    """Fig. 4b/4c for the first problem of ``graph`` (a batch GraphTensor)."""
    import tensorflow as tf

    from tf_structgen.data import features as F

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    first = graph.node_sets[F.NODES].sizes.numpy()[0]
    edges = graph.edge_sets[F.CONTACTS]
    num_edges = edges.sizes.numpy()[0]
    source = edges.adjacency.source.numpy()[:num_edges]
    target_node = edges.adjacency.target.numpy()[:num_edges]
    target = graph.context[F.TARGET][0].numpy()
    probs = tf.exp(model.log_probs(graph, "ensemble"))[0, :len(target), :first].numpy()
    return [plots.contact_map(source, target_node, target, first, out_dir / "contact_map.png"),
            plots.pointer_heatmap(probs, target, out_dir / "pointer_heatmap.png")]


def write_report(report: dict, out_dir: str | Path) -> list[Path]:
    """Writes ``report.json`` and the Fig. 3b / 4a PNGs into ``out_dir``."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    with atomic_write(out_dir / "report.json") as f:
        json.dump(report, f, indent=2)
    proteins = report["proteins"]
    directions = list(report["aa"])
    lengths = np.array([p["length"] for p in proteins])
    errors = {d: np.array([p["errors"][d] for p in proteins]) for d in directions}
    accuracy = {d: np.array([p["aa"][d] for p in proteins]) for d in directions}
    return [out_dir / "report.json",
            plots.errors_vs_length(lengths, errors, out_dir / "errors_vs_length.png"),
            plots.accuracy_histogram(accuracy, out_dir / "aa_histogram.png")]
