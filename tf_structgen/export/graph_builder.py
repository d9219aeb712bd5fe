"""Contact graphs built from coordinates with core TF ops (usable in a SavedModel).

A cell list: nodes are hashed into cubic cells of side ``cutoff`` and each
node is compared only with the nodes of its 27 neighbouring cells, found by
binary search in the sorted cell keys. Time and memory are linear in the
number of nodes and candidate pairs; no [m, m] tensor is built. The graph id
is part of the cell key, so the graphs of a batch never touch.
"""

from __future__ import annotations

import itertools

import tensorflow as tf
import tensorflow_gnn as tfgnn

from tf_structgen.common import features as F

_OFFSETS = tf.constant(list(itertools.product((-1, 0, 1), repeat=3)), tf.int64)
# Cells per axis are bounded so that keys fit in int64 for any batch size.
MAX_CELLS_PER_AXIS = 1 << 16


def contact_pairs(xyz: tf.Tensor, graph_ids: tf.Tensor, cutoff: float | tf.Tensor
                  ) -> tuple[tf.Tensor, tf.Tensor]:
    """All ordered pairs (i, j), i != j, same graph, distance < cutoff.

    Args:
      xyz: [N, 3] float32 coordinates of the nodes of all graphs.
      graph_ids: [N] int graph of each node, non-decreasing.
      cutoff: contact distance in Å.

    Returns:
      (source, target) int32 [E], sorted by source.
    """
    n = tf.shape(xyz, out_type=tf.int64)[0]
    cutoff = tf.cast(cutoff, tf.float32)
    # Empty input: any origin works (no node, no pair).
    lo = tf.reduce_min(tf.concat([xyz, tf.fill([1, 3], tf.float32.max)], 0), 0)
    cell = tf.cast(tf.floor((xyz - lo) / cutoff), tf.int64) + 1   # >= 1
    dims = tf.reduce_max(tf.concat([cell, tf.ones([1, 3], tf.int64)], 0), 0) + 2
    tf.debugging.assert_less_equal(
        dims, tf.constant(MAX_CELLS_PER_AXIS, tf.int64),
        message="coordinates span too large a box for the contact cutoff")
    gid = tf.cast(graph_ids, tf.int64)

    def key(c, g):
        return ((g * dims[0] + c[..., 0]) * dims[1] + c[..., 1]) * dims[2] + c[..., 2]

    keys = key(cell, gid)                                              # [N]
    order = tf.cast(tf.argsort(keys, stable=True), tf.int64)
    sorted_keys = tf.gather(keys, order)
    neighbour_keys = key(cell[:, None, :] + _OFFSETS[None], gid[:, None])     # [N, 27]
    flat = tf.reshape(neighbour_keys, [-1])
    start = tf.searchsorted(sorted_keys, flat, side="left")
    end = tf.searchsorted(sorted_keys, flat, side="right")
    counts = end - start
    source = tf.repeat(tf.repeat(tf.range(n), 27), counts)
    target = tf.gather(order, tf.ragged.range(start, end).flat_values)
    d2 = tf.reduce_sum(tf.square(tf.gather(xyz, source) - tf.gather(xyz, target)), -1)
    keep = (source != target) & (d2 < cutoff * cutoff)
    source = tf.boolean_mask(source, keep)
    target = tf.boolean_mask(target, keep)
    # Sort by (source, target) for a canonical edge order.
    perm = tf.argsort(source * n + target, stable=True)
    return (tf.cast(tf.gather(source, perm), tf.int32),
            tf.cast(tf.gather(target, perm), tf.int32))


def padded_batch_to_graph(xyz: tf.Tensor, aa_probs: tf.Tensor, num_nodes: tf.Tensor,
                          sequence: tf.Tensor, sequence_length: tf.Tensor,
                          cutoff: float | tf.Tensor) -> tfgnn.GraphTensor:
    """Padded plain tensors -> one GraphTensor with a component per problem.

    Args:
      xyz: [B, M, 3] float32, rows past ``num_nodes[b]`` ignored.
      aa_probs: [B, M, 20] float32 (renormalised here).
      num_nodes: [B] int32 nodes per problem.
      sequence: [B, L] int32 residue indices, past ``sequence_length`` ignored.
      sequence_length: [B] int32.
      cutoff: contact distance in Å.
    """
    node_mask = tf.sequence_mask(num_nodes, tf.shape(xyz)[1])
    flat_xyz = tf.boolean_mask(xyz, node_mask)
    probs = tf.boolean_mask(aa_probs, node_mask)
    probs = probs / tf.reduce_sum(probs, -1, keepdims=True)
    batch = tf.shape(num_nodes)[0]
    graph_ids = tf.repeat(tf.range(batch), num_nodes)
    source, target = contact_pairs(flat_xyz, graph_ids, cutoff)
    edge_sizes = tf.math.bincount(tf.gather(graph_ids, source), minlength=batch,
                                  maxlength=batch, dtype=tf.int32)
    ragged_sequence = tf.RaggedTensor.from_tensor(sequence, lengths=sequence_length)
    return tfgnn.GraphTensor.from_pieces(
        context=tfgnn.Context.from_fields(
            features={F.SEQUENCE: ragged_sequence},
            sizes=tf.ones([batch], tf.int32)),
        node_sets={F.NODES: tfgnn.NodeSet.from_fields(
            sizes=tf.cast(num_nodes, tf.int32),
            features={F.AA_PROBS: probs, F.XYZ: flat_xyz})},
        edge_sets={F.CONTACTS: tfgnn.EdgeSet.from_fields(
            sizes=edge_sizes,
            adjacency=tfgnn.Adjacency.from_indices(
                (F.NODES, source), (F.NODES, target)))})
