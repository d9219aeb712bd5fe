"""The link head: which contacts of a candidate set are backbone links.

A threader fails on hard inputs and touching copies where it takes a wrong
contact for a backbone link. Whether a contact is a link shows in the
neighbourhood over several hops (helix and strand patterns, a true Cα's two
neighbours at 3.8 Å, its neighbours' neighbours), which is what distance-aware
message passing over the candidate graph sees. Link scores do not depend on
the sequence: one pass per candidate set serves every chain and copy.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from tf_structgen.common import features as F

LINK_LOGITS = "link_logits"
# A neighbour w of x counts as a link candidate of x within this distance
# (3.8 Å plus two sigmas of the noise of two 0.5 Å-noisy positions).
LINK_RANGE = 5.2
ANGLE_CENTRES = np.arange(2.0, 14.0, 1.0)


def _gaussians(distance: tf.Tensor, centres: np.ndarray, width: float) -> tf.Tensor:
    return tf.exp(-tf.square((distance[:, None] - tf.constant(centres, tf.float32))
                             / width))


def contact_geometry(source: tf.Tensor, target: tf.Tensor, xyz: tf.Tensor
                     ) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
    """Geometry of each contact that a distance-only layer cannot see.

    For the contact ``b -> x``, where do x's other link candidates ``w``
    (nodes within ``LINK_RANGE`` of x) sit relative to b? Residue i+1 is
    5-7.4 Å from residue i-1 (the Cα angle), a decoy anywhere:
    ``angle[e] = sum_w gaussians(|w - b|)`` (centres 2-13 Å, width 0.6 Å).

    Args:
      source, target: [E] int32 contact ends (both directions present).
      xyz: [N, 3] node coordinates.

    Returns:
      ``(distance [E], angle [E, 12], reverse [E])``, reverse the index of
      the contact ``x -> b``.
    """
    source, target = tf.cast(source, tf.int64), tf.cast(target, tf.int64)
    num_nodes = tf.cast(tf.shape(xyz)[0], tf.int64)
    distance = tf.norm(tf.gather(xyz, source) - tf.gather(xyz, target), axis=-1)
    keys = source * num_nodes + target
    order = tf.argsort(keys)
    reverse = tf.gather(order, tf.searchsorted(tf.gather(keys, order),
                                               target * num_nodes + source))
    # Link candidates w -> x, grouped by x.
    near = tf.where(distance < LINK_RANGE)[:, 0]
    near = tf.gather(near, tf.argsort(tf.gather(target, near)))
    near_target = tf.gather(target, near)
    starts = tf.searchsorted(near_target, target, side="left")
    limits = tf.searchsorted(near_target, target, side="right")
    pairs = tf.ragged.range(starts, limits)                     # [E, (k)]
    edge = tf.repeat(tf.range(tf.shape(source, out_type=tf.int64)[0]),
                     pairs.row_lengths())
    w = tf.gather(source, tf.gather(near, pairs.flat_values))
    b = tf.gather(source, edge)
    keep = tf.where(w != b)[:, 0]
    w, b, edge = tf.gather(w, keep), tf.gather(b, keep), tf.gather(edge, keep)
    d_wb = tf.norm(tf.gather(xyz, w) - tf.gather(xyz, b), axis=-1)
    angle = tf.math.unsorted_segment_sum(
        _gaussians(d_wb, ANGLE_CENTRES, 0.6), edge,
        tf.shape(source, out_type=tf.int64)[0])
    return distance, angle, reverse


@tf.keras.utils.register_keras_serializable(package="tf_structgen")
class GeometryConv(tf.keras.layers.Layer):
    """:class:`~.distance_conv.DistanceConv` whose gates also see the
    contact's angle features (:func:`contact_geometry`):

    ``m_bx = (W_m h_b) * sigmoid(W_g [rbf(d_bx), angle_bx])``,
    ``h_x' = h_x + relu(W_s [h_x, sum_b m_bx, sum_b rbf(d_bx)])``.

    Call arguments:
      inputs: ``(states [N, d], source [E], target [E], rbf [E, K],
        angle [E, A])``.

    Returns:
      [N, units] new node states (``units`` = d).
    """

    def __init__(self, units: int, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.message = tf.keras.layers.Dense(units, use_bias=False, name="message")
        self.gate = tf.keras.layers.Dense(units, activation="sigmoid", name="gate")
        self.update = tf.keras.layers.Dense(units, activation="relu", name="update")

    def call(self, inputs):
        h, source, target, rbf, angle = inputs
        num_nodes = tf.shape(h)[0]
        messages = (tf.gather(self.message(h), source)
                    * self.gate(tf.concat([rbf, angle], axis=-1)))
        pooled = tf.math.unsorted_segment_sum(messages, target, num_nodes)
        counts = tf.math.unsorted_segment_sum(rbf, target, num_nodes)
        return h + self.update(tf.concat([h, pooled, counts], axis=-1))

    def get_config(self):
        return {**super().get_config(), "units": self.units}


@tf.keras.utils.register_keras_serializable(package="tf_structgen")
class LinkScorer(tf.keras.Model):
    """Candidate set -> link logit of every contact.

    The 20 amino-acid scores are embedded (a dense layer), ``num_layers``
    :class:`GeometryConv` rounds spread each node's neighbourhood over
    several hops, and a head scores each contact symmetrically in its two
    nodes (the direction of a chain is the sequence's business):

    ``logit(u, v) = MLP([h_u + h_v, h_u * h_v, rbf(d_uv), angle_uv + angle_vu])``.

    Init arguments:
      units: width of the node states and of the head.
      num_layers: message-passing rounds.
      max_distance: the contact cutoff the graphs are built with (Å), the
        last centre of the distance expansion.

    Call arguments:
      inputs: a scalar ``GraphTensor`` (any number of components) with node
        features ``aa_probs`` [N, 20] and ``xyz`` [N, 3] and the edge set
        ``contacts`` (both directions of every contact).

    Returns:
      [num_edges] link logits, in the edge set's order.
    """

    def __init__(self, *, units: int = 64, num_layers: int = 4,
                 max_distance: float = 7.0, num_rbf: int = 16, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.num_layers = num_layers
        self.max_distance = max_distance
        self.num_rbf = num_rbf
        self.centres = np.linspace(2.0, max_distance, num_rbf)
        self.embedding = tf.keras.layers.Dense(units, activation="relu", name="embedding")
        self.convs = [GeometryConv(units, name=f"conv_{i}") for i in range(num_layers)]
        self.hidden = [tf.keras.layers.Dense(units, activation="relu", name=f"head_{i}")
                       for i in range(2)]
        self.logit = tf.keras.layers.Dense(1, name="logit")

    def call(self, inputs, training=False):
        nodes = inputs.node_sets[F.NODES]
        adjacency = inputs.edge_sets[F.CONTACTS].adjacency
        return self.score(nodes[F.AA_PROBS], nodes[F.XYZ], adjacency.source,
                          adjacency.target)

    def score(self, aa_probs: tf.Tensor, xyz: tf.Tensor, source: tf.Tensor,
              target: tf.Tensor) -> tf.Tensor:
        """The same on plain tensors: [N, 20] scores, [N, 3] coordinates and
        the [E] contact ends -> [E] link logits."""
        distance, angle, reverse = contact_geometry(source, target, xyz)
        rbf = _gaussians(distance, self.centres, 0.4)
        h = self.embedding(aa_probs)
        for conv in self.convs:
            h = conv((h, source, target, rbf, angle))
        hu, hv = tf.gather(h, source), tf.gather(h, target)
        x = tf.concat([hu + hv, hu * hv, rbf, angle + tf.gather(angle, reverse)], -1)
        for layer in self.hidden:
            x = layer(x)
        return tf.squeeze(self.logit(x), -1)

    def get_config(self):
        return {"units": self.units, "num_layers": self.num_layers,
                "max_distance": self.max_distance, "num_rbf": self.num_rbf}
