"""The training losses: the paper's cross-entropy and its local variant."""

from __future__ import annotations

import tensorflow as tf
import tensorflow_gnn as tfgnn

from tf_structgen.common import features as F
from tf_structgen.models.structure_generator import padded_sequences


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
