"""Running a model over a dataset of graphs and scoring its assignments."""

from __future__ import annotations

from typing import Iterable, Sequence

import numpy as np
import tensorflow as tf
import tensorflow_gnn as tfgnn

from tf_structgen.common import features as F
from tf_structgen.common.residue_constants import NUM_AMINO_ACIDS
from tf_structgen.evaluation.detector import detector_accuracy, detector_confusion
from tf_structgen.models.structure_generator import (
    StructureGenerator,
    padded_sequences,
)
from tf_structgen.training.metrics import per_protein_accuracy


def pointer_loss(logits: tf.Tensor, graph: tfgnn.GraphTensor) -> tf.Tensor:
    """The paper's loss: cross-entropy summed over positions, mean over graphs.

    Positions without a true node (target -1) and padding do not count.
    """
    target, _ = padded_sequences(graph, F.TARGET)
    valid = target >= 0
    ce = tf.nn.sparse_softmax_cross_entropy_with_logits(
        labels=tf.maximum(target, 0), logits=logits)
    ce = tf.where(valid, ce, tf.zeros_like(ce))
    return tf.reduce_mean(tf.reduce_sum(ce, axis=1))


def local_pointer_loss(logits: tf.Tensor, graph: tfgnn.GraphTensor) -> tf.Tensor:
    """Cross-entropy among the nodes a chain threader actually weighs.

    A Viterbi threader chooses residue t's node among the contacts of the
    nodes of residues t - 1 and t + 1, not among all nodes. Here the softmax
    for position t runs over the true node and the contact neighbours of the
    true nodes of t - 1 and t + 1 (positions where neither has a node do not
    count): a pseudo-likelihood of the decoder's local choice, which trains
    a correction to tell apart exactly the candidates the HMM confuses.
    Summed over positions, mean over graphs. Builds a dense [B, M, M]
    adjacency: meant for training-size graphs.
    """
    target, _ = padded_sequences(graph, F.TARGET)                   # [B, L]
    batch, _, num = tf.unstack(tf.shape(logits))
    sizes = tf.cast(graph.node_sets[F.NODES].sizes, tf.int32)
    offsets = tf.cumsum(sizes, exclusive=True)
    edges = graph.edge_sets[F.CONTACTS]
    component = tf.repeat(tf.range(batch), tf.cast(edges.sizes, tf.int32))
    src = edges.adjacency.source - tf.gather(offsets, component)
    dst = edges.adjacency.target - tf.gather(offsets, component)
    adjacency = tf.scatter_nd(tf.stack([component, src, dst], 1),
                              tf.ones_like(src, tf.float32), [batch, num, num]) > 0
    pad = -tf.ones_like(target[:, :1])
    previous = tf.concat([pad, target[:, :-1]], 1)
    following = tf.concat([target[:, 1:], pad], 1)

    def contacts_of(nodes):
        rows = tf.gather(adjacency, tf.maximum(nodes, 0), batch_dims=1)  # [B, L, M]
        return rows & (nodes >= 0)[..., None]

    candidates = (contacts_of(previous) | contacts_of(following)
                  | tf.one_hot(tf.maximum(target, 0), num, on_value=True,
                               off_value=False))
    valid = (target >= 0) & ((previous >= 0) | (following >= 0))
    local = tf.where(candidates, logits, tf.constant(-1e9, logits.dtype))
    ce = tf.nn.sparse_softmax_cross_entropy_with_logits(
        labels=tf.maximum(target, 0), logits=local)
    ce = tf.where(valid, ce, tf.zeros_like(ce))
    return tf.reduce_mean(tf.reduce_sum(ce, axis=1))


def greedy_accuracy(model: StructureGenerator,
                    batches: Iterable[tfgnn.GraphTensor],
                    directions: Sequence[str] = ("forward",),
                    detector: bool = False) -> dict:
    """Per-protein AA of the greedy (argmax) assignment for each direction.

    Returns:
      dict with ``lengths`` [P], ``accuracy`` {direction: [P]} and
      ``errors`` {direction: [P]} (positions assigned to a wrong node); with
      ``detector``, also ``detector_accuracy`` [P] (top-1 of the node scores
      over each protein's true nodes) and ``confusion`` [20, 20] (see
      :func:`detector_confusion`, summed over proteins).
    """
    lengths, accuracy, errors = [], {d: [] for d in directions}, {d: [] for d in directions}
    detector_acc, confusion = [], np.zeros((NUM_AMINO_ACIDS, NUM_AMINO_ACIDS), np.int64)
    for graph in batches:
        target, seq_len = padded_sequences(graph, F.TARGET)
        target = target.numpy()
        lengths.append(seq_len.numpy())
        if detector:
            counts = _detector_counts(graph, target)
            detector_acc += [detector_accuracy(c) for c in counts]
            confusion += sum(counts)
        for d in directions:
            predicted = tf.argmax(model.log_probs(graph, d), -1,
                                  output_type=tf.int32).numpy()
            accuracy[d].append(per_protein_accuracy(predicted, target))
            errors[d].append(((predicted != target) & (target >= 0)).sum(1))
    result = {
        "lengths": np.concatenate(lengths),
        "accuracy": {d: np.concatenate(v) for d, v in accuracy.items()},
        "errors": {d: np.concatenate(v) for d, v in errors.items()},
    }
    if detector:
        result["detector_accuracy"] = np.array(detector_acc, dtype=np.float64)
        result["confusion"] = confusion
    return result


def _detector_counts(graph: tfgnn.GraphTensor, target: np.ndarray) -> list[np.ndarray]:
    """Per component of a batch graph, :func:`detector_confusion` of its nodes."""
    sequence = padded_sequences(graph, F.SEQUENCE)[0].numpy()
    sizes = graph.node_sets[F.NODES].sizes.numpy()
    probs = graph.node_sets[F.NODES][F.AA_PROBS].numpy()
    starts = np.concatenate([[0], np.cumsum(sizes)])
    return [detector_confusion([sequence[b]], [target[b]], probs[starts[b]:starts[b + 1]])
            for b in range(len(sizes))]
