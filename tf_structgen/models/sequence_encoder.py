"""Sequence encoder: one-hot -> dense -> bidirectional LSTM."""

from __future__ import annotations

import tensorflow as tf

from tf_structgen.common.residue_constants import NUM_AMINO_ACIDS


@tf.keras.utils.register_keras_serializable(package="tf_structgen")
class SequenceEncoder(tf.keras.layers.Layer):
    """Encodes each residue in the context of the whole sequence.

    Init arguments:
      units: width of the dense layer over the one-hot residues (paper: 32).
      lstm_units: LSTM units per direction (paper: 256); both directions
        start from a zero state.

    Call arguments:
      inputs: [batch, length] int32 residue indices, 0–19 standard, 20
        unknown, -1 padding (masked).

    Returns:
      [batch, length, 2 * lstm_units] per-position states h_P(t).
    """

    def __init__(self, units: int = 32, *, lstm_units: int = 256, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.lstm_units = lstm_units
        self.embed = tf.keras.layers.Dense(units, name="embed")
        self.bilstm = tf.keras.layers.Bidirectional(
            tf.keras.layers.LSTM(lstm_units, return_sequences=True),
            name="bilstm")

    def call(self, inputs):
        mask = inputs >= 0
        # one_hot of -1 is all zeros; index 20 (unknown) has its own column.
        x = tf.one_hot(inputs, NUM_AMINO_ACIDS + 1)
        return self.bilstm(self.embed(x), mask=mask)

    def get_config(self):
        return {**super().get_config(), "units": self.units,
                "lstm_units": self.lstm_units}
