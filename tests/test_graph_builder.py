"""In-graph (TF) contact graph equals the numpy k-d tree one."""

import numpy as np
import pytest
import tensorflow as tf

from tf_structgen.data.contact_graph import contact_edges
from tf_structgen.export.graph_builder import contact_pairs, padded_batch_to_graph


@pytest.mark.parametrize("m,seed", [(0, 0), (1, 0), (2, 1), (50, 2), (3000, 3)])
def test_cell_list_matches_kd_tree(m, seed):
    rng = np.random.default_rng(seed)
    xyz = (rng.random((m, 3)) * max(m, 1) ** (1 / 3) * 4.5 - 20).astype(np.float32)
    s, t = contact_pairs(tf.constant(xyz.reshape(-1, 3)), tf.zeros([m], tf.int32), 4.0)
    s2, t2 = contact_edges(xyz, 4.0)
    np.testing.assert_array_equal(s.numpy(), s2)
    np.testing.assert_array_equal(t.numpy(), t2)


def test_graphs_of_a_batch_never_touch():
    xyz = np.random.default_rng(0).random((10, 3)).astype(np.float32) * 3
    both = tf.constant(np.concatenate([xyz, xyz]))
    s, t = contact_pairs(both, tf.constant([0] * 10 + [1] * 10), 4.0)
    assert len(s) > 0
    np.testing.assert_array_equal(s.numpy() < 10, t.numpy() < 10)


def test_padded_batch_to_graph_counts():
    rng = np.random.default_rng(1)
    xyz = rng.random((2, 6, 3)).astype(np.float32) * 5
    aa = rng.random((2, 6, 20)).astype(np.float32)
    g = padded_batch_to_graph(xyz, aa, tf.constant([6, 4]), tf.constant([[1, 2, 3], [4, 5, 0]]),
                              tf.constant([3, 2]), 4.0)
    assert g.node_sets["nodes"].sizes.numpy().tolist() == [6, 4]
    np.testing.assert_allclose(g.node_sets["nodes"]["aa_probs"].numpy().sum(1), 1.0, rtol=1e-5)
    assert g.context["sequence"].to_list() == [[1, 2, 3], [4, 5]]
    src = g.edge_sets["contacts"].adjacency.source.numpy()
    sizes = g.edge_sets["contacts"].sizes.numpy()
    assert sizes.sum() == len(src)
    assert np.all(src[:sizes[0]] < 6) and np.all(src[sizes[0]:] >= 6)
