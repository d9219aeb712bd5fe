"""How well link scores separate backbone links from other contacts."""

from __future__ import annotations

import numpy as np


def roc_auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """Area under the ROC curve (ties count half); NaN without both classes."""
    labels = np.asarray(labels) > 0.5
    scores = np.asarray(scores, np.float64)
    num_pos, num_neg = int(labels.sum()), int((~labels).sum())
    if num_pos == 0 or num_neg == 0:
        return float("nan")
    order = np.argsort(scores, kind="mergesort")
    sorted_scores = scores[order]
    ranks = np.empty(len(scores))
    # Average ranks over ties.
    _, first, counts = np.unique(sorted_scores, return_index=True, return_counts=True)
    average = first + (counts - 1) / 2.0 + 1.0
    ranks[order] = np.repeat(average, counts)
    return float((ranks[labels].sum() - num_pos * (num_pos + 1) / 2) / (num_pos * num_neg))


def precision_at_recall(labels: np.ndarray, scores: np.ndarray,
                        recall: float = 0.95) -> float:
    """Precision of the highest threshold that keeps ``recall`` of the links."""
    labels = np.asarray(labels) > 0.5
    if not labels.any():
        return float("nan")
    order = np.argsort(-np.asarray(scores, np.float64), kind="mergesort")
    hits = np.cumsum(labels[order])
    k = int(np.searchsorted(hits, np.ceil(recall * labels.sum())))
    return float(hits[k] / (k + 1))


def link_metrics(labels: np.ndarray, logits: np.ndarray, distances: np.ndarray,
                 max_distance: float = 4.6) -> dict[str, float]:
    """Metrics over the contacts shorter than ``max_distance`` (the contacts
    a threader weighs as links): AUC, precision at 95 % recall, and
    precision / recall at logit 0. Each undirected contact counts once
    when both directions are given (they score alike)."""
    labels, logits = np.asarray(labels), np.asarray(logits, np.float64)
    keep = np.asarray(distances) < max_distance
    labels, logits = labels[keep] > 0.5, logits[keep]
    predicted = logits > 0
    tp = int((predicted & labels).sum())
    return {"contacts": int(keep.sum()), "links": int(labels.sum()),
            "auc": roc_auc(labels, logits),
            "precision_at_95_recall": precision_at_recall(labels, logits, 0.95),
            "precision": tp / max(int(predicted.sum()), 1),
            "recall": tp / max(int(labels.sum()), 1)}
