"""Stack of T GCN layers over the contact graph."""

from __future__ import annotations

import tensorflow as tf
import tensorflow_gnn as tfgnn

from tf_structgen.models.distance_conv import DistanceConv
from tf_structgen.models.gcn_conv import GCNConv


@tf.keras.utils.register_keras_serializable(package="tf_structgen")
class GCNEncoder(tf.keras.layers.Layer):
    """T rounds of :class:`GCNConv`, with separate or shared weights.

    Init arguments:
      units: width of every layer (and of the input node states).
      num_layers: T; 0 returns the input states unchanged (paper ablation).
      shared_weights: apply one layer T times.
      node_set_name: the node set holding the states.
      edge_set_name: the contact edge set.
      activation: activation of each layer.
      message: ``"gcn"`` (:class:`GCNConv`) or ``"distance"``
        (:class:`DistanceConv`, needs node coordinates).
      max_distance: the distance layers' largest RBF centre (Å).

    Call arguments:
      inputs: a scalar ``GraphTensor`` whose node set holds
        ``tfgnn.HIDDEN_STATE`` [num_nodes, units].

    Returns:
      [num_nodes, units] encoded node states.
    """

    def __init__(self, units: int, *, num_layers: int = 2,
                 shared_weights: bool = False, node_set_name: str = "nodes",
                 edge_set_name: str = "contacts", activation: str = "relu",
                 message: str = "gcn", max_distance: float = 7.0, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.num_layers = num_layers
        self.shared_weights = shared_weights
        self.node_set_name = node_set_name
        self.edge_set_name = edge_set_name
        self.activation = activation
        self.message = message
        self.max_distance = max_distance
        num_distinct = min(num_layers, 1) if shared_weights else num_layers
        if message == "distance":
            self.convs = [DistanceConv(units, max_distance=max_distance,
                                       edge_set_name=edge_set_name, name=f"dconv_{i}")
                          for i in range(num_distinct)]
        else:
            self.convs = [GCNConv(units, edge_set_name=edge_set_name,
                                  activation=activation, name=f"gcn_{i}")
                          for i in range(num_distinct)]

    def call(self, inputs):
        graph = inputs
        states = graph.node_sets[self.node_set_name][tfgnn.HIDDEN_STATE]
        for i in range(self.num_layers):
            conv = self.convs[0 if self.shared_weights else i]
            states = conv(graph)
            features = graph.node_sets[self.node_set_name].features
            graph = graph.replace_features(node_sets={
                self.node_set_name: {**features, tfgnn.HIDDEN_STATE: states}})
        return states

    def get_config(self):
        return {**super().get_config(), "units": self.units,
                "num_layers": self.num_layers,
                "shared_weights": self.shared_weights,
                "node_set_name": self.node_set_name,
                "edge_set_name": self.edge_set_name,
                "activation": self.activation, "message": self.message,
                "max_distance": self.max_distance}
