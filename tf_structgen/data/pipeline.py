"""tf.data pipelines of TF-GNN ``GraphTensor`` threading problems.

The pipeline is a few named transforms composed in order:

1. a Python generator of numpy example dicts (:mod:`.synthetic`, or a saved
   dataset);
2. :func:`example_to_graph`: one example -> one ``GraphTensor`` component;
3. ``batch`` + :func:`merge_batch`: ``batch_size`` problems -> one
   ``GraphTensor`` with ``batch_size`` components (nodes of all graphs in one
   flat set, edges re-indexed; memory linear in nodes + edges).
"""

from __future__ import annotations

import os
from typing import Callable, Iterable, Iterator

import numpy as np
import tensorflow as tf
import tensorflow_gnn as tfgnn

from tf_structgen.common import features as F
from tf_structgen.common.errors import InputError
from tf_structgen.common.residue_constants import NUM_AMINO_ACIDS
from tf_structgen.data import synthetic
from tf_structgen.data.config import DataConfig

EXAMPLE_SIGNATURE = {
    F.AA_PROBS: tf.TensorSpec([None, NUM_AMINO_ACIDS], tf.float32),
    F.SOURCE: tf.TensorSpec([None], tf.int32),
    F.TARGET_NODE: tf.TensorSpec([None], tf.int32),
    F.SEQUENCE: tf.TensorSpec([None], tf.int32),
    F.TARGET: tf.TensorSpec([None], tf.int32),
}


def build_graph(aa_probs: tf.Tensor, source: tf.Tensor, target_node: tf.Tensor,
                sequence: tf.Tensor, target: tf.Tensor | None = None,
                xyz: tf.Tensor | None = None) -> tfgnn.GraphTensor:
    """Builds a one-component ``GraphTensor`` from plain tensors.

    Args:
      aa_probs: [num_nodes, 20] float32 scores.
      source: [num_edges] int32 edge sources (both directions present).
      target_node: [num_edges] int32 edge targets.
      sequence: [n] int32 residue indices (20 = unknown).
      target: optional [n] int32 node index per residue (-1 = none).
      xyz: optional [num_nodes, 3] float32 coordinates.

    Returns:
      A scalar ``GraphTensor`` with one component.
    """
    num_nodes = tf.shape(aa_probs, out_type=tf.int32)[:1]
    num_edges = tf.shape(source, out_type=tf.int32)[:1]
    node_features = {F.AA_PROBS: aa_probs}
    if xyz is not None:
        node_features[F.XYZ] = xyz
    context = {F.SEQUENCE: tf.RaggedTensor.from_tensor(sequence[None])}
    if target is not None:
        context[F.TARGET] = tf.RaggedTensor.from_tensor(target[None])
    return tfgnn.GraphTensor.from_pieces(
        context=tfgnn.Context.from_fields(features=context),
        node_sets={F.NODES: tfgnn.NodeSet.from_fields(
            sizes=num_nodes, features=node_features)},
        edge_sets={F.CONTACTS: tfgnn.EdgeSet.from_fields(
            sizes=num_edges,
            adjacency=tfgnn.Adjacency.from_indices(
                (F.NODES, source), (F.NODES, target_node)))})


def example_signature(with_xyz: bool) -> dict[str, tf.TensorSpec]:
    """The tensors of one example dict (``xyz`` only where coordinates exist)."""
    if not with_xyz:
        return dict(EXAMPLE_SIGNATURE)
    return {**EXAMPLE_SIGNATURE, F.XYZ: tf.TensorSpec([None, 3], tf.float32)}


def example_to_graph(example: dict[str, tf.Tensor]) -> tfgnn.GraphTensor:
    """Transform: numpy-style example dict -> one-component GraphTensor."""
    return build_graph(example[F.AA_PROBS], example[F.SOURCE],
                       example[F.TARGET_NODE], example[F.SEQUENCE],
                       example[F.TARGET], example.get(F.XYZ))


def merge_batch(graph: tfgnn.GraphTensor) -> tfgnn.GraphTensor:
    """Transform: batched GraphTensor [B] -> scalar GraphTensor of B components."""
    return graph.merge_batch_to_components()


def dataset_from_examples(make_examples: Callable[[], Iterator[dict]],
                          batch_size: int, with_xyz: bool = False) -> tf.data.Dataset:
    """Composes the transforms over a re-iterable source of example dicts."""
    ds = tf.data.Dataset.from_generator(
        make_examples, output_signature=example_signature(with_xyz))
    return (ds.map(example_to_graph)
            .batch(batch_size)
            .map(merge_batch)
            .prefetch(tf.data.AUTOTUNE))


def synthetic_dataset(config: DataConfig, *, batch_size: int,
                      seed: int, stream: int = synthetic.TRAIN_STREAM,
                      start: int = 0, count: int | None = None,
                      reverse: bool | None = None,
                      shard: tuple[int, int] = (0, 1),
                      shard_block: int | None = None) -> tf.data.Dataset:
    """A batched dataset of synthetic graphs (infinite when count is None):
    the paper's protocol or realistic ones, per ``config.source``.

    Example ``i`` of the stream is the same whatever ``start`` and
    ``batch_size`` are, so a run resumed at step s uses
    ``start = s * batch_size``. ``shard = (r, R)``: input pipeline r of R
    keeps the r-th of every R blocks of ``shard_block`` (default
    ``batch_size``) examples.
    """
    kwargs = dict(seed=seed, stream=stream, start=start, count=count,
                  reverse=reverse, shard=shard, shard_block=shard_block or batch_size)
    if config.source == "realistic":
        from tf_structgen.data import realistic

        return dataset_from_examples(
            lambda: realistic.realistic_examples(config, **kwargs),
            batch_size, with_xyz=True)
    return dataset_from_examples(
        lambda: synthetic.paper_examples(config, **kwargs), batch_size)


# Saved datasets: one .npz holding every example's arrays under "i/key".
def save_examples(path: str | os.PathLike, examples: Iterable[dict]) -> int:
    """Writes examples to an ``.npz`` file atomically; returns their count."""
    from tf_structgen.common.atomic import atomic_write

    arrays = {}
    count = 0
    for count, example in enumerate(examples, start=1):
        for key, value in example.items():
            arrays[f"{count - 1}/{key}"] = value
    with atomic_write(path, "wb") as f:
        np.savez_compressed(f, **arrays)
    return count


def save_validation_examples(path: str | os.PathLike, config: DataConfig, *,
                             count: int, seed: int) -> int:
    """Saves the first ``count`` paper-protocol examples of the validation
    stream of ``config`` (forward sequences) with :func:`save_examples`."""
    return save_examples(path, synthetic.paper_examples(
        config, seed=seed, stream=synthetic.VALIDATION_STREAM, count=count,
        reverse=False))


def load_examples(path: str | os.PathLike) -> list[dict[str, np.ndarray]]:
    """Reads a dataset written by :func:`save_examples`."""
    try:
        with np.load(path) as data:
            examples: dict[int, dict] = {}
            for name in data.files:
                index, key = name.split("/", 1)
                examples.setdefault(int(index), {})[key] = data[name]
    except (OSError, ValueError) as e:
        raise InputError(f"{path}: not a readable tf_structgen dataset ({e})") from None
    missing = [k for k in EXAMPLE_SIGNATURE if examples and k not in examples[0]]
    if not examples or missing:
        raise InputError(f"{path}: not a tf_structgen dataset "
                         f"(missing {', '.join(missing) or 'examples'})")
    return [examples[i] for i in sorted(examples)]
