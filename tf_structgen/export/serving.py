"""The exported SavedModel: plain-tensor signatures around the Keras model.

Signatures (all batch-first, padded, with explicit counts, so TF Serving can
batch requests):

* ``serving_default`` (ensemble), ``forward``, ``backward``: inputs ``xyz``
  float32 [B, M, 3], ``aa_probs`` float32 [B, M, 20], ``num_nodes`` int32
  [B], ``sequence`` int32 [B, L] (0–19 in ``ACDEFGHIKLMNPQRSTVWY``, 20
  unknown), ``sequence_length`` int32 [B]. Outputs ``node_index`` int32
  [B, L] (greedy node per position, -1 where its probability is below the
  exported ``min_confidence`` or past the sequence end), ``confidence``
  float32 [B, L], ``top_nodes`` int32 [B, L, K] and ``top_log_probs``
  float32 [B, L, K] (the K most probable nodes, for constrained decoding).
* ``log_probs``: the same inputs, output ``log_probs`` float32 [B, L, M]
  (ensemble): the full per-position distribution, optional because it is
  L x M large.
* ``emission_correction`` (ensemble), ``emission_correction_forward``,
  ``emission_correction_backward``: the same inputs, output ``correction``
  float32 [B, L, M], what the constrained decoder adds to the HMM's
  emissions.
* For models trained with ``emission_prior``, the correction in two steps,
  so that many chains threaded through one candidate set share one GCN
  pass: ``node_states`` (inputs ``xyz``, ``aa_probs``, ``num_nodes``;
  output ``node_states`` float32 [B, M, D]) and
  ``emission_correction_from_states`` (+ ``_forward``, ``_backward``;
  inputs ``node_states`` [B, M, D], ``num_nodes``, ``sequence``,
  ``sequence_length``; output ``correction`` as above).

The contact graph is built inside the signature (cell list, core TF ops), so
the SavedModel needs neither tf_structgen nor tensorflow_gnn at serving time.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import tensorflow as tf

from tf_structgen.common.atomic import atomic_directory
from tf_structgen.common.residue_constants import NUM_AMINO_ACIDS, UNKNOWN_INDEX
from tf_structgen.export.graph_builder import padded_batch_to_graph
from tf_structgen.export.signatures import (
    CORRECTION_FROM_STATES_SIGNATURES,
    CORRECTION_SIGNATURES,
    NODE_STATES_SIGNATURE,
    THREADING_SIGNATURES,
)
from tf_structgen.models.structure_generator import StructureGenerator

SIGNATURE_INPUTS = {
    "xyz": tf.TensorSpec([None, None, 3], tf.float32, name="xyz"),
    "aa_probs": tf.TensorSpec([None, None, NUM_AMINO_ACIDS], tf.float32, name="aa_probs"),
    "num_nodes": tf.TensorSpec([None], tf.int32, name="num_nodes"),
    "sequence": tf.TensorSpec([None, None], tf.int32, name="sequence"),
    "sequence_length": tf.TensorSpec([None], tf.int32, name="sequence_length"),
}
NODE_INPUTS = {k: SIGNATURE_INPUTS[k] for k in ("xyz", "aa_probs", "num_nodes")}
STATES_INPUTS = {
    "node_states": tf.TensorSpec([None, None, None], tf.float32, name="node_states"),
    **{k: SIGNATURE_INPUTS[k] for k in ("num_nodes", "sequence", "sequence_length")},
}
METADATA_FILE = "tf_structgen.json"
# Assets of the export: the settings it was made with.
DEFAULT_TOP_K = 8


def _count_checks(batch, padded_nodes, num_nodes, sequence, sequence_length) -> list:
    """The checks every signature makes on its counts and batch axis."""
    return [
        tf.debugging.assert_equal(tf.shape(num_nodes)[0], batch,
                                  message="num_nodes must have one entry per problem"),
        tf.debugging.assert_equal(tf.shape(sequence)[0], batch,
                                  message="sequence must have one row per problem"),
        tf.debugging.assert_equal(tf.shape(sequence_length)[0], batch,
                                  message="sequence_length must have one entry per problem"),
        tf.debugging.assert_greater(batch, 0, message="empty batch"),
        tf.debugging.assert_positive(num_nodes, message="num_nodes must be >= 1"),
        tf.debugging.assert_less_equal(num_nodes, padded_nodes,
                                       message="num_nodes exceeds the padded node axis"),
        tf.debugging.assert_positive(sequence_length, message="sequence_length must be >= 1"),
        tf.debugging.assert_less_equal(sequence_length, tf.shape(sequence)[1],
                                       message="sequence_length exceeds the padded sequence axis"),
    ]


def _sequence_checks(real_seq) -> list:
    """Residue indices within 0-20 (the sequence's unpadded entries)."""
    return [
        tf.debugging.assert_non_negative(real_seq, message="sequence indices must be >= 0"),
        tf.debugging.assert_less_equal(real_seq, UNKNOWN_INDEX,
                                       message="sequence indices must be <= 20"),
    ]


def validate_inputs(xyz, aa_probs, num_nodes, sequence, sequence_length):
    """In-graph checks: a bad request fails with InvalidArgument, never a wrong answer.

    Returns every input passed through ``tf.identity`` under the checks, so
    nothing downstream (the contact graph, the BiLSTM) can run before them.
    """
    checks = [
        tf.debugging.assert_equal(tf.shape(aa_probs)[:2], tf.shape(xyz)[:2],
                                  message="aa_probs must be [B, M, 20] with the M of xyz"),
        *_count_checks(tf.shape(xyz)[0], tf.shape(xyz)[1], num_nodes, sequence,
                       sequence_length),
    ]
    with tf.control_dependencies(checks):
        node_mask = tf.sequence_mask(num_nodes, tf.shape(xyz)[1])
        seq_mask = tf.sequence_mask(sequence_length, tf.shape(sequence)[1])
        real_xyz = tf.boolean_mask(xyz, node_mask)
        real_probs = tf.boolean_mask(aa_probs, node_mask)
        checks = [
            tf.debugging.assert_all_finite(real_xyz, "xyz has NaN or infinite values"),
            tf.debugging.assert_all_finite(real_probs, "aa_probs has NaN or infinite values"),
            tf.debugging.assert_non_negative(real_probs, message="aa_probs must be >= 0"),
            tf.debugging.assert_positive(tf.reduce_sum(real_probs, -1),
                                         message="an aa_probs row is all zeros"),
            *_sequence_checks(tf.boolean_mask(sequence, seq_mask)),
        ]
    with tf.control_dependencies(checks):
        return {"xyz": tf.identity(xyz), "aa_probs": tf.identity(aa_probs),
                "num_nodes": tf.identity(num_nodes), "sequence": tf.identity(sequence),
                "sequence_length": tf.identity(sequence_length)}


def validate_state_inputs(node_states, num_nodes, sequence, sequence_length):
    """In-graph checks of an ``emission_correction_from_states`` request;
    returns the inputs under them, the sequence set to -1 (the encoder's
    padding) past each ``sequence_length``."""
    checks = _count_checks(tf.shape(node_states)[0], tf.shape(node_states)[1], num_nodes,
                           sequence, sequence_length)
    with tf.control_dependencies(checks):
        seq_mask = tf.sequence_mask(sequence_length, tf.shape(sequence)[1])
        checks = [
            tf.debugging.assert_all_finite(node_states, "node_states has NaN or infinite values"),
            *_sequence_checks(tf.boolean_mask(sequence, seq_mask)),
        ]
    with tf.control_dependencies(checks):
        return (tf.identity(node_states), tf.identity(num_nodes),
                tf.where(seq_mask, sequence, -1), tf.identity(sequence_length))


class ServingModule(tf.Module):
    """Holds the model and the exported settings; its tf.functions are the signatures."""

    def __init__(self, model: StructureGenerator, *, cutoff: float = 4.0,
                 min_confidence: float = 0.0, top_k: int = DEFAULT_TOP_K):
        super().__init__()
        # Track only the variables: tracking the Keras model would also save
        # its own traces, whose GraphTensor specs need tensorflow_gnn to load.
        object.__setattr__(self, "model", model)
        self.model_variables = list(model.variables)
        self.cutoff = tf.Variable(cutoff, trainable=False, name="contact_cutoff")
        self.min_confidence = tf.Variable(min_confidence, trainable=False,
                                          name="min_confidence")
        self.top_k = top_k
        for direction in ("ensemble", "forward", "backward"):
            setattr(self, direction, self._threading_function(direction))
            setattr(self, f"correction_{direction}", self._correction_function(direction))
        self.log_probs = tf.function(self._log_probs, input_signature=[SIGNATURE_INPUTS])
        self.has_states = bool(model.model_config.emission_prior)
        if self.has_states:
            self.node_states = tf.function(self._node_states, input_signature=[NODE_INPUTS])
            for direction in ("ensemble", "forward", "backward"):
                setattr(self, f"states_correction_{direction}",
                        self._states_correction_function(direction))

    def _per_request(self, inputs, compute, fill: float):
        """Validates a request, builds its graphs, runs ``compute(graph)``
        ([B, L', M'] for the batch's longest sequence and graph) and pads the
        result back to the request's [B, L, M] with ``fill``."""
        inputs = validate_inputs(**inputs)
        graph = padded_batch_to_graph(inputs["xyz"], inputs["aa_probs"], inputs["num_nodes"],
                                      inputs["sequence"], inputs["sequence_length"],
                                      self.cutoff)
        values = compute(graph)
        pad_m = tf.shape(inputs["xyz"])[1] - tf.shape(values)[2]
        pad_l = tf.shape(inputs["sequence"])[1] - tf.shape(values)[1]
        return tf.pad(values, [[0, 0], [0, pad_l], [0, pad_m]], constant_values=fill)

    def _distribution(self, inputs, direction):
        return self._per_request(
            inputs, lambda graph: self.model.log_probs(graph, direction), -1e9)

    def _correction_function(self, direction):
        def correction(inputs):
            return {"correction": self._per_request(
                inputs, lambda graph: self.model.emission_correction(graph, direction),
                0.0)}
        return tf.function(correction, input_signature=[SIGNATURE_INPUTS])

    def _node_states(self, inputs):
        """[B, M, D] encoded nodes (0 past ``num_nodes``): the sequence-free
        half of the correction, computed once per candidate set."""
        # A one-residue dummy sequence: the graph needs one; the states
        # do not read it.
        batch = tf.shape(inputs["xyz"])[0]
        checked = validate_inputs(**inputs, sequence=tf.zeros([batch, 1], tf.int32),
                                  sequence_length=tf.ones([batch], tf.int32))
        graph = padded_batch_to_graph(checked["xyz"], checked["aa_probs"],
                                      checked["num_nodes"], checked["sequence"],
                                      checked["sequence_length"], self.cutoff)
        states = self.model.padded_node_states(graph)
        pad_m = tf.shape(inputs["xyz"])[1] - tf.shape(states)[1]
        return {"node_states": tf.pad(states, [[0, 0], [0, pad_m], [0, 0]])}

    def _states_correction_function(self, direction):
        def correction(inputs):
            states, num_nodes, sequence, lengths = validate_state_inputs(**inputs)
            values = self.model.correction_from_states(states, num_nodes, sequence,
                                                       lengths, direction)
            return {"correction": values}
        return tf.function(correction, input_signature=[STATES_INPUTS])

    def _log_probs(self, inputs):
        return {"log_probs": self._distribution(inputs, "ensemble")}

    def _threading_function(self, direction):
        def thread(inputs):
            log_probs = self._distribution(inputs, direction)
            k = tf.minimum(self.top_k, tf.shape(log_probs)[2])
            top_log_probs, top_nodes = tf.math.top_k(log_probs, k=k)
            confidence = tf.exp(top_log_probs[..., 0])
            valid = tf.sequence_mask(inputs["sequence_length"], tf.shape(log_probs)[1])
            confidence = tf.where(valid, confidence, 0.0)
            node = tf.where(valid & (confidence >= self.min_confidence),
                            top_nodes[..., 0], -1)
            return {"node_index": node, "confidence": confidence,
                    "top_nodes": top_nodes, "top_log_probs": top_log_probs}
        return tf.function(thread, input_signature=[SIGNATURE_INPUTS])


def export_saved_model(model: StructureGenerator, base_dir: str | os.PathLike,
                       version: int | None = None, *, cutoff: float | None = None,
                       min_confidence: float = 0.0, metadata: dict | None = None) -> Path:
    """Writes ``base_dir/<version>/`` (TF Serving layout) atomically.

    Args:
      model: a built model.
      base_dir: the model's folder, e.g. ``saved_models/structgen``.
      version: integer version; default: one above the highest present.
      cutoff: contact cutoff (Å) used inside the signatures; default: the
        one the model was trained with (``model_config.contact_cutoff``).
      min_confidence: ``node_index`` is -1 below this probability.
      metadata: extra facts stored in ``assets.extra/tf_structgen.json``.

    Returns:
      The version directory.
    """
    if cutoff is None:
        cutoff = model.model_config.contact_cutoff
    base_dir = Path(base_dir)
    base_dir.mkdir(parents=True, exist_ok=True)
    if version is None:
        existing = [int(p.name) for p in base_dir.iterdir() if p.name.isdigit()]
        version = max(existing, default=0) + 1
    module = ServingModule(model, cutoff=cutoff, min_confidence=min_confidence)
    signatures = {**{THREADING_SIGNATURES[d]: getattr(module, d)
                     for d in THREADING_SIGNATURES},
                  "log_probs": module.log_probs,
                  **{CORRECTION_SIGNATURES[d]: getattr(module, f"correction_{d}")
                     for d in CORRECTION_SIGNATURES}}
    if module.has_states:
        signatures[NODE_STATES_SIGNATURE] = module.node_states
        signatures.update({CORRECTION_FROM_STATES_SIGNATURES[d]:
                           getattr(module, f"states_correction_{d}")
                           for d in CORRECTION_FROM_STATES_SIGNATURES})
    final = base_dir / str(version)
    with atomic_directory(final) as tmp:
        tf.saved_model.save(module, str(tmp), signatures=signatures)
        extra = tmp / "assets.extra"
        extra.mkdir(exist_ok=True)
        info = {"model_config": model.get_config(), "cutoff": cutoff,
                "min_confidence": min_confidence, "top_k": module.top_k,
                **(metadata or {})}
        (extra / METADATA_FILE).write_text(json.dumps(info, indent=2))
    return final
