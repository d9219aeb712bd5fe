"""The paper's evaluation figures as PNG files (matplotlib, no display needed)."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path: str | Path) -> Path:
    """Writes ``fig`` as a PNG and frees it."""
    import matplotlib.pyplot as plt

    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return Path(path)


def errors_vs_length(lengths: np.ndarray, errors: dict[str, np.ndarray],
                     path: str | Path) -> Path:
    """Fig. 3b: wrongly assigned positions per protein against its length."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    for direction, errs in errors.items():
        ax.scatter(lengths, errs, s=12, alpha=0.7, label=direction)
    ax.set_xlabel("sequence length")
    ax.set_ylabel("wrongly assigned positions")
    ax.set_title("Errors per protein")
    ax.legend()
    return _save(fig, path)


def accuracy_histogram(accuracy: dict[str, np.ndarray], path: str | Path) -> Path:
    """Fig. 4a: histogram of per-protein assignment accuracy."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    bins = np.linspace(0.0, 1.0, 41)
    for direction, acc in accuracy.items():
        ax.hist(acc[np.isfinite(acc)], bins=bins, alpha=0.5, label=direction)
    ax.set_xlabel("assignment accuracy per protein")
    ax.set_ylabel("proteins")
    ax.set_title("Distribution of AA")
    ax.legend()
    return _save(fig, path)


def _node_order(target: np.ndarray, num_nodes: int) -> np.ndarray:
    """Chain nodes in sequence order, then the other nodes: the truth becomes a diagonal."""
    chain = target[target >= 0]
    rest = np.setdiff1d(np.arange(num_nodes), chain)
    return np.concatenate([chain, rest])


def contact_map(source: np.ndarray, target_node: np.ndarray, target: np.ndarray,
                num_nodes: int, path: str | Path) -> Path:
    """Fig. 4b: the contact graph's adjacency, chain nodes first in sequence order."""
    plt = _pyplot()
    order = _node_order(target, num_nodes)
    rank = np.empty(num_nodes, dtype=np.int64)
    rank[order] = np.arange(num_nodes)
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.scatter(rank[source], rank[target_node], s=0.5, marker="s", color="black")
    n = int((target >= 0).sum())
    ax.axvline(n - 0.5, color="tab:red", lw=0.8)
    ax.axhline(n - 0.5, color="tab:red", lw=0.8)
    ax.set_xlim(-0.5, num_nodes - 0.5)
    ax.set_ylim(num_nodes - 0.5, -0.5)
    ax.set_xlabel("node (chain in sequence order | decoys)")
    ax.set_ylabel("node")
    ax.set_title("Contact map")
    return _save(fig, path)


def pointer_heatmap(probs: np.ndarray, target: np.ndarray, path: str | Path) -> Path:
    """Fig. 4c: pointer probabilities, positions x nodes (chain nodes first)."""
    plt = _pyplot()
    order = _node_order(target, probs.shape[1])
    fig, ax = plt.subplots(figsize=(7, 4))
    image = ax.imshow(probs[:, order], aspect="auto", cmap="viridis", vmin=0.0, vmax=1.0,
                      interpolation="nearest")
    fig.colorbar(image, ax=ax, label="probability")
    ax.set_xlabel("node (chain in sequence order | decoys)")
    ax.set_ylabel("sequence position")
    ax.set_title("Pointer probabilities")
    return _save(fig, path)


def aa_vs_detector_accuracy(detector_accuracy: np.ndarray, accuracy: dict[str, np.ndarray],
                            title: str, path: str | Path) -> Path:
    """Fig. 5a: AA per protein against the detector's top-1 accuracy on its true nodes."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    for label, acc in accuracy.items():
        ax.scatter(detector_accuracy, acc, s=14, alpha=0.7, label=label)
    ax.set_xlabel("detector top-1 accuracy per protein")
    ax.set_ylabel("assignment accuracy (AA)")
    ax.set_title(title, fontsize=10)
    if len(accuracy) > 1:
        ax.legend()
    return _save(fig, path)


def confusion_matrix(counts: np.ndarray, title: str, path: str | Path) -> Path:
    """Fig. 5b: detector confusion (true residue x argmax class), rows normalised."""
    from tf_structgen.common.residue_constants import ALPHABET

    plt = _pyplot()
    counts = np.asarray(counts, dtype=np.float64)
    rows = counts.sum(axis=1, keepdims=True)
    fraction = np.divide(counts, rows, out=np.zeros_like(counts), where=rows > 0)
    fig, ax = plt.subplots(figsize=(6, 5.2))
    image = ax.imshow(fraction, cmap="viridis", vmin=0.0, vmax=1.0, interpolation="nearest")
    fig.colorbar(image, ax=ax, label="fraction of the row")
    ticks = np.arange(len(ALPHABET))
    ax.set_xticks(ticks, list(ALPHABET))
    ax.set_yticks(ticks, list(ALPHABET))
    ax.set_xlabel("argmax class of the true node")
    ax.set_ylabel("true residue")
    ax.set_title(title, fontsize=10)
    return _save(fig, path)
