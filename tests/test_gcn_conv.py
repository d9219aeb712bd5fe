"""GCN math on tiny graphs with pinned weights, checked against the formula."""

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_gnn as tfgnn

from tf_structgen.models import GCNConv, GCNEncoder


def graph(num_nodes, edges, states):
    """Undirected edges -> both directions; states [num_nodes, d]."""
    src = [a for a, b in edges] + [b for a, b in edges]
    dst = [b for a, b in edges] + [a for a, b in edges]
    return tfgnn.GraphTensor.from_pieces(
        node_sets={"nodes": tfgnn.NodeSet.from_fields(
            sizes=[num_nodes],
            features={tfgnn.HIDDEN_STATE: tf.constant(states, tf.float32)})},
        edge_sets={"contacts": tfgnn.EdgeSet.from_fields(
            sizes=[len(src)],
            adjacency=tfgnn.Adjacency.from_indices(
                ("nodes", tf.constant(src, tf.int32)),
                ("nodes", tf.constant(dst, tf.int32))))})


def kipf_welling(num_nodes, edges, h, w, b):
    a = np.eye(num_nodes)
    for i, j in edges:
        a[i, j] = a[j, i] = 1.0
    d = np.diag(a.sum(1) ** -0.5)
    return d @ a @ d @ h @ w + b


def pinned_conv(units, d, activation="linear", seed=0):
    rng = np.random.default_rng(seed)
    w = rng.normal(size=(d, units)).astype(np.float32)
    b = rng.normal(size=(units,)).astype(np.float32)
    conv = GCNConv(units, activation=activation)
    return conv, w, b


def set_weights(conv, g, w, b):
    conv(g)
    conv.dense.kernel.assign(w)
    conv.bias.assign(b)


@pytest.mark.parametrize("num_nodes,edges", [
    (2, [(0, 1)]),                    # one contact
    (3, [(0, 1), (1, 2)]),            # a 3-residue chain
    (4, [(0, 1), (1, 2), (2, 3), (0, 2)]),  # chain + one extra contact
    (4, [(0, 1)]),                    # two isolated nodes keep only self-loops
])
def test_gcn_matches_normalised_adjacency(num_nodes, edges):
    h = np.arange(num_nodes * 2, dtype=np.float32).reshape(num_nodes, 2) / 3.0
    g = graph(num_nodes, edges, h)
    conv, w, b = pinned_conv(3, 2)
    set_weights(conv, g, w, b)
    np.testing.assert_allclose(conv(g).numpy(), kipf_welling(num_nodes, edges, h, w, b),
                               rtol=1e-5, atol=1e-5)


def test_gcn_by_hand_two_nodes():
    # Degrees with self-loops are 2 and 2: each node gets (h0 + h1) / 2 * w.
    g = graph(2, [(0, 1)], [[1.0], [3.0]])
    conv = GCNConv(1, activation="linear", use_bias=False)
    conv(g)
    conv.dense.kernel.assign([[2.0]])
    np.testing.assert_allclose(conv(g).numpy(), [[4.0], [4.0]])


def test_gcn_relu_and_isolated_node():
    g = graph(3, [(0, 1)], [[1.0], [1.0], [-5.0]])
    conv = GCNConv(1, activation="relu", use_bias=False)
    conv(g)
    conv.dense.kernel.assign([[1.0]])
    # Isolated node 2 only sees itself: relu(-5) = 0.
    np.testing.assert_allclose(conv(g).numpy(), [[1.0], [1.0], [0.0]])


def test_encoder_shared_vs_separate_weights():
    g = graph(3, [(0, 1), (1, 2)], np.ones((3, 4), np.float32))
    shared = GCNEncoder(4, num_layers=3, shared_weights=True)
    separate = GCNEncoder(4, num_layers=3, shared_weights=False)
    shared(g), separate(g)
    assert len(shared.trainable_weights) == 2      # one kernel + one bias
    assert len(separate.trainable_weights) == 6


def test_encoder_zero_layers_is_identity():
    h = np.random.default_rng(1).normal(size=(3, 4)).astype(np.float32)
    g = graph(3, [(0, 1)], h)
    np.testing.assert_array_equal(GCNEncoder(4, num_layers=0)(g).numpy(), h)


def test_encoder_two_layers_compose():
    h = np.random.default_rng(2).normal(size=(4, 2)).astype(np.float32)
    edges = [(0, 1), (1, 2), (2, 3)]
    g = graph(4, edges, h)
    enc = GCNEncoder(2, num_layers=2, activation="linear")
    enc(g)
    weights = []
    for conv in enc.convs:
        w = np.random.default_rng(len(weights)).normal(size=(2, 2)).astype(np.float32)
        conv.dense.kernel.assign(w)
        conv.bias.assign(np.zeros(2, np.float32))
        weights.append(w)
    expected = kipf_welling(4, edges, kipf_welling(4, edges, h, weights[0], 0), weights[1], 0)
    np.testing.assert_allclose(enc(g).numpy(), expected, rtol=1e-5, atol=1e-5)
