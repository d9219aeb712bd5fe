"""Classical baseline: HMM Viterbi threading over candidate Cα nodes.

The sequence is threaded through the candidate set as in Cryo2Struct, by
Viterbi decoding of an HMM whose hidden states are candidate nodes. Scores are
log-weights (natural logs, larger is better). Emissions at position t, node j:
``emission_weight * log(p_j(a_t) / background(a_t))`` with ``p_j`` the node's
scores renormalised and floored at ``prob_floor``; ``unknown_emission`` for
unknown residues;
plus the optional ``log_emission_prior``.

The model is second order: real Cα traces never fold back on themselves
(Cα(i)-Cα(i+2) is 5.0-7.35 Å in 99.5% of residues), while a first-order model
happily bounces between two nodes 3.8 Å apart, which is what makes decoys
win. States at position t (m nodes, E adjacency edges):

* ``E_e`` for an adjacency edge ``e = (i -> j)``: t is at j, t-1 at i;
* ``F_j``: t is at j, entered without an assigned predecessor (chain start,
  jump, or re-entry after a gap);
* ``G_j``: t is null and j is the last assigned node (so that re-entry after
  a gap can be distance-aware);
* ``S``: nothing assigned yet (N-terminal residues without a node).

Transitions (each adds the emission of the node it enters):

* ``E_(h->i) -> E_(i->j)`` and ``F_i -> E_(i->j)``: the Cα-Cα distance score
  ``max(-z_trans^2 / 2, -cis_penalty - z_cis^2 / 2)`` with ``z = (d - d0) /
  sigma``, ``sigma = sqrt(distance_sigma^2 + 2 noise^2)`` (both ends noisy);
  from an ``E`` state also the second-neighbour score, 0 when Cα(h)-Cα(j) is
  in ``second_neighbour_range`` and a Gaussian fall-off (same sigma) outside;
* ``G_i -> F_j`` for d(i, j) <= ``reentry_radius`` (+ ``max_sigmas *
  sigma``): ``-reentry_penalty``;
* any ``E``/``F``/``G`` state ``-> F_j``: a jump anywhere (chain break, long
  missing run), ``-jump_penalty``; ``S -> F_j``: 0;
* assigned ``-> G_j``: ``-gap_open``; ``G_j -> G_j``, ``S -> S``:
  ``-null_cost``.

Everything sparse comes from one KD-tree radius query: adjacency edges within
``max_sigmas`` of the two distance modes, and the consecutive edge pairs whose
second-neighbour distance is within ``max_sigmas`` of the allowed range. One
Viterbi step is a max over the edge pairs plus O(E + m) work (a compiled
kernel, :mod:`~tf_structgen.decoding.kernels`), so time and memory are
linear in edges and pairs, never m x m (the trellis stores [n, E + 2m]
float32 scores and an [n, E] int32 back-pointer per edge state; the other
states' back-pointers are recomputed for the chosen path only).

A dihedral penalty (``dihedral_weight``, on by default; see
:mod:`~tf_structgen.decoding.backbone_prior`) makes the Viterbi pass third
order in part: each edge pair ``(i -> j, j -> k)`` also scores the virtual
dihedral of ``h, i, j, k``, ``h`` being the node before ``i`` on the best
path into ``i -> j`` (its edge state's back-pointer). The graph
precomputes that score for every pair after every pair into its first
edge. Dihedrals real chains rarely take cost up to a few nats; no
dihedral earns a bonus.

Node uniqueness (Viterbi alone may use a node at two positions) is restored
by a repair loop: a node claimed by several positions goes to the position
with the highest posterior, is banned at all other positions, and the chain
is decoded again; after ``max_repair_rounds`` re-decodes any remaining loser
is nulled. Chains are threaded one after the other, in the given order, each
with the nodes of the earlier chains banned.

Confidence is the forward-backward posterior probability that position t
sits at its decoded node, under the same second-order model (the Gibbs
distribution whose log-weights are the Viterbi scores, without the dihedral
penalty) before the repair bans; computed once per chain in linear space with per-step rescaling and
sparse matrix-vector products. It is 0 for null positions.
"""

from __future__ import annotations

import logging
from typing import Sequence

import numpy as np

from tf_structgen.common.errors import InputError
from tf_structgen.common.residue_constants import (
    BACKGROUND_FREQUENCIES,
    NUM_AMINO_ACIDS,
    UNKNOWN_INDEX,
)
from tf_structgen.decoding.config import HMMConfig
from tf_structgen.decoding.copies import copy_groups, untangle_copies
from tf_structgen.decoding.graph import CandidateGraph
from tf_structgen.decoding.viterbi import node_marginals, viterbi

__all__ = ["HMMConfig", "copy_groups", "hmm_thread", "untangle_copies"]

logger = logging.getLogger(__name__)


def hmm_thread(
    xyz: np.ndarray,
    aa_probs: np.ndarray,
    sequences: Sequence[np.ndarray],
    config: HMMConfig = HMMConfig(),
    log_emission_prior: np.ndarray | Sequence[np.ndarray] | None = None,
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Threads each sequence through disjoint candidate nodes.

    Args:
      xyz: [m, 3] candidate Cα coordinates.
      aa_probs: [m, 20] amino-acid scores (rows are renormalised).
      sequences: per chain, [n] int residue indices (``UNKNOWN_INDEX`` for
        non-standard residues).
      config: the model's tunables.
      log_emission_prior: optional log-odds added to the emissions, e.g. a
        neural model's: one [sum n, m] array (chains concatenated) or one
        [n, m] array per chain.

    Returns:
      Per chain, ``(nodes, confidence)``: [n] int32 node index per position
      (-1 = null) and [n] float32 posterior probability of that assignment
      (0 for null positions). No node is used twice, across all chains.

    Raises:
      InputError: on inconsistent shapes or invalid values.
    """
    xyz, log_odds = _check_nodes(xyz, aa_probs, config)
    seqs = [_check_sequence(s, k) for k, s in enumerate(sequences)]
    priors = _split_prior(log_emission_prior, [len(s) for s in seqs], len(xyz))
    if len(xyz) == 0:
        return [(np.full(len(s), -1, np.int32), np.zeros(len(s), np.float32))
                for s in seqs]
    graph = CandidateGraph(xyz, config)

    used = np.zeros(len(xyz), dtype=bool)
    results = []
    for seq, prior in zip(seqs, priors):
        emission = log_odds[seq]  # [n, m]
        if prior is not None:
            emission += prior
        emission[:, used] = -np.inf
        nodes, conf = _decode_unique(graph, emission, config)
        used[nodes[nodes >= 0]] = True
        results.append((nodes, conf))
    if config.untangle_copies:
        results = untangle_copies(results, seqs, xyz, config)
    return results


def _decode_unique(graph: CandidateGraph, emission: np.ndarray,
                   config: HMMConfig) -> tuple[np.ndarray, np.ndarray]:
    """Viterbi, repaired so that no node is used twice, and confidences.

    A node claimed by several positions goes to the one with the highest
    posterior and is banned at every other position; the chain is decoded
    again (at most ``max_repair_rounds`` times), then any remaining loser is
    nulled. The posteriors are those of the model without the bans.
    ``emission`` is modified in place.
    """
    if len(emission) == 0:
        return np.zeros(0, np.int32), np.zeros(0, np.float32)
    marginals = node_marginals(graph, emission, config)
    positions = np.arange(len(emission))
    for round_ in range(config.max_repair_rounds + 1):
        nodes = viterbi(graph, emission, config)
        conf = np.where(nodes >= 0, marginals[positions, nodes], 0.0)
        winners, losers = _resolve_duplicates(nodes, conf)
        if len(losers) == 0 or round_ == config.max_repair_rounds:
            break
        kept = emission[winners, nodes[winners]]
        emission[:, nodes[winners]] = -np.inf
        emission[winners, nodes[winners]] = kept
    if len(losers):
        logger.debug("nulling %d duplicate assignments", len(losers))
        nodes[losers] = -1
        conf[losers] = 0.0
    return nodes, conf.astype(np.float32)


def _resolve_duplicates(nodes: np.ndarray,
                        conf: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Positions that keep a contested node (highest posterior) and those
    that lose it; both empty when no node is used twice."""
    pos = np.flatnonzero(nodes >= 0)
    # Sort by node, then by decreasing confidence: the first of a node wins.
    order = pos[np.lexsort((-conf[pos], nodes[pos]))]
    same_as_prev = np.zeros(len(order), dtype=bool)
    same_as_prev[1:] = nodes[order[1:]] == nodes[order[:-1]]
    losers = order[same_as_prev]
    contested = np.isin(nodes[order], nodes[losers])
    return order[contested & ~same_as_prev], losers


def _check_nodes(xyz, aa_probs, config: HMMConfig) -> tuple[np.ndarray, np.ndarray]:
    """Validates the candidate set; returns xyz and [21, m] emission log-odds.

    Row ``UNKNOWN_INDEX`` of the log-odds is ``config.unknown_emission``.
    """
    xyz = np.asarray(xyz, dtype=np.float64)
    probs = np.asarray(aa_probs, dtype=np.float64)
    if xyz.ndim != 2 or xyz.shape[1] != 3:
        raise InputError(f"xyz has shape {xyz.shape}, expected [m, 3]")
    if probs.shape != (len(xyz), NUM_AMINO_ACIDS):
        raise InputError(f"aa_probs has shape {probs.shape}, expected "
                         f"[{len(xyz)}, {NUM_AMINO_ACIDS}]")
    if not (np.isfinite(xyz).all() and np.isfinite(probs).all()):
        raise InputError("xyz and aa_probs must be finite")
    if (probs < 0).any():
        raise InputError("aa_probs must be non-negative")
    total = probs.sum(axis=1, keepdims=True)
    if (total <= 0).any():
        raise InputError(f"aa_probs row {int(np.argmin(total))} is all zeros")
    probs = np.maximum(probs / total, config.prob_floor)
    probs /= probs.sum(axis=1, keepdims=True)
    log_odds = np.full((NUM_AMINO_ACIDS + 1, len(xyz)), config.unknown_emission)
    log_odds[:NUM_AMINO_ACIDS] = config.emission_weight * (
        np.log(probs) - np.log(BACKGROUND_FREQUENCIES)).T
    return xyz, log_odds


def _check_sequence(seq, k: int) -> np.ndarray:
    """Validates chain k's residue indices; returns them as int64."""
    seq = np.asarray(seq)
    if seq.ndim != 1 or (seq.size and not np.issubdtype(seq.dtype, np.integer)):
        raise InputError(f"sequence {k} must be a 1-D array of residue indices")
    if seq.size and (seq.min() < 0 or seq.max() > UNKNOWN_INDEX):
        raise InputError(f"sequence {k} has residue indices outside "
                         f"[0, {UNKNOWN_INDEX}]")
    return seq.astype(np.int64)


def _split_prior(prior, lengths: list[int], m: int) -> list[np.ndarray | None]:
    """The optional emission prior as one [n, m] array (or None) per chain.

    Entries may be -inf (node ruled out), not NaN.
    """
    if prior is None:
        return [None] * len(lengths)
    if isinstance(prior, np.ndarray) and prior.shape[:1] == (sum(lengths),):
        prior = np.split(prior, np.cumsum(lengths)[:-1])
    # float32: one [n, m] array per entity adds up at 20,000 candidates.
    prior = [np.asarray(p, dtype=np.float32) for p in prior]
    if len(prior) != len(lengths) or any(
            p.shape != (n, m) for p, n in zip(prior, lengths)):
        raise InputError(
            f"log_emission_prior must be [{sum(lengths)}, {m}] or one "
            f"[n, {m}] array per chain (chain lengths {lengths})")
    if any(np.isnan(p).any() for p in prior):
        raise InputError("log_emission_prior contains NaN")
    return prior
