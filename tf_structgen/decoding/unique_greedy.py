"""Greedy decoding of pointer probabilities with each node used at most once.

All (chain, position, candidate node) triples of the model's top-K lists are
visited from the most to the least probable; a triple is taken when its
position is still open, its node still free, and its probability is at least
``min_confidence``. Several chains therefore get disjoint node sets, and a
position whose credible nodes are all taken (or that has none) stays null.
Time O(T log T) in the number T of triples; no [n, m] array.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np


def unique_greedy(top_nodes: Sequence[np.ndarray], top_log_probs: Sequence[np.ndarray],
                  *, min_confidence: float = 0.0
                  ) -> list[tuple[np.ndarray, np.ndarray]]:
    """Decodes several chains jointly.

    Args:
      top_nodes: per chain, int [n_c, K] candidate nodes per position, best
        first.
      top_log_probs: per chain, float [n_c, K] their log-probabilities.
      min_confidence: minimum probability to assign a node.

    Returns:
      Per chain ``(nodes int32 [n_c] (-1 = null), confidence float32 [n_c])``.
    """
    lengths = [len(t) for t in top_nodes]
    if not lengths:
        return []
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    nodes = np.concatenate([np.asarray(t, np.int64).reshape(n, -1)
                            for t, n in zip(top_nodes, lengths)])
    probs = np.exp(np.concatenate([np.asarray(p, np.float64).reshape(n, -1)
                                   for p, n in zip(top_log_probs, lengths)]))
    total, k = nodes.shape if nodes.size else (offsets[-1], 0)
    position = np.repeat(np.arange(total), k)
    flat_nodes, flat_probs = nodes.reshape(-1), probs.reshape(-1)
    order = np.argsort(-flat_probs, kind="stable")
    assigned = np.full(total, -1, np.int64)
    confidence = np.zeros(total, np.float32)
    used: set[int] = set()
    for i in order:
        p = flat_probs[i]
        if p < min_confidence:
            break
        t, v = position[i], int(flat_nodes[i])
        if assigned[t] >= 0 or v in used or v < 0:
            continue
        assigned[t] = v
        confidence[t] = p
        used.add(v)
    return [(assigned[a:b].astype(np.int32), confidence[a:b])
            for a, b in zip(offsets[:-1], offsets[1:])]
