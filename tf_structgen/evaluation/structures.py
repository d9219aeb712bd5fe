"""Simulate detector output from real structures, thread it, score it."""

from __future__ import annotations

import dataclasses
import logging
import os
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from tf_structgen.common.residue_constants import ALPHABET, encode_sequence
from tf_structgen.data.config import DataConfig
from tf_structgen.data.simulate import Realism, Simulation, simulate
from tf_structgen.data.synthetic import example_rng, paper_example_from_chain
from tf_structgen.evaluation.detector import detector_accuracy, detector_confusion
from tf_structgen.io import (CandidateSet, ChainRecord, SequenceRecord, read_structure_chains,
                             write_assignments, write_candidates, write_fasta)

logger = logging.getLogger(__name__)


# Longest numbering gap filled with unknown residues; longer jumps are
# treated as a break without placeholders.
MAX_FILLED_GAP = 100


def with_numbering_gaps(chain: ChainRecord) -> ChainRecord:
    """Fills gaps in the author numbering with unknown residues ('X', no Cα).

    Residues missing from the deposited model keep their place in the
    sequence, as in the user's FASTA, so a chain break is a run of positions
    without a node instead of two residues glued together. Their identity is
    not in the coordinates, hence 'X'.
    """
    numbers = np.asarray(chain.residue_numbers)
    if len(numbers) < 2:
        return chain
    steps = np.diff(numbers)
    fill = np.where((steps > 1) & (steps <= MAX_FILLED_GAP + 1), steps - 1, 0)
    if not fill.any():
        return chain
    seq, xyz, nums = [chain.sequence[0]], [chain.ca_xyz[:1]], [numbers[:1]]
    for i, k in enumerate(fill):
        if k:
            seq.append("X" * k)
            xyz.append(np.full((k, 3), np.nan))
            nums.append(numbers[i] + 1 + np.arange(k))
        seq.append(chain.sequence[i + 1])
        xyz.append(chain.ca_xyz[i + 1:i + 2])
        nums.append(numbers[i + 1:i + 2])
    return ChainRecord(id=chain.id, sequence="".join(seq),
                       ca_xyz=np.concatenate(xyz), residue_numbers=np.concatenate(nums))


def simulate_structure(chains: Sequence[ChainRecord], realism: Realism,
                       seed: int) -> Simulation:
    """All protein chains of one structure -> one simulated candidate set.

    Pass chains through :func:`with_numbering_gaps` first to keep missing
    residues in register.
    """
    rng = np.random.default_rng(seed)
    return simulate([(c.sequence, c.ca_xyz) for c in chains], realism, rng)


def candidate_set(sim: Simulation) -> CandidateSet:
    return CandidateSet(xyz=sim.xyz, aa_probs=sim.aa_probs)


def write_truth(path: str | os.PathLike, chains: Sequence[ChainRecord],
                truth: Sequence[np.ndarray]) -> None:
    """The true node of every residue as an assignment file (model "truth").

    Residues without a node get ``null`` and confidence 0, the others
    confidence 1.
    """
    write_assignments(path, "truth", [
        {"id": c.id, "sequence": c.sequence,
         "nodes": [int(v) if v >= 0 else None for v in t],
         "confidence": [1.0 if v >= 0 else 0.0 for v in t]}
        for c, t in zip(chains, truth)])


def simulate_structure_file(structure: str | os.PathLike, realism: Realism, seed: int,
                            out: str | os.PathLike, *,
                            truth: str | os.PathLike | None = None,
                            fasta: str | os.PathLike | None = None
                            ) -> tuple[Simulation, list[ChainRecord]]:
    """``tfsg simulate``: one PDB/mmCIF file -> candidate file (+ truth, FASTA).

    All protein chains are simulated together, with numbering gaps filled
    (:func:`with_numbering_gaps`). A single chain's sequence goes into the
    candidate file too.

    Args:
      structure: PDB or mmCIF file.
      realism: simulation settings.
      seed: random seed.
      out: candidate file to write (its suffix picks the format).
      truth: if given, write the true node of every residue here
        (:func:`write_truth`).
      fasta: if given, write the chains' sequences here.

    Returns:
      The simulation and the chains it was made from.
    """
    chains = [with_numbering_gaps(c) for c in read_structure_chains(structure)]
    sim = simulate_structure(chains, realism, seed)
    cands = candidate_set(sim)
    if len(chains) == 1:
        cands = dataclasses.replace(cands, sequence=chains[0].sequence)
    write_candidates(cands, out)
    if truth is not None:
        write_truth(truth, chains, sim.truth)
    if fasta is not None:
        write_fasta(fasta, chains)
    return sim, chains


def _residue_keys(numbers) -> list[tuple[int, int]]:
    """(residue number, occurrence) per position: insertion codes repeat a
    number (52, 52A, 52B), and the occurrence keeps them apart."""
    seen: dict[int, int] = {}
    keys = []
    for r in numbers:
        r = int(r)
        keys.append((r, seen.get(r, 0)))
        seen[r] = seen.get(r, 0) + 1
    return keys


def count_correct(truth: Sequence[np.ndarray], predicted: Sequence[np.ndarray],
                  residue_numbers: Sequence[np.ndarray] | None = None) -> tuple[int, int]:
    """Correct positions and positions with a true node, over all chains.

    Chain labels are arbitrary: threading chain A's sequence into copy B of
    a homo-oligomer builds a correct model. Predicted chains are therefore
    matched one-to-one to true chains by the Hungarian algorithm, a position
    counting as correct when it holds the node of the same residue of the
    matched true chain: same position for the chain itself, same residue
    number (with insertion codes told apart by order) for a copy. Different proteins never share true nodes, so the
    matching only pairs copies of one sequence.
    """
    from scipy.optimize import linear_sum_assignment

    k = len(truth)
    if residue_numbers is None:
        residue_numbers = [np.arange(len(t)) for t in truth]
    keys = [_residue_keys(r) for r in residue_numbers]
    score = np.zeros((k, k), dtype=np.int64)
    for t in range(k):
        true_of = {key: int(v) for key, v in zip(keys[t], truth[t]) if v >= 0}
        for p in range(k):
            if p == t:  # same chain: same position
                score[p, t] = int(((predicted[p] == truth[t]) & (truth[t] >= 0)).sum())
                continue
            score[p, t] = sum(true_of.get(key) == int(v)
                              for key, v in zip(keys[p], predicted[p]) if v >= 0)
    rows, cols = linear_sum_assignment(score, maximize=True)
    return int(score[rows, cols].sum()), int(sum((t >= 0).sum() for t in truth))


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
      JSON-ready dict: per structure AA (over positions with a true node),
      counts and ``detector_accuracy`` (top-1 over the structure's true nodes
      of standard residues), ``aa`` (mean over structures), ``aa_positions``
      (pooled) and ``detector_confusion`` (20x20 counts summed over
      structures, rows true residue, columns argmax class of its true node,
      both in ``detector_alphabet`` order).
    """
    rows = []
    confusion = np.zeros((len(ALPHABET), len(ALPHABET)), dtype=np.int64)
    for k, path in enumerate(paths):
        chains = [with_numbering_gaps(c) for c in read_structure_chains(path)]
        sim = simulate_structure(chains, realism, seed + k)
        records = [SequenceRecord(c.id, c.sequence) for c in chains]
        result = thread(candidate_set(sim), records)
        correct, total = count_correct(sim.truth, [c.nodes for c in result],
                                       [c.residue_numbers for c in chains])
        counts = detector_confusion([encode_sequence(c.sequence) for c in chains],
                                    sim.truth, sim.aa_probs)
        confusion += counts
        rows.append({"structure": Path(path).name, "chains": len(chains),
                     "positions": total, "correct": correct,
                     "aa": correct / total if total else float("nan"),
                     "nodes": sim.num_nodes,
                     "detector_accuracy": detector_accuracy(counts)})
        if on_done is not None:
            on_done()
    aa = [r["aa"] for r in rows if np.isfinite(r["aa"])]
    return {"structures": rows,
            "aa": float(np.mean(aa)) if aa else float("nan"),
            "aa_positions": (sum(r["correct"] for r in rows)
                             / max(1, sum(r["positions"] for r in rows))),
            "detector_alphabet": ALPHABET,
            "detector_confusion": confusion.tolist()}


# Example stream of the real chains' paper-protocol problems (disjoint from
# the synthetic training and validation streams 0 and 1).
REAL_CHAIN_STREAM = 2


def real_protein_chains(paths: Sequence[Path], min_length: int = 2
                        ) -> list[tuple[str, ChainRecord]]:
    """Every protein chain of ``paths`` with at least ``min_length`` observed
    residues, in file and chain order, labelled ``"<file name>:<chain id>"``."""
    return [(f"{Path(path).name}:{chain.id}", chain) for path in paths
            for chain in read_structure_chains(path) if len(chain.sequence) >= min_length]


def paper_protocol_chains(chains: Sequence[tuple[str, ChainRecord]], config: DataConfig,
                          seed: int = 0, cutoff: float = 4.0):
    """The paper's Table I row (b) problems: one per chain of ``chains``
    (:func:`real_protein_chains`).

    Each observed chain (residues with a Cα) gets its own ``cutoff`` contact
    map (the paper's 4 Å) plus decoys drawn as in training
    (:func:`paper_example_from_chain`); chain k of the list uses
    ``example_rng(seed, REAL_CHAIN_STREAM, k)``.

    Yields:
      example dicts (graph only), in the order of ``chains``.
    """
    for k, (_, chain) in enumerate(chains):
        yield paper_example_from_chain(
            encode_sequence(chain.sequence), chain.ca_xyz, config,
            example_rng(seed, REAL_CHAIN_STREAM, k), cutoff=cutoff)
