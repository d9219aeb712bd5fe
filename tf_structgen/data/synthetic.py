"""Synthetic threading problems following the Structure Generator paper.

Paper protocol (Li et al., 2020): a sequence of length n in [50, 450]; a
perfect chain contact graph (residue i touches i+1); amino-acid scores
``|N(0, sigma)|`` for the 19 wrong classes and ``1 - sum`` for the true one;
``node_budget - n`` decoy nodes with random edges; node order shuffled.

Sequences: UniRef50 is not available offline, so residues are drawn i.i.d.
from the UniProtKB/Swiss-Prot amino-acid composition
(:data:`~tf_structgen.common.residue_constants.BACKGROUND_FREQUENCIES`). For
this protocol the model only sees the scores and the graph, so the exact
sequence source matters little; the composition keeps the class balance
realistic.

Every example is a pure function of ``(seed, stream, index)``: datasets are
deterministic, and a resumed training run sees exactly the data it would have
seen without the interruption.
"""

from __future__ import annotations

import numpy as np

from tf_structgen.common import features as F
from tf_structgen.common.residue_constants import (
    BACKGROUND_FREQUENCIES,
    NUM_AMINO_ACIDS,
)
from tf_structgen.data.config import DataConfig
from tf_structgen.data.contact_graph import contact_edges

TRAIN_STREAM = 0
VALIDATION_STREAM = 1


def example_rng(seed: int, stream: int, index: int) -> np.random.Generator:
    """The generator of example ``index`` of ``stream``: independent of order."""
    return np.random.default_rng([seed, stream, index])


def paper_scores(classes: np.ndarray, sigma: float,
                 rng: np.random.Generator) -> np.ndarray:
    """Paper score model: ``|N(0, sigma)|`` off-class, ``1 - sum`` on-class.

    Args:
      classes: int [k] true class of each node.
      sigma: noise scale.
      rng: random generator.

    Returns:
      float32 [k, 20] score rows.
    """
    k = len(classes)
    scores = np.abs(rng.normal(0.0, sigma, size=(k, NUM_AMINO_ACIDS)))
    rows = np.arange(k)
    scores[rows, classes] = 0.0
    scores[rows, classes] = 1.0 - scores.sum(axis=1)
    return scores.astype(np.float32)


def sample_sequence(length: int, rng: np.random.Generator) -> np.ndarray:
    """i.i.d. residues with Swiss-Prot composition, int32 [length]."""
    return rng.choice(NUM_AMINO_ACIDS, size=length,
                      p=BACKGROUND_FREQUENCIES).astype(np.int32)


def paper_example(config: DataConfig, rng: np.random.Generator,
                  reverse: bool | None = None) -> dict[str, np.ndarray]:
    """One paper-protocol threading problem.

    Args:
      config: data settings.
      rng: random generator (see :func:`example_rng`).
      reverse: present the sequence reversed; drawn with
        ``config.reverse_prob`` when None.

    Returns:
      dict with ``aa_probs`` [m, 20], ``source``/``target_node`` [e] (both
      directions of every edge), ``sequence`` [n] and ``target`` [n] (node of
      each residue).
    """
    n = int(rng.integers(config.min_length, config.max_length + 1))
    sequence = sample_sequence(n, rng)
    chain = np.arange(n - 1)
    return _with_decoys(sequence, np.stack([chain, chain + 1], 1), config.node_budget,
                        config, rng, reverse)


def paper_example_from_chain(sequence: np.ndarray, ca_xyz: np.ndarray,
                             config: DataConfig, rng: np.random.Generator,
                             cutoff: float = 4.0) -> dict[str, np.ndarray]:
    """The paper's protocol on a real chain (its Table I row (b)).

    The chain's own contact map (Cα pairs closer than ``cutoff``: consecutive
    residues, except across chain breaks, plus the rare closer non-consecutive
    pairs) replaces the perfect path; scores and decoys are drawn as in
    :func:`paper_example` ("decoys with the same parameters" as in training),
    up to ``config.node_budget`` nodes in all (none when the chain is longer).
    Graph only: no coordinates reach the model.

    Args:
      sequence: int [n] residue classes; unknown residues (index 20) get the
        scores of a class drawn from the background composition.
      ca_xyz: float [n, 3] Cα coordinates of those residues.
      config: data settings (``node_budget``, ``score_sigma``,
        ``decoy_degree``, ``decoys_touch_chain``).
      rng: random generator.
      cutoff: contact distance in ångström.

    Returns:
      The dict of :func:`paper_example`, sequence forward.
    """
    sequence = np.asarray(sequence, dtype=np.int32)
    src, dst = contact_edges(ca_xyz, cutoff)
    keep = src < dst
    pairs = np.stack([src[keep], dst[keep]], 1)
    return _with_decoys(sequence, pairs, max(config.node_budget, len(sequence)),
                        config, rng, reverse=False)


def _with_decoys(sequence: np.ndarray, chain_pairs: np.ndarray, m: int,
                 config: DataConfig, rng: np.random.Generator,
                 reverse: bool | None) -> dict[str, np.ndarray]:
    """Scores, ``m - n`` decoys with random edges, shuffled node order."""
    n = len(sequence)
    classes = sequence.copy()
    unknown = classes >= NUM_AMINO_ACIDS
    classes[unknown] = rng.choice(NUM_AMINO_ACIDS, size=int(unknown.sum()),
                                  p=BACKGROUND_FREQUENCIES)
    decoy_classes = rng.choice(NUM_AMINO_ACIDS, size=m - n,
                               p=BACKGROUND_FREQUENCIES)
    scores = paper_scores(np.concatenate([classes, decoy_classes]),
                          config.score_sigma, rng)

    # Chain edges, then random edges started by each decoy.
    src, dst = [chain_pairs[:, 0]], [chain_pairs[:, 1]]
    if m > n:
        per_decoy = rng.poisson(config.decoy_degree, size=m - n)
        starts = np.repeat(np.arange(n, m), per_decoy)
        low = 0 if config.decoys_touch_chain else n
        ends = rng.integers(low, m, size=len(starts))
        keep = starts != ends
        src.append(starts[keep])
        dst.append(ends[keep])
    src, dst = np.concatenate(src), np.concatenate(dst)
    pairs = np.unique(np.stack([np.minimum(src, dst), np.maximum(src, dst)], 1),
                      axis=0).reshape(-1, 2)

    # Shuffle node order: old node i becomes new node new_index[i].
    new_index = rng.permutation(m)
    order = np.argsort(new_index)
    pairs = new_index[pairs]
    target = new_index[:n].astype(np.int32)
    if reverse is None:
        reverse = rng.random() < config.reverse_prob
    if reverse:
        sequence, target = sequence[::-1].copy(), target[::-1].copy()
    return {
        F.AA_PROBS: scores[order],
        F.SOURCE: np.concatenate([pairs[:, 0], pairs[:, 1]]).astype(np.int32),
        F.TARGET_NODE: np.concatenate([pairs[:, 1], pairs[:, 0]]).astype(np.int32),
        F.SEQUENCE: sequence,
        F.TARGET: target,
    }


def paper_examples(config: DataConfig, *, seed: int, stream: int,
                   start: int = 0, count: int | None = None,
                   reverse: bool | None = None, shard: tuple[int, int] = (0, 1),
                   shard_block: int = 1):
    """Yields examples ``start, start + 1, ...`` (forever when count is None).

    With ``shard = (r, R)`` only the r-th of every R consecutive blocks of
    ``shard_block`` examples is kept: R data-parallel replicas, each feeding
    blocks of its per-replica batch, together see exactly the single-device
    stream.
    """
    for index in example_indices(start, count, shard, shard_block):
        yield paper_example(config, example_rng(seed, stream, index), reverse)


def example_indices(start: int, count: int | None, shard: tuple[int, int],
                    shard_block: int):
    """Indices ``start, start + 1, ...`` (forever when count is None) that
    input pipeline ``shard = (r, R)`` keeps: the r-th of every R blocks of
    ``shard_block``."""
    replica, num_replicas = shard
    index = start
    while count is None or index < start + count:
        if (index - start) // shard_block % num_replicas == replica:
            yield index
        index += 1
