"""How good the detector's amino-acid scores are (paper Fig. 5): pure numpy."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from tf_structgen.common.residue_constants import NUM_AMINO_ACIDS


def detector_confusion(residues: Sequence[np.ndarray], truth: Sequence[np.ndarray],
                       aa_probs: np.ndarray) -> np.ndarray:
    """Amino-acid confusion of the detector scores over the true nodes.

    Args:
      residues: per chain, [n] residue indices (0-19 in ``ALPHABET`` order;
        any other value, e.g. unknown or padding, is skipped).
      truth: per chain, [n] index into ``aa_probs`` of each residue's true
        node, -1 where the residue has none (skipped).
      aa_probs: [num_nodes, 20] detector scores of the candidate set.

    Returns:
      [20, 20] int64 counts: row = true residue type, column = argmax class of
      that residue's true node. The trace is the number of true nodes the
      detector got right.
    """
    if len(residues) != len(truth):
        raise ValueError(f"{len(residues)} residue arrays but {len(truth)} truth arrays")
    aa_probs = np.asarray(aa_probs)
    if aa_probs.ndim != 2 or aa_probs.shape[1] != NUM_AMINO_ACIDS:
        raise ValueError(f"aa_probs must be [num_nodes, {NUM_AMINO_ACIDS}], "
                         f"got {aa_probs.shape}")
    argmax = np.argmax(aa_probs, axis=1) if len(aa_probs) else np.zeros(0, np.int64)
    counts = np.zeros((NUM_AMINO_ACIDS, NUM_AMINO_ACIDS), dtype=np.int64)
    for res, nodes in zip(residues, truth):
        res, nodes = np.asarray(res, dtype=np.int64), np.asarray(nodes, dtype=np.int64)
        if res.shape != nodes.shape:
            raise ValueError(f"residues {res.shape} and truth {nodes.shape} differ in shape")
        keep = (nodes >= 0) & (res >= 0) & (res < NUM_AMINO_ACIDS)
        if (nodes[keep] >= len(aa_probs)).any():
            raise ValueError("truth points past the last node")
        np.add.at(counts, (res[keep], argmax[nodes[keep]]), 1)
    return counts


def detector_accuracy(counts: np.ndarray) -> float:
    """Top-1 accuracy from :func:`detector_confusion` counts: the fraction of
    true nodes (of standard residues) whose argmax class is their residue;
    NaN without any."""
    total = int(np.sum(counts))
    return float(np.trace(counts) / total) if total else float("nan")
