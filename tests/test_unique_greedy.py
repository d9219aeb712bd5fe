"""Greedy decoding with each node used once."""

import numpy as np

from tf_structgen.decoding.unique_greedy import unique_greedy


def test_conflict_goes_to_the_more_confident_position():
    # Both positions prefer node 5; position 1 is surer, position 0 falls back to 3.
    nodes = [np.array([[5, 3], [5, 2]])]
    logp = [np.log(np.array([[0.6, 0.3], [0.9, 0.05]]))]
    (assigned, conf), = unique_greedy(nodes, logp)
    np.testing.assert_array_equal(assigned, [3, 5])
    np.testing.assert_allclose(conf, [0.3, 0.9], rtol=1e-6)


def test_chains_get_disjoint_nodes_and_threshold_gives_nulls():
    nodes = [np.array([[1, 2]]), np.array([[1, 4], [7, 8]])]
    logp = [np.log(np.array([[0.8, 0.1]])), np.log(np.array([[0.7, 0.2], [0.05, 0.01]]))]
    (a, ca), (b, cb) = unique_greedy(nodes, logp, min_confidence=0.1)
    np.testing.assert_array_equal(a, [1])
    np.testing.assert_array_equal(b, [4, -1])
    assert cb[1] == 0.0


def test_empty():
    assert unique_greedy([], []) == []
