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
Viterbi step is a gather and a segment max over the edge pairs plus O(E + m)
work, so time and memory are linear in edges and pairs, never m x m (the
trellis stores [n, E + 2m] float32 scores; back-pointers are recomputed for
the chosen path only).

Node uniqueness (Viterbi alone may use a node at two positions) is restored
by a repair loop: a node claimed by several positions goes to the position
with the highest posterior, is banned at all other positions, and the chain
is decoded again; after ``max_repair_rounds`` re-decodes any remaining loser
is nulled. Chains are threaded one after the other, in the given order, each
with the nodes of the earlier chains banned.

Confidence is the forward-backward posterior probability that position t
sits at its decoded node, under the same second-order model (the Gibbs
distribution whose log-weights are the Viterbi scores) before the repair
bans; computed once per chain in linear space with per-step rescaling and
sparse matrix-vector products. It is 0 for null positions.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
from typing import Sequence

import numpy as np
import scipy.optimize
import scipy.sparse
from scipy.spatial import cKDTree

from tf_structgen.common.errors import InputError
from tf_structgen.common.residue_constants import (
    BACKGROUND_FREQUENCIES,
    NUM_AMINO_ACIDS,
    UNKNOWN_INDEX,
)

logger = logging.getLogger(__name__)

_MAX_ABS_LOG_WEIGHT = 60.0  # keeps exp() finite in the forward-backward pass
_KMER = 5                   # word length of the copy alignment seeds
_UNTANGLE_MARGIN = 0.1      # smallest break-cost gain worth a tail exchange


@dataclasses.dataclass(frozen=True, kw_only=True)
class HMMConfig:
    """Tunables of :func:`hmm_thread` (log-weights are natural logs).

    Attributes:
      noise: expected coordinate noise sigma (Å) of the candidate positions;
        widens the distance models.
      ca_distance: consecutive Cα-Cα distance (Å) across a trans peptide.
      distance_sigma: spread (Å) of the distances without coordinate noise.
      max_sigmas: cut-off, in sigmas, of the sparse transitions (adjacency
        edges, second-neighbour pairs, re-entry margin).
      cis_distance: consecutive Cα-Cα distance across a cis peptide (~0.2%
        of residues).
      cis_penalty: log-prior cost of a cis step.
      second_neighbour_range: range (Å) of the Cα(i)-Cα(i+2) distance that
        costs nothing; Gaussian fall-off outside.
      second_neighbour_weight: factor on that term (0 makes the model first
        order, back-and-forth paths included).
      cis_second_neighbour_min: lower end of that range when the step from
        residue i to i+1 is a cis peptide.
      reentry_radius: largest distance (Å) from the last assigned node at which
        the chain may resume after a gap at ``reentry_penalty``.
      emission_weight: factor on the amino-acid log-odds.
      prob_floor: floor on the renormalised node scores before the log-odds.
      gap_open: cost of leaving an assigned node for a null position.
      null_cost: cost of each further null position.
      reentry_penalty: cost of resuming near the last assigned node.
      jump_penalty: cost of resuming (or continuing) anywhere.
      max_repair_rounds: re-decodes allowed to remove duplicate nodes.
      unknown_emission: log-weight of placing an unknown residue (X) on a
        node. X mostly marks residues absent from the model (unresolved
        loops and termini); at 0 a run of them is threaded for free through
        other chains' nodes, which the slightly negative default prevents
        while single X residues still take a node.
      untangle_copies: after decoding, re-pair the path segments of chains
        with identical sequences (homo-oligomer copies) where that removes
        geometric breaks (see :func:`untangle_copies`).
    """

    noise: float = 0.0
    ca_distance: float = 3.80
    distance_sigma: float = 0.10
    max_sigmas: float = 3.5
    cis_distance: float = 2.95
    cis_penalty: float = 5.0
    second_neighbour_range: tuple[float, float] = (5.0, 7.35)
    second_neighbour_weight: float = 1.0
    cis_second_neighbour_min: float = 4.4
    reentry_radius: float = 7.6
    emission_weight: float = 1.0
    prob_floor: float = 1e-3
    gap_open: float = 4.0
    null_cost: float = 0.3
    reentry_penalty: float = 1.0
    jump_penalty: float = 8.0
    max_repair_rounds: int = 2
    unknown_emission: float = -1.0
    untangle_copies: bool = True

    def __post_init__(self):
        for name in ("noise", "gap_open", "null_cost", "reentry_penalty",
                     "jump_penalty", "max_repair_rounds", "emission_weight",
                     "second_neighbour_weight", "cis_penalty"):
            if getattr(self, name) < 0:
                raise ValueError(f"HMMConfig.{name} must be >= 0")
        for name in ("distance_sigma", "max_sigmas", "reentry_radius",
                     "ca_distance", "cis_distance"):
            if getattr(self, name) <= 0:
                raise ValueError(f"HMMConfig.{name} must be > 0")
        lo, hi = self.second_neighbour_range
        if not 0 <= lo <= hi:
            raise ValueError("HMMConfig.second_neighbour_range must be "
                             "(low, high) with 0 <= low <= high")
        if not 0.0 < self.prob_floor < 1.0 / NUM_AMINO_ACIDS:
            raise ValueError("HMMConfig.prob_floor must be in (0, 1/20)")

    @property
    def sigma(self) -> float:
        """Spread (Å) of an observed distance between two candidate nodes."""
        return float(np.hypot(self.distance_sigma, np.sqrt(2.0) * self.noise))


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
    graph = _CandidateGraph(xyz, config)

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


def _break_cost(xyz: np.ndarray, a: int, b: int, steps: int, step: float,
                slack: float) -> float:
    """How implausible it is for the chain to go from node a to node b in
    ``steps`` residues of at most ``step`` Å: 1 plus the excess distance in
    units of 10 Å when b is out of reach, else the distance as a fraction of
    the reach (across a long gap the chain's own continuation is usually the
    nearer one)."""
    if a < 0 or b < 0:
        return 0.0
    reach = step * steps + slack
    d = float(np.linalg.norm(xyz[a] - xyz[b]))
    if d > reach:
        return 1.0 + (d - reach) / 10.0
    return 0.5 * max(d - slack, 0.0) / reach


def _kmer_index(a: np.ndarray) -> dict[bytes, list[int]]:
    """Start positions of every 5-mer of ``a``."""
    index: dict[bytes, list[int]] = {}
    for i in range(len(a) - _KMER + 1):
        index.setdefault(a[i:i + _KMER].tobytes(), []).append(i)
    return index


def _copy_offset(a: np.ndarray, a_index: dict[bytes, list[int]], b: np.ndarray,
                 min_identity: float, min_overlap: int) -> int | None:
    """Offset d such that b[i] aligns with a[i + d] without gaps, if the
    overlap is long enough and identical enough over known residues.

    Candidate offsets come from the 5-mers b shares with a (``a_index``, from
    :func:`_kmer_index`; linear time), the most supported ones are checked.
    """
    votes: dict[int, int] = {}
    for j in range(len(b) - _KMER + 1):
        word = b[j:j + _KMER]
        if (word == UNKNOWN_INDEX).any():
            continue
        for i in a_index.get(word.tobytes(), ()):
            votes[i - j] = votes.get(i - j, 0) + 1
    for d in sorted(votes, key=votes.get, reverse=True)[:3]:
        lo, hi = max(0, d), min(len(a), len(b) + d)
        if hi - lo < min_overlap:
            continue
        x, y = a[lo:hi], b[lo - d:hi - d]
        known = (x != UNKNOWN_INDEX) & (y != UNKNOWN_INDEX)
        if known.sum() >= min_overlap and (x[known] == y[known]).mean() >= min_identity:
            return d
    return None


def copy_groups(sequences: Sequence[np.ndarray], min_identity: float = 0.9,
                min_overlap: int = 20) -> list[list[tuple[int, int]]]:
    """Chains that are copies of one another, with their alignment.

    Copies align without gaps over at least ``min_overlap`` residues, at
    least ``min_identity`` identical over the positions where both residues
    are known (unknown residues, e.g. unobserved stretches written as X, do
    not count against it); their termini may differ (tags, constructs).
    Returns groups of two or more ``(chain, offset)``, residue i of the chain
    sitting at position ``i + offset`` of the group's frame (offsets >= 0).
    """
    groups: list[list[tuple[int, int]]] = []
    references: list[tuple[np.ndarray, dict[bytes, list[int]]]] = []
    for k, seq in enumerate(sequences):
        seq = np.asarray(seq, np.int64)
        for group, (ref, ref_index) in zip(groups, references):
            d = _copy_offset(ref, ref_index, seq, min_identity, min_overlap)
            if d is not None:
                group.append((k, group[0][1] + d))
                break
        else:
            groups.append([(k, 0)])
            references.append((seq, _kmer_index(seq)))
    out = []
    for group in groups:
        if len(group) > 1:
            low = min(o for _, o in group)
            out.append([(k, o - low) for k, o in group])
    return out


def untangle_copies(results: list[tuple[np.ndarray, np.ndarray]],
                    sequences: Sequence[np.ndarray], xyz: np.ndarray,
                    config: HMMConfig) -> list[tuple[np.ndarray, np.ndarray]]:
    """Repairs mosaics between copies of the same chain.

    Chains are decoded one after the other, so where the first copy of a
    homo-oligomer meets a gap (an unresolved loop, a missing run) Viterbi
    jumps anywhere and may resume on the second copy, which then gets the
    first one's leftovers. Copies share the sequence, so exchanging the tails
    of two copies' paths after position t changes no emission, only the
    geometry at t: at every position where a copy's path breaks (its next
    assigned node is farther than 3.8 Å per residue, plus noise slack), the
    tails of all copies are re-paired by a minimum-cost assignment of the
    break costs, if that strictly lowers their sum.
    """
    results = [(n.copy(), c.copy()) for n, c in results]
    slack = 1.0 + config.max_sigmas * config.sigma
    for members in copy_groups(sequences):
        width = max(o + len(sequences[k]) for k, o in members)
        nodes = np.full((len(members), width), -1, np.int64)    # frame order
        conf = np.zeros((len(members), width), np.float32)
        for i, (k, o) in enumerate(members):
            nodes[i, o:o + len(sequences[k])] = results[k][0]
            conf[i, o:o + len(sequences[k])] = results[k][1]
        # Tails are exchanged over the frame positions every copy has.
        start = max(o for _, o in members)
        stop = min(o + len(sequences[k]) for k, o in members)
        for t in range(start, stop - 1):
            # Last assigned node at <= t and first at > t, per copy.
            left, right = [], []
            for row in nodes:
                before = np.flatnonzero(row[:t + 1] >= 0)
                after = np.flatnonzero(row[t + 1:stop] >= 0)
                left.append((row[before[-1]], before[-1]) if len(before) else (-1, t))
                right.append((row[t + 1 + after[0]], t + 1 + after[0])
                             if len(after) else (-1, t + 1))
            if all(q != t + 1 for _, q in right):
                continue  # no copy resumes here: the pairing is decided later
            cost = np.array([[_break_cost(xyz, a, b, q - p, config.ca_distance, slack)
                              for b, q in right] for a, p in left])
            if np.trace(cost) < _UNTANGLE_MARGIN:
                continue
            rows, cols = scipy.optimize.linear_sum_assignment(cost)
            if cost[rows, cols].sum() < np.trace(cost) - _UNTANGLE_MARGIN:
                nodes[:, t + 1:stop] = nodes[cols, t + 1:stop]
                conf[:, t + 1:stop] = conf[cols, t + 1:stop]
        for i, (k, o) in enumerate(members):
            n = len(sequences[k])
            results[k] = (nodes[i, o:o + n].astype(np.int32), conf[i, o:o + n])
    return results


class _Segments:
    """Items grouped by a sorted group index, for per-group maxima."""

    def __init__(self, group: np.ndarray, num_groups: int):
        counts = np.bincount(group, minlength=num_groups)
        self.indptr = np.concatenate([[0], np.cumsum(counts)])
        self.group = group
        self.num_groups = num_groups
        self._nonempty = np.flatnonzero(counts)
        self._starts = self.indptr[self._nonempty]
        # reduceat costs ~15 ns per group, maximum.at ~3 ns per item.
        self._use_reduceat = len(group) > 5 * len(self._nonempty)

    def max(self, values: np.ndarray) -> np.ndarray:
        """[num_groups] max of ``values`` (one per item) per group."""
        best = np.full(self.num_groups, -np.inf)
        if self._use_reduceat:
            best[self._nonempty] = np.maximum.reduceat(values, self._starts)
        else:
            np.maximum.at(best, self.group, values)
        return best

    def argmax(self, group: int, values: np.ndarray,
               index: np.ndarray | None = None,
               offset: np.ndarray | None = None) -> tuple[float, int]:
        """``(max, item)`` of one group; ``(-inf, -1)`` if it is empty.

        Item i's value is ``values[index[i]] + offset[i]``, or ``values[i]``
        without ``index``/``offset``; only the group's items are computed.
        """
        lo, hi = self.indptr[group], self.indptr[group + 1]
        if lo == hi:
            return -np.inf, -1
        v = values[lo:hi] if index is None else values[index[lo:hi]]
        if offset is not None:
            v = v + offset[lo:hi]
        k = int(np.argmax(v))
        return float(v[k]), lo + k


class _CandidateGraph:
    """Sparse structure of the HMM over one candidate set.

    Attributes:
      src, dst, weight: the E adjacency edges (sorted by ``dst``) and their
        Cα-Cα distance log-scores; edge e is also the state "residue t-1 at
        ``src[e]``, residue t at ``dst[e]``".
      by_dst: adjacency edges grouped by destination node.
      pair_prev, pair_next, pair_weight, by_pair: the P consecutive edge
        pairs ``(i -> j, j -> k)`` as edge indices (sorted by the second edge,
        grouped in ``by_pair``) and their second-neighbour log-scores.
      reentry_src, reentry_dst, by_reentry: ``G_i -> F_k`` edges, sorted by
        and grouped by ``dst``.
    """

    def __init__(self, xyz: np.ndarray, config: HMMConfig):
        m = len(xyz)
        self.num_nodes = m
        self.config = config
        sigma = config.sigma
        radius = config.reentry_radius + config.max_sigmas * sigma
        pairs = cKDTree(xyz).query_pairs(
            max(config.ca_distance + config.max_sigmas * sigma, radius),
            output_type="ndarray")
        i = np.concatenate([pairs[:, 0], pairs[:, 1]]).astype(np.int64)
        j = np.concatenate([pairs[:, 1], pairs[:, 0]]).astype(np.int64)
        order = np.lexsort((i, j))
        i, j = i[order], j[order]
        d = np.linalg.norm(xyz[i] - xyz[j], axis=1)

        # Trans peptides at ca_distance, rare cis peptides at cis_distance.
        z_trans = (d - config.ca_distance) / sigma
        z_cis = (d - config.cis_distance) / sigma
        adj = np.minimum(np.abs(z_trans), np.abs(z_cis)) <= config.max_sigmas
        self.src, self.dst = i[adj], j[adj]
        cis = -config.cis_penalty - 0.5 * z_cis[adj] ** 2
        self.weight = np.maximum(-0.5 * z_trans[adj] ** 2, cis)
        self._is_cis = cis > -0.5 * z_trans[adj] ** 2
        self.by_dst = _Segments(self.dst, m)
        near = d <= radius
        self.reentry_src, self.reentry_dst = i[near], j[near]
        self.by_reentry = _Segments(self.reentry_dst, m)
        self._build_pairs(xyz, config)
        logger.debug("candidate graph: %d nodes, %d edges, %d edge pairs, %d "
                     "re-entry edges", m, len(self.src), len(self.pair_prev),
                     len(self.reentry_src))

    def _build_pairs(self, xyz: np.ndarray, config: HMMConfig):
        """Edge pairs ``(i -> j, j -> k)`` whose Cα(i)-Cα(k) distance is
        within ``max_sigmas`` of ``second_neighbour_range``."""
        num_edges = len(self.src)
        # For edge e = (j -> k), its predecessors are the edges into j.
        count = np.diff(self.by_dst.indptr)[self.src]
        nxt = np.repeat(np.arange(num_edges), count)
        first = np.repeat(self.by_dst.indptr[self.src] - np.cumsum(count)
                          + count, count)
        prev = first + np.arange(len(nxt))
        d = np.linalg.norm(xyz[self.src[prev]] - xyz[self.dst[nxt]], axis=1)
        low, high = config.second_neighbour_range
        # After a cis peptide (i -> j), Cα(i)-Cα(k) may be shorter.
        low = np.where(self._is_cis[prev], config.cis_second_neighbour_min, low)
        excess = (np.maximum(low - d, 0.0) + np.maximum(d - high, 0.0)) / (
            config.sigma)
        keep = excess <= config.max_sigmas
        self.pair_prev, self.pair_next = prev[keep], nxt[keep]
        self.pair_weight = (-0.5 * config.second_neighbour_weight
                            * excess[keep] ** 2)
        self.by_pair = _Segments(self.pair_next, num_edges)

    @functools.cached_property
    def linear_transitions(self) -> tuple[scipy.sparse.csr_matrix, ...]:
        """Sparse transitions in linear space, for forward-backward.

        Returns:
          ``(matrix, matrix_t, to_node)``: matrix [K, K] (destination x
          source, K = E + 2m + 1 states stacked as ``[E, F, G, S]``) holds
          every transition except the rank-one jumps and the emissions;
          matrix_t is its transpose; to_node [m, K] sums the assigned states
          (``E`` and ``F``) of each node.
        """
        config = self.config
        m, e = self.num_nodes, len(self.src)
        f0, g0, s0 = e, e + m, e + 2 * m
        nodes, edges = np.arange(m), np.arange(e)
        edge_weight = np.exp(self.weight)
        gap_open = np.exp(-config.gap_open)
        null = np.exp(-config.null_cost)
        rows, cols, values = zip(*[
            # E_(h->i) -> E_(i->j) and F_i -> E_(i->j).
            (self.pair_next, self.pair_prev,
             edge_weight[self.pair_next] * np.exp(self.pair_weight)),
            (edges, f0 + self.src, edge_weight),
            # G_i -> F_j (re-entry) and S -> F_j (start).
            (f0 + self.reentry_dst, g0 + self.reentry_src,
             np.full(len(self.reentry_src), np.exp(-config.reentry_penalty))),
            (f0 + nodes, np.full(m, s0), np.ones(m)),
            # Assigned -> G_j, G_j -> G_j, S -> S.
            (g0 + self.dst, edges, np.full(e, gap_open)),
            (g0 + nodes, f0 + nodes, np.full(m, gap_open)),
            (g0 + nodes, g0 + nodes, np.full(m, null)),
            ([s0], [s0], [null]),
        ])
        size = s0 + 1
        matrix = scipy.sparse.csr_matrix(
            (np.concatenate(values), (np.concatenate(rows),
                                      np.concatenate(cols))), shape=(size, size))
        to_node = scipy.sparse.csr_matrix(
            (np.ones(e + m), (np.concatenate([self.dst, nodes]),
                              np.concatenate([edges, f0 + nodes]))),
            shape=(m, size))
        return matrix, matrix.T.tocsr(), to_node


def _decode_unique(graph: _CandidateGraph, emission: np.ndarray,
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
    marginals = _node_marginals(graph, emission, config)
    positions = np.arange(len(emission))
    for round_ in range(config.max_repair_rounds + 1):
        nodes = _viterbi(graph, emission, config)
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


@dataclasses.dataclass
class _Trellis:
    """Viterbi scores of every state at every position, for the trace back."""

    edge: np.ndarray   # [n, E] float32, state E_e
    free: np.ndarray   # [n, m] float32, state F_j
    gap: np.ndarray    # [n, m] float32, state G_j
    start: np.ndarray  # [n] float64, state S


def _viterbi(graph: _CandidateGraph, emission: np.ndarray,
             config: HMMConfig) -> np.ndarray:
    """Best path; returns [n] int32 node per position (-1 = null).

    Only the scores are stored; the trace back recomputes the best
    predecessor of the chosen state alone, O(degree) per position.
    """
    n, m = emission.shape
    num_edges = len(graph.src)
    tr = _Trellis(edge=np.empty((n, num_edges), np.float32),
                  free=np.empty((n, m), np.float32),
                  gap=np.empty((n, m), np.float32), start=np.empty(n))
    edge = np.full(num_edges, -np.inf)
    free = emission[0].astype(np.float64)
    gap = np.full(m, -np.inf)
    start = -config.null_cost
    for t in range(n):
        if t:
            into_edge = np.maximum(
                graph.by_pair.max(edge[graph.pair_prev] + graph.pair_weight),
                free[graph.src])
            into_free = np.maximum(
                graph.by_reentry.max(gap[graph.reentry_src])
                - config.reentry_penalty,
                max(best_any - config.jump_penalty, start))
            edge = emission[t][graph.dst] + graph.weight + into_edge
            gap = np.maximum(assigned - config.gap_open,
                             gap - config.null_cost)
            free = emission[t] + into_free
            start -= config.null_cost
        tr.edge[t], tr.free[t], tr.gap[t], tr.start[t] = edge, free, gap, start
        assigned = np.maximum(free, graph.by_dst.max(edge))  # best A_j
        best_any = max(assigned.max(), gap.max())

    path = np.full(n, -1, dtype=np.int32)
    final = [(tr.start[-1], ("S",)),
             (float(tr.gap[-1].max()), ("G", int(np.argmax(tr.gap[-1])))),
             _best_assigned(graph, tr, n - 1)]
    state = max(final, key=lambda o: o[0])[1]
    for t in range(n - 1, -1, -1):
        if state[0] == "E":
            path[t] = graph.dst[state[1]]
        elif state[0] == "F":
            path[t] = state[1]
        if t:
            state = _predecessor(graph, tr, t, state, config)
    return path


def _assigned_state(graph: _CandidateGraph, tr: _Trellis, t: int,
                    node: int) -> tuple[float, tuple]:
    """Score and state (``("F", node)`` or ``("E", edge)``) of the best way
    ``node`` is assigned at t."""
    score, e = graph.by_dst.argmax(node, tr.edge[t])
    if tr.free[t, node] >= score:
        return float(tr.free[t, node]), ("F", node)
    return score, ("E", e)


def _best_assigned(graph: _CandidateGraph, tr: _Trellis,
                   t: int) -> tuple[float, tuple]:
    """Score and state of the best assigned state at t."""
    best = np.maximum(tr.free[t], graph.by_dst.max(tr.edge[t]))
    return _assigned_state(graph, tr, t, int(np.argmax(best)))


def _predecessor(graph: _CandidateGraph, tr: _Trellis, t: int, state: tuple,
                 config: HMMConfig) -> tuple:
    """The state at t - 1 on the best path into ``state`` at t."""
    kind, s = state[0], t - 1
    if kind == "S":
        return state
    if kind == "E":
        e = state[1]
        score, k = graph.by_pair.argmax(e, tr.edge[s], graph.pair_prev,
                                        graph.pair_weight)
        j = int(graph.src[e])
        return ("E", int(graph.pair_prev[k])) if score > tr.free[s, j] else (
            "F", j)
    if kind == "G":
        j = state[1]
        opened, a_state = _assigned_state(graph, tr, s, j)
        if opened - config.gap_open >= tr.gap[s, j] - config.null_cost:
            return a_state
        return state
    # F: start, jump from the best state, or re-entry near the last node.
    k = state[1]
    options = [(tr.start[s], ("S",)),
               (float(tr.gap[s].max()) - config.jump_penalty,
                ("G", int(np.argmax(tr.gap[s]))))]
    score, a_state = _best_assigned(graph, tr, s)
    options.append((score - config.jump_penalty, a_state))
    score, r = graph.by_reentry.argmax(k, tr.gap[s], graph.reentry_src)
    if r >= 0:
        options.append((score - config.reentry_penalty,
                        ("G", int(graph.reentry_src[r]))))
    return max(options, key=lambda o: o[0])[1]


def _node_marginals(graph: _CandidateGraph, emission: np.ndarray,
                    config: HMMConfig) -> np.ndarray:
    """[n, m] float32 forward-backward probability of "position t at node j".

    Linear space, each step rescaled, states stacked as ``[E, F, G, S]``.
    """
    n, m = emission.shape
    num_edges = len(graph.src)
    matrix, matrix_t, to_node = graph.linear_transitions
    free = slice(num_edges, num_edges + m)
    jump = np.exp(-config.jump_penalty)
    lin = np.exp(np.clip(emission, -_MAX_ABS_LOG_WEIGHT, _MAX_ABS_LOG_WEIGHT))
    lin[~np.isfinite(emission)] = 0.0

    def entering(t: int) -> np.ndarray:
        """Emission factor of each state at t (1 for the null states)."""
        return np.concatenate([lin[t][graph.dst], lin[t], np.ones(m + 1)])

    alpha = np.empty((n, matrix.shape[0]), dtype=np.float32)
    cur = np.zeros(matrix.shape[0])
    cur[free] = lin[0]
    cur[-1] = np.exp(-config.null_cost)
    for t in range(n):
        if t:
            prev = cur
            cur = matrix @ prev
            cur[free] += jump * prev[:-1].sum()
            cur *= entering(t)
        cur /= max(cur.sum(), 1e-300)
        alpha[t] = cur

    marginals = np.empty((n, m), dtype=np.float32)
    beta = np.ones(matrix.shape[0])
    for t in range(n - 1, -1, -1):
        if t < n - 1:
            weighted = entering(t + 1) * beta
            beta = matrix_t @ weighted
            beta[:-1] += jump * weighted[free].sum()
            beta /= max(beta.max(), 1e-300)
        post = alpha[t] * beta
        marginals[t] = (to_node @ post) / max(post.sum(), 1e-300)
    return marginals


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
    prior = [np.asarray(p, dtype=np.float64) for p in prior]
    if len(prior) != len(lengths) or any(
            p.shape != (n, m) for p, n in zip(prior, lengths)):
        raise InputError(
            f"log_emission_prior must be [{sum(lengths)}, {m}] or one "
            f"[n, {m}] array per chain (chain lengths {lengths})")
    if any(np.isnan(p).any() for p in prior):
        raise InputError("log_emission_prior contains NaN")
    return prior
