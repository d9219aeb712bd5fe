"""Evaluating a trained run on a seeded or saved dataset: AA, JSON, figures."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Sequence

import numpy as np

from tf_structgen.common.atomic import atomic_write
from tf_structgen.common.residue_constants import ALPHABET
from tf_structgen.evaluation import plots
from tf_structgen.evaluation.accuracy import greedy_accuracy
from tf_structgen.evaluation.metrics import mean_accuracy
from tf_structgen.evaluation.structures import evaluate_structures


def evaluate_batches(model, batches, directions: Sequence[str]) -> dict:
    """AA per direction plus per-protein details, as a JSON-ready dict.

    Also the detector's top-1 accuracy per protein (over its true nodes) and
    the 20x20 ``detector_confusion`` counts (rows true residue, columns argmax
    class of its true node, ``detector_alphabet`` order) for Fig. 5.
    """
    result = greedy_accuracy(model, batches, directions, detector=True)
    return {
        "num_proteins": int(len(result["lengths"])),
        "aa": {d: mean_accuracy(a) for d, a in result["accuracy"].items()},
        "proteins": [
            {"length": int(n),
             "aa": {d: float(result["accuracy"][d][i]) for d in directions},
             "errors": {d: int(result["errors"][d][i]) for d in directions},
             "detector_accuracy": float(result["detector_accuracy"][i])}
            for i, n in enumerate(result["lengths"])],
        "detector_alphabet": ALPHABET,
        "detector_confusion": result["confusion"].tolist(),
    }


def example_figures(model, graph, out_dir: str | Path) -> list[Path]:
    """Fig. 4b/4c for the first problem of ``graph`` (a batch GraphTensor)."""
    import tensorflow as tf

    from tf_structgen.common import features as F

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
    """Writes ``report.json`` and the Fig. 3b / 4a (and 5a / 5b) PNGs into ``out_dir``."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    with atomic_write(out_dir / "report.json") as f:
        json.dump(report, f, indent=2)
    proteins = report["proteins"]
    directions = list(report["aa"])
    lengths = np.array([p["length"] for p in proteins])
    errors = {d: np.array([p["errors"][d] for p in proteins]) for d in directions}
    accuracy = {d: np.array([p["aa"][d] for p in proteins]) for d in directions}
    files = [out_dir / "report.json",
             plots.errors_vs_length(lengths, errors, out_dir / "errors_vs_length.png"),
             plots.accuracy_histogram(accuracy, out_dir / "aa_histogram.png")]
    if "detector_confusion" in report:
        model = f"{report['pointer']} pointer" if "pointer" in report else "model"
        if "step" in report:
            model += f", step {report['step']}"
        data = f"{report['data_source']} data" if "data_source" in report else "synthetic data"
        detector = np.array([p["detector_accuracy"] for p in proteins], dtype=np.float64)
        files += detector_figures(detector, accuracy, report["detector_confusion"],
                                  f"{model}; {data}", out_dir)
    return files


def structures_report(paths: Sequence[Path], predictor, realism, *, realism_name: str,
                      direction: str, seed: int, on_done=None) -> dict:
    """:func:`evaluate_structures` with ``predictor.thread``, plus what ran.

    Args:
      paths: PDB/mmCIF files.
      predictor: a :class:`~tf_structgen.inference.predictor.Predictor` (its
        ``thread``, ``name`` and ``decoder`` are used).
      realism: simulation settings (a ``Realism``).
      realism_name: the preset name, for the report.
      direction: the predictor's direction, for the report.
      seed: base seed of the simulations.
      on_done: called after each structure (progress).

    Returns:
      The JSON-ready report, with ``model``, ``decoder``, ``direction``,
      ``realism`` and ``seed``.
    """
    report = evaluate_structures(paths, predictor.thread, realism, seed, on_done=on_done)
    report |= {"model": predictor.name, "decoder": predictor.decoder, "direction": direction,
               "realism": realism_name, "seed": seed}
    return report


def write_structures_report(report: dict, out_dir: str | Path) -> list[Path]:
    """Writes ``structures_report.json`` and the Fig. 5a / 5b PNGs into ``out_dir``."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    with atomic_write(out_dir / "structures_report.json") as f:
        json.dump(report, f, indent=2)
    return [out_dir / "structures_report.json", *structures_figures(report, out_dir)]


def structures_figures(report: dict, out_dir: str | Path) -> list[Path]:
    """Fig. 5a / 5b for a report of :func:`evaluate_structures`."""
    rows = report["structures"]
    decoder = report.get("decoder", "?")
    if decoder in ("hmm", "links"):
        model = "HMM decoder" if decoder == "hmm" else "HMM + link head decoder"
    else:
        # A SavedModel version folder is named by a number: keep its parent.
        name = "/".join(Path(str(report.get("model", "?"))).parts[-2:])
        model = f"{name}, {decoder} decoder"
        if "direction" in report:
            model += f", {report['direction']}"
    detector = np.array([r["detector_accuracy"] for r in rows], dtype=np.float64)
    accuracy = {decoder: np.array([r["aa"] for r in rows], dtype=np.float64)}
    return detector_figures(detector, accuracy, report["detector_confusion"],
                            f"{model}; realism {report.get('realism', '?')}", out_dir)


def detector_figures(detector_accuracy: np.ndarray, accuracy: dict[str, np.ndarray],
                     confusion, title: str, out_dir: str | Path) -> list[Path]:
    """Fig. 5a (``aa_vs_detector_accuracy.png``) and 5b (``confusion_matrix.png``)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    total = int(np.sum(confusion))
    return [plots.aa_vs_detector_accuracy(detector_accuracy, accuracy,
                                          f"AA vs detector accuracy\n{title}",
                                          out_dir / "aa_vs_detector_accuracy.png"),
            plots.confusion_matrix(np.asarray(confusion),
                                   f"Detector confusion ({total} true nodes)\n{title}",
                                   out_dir / "confusion_matrix.png")]
