"""The Structure Generator: GCN node encoder + BiLSTM pointer decoder."""

from __future__ import annotations

import dataclasses

import tensorflow as tf
import tensorflow_gnn as tfgnn

from tf_structgen.common import features as F
from tf_structgen.models.config import ModelConfig
from tf_structgen.models.emission_prior import EmissionLogOdds
from tf_structgen.models.gcn_encoder import GCNEncoder
from tf_structgen.models.node_features import NodeFeatureEmbedding
from tf_structgen.models.pointer_head import PointerHead
from tf_structgen.models.sequence_encoder import SequenceEncoder

DIRECTIONS = ("forward", "backward", "ensemble")
# Logit given to padding nodes and to other graphs' nodes: never chosen.
MASKED_LOGIT = -1e9


def padded_sequences(graph: tfgnn.GraphTensor, feature: str = F.SEQUENCE,
                     pad: int = -1) -> tuple[tf.Tensor, tf.Tensor]:
    """Context ragged feature [B, (n)] -> ([B, L] padded with ``pad``, [B] lengths)."""
    ragged = graph.context[feature]
    return (ragged.to_tensor(default_value=pad),
            tf.cast(ragged.row_lengths(), tf.int32))


def reverse_positions(x: tf.Tensor, lengths: tf.Tensor) -> tf.Tensor:
    """Reverses the first ``lengths[b]`` entries of each row along axis 1."""
    return tf.reverse_sequence(x, lengths, seq_axis=1, batch_axis=0)


@tf.keras.utils.register_keras_serializable(package="tf_structgen")
class StructureGenerator(tf.keras.Model):
    """Threads each graph's sequence through its candidate nodes.

    Init arguments: the fields of :class:`ModelConfig` as keywords.

    Call arguments:
      inputs: a scalar ``GraphTensor`` of B components (one threading problem
        each) with node feature ``aa_probs`` [num_nodes, 20], the edge set
        ``contacts`` and the context feature ``sequence`` [B, (n)].
      training: Keras training flag.

    Returns:
      [B, L, M] pointer logits, L the longest sequence and M the largest
      graph of the batch; entries for padding nodes are ``MASKED_LOGIT``, so a
      softmax over the last axis is over each graph's own nodes only.
    """

    def __init__(self, *, node_units: int = 128, gcn_layers: int = 2,
                 shared_weights: bool = False, sequence_units: int = 32,
                 lstm_units: int = 256, pointer: str = "additive",
                 pointer_units: int = 128, node_skip: bool = False,
                 message: str = "gcn", emission_prior: bool = False,
                 contact_cutoff: float = 4.0, **kwargs):
        super().__init__(**kwargs)
        self.model_config = ModelConfig(
            node_units=node_units, gcn_layers=gcn_layers,
            shared_weights=shared_weights, sequence_units=sequence_units,
            lstm_units=lstm_units, pointer=pointer, pointer_units=pointer_units,
            node_skip=node_skip, message=message, emission_prior=emission_prior,
            contact_cutoff=contact_cutoff)
        self.node_embedding = NodeFeatureEmbedding(node_units,
                                                   name="node_embedding")
        self.encoder = GCNEncoder(node_units, num_layers=gcn_layers,
                                  shared_weights=shared_weights,
                                  node_set_name=F.NODES,
                                  edge_set_name=F.CONTACTS, message=message,
                                  max_distance=contact_cutoff, name="encoder")
        self.sequence_encoder = SequenceEncoder(
            sequence_units, lstm_units=lstm_units, name="sequence_encoder")
        self.pointer = PointerHead(pointer_units, kind=pointer,
                                   zero_init=emission_prior, name="pointer")
        if emission_prior:
            self.prior = EmissionLogOdds(name="emission_prior")
            self.node_bias = tf.keras.layers.Dense(
                1, kernel_initializer="zeros", name="node_bias")

    @classmethod
    def from_model_config(cls, config: ModelConfig, **kwargs):
        return cls(**dataclasses.asdict(config), **kwargs)

    def encode_nodes(self, graph: tfgnn.GraphTensor) -> tf.Tensor:
        """Returns [num_nodes, d] encoded states of all nodes (d = node_units,
        or 2 * node_units with ``node_skip``)."""
        nodes = graph.node_sets[F.NODES]
        states = self.node_embedding(nodes[F.AA_PROBS])
        graph = graph.replace_features(
            node_sets={F.NODES: {**nodes.features, tfgnn.HIDDEN_STATE: states}})
        encoded = self.encoder(graph)
        if self.model_config.node_skip:
            return tf.concat([states, encoded], axis=-1)
        return encoded

    def call(self, inputs, training=None):
        (logits,) = self._logits(inputs, reverses=(False,))
        return logits

    def _logits(self, graph: tfgnn.GraphTensor, reverses=(False,)) -> list[tf.Tensor]:
        """[B, L, M] logits per entry of ``reverses`` (the sequence read
        backwards where True), the nodes encoded once for all of them."""
        node_sizes = tf.cast(graph.node_sets[F.NODES].sizes, tf.int64)
        node_states = self.padded_node_states(graph)            # [B, M, D]
        sequence, lengths = padded_sequences(graph)            # [B, L]
        probs = None
        if self.model_config.emission_prior:
            probs = tf.RaggedTensor.from_row_lengths(
                graph.node_sets[F.NODES][F.AA_PROBS], node_sizes).to_tensor(1.0)
        return [self._head_logits(node_states, node_sizes, sequence, lengths, reverse,
                                  False, probs) for reverse in reverses]

    def padded_node_states(self, graph: tfgnn.GraphTensor) -> tf.Tensor:
        """[B, M, D] :meth:`encode_nodes` per graph, zero past each graph's
        nodes. They do not depend on the sequence: one encoding serves every
        chain threaded through the same candidates."""
        node_sizes = tf.cast(graph.node_sets[F.NODES].sizes, tf.int64)
        return tf.RaggedTensor.from_row_lengths(
            self.encode_nodes(graph), node_sizes).to_tensor()

    def _head_logits(self, node_states, node_sizes, sequence, lengths, reverse: bool,
                     correction_only: bool, probs=None) -> tf.Tensor:
        """The pointer over encoded nodes: [B, L, M] logits (or, with
        ``correction_only``, the learned correction alone, 0 on padding)."""
        node_mask = tf.sequence_mask(tf.cast(node_sizes, tf.int64),
                                     tf.shape(node_states, tf.int64)[1])
        if reverse:
            sequence = reverse_positions(sequence, lengths)
        positions = self.sequence_encoder(sequence)
        logits = self.pointer((node_states, positions))
        if self.model_config.emission_prior:
            logits += tf.transpose(self.node_bias(node_states), [0, 2, 1])
            if not correction_only:
                logits += self.prior((probs, sequence))
        if reverse:
            logits = reverse_positions(logits, lengths)
        masked = tf.constant(0.0 if correction_only else MASKED_LOGIT, logits.dtype)
        return tf.where(node_mask[:, None, :], logits, masked)

    def emission_correction(self, graph: tfgnn.GraphTensor,
                            direction: str = "ensemble") -> tf.Tensor:
        """[B, L, M] log-scores to add to the HMM's emissions.

        With ``emission_prior`` this is the learned correction alone (the
        logits minus the classical log-odds they already contain), so the
        HMM decodes prior + correction, exactly the model's logits; 0 on
        padding nodes. Without it, the model's log-probabilities. ``ensemble``
        averages the two directions.
        """
        if direction not in DIRECTIONS:
            raise ValueError(f"direction must be one of {DIRECTIONS}")
        if not self.model_config.emission_prior:
            return self.log_probs(graph, direction)
        sequence, lengths = padded_sequences(graph)
        return self.correction_from_states(
            self.padded_node_states(graph), graph.node_sets[F.NODES].sizes,
            sequence, lengths, direction)

    def correction_from_states(self, node_states: tf.Tensor, num_nodes: tf.Tensor,
                               sequence: tf.Tensor, lengths: tf.Tensor,
                               direction: str = "ensemble") -> tf.Tensor:
        """:meth:`emission_correction` from encoded nodes.

        Args:
          node_states: [B, M, D] (:meth:`padded_node_states`).
          num_nodes: [B] nodes per problem.
          sequence: [B, L] residue indices, -1 past each length (the
            sequence encoder's padding; the signature sets it).
          lengths: [B] sequence lengths.
          direction: ``forward``, ``backward`` or ``ensemble``.

        Returns:
          [B, L, M] learned correction (needs ``emission_prior``).
        """
        if direction not in DIRECTIONS:
            raise ValueError(f"direction must be one of {DIRECTIONS}")
        if not self.model_config.emission_prior:
            raise ValueError("a correction from node states needs a model trained "
                             "with emission_prior")
        parts = [self._head_logits(node_states, num_nodes, sequence, lengths, r,
                                   correction_only=True)
                 for r, d in ((False, "forward"), (True, "backward"))
                 if direction in (d, "ensemble")]
        return tf.add_n(parts) / len(parts)

    def log_probs(self, graph: tfgnn.GraphTensor,
                  direction: str = "forward") -> tf.Tensor:
        """[B, L, M] log-probabilities of each node for each position.

        ``backward`` feeds the reversed sequence and flips the result back;
        ``ensemble`` averages the forward and backward probabilities.
        """
        if direction not in DIRECTIONS:
            raise ValueError(f"direction must be one of {DIRECTIONS}")
        reverses = {"forward": (False,), "backward": (True,), "ensemble": (False, True)}
        parts = [tf.nn.log_softmax(logits)
                 for logits in self._logits(graph, reverses[direction])]
        if len(parts) == 1:
            return parts[0]
        return tf.reduce_logsumexp(tf.stack(parts), 0) - tf.math.log(2.0)

    def get_config(self):
        return dataclasses.asdict(self.model_config) | {"name": self.name}

    # `.keras` files: the model's input is a GraphTensor, which Keras cannot
    # describe as an input shape, so building on load runs a 2-node graph.
    def get_build_config(self):
        return {"graph_input": True}

    def build_from_config(self, config):
        self(example_graph())


def example_graph() -> tfgnn.GraphTensor:
    """A minimal valid input (2 nodes in contact, a 2-residue sequence)."""
    return tfgnn.GraphTensor.from_pieces(
        context=tfgnn.Context.from_fields(features={
            F.SEQUENCE: tf.RaggedTensor.from_tensor(tf.constant([[0, 1]], tf.int32))}),
        node_sets={F.NODES: tfgnn.NodeSet.from_fields(
            sizes=tf.constant([2]),
            features={F.AA_PROBS: tf.fill([2, 20], 0.05),
                      F.XYZ: tf.constant([[0.0, 0.0, 0.0], [3.8, 0.0, 0.0]])})},
        edge_sets={F.CONTACTS: tfgnn.EdgeSet.from_fields(
            sizes=tf.constant([2]),
            adjacency=tfgnn.Adjacency.from_indices(
                (F.NODES, tf.constant([0, 1])), (F.NODES, tf.constant([1, 0]))))})
