"""Pointer head: scores every node of a graph for every sequence position."""

from __future__ import annotations

import tensorflow as tf


@tf.keras.utils.register_keras_serializable(package="tf_structgen")
class PointerHead(tf.keras.layers.Layer):
    """Pointer logits ``z[t, v]`` between sequence positions and nodes.

    ``additive`` is the paper's ``z_v = NN(NN(h_v) + h_P(t))``, realised as
    ``w^T tanh(W h_v + U h_P(t) + b)``: it builds a
    [batch, length, num_nodes, units] tensor (faithful, slow on CPU).
    ``dot`` is ``(W h_v) . (U h_P(t)) / sqrt(units)`` (one matmul).

    Init arguments:
      units: width of the shared hidden space.
      kind: ``"additive"`` or ``"dot"``.
      zero_init: start with all logits exactly zero (the last projection's
        weights are zeros), for a head that corrects a prior.

    Call arguments:
      inputs: a pair ``(node_states, position_states)`` of shapes
        [batch, num_nodes, d_nodes] and [batch, length, d_positions].

    Returns:
      [batch, length, num_nodes] unnormalised logits (no masking here).
    """

    def __init__(self, units: int = 128, *, kind: str = "additive",
                 zero_init: bool = False, **kwargs):
        super().__init__(**kwargs)
        if kind not in ("additive", "dot"):
            raise ValueError(f"unknown pointer kind {kind!r}")
        self.units = units
        self.kind = kind
        self.zero_init = zero_init
        last = "zeros" if zero_init else "glorot_uniform"
        self.node_proj = tf.keras.layers.Dense(units, name="node_proj")
        self.position_proj = tf.keras.layers.Dense(
            units, use_bias=False, name="position_proj",
            kernel_initializer=last if kind == "dot" else "glorot_uniform")
        if kind == "additive":
            self.score = tf.keras.layers.Dense(1, use_bias=False, name="score",
                                               kernel_initializer=last)

    def call(self, inputs):
        node_states, position_states = inputs
        nodes = self.node_proj(node_states)            # [B, M, U]
        positions = self.position_proj(position_states)  # [B, L, U]
        if self.kind == "dot":
            return tf.matmul(positions, nodes, transpose_b=True) * (
                self.units ** -0.5)
        hidden = tf.tanh(positions[:, :, None, :] + nodes[:, None, :, :])
        return tf.squeeze(self.score(hidden), -1)

    def get_config(self):
        return {**super().get_config(), "units": self.units, "kind": self.kind,
                "zero_init": self.zero_init}
