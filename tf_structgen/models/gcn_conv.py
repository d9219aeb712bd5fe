"""Kipf–Welling graph convolution on TF-GNN, linear in the number of edges."""

from __future__ import annotations

import tensorflow as tf
import tensorflow_gnn as tfgnn


@tf.keras.utils.register_keras_serializable(package="tf_structgen")
class GCNConv(tf.keras.layers.Layer):
    """``H' = act(D^-1/2 (A + I) D^-1/2 H W + b)`` over one homogeneous edge set.

    ``A`` is the edge set's adjacency (store both directions of an undirected
    contact), ``I`` the self-loops added here and ``D`` the degree of
    ``A + I``. Messages are gathered and scattered along the edge list
    (``tfgnn.broadcast_node_to_edges`` / ``tfgnn.pool_edges_to_node``), so no
    dense adjacency is ever built.

    Init arguments:
      units: output width.
      edge_set_name: the edge set to convolve over.
      activation: output activation.
      use_bias: add a bias.

    Call arguments:
      inputs: a scalar ``GraphTensor`` whose edge set's endpoints hold the
        feature ``tfgnn.HIDDEN_STATE`` of shape [num_nodes, d].

    Returns:
      [num_nodes, units] new node states.
    """

    def __init__(self, units: int, *, edge_set_name: str = "contacts",
                 activation: str = "relu", use_bias: bool = True, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.edge_set_name = edge_set_name
        self.activation = activation
        self.use_bias = use_bias
        self.dense = tf.keras.layers.Dense(units, use_bias=False, name="kernel")
        self.act = tf.keras.activations.get(activation)

    def build(self, input_shape):
        if self.use_bias:
            self.bias = self.add_weight(name="bias", shape=[self.units],
                                        initializer="zeros")
        super().build(input_shape)

    def call(self, inputs):
        graph = inputs
        edge_set = graph.edge_sets[self.edge_set_name]
        node_set_name = edge_set.adjacency.target_name
        h = self.dense(graph.node_sets[node_set_name][tfgnn.HIDDEN_STATE])
        num_edges = tf.shape(edge_set.adjacency.source)[0]
        ones = tf.ones([num_edges, 1], h.dtype)
        degree = 1.0 + tfgnn.pool_edges_to_node(
            graph, self.edge_set_name, tfgnn.TARGET, "sum", feature_value=ones)
        inv_sqrt = tf.math.rsqrt(degree)  # [num_nodes, 1]
        scaled = h * inv_sqrt
        messages = tfgnn.broadcast_node_to_edges(
            graph, self.edge_set_name, tfgnn.SOURCE, feature_value=scaled)
        pooled = tfgnn.pool_edges_to_node(
            graph, self.edge_set_name, tfgnn.TARGET, "sum",
            feature_value=messages)
        out = (pooled + scaled) * inv_sqrt
        if self.use_bias:
            out = out + self.bias
        return self.act(out)

    def get_config(self):
        return {**super().get_config(), "units": self.units,
                "edge_set_name": self.edge_set_name,
                "activation": self.activation, "use_bias": self.use_bias}
