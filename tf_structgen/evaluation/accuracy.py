"""Running a model over a dataset of graphs and scoring its assignments."""

from __future__ import annotations

from typing import Iterable, Sequence

import numpy as np
import tensorflow as tf
import tensorflow_gnn as tfgnn

from tf_structgen.data import features as F
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


def greedy_accuracy(model: StructureGenerator,
                    batches: Iterable[tfgnn.GraphTensor],
                    directions: Sequence[str] = ("forward",)) -> dict:
    """Per-protein AA of the greedy (argmax) assignment for each direction.

    Returns:
      dict with ``lengths`` [P], ``accuracy`` {direction: [P]} and
      ``errors`` {direction: [P]} (positions assigned to a wrong node).
    """
    lengths, accuracy, errors = [], {d: [] for d in directions}, {d: [] for d in directions}
    for graph in batches:
        target, seq_len = padded_sequences(graph, F.TARGET)
        target = target.numpy()
        lengths.append(seq_len.numpy())
        for d in directions:
            predicted = tf.argmax(model.log_probs(graph, d), -1,
                                  output_type=tf.int32).numpy()
            accuracy[d].append(per_protein_accuracy(predicted, target))
            errors[d].append(((predicted != target) & (target >= 0)).sum(1))
    return {
        "lengths": np.concatenate(lengths),
        "accuracy": {d: np.concatenate(v) for d, v in accuracy.items()},
        "errors": {d: np.concatenate(v) for d, v in errors.items()},
    }
