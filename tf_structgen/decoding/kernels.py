"""Compiled inner loops of the threading HMM (numba): the Viterbi
recursion and the table of edge-pair transition scores it reads.

Both run over the sparse structure of :class:`~.graph.CandidateGraph`
(edges grouped by destination, edge pairs grouped by their second edge,
re-entry edges grouped by destination: ``*_ptr`` are the groups' CSR
offsets). In numpy the recursion was a dozen full-size temporaries per
position and memory-bound; here it is one pass over the pairs.
"""

from __future__ import annotations

import math

import numba
import numpy as np


def _compiled(func):
    """``numba.njit`` with the machine code cached beside the module (or in
    numba's user-wide cache), so each process does not compile again
    (about 5 s); without a writable cache it compiles once per process."""
    try:
        return numba.njit(cache=True, nogil=True)(func)
    except RuntimeError:   # numba found no writable cache directory
        return numba.njit(nogil=True)(func)


@_compiled
def pair_transition_table(xyz, src, dst, pair_prev, pair_ptr, pair_weight, pairs_from,
                          from_ptr, from_next, dihedral_table, table_base, out):
    """Fills ``out`` [Q] float32 with the transition score of each edge pair
    ``(i -> j, j -> k)`` given the edge before it.

    The table is laid out by first edge h = ``(i -> j)``: its b pairs
    (``pairs_from[from_ptr[h]:from_ptr[h + 1]]``, second edges
    ``from_next``) in rows of b, from ``table_base[h]``. Row 0 is the
    second-neighbour score ``pair_weight`` alone (h entered from F_i, no
    residue before i); row 1 + r adds the dihedral score
    ``dihedral_table[bin(tau(g, i, j, k))]`` after the r-th pair
    ``(g -> i, i -> j)`` into h (by_pair order). Bins as
    :func:`~.backbone_prior.dihedral_bin`; with an empty ``dihedral_table``
    there is row 0 only.
    """
    bins = len(dihedral_table)
    scale = bins / (2.0 * math.pi)
    for h in range(len(src)):
        lo, hi = from_ptr[h], from_ptr[h + 1]
        base = table_base[h]
        for s in range(hi - lo):
            out[base + s] = pair_weight[pairs_from[lo + s]]
        if bins == 0 or hi == lo:
            continue
        i, j = src[h], dst[h]
        b2x, b2y, b2z = xyz[j, 0] - xyz[i, 0], xyz[j, 1] - xyz[i, 1], xyz[j, 2] - xyz[i, 2]
        norm = math.sqrt(b2x * b2x + b2y * b2y + b2z * b2z)
        for s in range(hi - lo):
            k = dst[from_next[lo + s]]
            b3x, b3y, b3z = xyz[k, 0] - xyz[j, 0], xyz[k, 1] - xyz[j, 1], xyz[k, 2] - xyz[j, 2]
            # n2 = b2 x b3; tau = atan2(|b2| b1 . n2, b1 . (b2 x n2)), b1 = i - g.
            nx, ny, nz = b2y * b3z - b2z * b3y, b2z * b3x - b2x * b3z, b2x * b3y - b2y * b3x
            ax, ay, az = b2y * nz - b2z * ny, b2z * nx - b2x * nz, b2x * ny - b2y * nx
            weight = pair_weight[pairs_from[lo + s]]
            for r in range(pair_ptr[h + 1] - pair_ptr[h]):
                g = src[pair_prev[pair_ptr[h] + r]]
                b1x, b1y, b1z = xyz[i, 0] - xyz[g, 0], xyz[i, 1] - xyz[g, 1], xyz[i, 2] - xyz[g, 2]
                x = b1x * ax + b1y * ay + b1z * az
                y = norm * (b1x * nx + b1y * ny + b1z * nz)
                b = min(max(int((math.atan2(y, x) + math.pi) * scale), 0), bins - 1)
                out[base + (1 + r) * (hi - lo) + s] = weight + dihedral_table[b]


@_compiled
def viterbi_forward(emission, src, dst, weight, dst_ptr, from_ptr, from_next, from_rank,
                    pair_table, table_base, table_max, dihedrals, reentry_src, reentry_ptr,
                    null_cost, gap_open, reentry_penalty, jump_penalty,
                    out_edge, out_free, out_gap, out_start, out_back):
    """The Viterbi recursion of the threading HMM over every position.

    Writes the scores of the E (edge), F (free), G (gap) and S (start)
    states at every position into ``out_*`` and, per edge, the edge before
    it on its best path (-1: entered from F) into ``out_back``.

    The pairs are pushed from their first edge h, with the row of
    :func:`pair_transition_table` that h's best predecessor selects: row
    0, or with ``dihedrals`` 1 + the rank among the pairs into h of the
    pair it came by (``from_rank``). Only edge states that could beat F at
    their node with the table's best score ``table_max`` push: exact, as a
    pair is taken only where it beats F; the edges push in ascending
    order, so of equal pairs into an edge the first (by_pair order) wins.
    """
    n, m = emission.shape
    num_edges = len(src)
    edge = np.full(num_edges, -np.inf)
    new_edge = np.empty(num_edges)
    live = np.zeros(num_edges, np.bool_)   # edge states that may push
    rank = np.zeros(num_edges, np.int64)
    new_rank = np.zeros(num_edges, np.int64)
    best = np.empty(num_edges)
    best_from = np.empty(num_edges, np.int64)   # from_* slot of the best pair
    free = np.empty(m)
    gap = np.full(m, -np.inf)
    assigned = np.empty(m)
    for j in range(m):
        free[j] = emission[0, j]
    start = -null_cost
    best_any = -np.inf
    for t in range(n):
        if t:
            # E states: the best pair into each edge, or F at its source.
            best[:] = -np.inf
            for h in range(num_edges):
                if not live[h]:
                    continue
                score = edge[h]
                lo, hi = from_ptr[h], from_ptr[h + 1]
                row = table_base[h] + rank[h] * (hi - lo) - lo
                for i in range(lo, hi):
                    e = from_next[i]
                    v = score + pair_table[row + i]
                    if v > best[e]:
                        best[e] = v
                        best_from[e] = i
                        out_back[t, e] = h
            for e in range(num_edges):
                f = free[src[e]]
                if best[e] > f:
                    new_rank[e] = from_rank[best_from[e]] if dihedrals else 0
                    best_in = best[e]
                else:
                    out_back[t, e] = -1
                    new_rank[e] = 0
                    best_in = f
                new_edge[e] = emission[t, dst[e]] + weight[e] + best_in
            # F states: re-entry near the last node, a jump, or the start.
            anywhere = max(best_any - jump_penalty, start)
            for j in range(m):
                reentry = -np.inf
                for r in range(reentry_ptr[j], reentry_ptr[j + 1]):
                    reentry = max(reentry, gap[reentry_src[r]])
                free[j] = emission[t, j] + max(reentry - reentry_penalty, anywhere)
            for j in range(m):   # G states, after the F states read them
                gap[j] = max(assigned[j] - gap_open, gap[j] - null_cost)
            edge, new_edge = new_edge, edge
            rank, new_rank = new_rank, rank
            start -= null_cost
        else:
            out_back[0, :] = -1
        best_any = -np.inf
        for j in range(m):
            a = free[j]
            for e in range(dst_ptr[j], dst_ptr[j + 1]):
                a = max(a, edge[e])
            assigned[j] = a
            best_any = max(best_any, a, gap[j])
        for e in range(num_edges):
            live[e] = edge[e] + table_max > free[dst[e]]
        out_edge[t, :] = edge
        out_free[t, :] = free
        out_gap[t, :] = gap
        out_start[t] = start
