"""The compiled loops of the threading HMM (tf_structgen.decoding.kernels)
against a direct transcription of the model: the pair table against the
dihedrals computed one by one, the Viterbi recursion against a plain pull
over every pair (no table, no pruning) on dense random graphs."""

import dataclasses

import numpy as np
import pytest

from tf_structgen.decoding import backbone_prior
from tf_structgen.decoding.config import HMMConfig
from tf_structgen.decoding.graph import CandidateGraph, _dihedral_table
from tf_structgen.decoding.viterbi import _Trellis, viterbi


def dense_graph(seed: int, dihedral_weight: float, m: int = 40):
    """A random candidate set packed densely enough that most nodes have
    several links, pairs and re-entries, and its graph."""
    rng = np.random.default_rng(seed)
    xyz = rng.uniform(0.0, 11.0, (m, 3))
    config = HMMConfig(noise=0.3, dihedral_weight=dihedral_weight)
    return xyz, config, CandidateGraph(xyz, config)


def tau(xyz, a, b, c, d) -> float:
    return float(backbone_prior.dihedrals(xyz[a], xyz[b], xyz[c], xyz[d]))


@pytest.mark.parametrize("seed", [0, 1])
def test_pair_table_holds_each_pairs_dihedral_after_each_predecessor(seed):
    xyz, config, g = dense_graph(seed, 1.0)
    table = _dihedral_table(config)
    assert len(g.pair_prev) > 200
    pt = g.pair_table
    checked = 0
    for h in range(len(g.src)):
        lo, hi = pt.ptr[h], pt.ptr[h + 1]
        into = range(g.by_pair.indptr[h], g.by_pair.indptr[h + 1])
        for s, p in enumerate(pt.pairs[lo:hi]):
            assert g.pair_prev[p] == h and pt.second[lo + s] == g.pair_next[p]
            base = pt.base[h] + s
            assert pt.scores[base] == pytest.approx(g.pair_weight[p], abs=1e-6)
            i, j, k = g.src[h], g.dst[h], g.dst[g.pair_next[p]]
            for r, q in enumerate(into):
                before = g.src[g.pair_prev[q]]
                expected = g.pair_weight[p] + table[
                    backbone_prior.dihedral_bin(tau(xyz, before, i, j, k))]
                assert pt.scores[base + (1 + r) * (hi - lo)] == pytest.approx(
                    expected, abs=1e-5)
                checked += 1
    assert checked > 1000
    assert pt.best == pytest.approx(pt.scores.max())


def test_without_dihedrals_the_table_is_the_pair_weights():
    _, _, g = dense_graph(0, 0.0)
    assert not g.scores_dihedrals
    pt = g.pair_table
    first = g.pair_prev[pt.pairs]
    np.testing.assert_allclose(pt.scores[pt.base[first] + np.arange(len(pt.pairs))
                                         - pt.ptr[first]],
                               g.pair_weight[pt.pairs], atol=1e-6)


def reference_trellis(xyz, g: CandidateGraph, emission, config: HMMConfig) -> _Trellis:
    """The HMM's Viterbi recursion written out state by state: each edge
    state takes the best pair into it (second-neighbour score, and the
    dihedral with the node before the pair on the best path into its first
    edge) or F at its source; F from a re-entry, a jump or the start."""
    n, m = emission.shape
    num_edges = len(g.src)
    table = _dihedral_table(config) if g.scores_dihedrals else None
    tr = _Trellis(edge=np.empty((n, num_edges)), free=np.empty((n, m)),
                  gap=np.empty((n, m)), start=np.empty(n),
                  back=np.full((n, num_edges), -1))
    edge = np.full(num_edges, -np.inf)
    before = np.full(num_edges, -1)        # node before each edge's source
    free = emission[0].astype(float)
    gap = np.full(m, -np.inf)
    start = -config.null_cost
    for t in range(n):
        if t:
            new_edge, new_before = np.empty(num_edges), np.full(num_edges, -1)
            for e in range(num_edges):
                best, arg = -np.inf, -1
                for p in np.flatnonzero(g.pair_next == e):
                    h = g.pair_prev[p]
                    v = edge[h] + g.pair_weight[p]
                    if table is not None and before[h] >= 0:
                        v += table[backbone_prior.dihedral_bin(
                            tau(xyz, before[h], g.src[h], g.dst[h], g.dst[e]))]
                    if v > best:
                        best, arg = v, h
                if best > free[g.src[e]]:
                    entered, tr.back[t, e], new_before[e] = best, arg, g.src[arg]
                else:
                    entered = free[g.src[e]]
                new_edge[e] = emission[t, g.dst[e]] + g.weight[e] + entered
            new_free = np.empty(m)
            for j in range(m):
                reentry = [gap[g.reentry_src[r]] for r in np.flatnonzero(g.reentry_dst == j)]
                new_free[j] = emission[t, j] + max(
                    max(reentry, default=-np.inf) - config.reentry_penalty,
                    best_any - config.jump_penalty, start)
            gap = np.maximum(assigned - config.gap_open, gap - config.null_cost)
            edge, before, free = new_edge, new_before, new_free
            start -= config.null_cost
        tr.edge[t], tr.free[t], tr.gap[t], tr.start[t] = edge, free, gap, start
        assigned = free.copy()
        for e in range(num_edges):
            assigned[g.dst[e]] = max(assigned[g.dst[e]], edge[e])
        best_any = max(assigned.max(), gap.max())
    return tr


@pytest.mark.parametrize("dihedral_weight", [0.0, 1.0])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_compiled_recursion_matches_the_model_written_out(seed, dihedral_weight,
                                                          monkeypatch):
    xyz, config, g = dense_graph(seed, dihedral_weight, m=30)
    rng = np.random.default_rng(100 + seed)
    n = 7
    emission = rng.normal(0.0, 2.0, (n, len(xyz)))
    emission[rng.random(emission.shape) < 0.1] = -np.inf     # banned nodes
    kept = {}
    original = _Trellis.__init__

    def init(self, *args, **kwargs):   # keeps the trellis viterbi fills
        original(self, *args, **kwargs)
        kept["tr"] = self
    monkeypatch.setattr(_Trellis, "__init__", init)
    path = viterbi(g, emission, config)
    got, want = kept["tr"], reference_trellis(xyz, g, emission, config)
    for name in ("edge", "free", "gap", "start"):
        a, b = getattr(got, name), getattr(want, name)
        assert np.array_equal(np.isinf(a), np.isinf(b)), name
        np.testing.assert_allclose(a[np.isfinite(a)], b[np.isfinite(b)], rtol=1e-5, atol=1e-4)
    np.testing.assert_array_equal(got.back, want.back)
    assert path.shape == (n,) and path.max() < len(xyz)


def test_kernels_compile_without_a_writable_cache(monkeypatch):
    """A read-only install (no writable __pycache__, no user cache): numba
    refuses ``cache=True``; the kernels then compile once per process."""
    import importlib

    import numba

    from tf_structgen.decoding import kernels

    njit = numba.njit
    asked = []

    def refusing(*args, **kwargs):
        asked.append(bool(kwargs.get("cache")))
        if kwargs.get("cache"):
            raise RuntimeError("cannot cache function: no locator available")
        return njit(*args, **kwargs)

    monkeypatch.setattr(numba, "njit", refusing)
    try:
        importlib.reload(kernels)
        assert asked == [True, False, True, False]   # both kernels fell back
        xyz, config, g = dense_graph(0, 1.0, m=20)
        emission = np.random.default_rng(0).normal(size=(5, len(xyz)))
        assert viterbi(g, emission, config).shape == (5,)
    finally:
        monkeypatch.setattr(numba, "njit", njit)
        importlib.reload(kernels)
