"""Simulate detector output from real structures, thread it, score it."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from tf_structgen.data.simulate import Realism, Simulation, simulate
from tf_structgen.io import CandidateSet, ChainRecord, SequenceRecord, read_structure_chains

logger = logging.getLogger(__name__)


def simulate_structure(chains: Sequence[ChainRecord], realism: Realism,
                       seed: int) -> Simulation:
    """All protein chains of one structure -> one simulated candidate set.

    Each chain's sequence is its observed residues in order (residues absent
    from the deposited model cannot be placed and are left out).
    """
    rng = np.random.default_rng(seed)
    return simulate([(c.sequence, c.ca_xyz) for c in chains], realism, rng)


def candidate_set(sim: Simulation) -> CandidateSet:
    return CandidateSet(xyz=sim.xyz, aa_probs=sim.aa_probs)


def count_correct(truth: Sequence[np.ndarray], predicted: Sequence[np.ndarray],
                  sequences: Sequence[str]) -> tuple[int, int]:
    """Correct positions and positions with a true node, over all chains.

    Copies of one sequence (homo-oligomers) are interchangeable: predicted
    chains are matched to true chains of the same sequence by the
    permutation with the most correct positions (Hungarian algorithm).
    """
    from scipy.optimize import linear_sum_assignment

    correct = 0
    groups: dict[str, list[int]] = {}
    for k, seq in enumerate(sequences):
        groups.setdefault(seq, []).append(k)
    for members in groups.values():
        score = np.array([[int(((truth[t] >= 0) & (predicted[p] == truth[t])).sum())
                           for t in members] for p in members])
        rows, cols = linear_sum_assignment(score, maximize=True)
        correct += int(score[rows, cols].sum())
    return correct, int(sum((t >= 0).sum() for t in truth))


def evaluate_structures(paths: Sequence[Path], thread: Callable, realism: Realism,
                        seed: int = 0, on_done: Callable[[], None] | None = None) -> dict:
    """AA per structure and overall.

    Args:
      paths: PDB/mmCIF files.
      thread: ``thread(CandidateSet, list[SequenceRecord]) -> assignments``
        (e.g. :meth:`Predictor.thread`).
      realism: simulation settings.
      seed: base seed; structure k uses ``seed + k``.
      on_done: called after each structure (progress).

    Returns:
      JSON-ready dict: per structure AA (over positions with a true node) and
      counts, ``aa`` (mean over structures) and ``aa_positions`` (pooled).
    """
    rows = []
    for k, path in enumerate(paths):
        chains = read_structure_chains(path)
        sim = simulate_structure(chains, realism, seed + k)
        records = [SequenceRecord(c.id, c.sequence) for c in chains]
        result = thread(candidate_set(sim), records)
        correct, total = count_correct(sim.truth, [c.nodes for c in result],
                                       [c.sequence for c in chains])
        rows.append({"structure": Path(path).name, "chains": len(chains),
                     "positions": total, "correct": correct,
                     "aa": correct / total if total else float("nan"),
                     "nodes": sim.num_nodes})
        if on_done is not None:
            on_done()
    aa = [r["aa"] for r in rows if np.isfinite(r["aa"])]
    return {"structures": rows,
            "aa": float(np.mean(aa)) if aa else float("nan"),
            "aa_positions": (sum(r["correct"] for r in rows)
                             / max(1, sum(r["positions"] for r in rows)))}
