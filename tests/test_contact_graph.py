"""Tests of tf_structgen.data.contact_graph.contact_edges."""

import time

import numpy as np
import pytest

from tf_structgen.data.contact_graph import contact_edges


def brute_force(xyz, cutoff):
    d2 = ((xyz[:, None, :] - xyz[None, :, :]) ** 2).sum(-1)
    close = d2 < cutoff * cutoff
    np.fill_diagonal(close, False)
    return np.nonzero(close)  # row-major, i.e. sorted by (source, target)


@pytest.mark.parametrize("seed, m, cutoff", [
    (0, 50, 4.0), (1, 300, 4.0), (2, 300, 7.5), (3, 200, 0.5), (4, 2, 100.0)])
def test_matches_brute_force(seed, m, cutoff):
    xyz = np.random.default_rng(seed).uniform(0, 20, (m, 3)).astype(np.float32)
    source, target = contact_edges(xyz, cutoff)
    expected = brute_force(xyz.astype(np.float64), cutoff)
    np.testing.assert_array_equal(source, expected[0])
    np.testing.assert_array_equal(target, expected[1])
    assert source.dtype == target.dtype == np.int32


def test_symmetric_sorted_and_without_self_loops():
    xyz = np.random.default_rng(5).uniform(0, 15, (400, 3))
    source, target = contact_edges(xyz)
    assert source.size > 0
    assert not (source == target).any()
    edges = set(zip(source.tolist(), target.tolist()))
    assert edges == {(j, i) for i, j in edges}
    keys = source.astype(np.int64) * len(xyz) + target
    assert (np.diff(keys) > 0).all()


def test_cutoff_is_exclusive():
    xyz = np.array([[0, 0, 0], [4, 0, 0], [0, 3.999, 0], [0, 0, -4.001]])
    source, target = contact_edges(xyz, cutoff=4.0)
    assert list(zip(source.tolist(), target.tolist())) == [(0, 2), (2, 0)]


def test_coincident_points_are_connected():
    source, target = contact_edges(np.zeros((2, 3)))
    assert source.tolist() == [0, 1] and target.tolist() == [1, 0]


@pytest.mark.parametrize("m", [0, 1])
def test_no_edges_for_fewer_than_two_nodes(m):
    source, target = contact_edges(np.zeros((m, 3)))
    assert source.shape == target.shape == (0,)
    assert source.dtype == target.dtype == np.int32


@pytest.mark.parametrize("cutoff", [0.0, -1.0, float("nan"), float("inf")])
def test_rejects_bad_cutoff(cutoff):
    with pytest.raises(ValueError, match="cutoff must be a positive distance"):
        contact_edges(np.zeros((3, 3)), cutoff)


@pytest.mark.parametrize("xyz, match", [
    (np.zeros((3, 2)), r"shape \[num_nodes, 3\]"),
    (np.zeros(3), r"shape \[num_nodes, 3\]"),
    (np.array([[0, 0, np.nan]]), "NaN or infinite"),
])
def test_rejects_bad_coordinates(xyz, match):
    with pytest.raises(ValueError, match=match):
        contact_edges(xyz)


def test_twenty_thousand_nodes_quickly():
    # Protein-like density: about one Cα per 120 Å^3.
    m = 20_000
    rng = np.random.default_rng(6)
    xyz = rng.uniform(0, (m * 120) ** (1 / 3), (m, 3)).astype(np.float32)
    start = time.perf_counter()
    source, target = contact_edges(xyz)
    assert time.perf_counter() - start < 1.0
    assert source.size == target.size and source.size % 2 == 0
    # Spot-check a few nodes against brute force.
    xyz64 = xyz.astype(np.float64)
    for i in rng.choice(m, 20, replace=False):
        d2 = ((xyz64 - xyz64[i]) ** 2).sum(axis=1)
        expected = np.flatnonzero(d2 < 16.0)
        np.testing.assert_array_equal(target[source == i],
                                      expected[expected != i])
