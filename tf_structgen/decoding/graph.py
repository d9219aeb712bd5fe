"""Sparse structure of the threading HMM over one candidate set: adjacency
edges, second-neighbour edge pairs and re-entry edges from one k-d tree query."""

from __future__ import annotations

import dataclasses
import functools
import logging

import numpy as np
import scipy.sparse
from scipy.spatial import cKDTree

from tf_structgen.decoding import backbone_prior, kernels
from tf_structgen.decoding.config import HMMConfig

logger = logging.getLogger(__name__)


class Segments:
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
               index: np.ndarray | None = None) -> tuple[float, int]:
        """``(max, item)`` of one group; ``(-inf, -1)`` if it is empty.

        Item i's value is ``values[index[i]]``, or ``values[i]`` without
        ``index``; only the group's items are read.
        """
        lo, hi = self.indptr[group], self.indptr[group + 1]
        if lo == hi:
            return -np.inf, -1
        v = values[lo:hi] if index is None else values[index[lo:hi]]
        k = int(np.argmax(v))
        return float(v[k]), lo + k


@dataclasses.dataclass(frozen=True, eq=False)
class LinkScores:
    """Learned per-link scores: log-odds that node ``src[k]`` holds residue
    t and node ``dst[k]`` residue t + 1 of one chain (e.g. a network's link
    head over the contact graph), added to the HMM's transition of that
    link. Links not listed score 0; node indices are those of the whole
    candidate set.

    Attributes:
      src, dst: [K] int node indices of the scored links (directed).
      score: [K] float log-odds.
    """

    src: np.ndarray
    dst: np.ndarray
    score: np.ndarray

    def __post_init__(self):
        src, dst = np.asarray(self.src, np.int64), np.asarray(self.dst, np.int64)
        score = np.asarray(self.score, np.float64)
        if not (src.shape == dst.shape == score.shape and src.ndim == 1):
            raise ValueError("LinkScores: src, dst and score must be [K] arrays")
        if not np.isfinite(score).all():
            raise ValueError("LinkScores: scores must be finite")
        if len(src) and min(src.min(), dst.min()) < 0:
            raise ValueError("LinkScores: node indices must be >= 0")
        width = int(max(src.max(), dst.max()) + 1) if len(src) else 1
        keys = src * width + dst
        order = np.argsort(keys)
        object.__setattr__(self, "_width", width)
        object.__setattr__(self, "_keys", keys[order])
        object.__setattr__(self, "_sorted", score[order])

    def __call__(self, src: np.ndarray, dst: np.ndarray) -> np.ndarray:
        """[E] scores of the links ``src -> dst`` (0 where not listed)."""
        src, dst = np.asarray(src, np.int64), np.asarray(dst, np.int64)
        out = np.zeros(len(src))
        inside = (src < self._width) & (dst < self._width)
        keys = src[inside] * self._width + dst[inside]
        at = np.minimum(np.searchsorted(self._keys, keys), max(len(self._keys) - 1, 0))
        if len(self._keys):
            hit = self._keys[at] == keys
            values = np.where(hit, self._sorted[at], 0.0)
            out[np.flatnonzero(inside)] = values
        return out


def path_dihedral_score(path: np.ndarray, xyz: np.ndarray,
                        config: HMMConfig) -> float:
    """What the Viterbi pass adds along a path ([n] nodes, -1 = null) for
    its dihedrals: ``config.dihedral_weight`` times the penalty of every
    four consecutive assigned positions (:mod:`.backbone_prior`)."""
    p = np.asarray(path)
    if not config.dihedral_weight or len(p) < 4:
        return 0.0
    four = np.flatnonzero((p[:-3] >= 0) & (p[1:-2] >= 0) & (p[2:-1] >= 0) & (p[3:] >= 0))
    if not len(four):
        return 0.0
    tau = backbone_prior.dihedrals(xyz[p[four]], xyz[p[four + 1]],
                                   xyz[p[four + 2]], xyz[p[four + 3]])
    return float(_dihedral_table(config)[backbone_prior.dihedral_bin(tau)].sum())


def _dihedral_table(config: HMMConfig) -> np.ndarray:
    """``config.dihedral_weight`` times the dihedral score table at the
    config's noise (index with :func:`~.backbone_prior.dihedral_bin`)."""
    return config.dihedral_weight * backbone_prior.dihedral_penalty(round(config.noise, 3))


@dataclasses.dataclass(frozen=True, eq=False)
class PairTable:
    """The edge pairs of a graph as the Viterbi kernel pushes them
    (:func:`~.kernels.viterbi_forward`).

    Attributes:
      pairs: [P] the pairs grouped by first edge (indices into
        ``pair_prev``, by_pair order within a group); ptr: [E + 1] the
        groups' offsets; second: [P] each one's second edge; rank: [P] 1 +
        its rank among the pairs into its second edge.
      scores, base: [Q] float32 transition scores (second neighbour, and
        with the dihedral penalty the dihedral after each pair into the
        first edge; :func:`~.kernels.pair_transition_table`), edge h's from
        ``base[h]``; best: their maximum.
    """

    pairs: np.ndarray
    ptr: np.ndarray
    second: np.ndarray
    rank: np.ndarray
    scores: np.ndarray
    base: np.ndarray
    best: float


class CandidateGraph:
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
      scores_dihedrals: whether the Viterbi pass adds the dihedral penalty
        (``config.dihedral_weight > 0``).
      pair_table: the pairs grouped by first edge and their transition
        scores, for the Viterbi pass (:class:`PairTable`; built on first
        use).
    """

    def __init__(self, xyz: np.ndarray, config: HMMConfig,
                 link_scores: LinkScores | None = None,
                 nodes: np.ndarray | None = None):
        """``link_scores`` are added to the adjacency edges' weights;
        ``nodes`` maps this graph's nodes to the candidate set's indices
        (a graph over a subset)."""
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
        if link_scores is not None:
            index = np.arange(m) if nodes is None else np.asarray(nodes)
            self.weight = self.weight + link_scores(index[self.src], index[self.dst])
        self.by_dst = Segments(self.dst, m)
        near = d <= radius
        self.reentry_src, self.reentry_dst = i[near], j[near]
        self.by_reentry = Segments(self.reentry_dst, m)
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
        self.by_pair = Segments(self.pair_next, num_edges)
        self.scores_dihedrals = bool(config.dihedral_weight) and len(self.pair_prev) > 0
        self._xyz = xyz   # for the pair table, built on first use

    @functools.cached_property
    def pair_table(self) -> PairTable:
        """The pairs grouped by their first edge and their transition scores
        (with the dihedral after every pair into the first edge), built on
        the Viterbi pass's first use: graphs used for the forward-backward
        confidence alone never need them."""
        num_edges = len(self.src)
        pairs = np.argsort(self.pair_prev, kind="stable")
        count = np.bincount(self.pair_prev, minlength=num_edges)
        ptr = np.concatenate([[0], np.cumsum(count)]).astype(np.int64)
        second = self.pair_next[pairs]
        rows = np.diff(self.by_pair.indptr) + 1 if self.scores_dihedrals else np.ones(
            num_edges, np.int64)
        size = rows * count
        base = np.concatenate([[0], np.cumsum(size)[:-1]]).astype(np.int64)
        scores = np.empty(int(size.sum()), np.float32)
        kernels.pair_transition_table(
            np.asarray(self._xyz, np.float64), self.src, self.dst, self.pair_prev,
            self.by_pair.indptr, self.pair_weight, pairs, ptr, second,
            _dihedral_table(self.config) if self.scores_dihedrals else np.zeros(0),
            base, scores)
        return PairTable(pairs=pairs, ptr=ptr, second=second,
                         rank=pairs - self.by_pair.indptr[second] + 1,
                         scores=scores, base=base,
                         best=float(scores.max()) if len(scores) else 0.0)

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
