"""Viterbi decoding and forward-backward node marginals of the threading HMM
(the model is described in :mod:`tf_structgen.decoding.hmm`)."""

from __future__ import annotations

import dataclasses

import numpy as np

from tf_structgen.decoding import kernels
from tf_structgen.decoding.config import HMMConfig
from tf_structgen.decoding.graph import CandidateGraph

_MAX_ABS_LOG_WEIGHT = 60.0  # keeps exp() finite in the forward-backward pass


@dataclasses.dataclass
class _Trellis:
    """Viterbi scores of every state at every position, for the trace back."""

    edge: np.ndarray   # [n, E] float32, state E_e
    free: np.ndarray   # [n, m] float32, state F_j
    gap: np.ndarray    # [n, m] float32, state G_j
    start: np.ndarray  # [n] float64, state S
    back: np.ndarray   # [n, E] int32 edge before each E state on its best path (-1: F)


def viterbi(graph: CandidateGraph, emission: np.ndarray,
             config: HMMConfig) -> np.ndarray:
    """Best path; returns [n] int32 node per position (-1 = null).

    The recursion is compiled (:func:`~.kernels.viterbi_forward`); it
    stores the scores and each edge state's best predecessor, the trace
    back recomputes the other states' predecessors, O(degree) per
    position. With ``graph.scores_dihedrals`` each edge pair also scores
    the dihedral of its three nodes and the node before them on the best
    path into its first edge.
    """
    n, m = emission.shape
    num_edges = len(graph.src)
    tr = _Trellis(edge=np.empty((n, num_edges), np.float32),
                  free=np.empty((n, m), np.float32),
                  gap=np.empty((n, m), np.float32), start=np.empty(n),
                  back=np.empty((n, num_edges), np.int32))
    table = graph.pair_table
    kernels.viterbi_forward(
        emission, graph.src, graph.dst, graph.weight, graph.by_dst.indptr,
        table.ptr, table.second, table.rank, table.scores,
        table.base, table.best, graph.scores_dihedrals,
        graph.reentry_src, graph.by_reentry.indptr, float(config.null_cost),
        float(config.gap_open), float(config.reentry_penalty), float(config.jump_penalty),
        tr.edge, tr.free, tr.gap, tr.start, tr.back)

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


def _assigned_state(graph: CandidateGraph, tr: _Trellis, t: int,
                    node: int) -> tuple[float, tuple]:
    """Score and state (``("F", node)`` or ``("E", edge)``) of the best way
    ``node`` is assigned at t."""
    score, e = graph.by_dst.argmax(node, tr.edge[t])
    if tr.free[t, node] >= score:
        return float(tr.free[t, node]), ("F", node)
    return score, ("E", e)


def _best_assigned(graph: CandidateGraph, tr: _Trellis,
                   t: int) -> tuple[float, tuple]:
    """Score and state of the best assigned state at t."""
    best = np.maximum(tr.free[t], graph.by_dst.max(tr.edge[t]))
    return _assigned_state(graph, tr, t, int(np.argmax(best)))


def _predecessor(graph: CandidateGraph, tr: _Trellis, t: int, state: tuple,
                 config: HMMConfig) -> tuple:
    """The state at t - 1 on the best path into ``state`` at t."""
    kind, s = state[0], t - 1
    if kind == "S":
        return state
    if kind == "E":
        e = state[1]
        k = int(tr.back[t, e])
        return ("E", k) if k >= 0 else ("F", int(graph.src[e]))
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


def node_marginals(graph: CandidateGraph, emission: np.ndarray,
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
