"""The classical threader's emission scores, as a layer (no weights)."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from tf_structgen.common.emission import EMISSION_PROB_FLOOR
from tf_structgen.common.residue_constants import (
    BACKGROUND_FREQUENCIES,
    NUM_AMINO_ACIDS,
)


@tf.keras.utils.register_keras_serializable(package="tf_structgen")
class EmissionLogOdds(tf.keras.layers.Layer):
    """``log(p_v(a_t) / background(a_t))`` for every position t and node v.

    Exactly the HMM baseline's emission (:mod:`tf_structgen.decoding.hmm`,
    weight 1): node scores renormalised, floored at ``prob_floor`` and
    renormalised again; unknown residues (index 20) and padding positions
    (-1) score 0. A pointer that adds a learned correction to this prior
    starts as the classical likelihood and can only learn context on top.

    Init arguments:
      prob_floor: floor on the renormalised node scores.

    Call arguments:
      inputs: ``(node_probs, sequence)``: [B, M, 20] scores (padding rows
        may be anything positive) and [B, L] int residue indices.

    Returns:
      [B, L, M] log-odds.
    """

    def __init__(self, prob_floor: float = EMISSION_PROB_FLOOR, **kwargs):
        super().__init__(**kwargs)
        self.prob_floor = prob_floor
        self.log_background = tf.constant(np.log(BACKGROUND_FREQUENCIES), tf.float32)

    def call(self, inputs):
        node_probs, sequence = inputs
        probs = node_probs / tf.maximum(
            tf.reduce_sum(node_probs, -1, keepdims=True), 1e-12)
        probs = tf.maximum(probs, self.prob_floor)
        probs = probs / tf.reduce_sum(probs, -1, keepdims=True)
        log_odds = tf.math.log(probs) - self.log_background          # [B, M, 20]
        # one_hot of 20 (unknown) and -1 (padding) is all zeros: score 0.
        residues = tf.one_hot(sequence, NUM_AMINO_ACIDS, dtype=log_odds.dtype)
        return tf.matmul(residues, log_odds, transpose_b=True)

    def get_config(self):
        return {**super().get_config(), "prob_floor": self.prob_floor}
