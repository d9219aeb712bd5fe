"""The paper's evaluation figures as PNG files (matplotlib, no display needed)."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


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
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return Path(path)


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
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return Path(path)
