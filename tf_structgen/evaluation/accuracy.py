"""Running a model over a dataset of graphs and scoring its assignments."""

from __future__ import annotations

from typing import Iterable, Sequence

import numpy as np
import tensorflow as tf
import tensorflow_gnn as tfgnn

from tf_structgen.common import features as F
from tf_structgen.common.residue_constants import NUM_AMINO_ACIDS
from tf_structgen.evaluation.detector import detector_accuracy, detector_confusion
from tf_structgen.evaluation.metrics import per_protein_accuracy
from tf_structgen.models.structure_generator import (
    StructureGenerator,
    padded_sequences,
)


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
