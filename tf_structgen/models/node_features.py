"""Node feature embedding: one dense layer over the 20 amino-acid scores."""

from __future__ import annotations

import tensorflow as tf


@tf.keras.utils.register_keras_serializable(package="tf_structgen")
class NodeFeatureEmbedding(tf.keras.layers.Layer):
    """Embeds each node's amino-acid scores.

    Init arguments:
      units: output width.
      activation: activation of the dense layer.

    Call arguments:
      inputs: [num_nodes, 20] amino-acid scores.

    Returns:
      [num_nodes, units] node states.
    """

    def __init__(self, units: int, *, activation: str = "relu", **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.activation = activation
        self.dense = tf.keras.layers.Dense(units, activation=activation,
                                           name="dense")

    def call(self, inputs):
        return self.dense(inputs)

    def get_config(self):
        return {**super().get_config(), "units": self.units,
                "activation": self.activation}
