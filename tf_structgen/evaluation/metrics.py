"""Assignment accuracy (AA, the paper's eq. 2)."""

from __future__ import annotations

import numpy as np


def per_protein_accuracy(predicted: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Fraction of positions assigned to their true node, per protein.

    Args:
      predicted: [B, L] predicted node per position (any value for padding).
      target: [B, L] true node per position; -1 where the position has no
        true node or is padding (excluded).

    Returns:
      [B] float64 accuracies (NaN for a protein without any true node).
    """
    valid = target >= 0
    correct = (predicted == target) & valid
    counts = valid.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, correct.sum(axis=1) / counts, np.nan)


def mean_accuracy(per_protein: np.ndarray) -> float:
    """AA: the mean over proteins that have at least one true node."""
    per_protein = np.asarray(per_protein, dtype=np.float64)
    return float(np.nanmean(per_protein)) if np.isfinite(per_protein).any() else float("nan")
