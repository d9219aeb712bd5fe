"""Backbone-link training problems: which contacts of a candidate set join
consecutive residues of one chain.

An example is one simulated candidate set (:func:`.simulate.simulate`) over
generated protein-like traces, with every contact within ``contact_cutoff``
labelled 1 when its two nodes hold residues t and t + 1 of one chain
(either direction) and 0 otherwise. Two kinds of complexes are drawn:

* one to ``max_chains`` different traces packed side by side
  (:func:`.realistic.generate_traces`);
* with probability ``copies_fraction``, 2 to ``max_copies`` copies of one
  trace packed so that they touch, the case where a threader crosses from
  copy to copy.

The detector's imperfections are drawn per example from
:class:`~.realistic.RealisticConfig` (noise up to 0.5 Å, top-1 0.7-1.0, up to
10 % missing residues, up to 70 % of the decoys near the chain), or, with
probability ``hard_fraction``, from the hard end of it: noise 0.2-0.5 Å,
top-1 0.65-0.85, 2-10 % missing, 40-80 % near decoys and the whole node
budget filled with decoys, where a near decoy beside almost every residue
looks like a link. Link labels
do not depend on the sequence, so an example carries none.
"""

from __future__ import annotations

import dataclasses
from typing import Iterator

import numpy as np
import tensorflow as tf
import tensorflow_gnn as tfgnn

from tf_structgen.common import features as F
from tf_structgen.common.residue_constants import NUM_AMINO_ACIDS
from tf_structgen.data import backbone, realistic
from tf_structgen.data.config import DataConfig
from tf_structgen.data.contact_graph import contact_edges
from tf_structgen.data.simulate import Realism, Simulation, simulate
from tf_structgen.data.synthetic import example_indices

LABEL = "label"
TRAIN_STREAM = 11
VALIDATION_STREAM = 12


@dataclasses.dataclass(frozen=True, kw_only=True)
class LinkDataConfig:
    """The generated link problems.

    Attributes:
      contact_cutoff: contacts (message-passing edges, and the scored links)
        join nodes closer than this (Å); covers a 3.8 Å link under 0.5 Å
        coordinate noise with room to see the neighbours' neighbours.
      min_length, max_length: total residues of a complex.
      node_budget: chain nodes + decoys aimed at.
      copies_fraction: share of the examples that are touching copies of
        one trace.
      max_copies: most copies of one trace.
      realism: ranges of the detector imperfections.
      hard_fraction: share of the examples drawn from the hard end.
    """

    contact_cutoff: float = 7.0
    min_length: int = 80
    max_length: int = 450
    node_budget: int = 500
    copies_fraction: float = 0.4
    max_copies: int = 4
    realism: realistic.RealisticConfig = realistic.RealisticConfig(paper_fraction=0.1)
    hard_fraction: float = 0.5

    def __post_init__(self):
        for name in ("copies_fraction", "hard_fraction"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be in [0, 1]")
        if not 60 <= self.min_length <= self.max_length <= self.node_budget:
            raise ValueError("need 60 <= min_length <= max_length <= node_budget")
        if self.max_copies < 2:
            raise ValueError("max_copies must be >= 2")
        if not self.contact_cutoff > 0:
            raise ValueError("contact_cutoff must be > 0")


def link_labels(truth: list[np.ndarray], source: np.ndarray,
                target: np.ndarray, num_nodes: int) -> np.ndarray:
    """[E] 1.0 where edge ``source -> target`` joins residues t and t + 1 (or
    t + 1 and t) of one chain, else 0.0.

    Args:
      truth: per chain, the node of each residue (-1: none).
      source, target: [E] node indices of the edges.
      num_nodes: nodes of the candidate set.
    """
    keys = []
    for nodes in truth:
        nodes = np.asarray(nodes, np.int64)
        both = (nodes[:-1] >= 0) & (nodes[1:] >= 0)
        a, b = nodes[:-1][both], nodes[1:][both]
        keys += [a * num_nodes + b, b * num_nodes + a]
    if not keys:
        return np.zeros(len(source), np.float32)
    true = np.concatenate(keys)
    return np.isin(np.asarray(source, np.int64) * num_nodes + target,
                   true).astype(np.float32)


def _traces(config: LinkDataConfig, rng: np.random.Generator) -> list[np.ndarray]:
    if rng.random() < config.copies_fraction:
        copies = int(rng.integers(2, config.max_copies + 1))
        low = max(40, config.min_length // copies)
        length = int(rng.integers(low, max(low, config.max_length // copies) + 1))
        trace = backbone.generate_chain(length, rng)
        return backbone.pack_chains([trace] * copies, rng)
    data = DataConfig(min_length=config.min_length, max_length=config.max_length,
                      node_budget=config.node_budget, source="realistic")
    return realistic.generate_traces(data, config.realism, rng)


def hard_realism(num_true: int, node_budget: int, rng: np.random.Generator) -> Realism:
    """A draw from the hard end of the detector imperfections."""
    return Realism(coord_noise=float(rng.uniform(0.2, 0.5)),
                   top1_accuracy=float(rng.uniform(0.65, 0.85)),
                   missing_fraction=float(rng.uniform(0.02, 0.10)),
                   num_decoys=max(node_budget - num_true, num_true // 5),
                   near_decoy_fraction=float(rng.uniform(0.4, 0.8)))


def simulated_links(sim: Simulation, cutoff: float) -> dict[str, np.ndarray]:
    """The example dict of one simulated candidate set: node scores and
    coordinates, contacts within ``cutoff`` and their labels."""
    source, target = contact_edges(sim.xyz, cutoff)
    return {F.AA_PROBS: sim.aa_probs.astype(np.float32),
            F.XYZ: sim.xyz.astype(np.float32),
            F.SOURCE: source.astype(np.int32), F.TARGET_NODE: target.astype(np.int32),
            LABEL: link_labels(sim.truth, source, target, sim.num_nodes)}


def link_example(config: LinkDataConfig, rng: np.random.Generator,
                 realism: Realism | None = None) -> dict[str, np.ndarray]:
    """One labelled candidate set (random realism unless ``realism``)."""
    traces = _traces(config, rng)
    chains = realistic.random_chains(traces, rng)
    if realism is None:
        total = sum(len(t) for t in traces)
        if rng.random() < config.hard_fraction:
            realism = hard_realism(total, config.node_budget, rng)
        else:
            realism = realistic.sample_realism(config.realism, total,
                                               config.node_budget, rng)
    return simulated_links(simulate(chains, realism, rng), config.contact_cutoff)


def link_examples(config: LinkDataConfig, *, seed: int, stream: int = TRAIN_STREAM,
                  start: int = 0, count: int | None = None,
                  realism: Realism | None = None, shard: tuple[int, int] = (0, 1)
                  ) -> Iterator[dict[str, np.ndarray]]:
    """Examples ``start, start + 1, ...``; example i is a pure function of
    ``(seed, stream, i)``, so a resumed run continues the same stream.
    ``shard = (r, R)`` keeps every R-th example from ``start + r``."""
    for index in example_indices(start, count, shard, 1):
        yield link_example(config, np.random.default_rng([seed, stream, index]),
                           realism)


LINK_SIGNATURE = {
    F.AA_PROBS: tf.TensorSpec([None, NUM_AMINO_ACIDS], tf.float32),
    F.XYZ: tf.TensorSpec([None, 3], tf.float32),
    F.SOURCE: tf.TensorSpec([None], tf.int32),
    F.TARGET_NODE: tf.TensorSpec([None], tf.int32),
    LABEL: tf.TensorSpec([None], tf.float32),
}


def link_graph(aa_probs: tf.Tensor, xyz: tf.Tensor, source: tf.Tensor,
               target: tf.Tensor, label: tf.Tensor | None = None
               ) -> tfgnn.GraphTensor:
    """One candidate set as a one-component ``GraphTensor`` (node features
    ``aa_probs`` and ``xyz``; contact edges, with ``label`` when given)."""
    edge_features = {} if label is None else {LABEL: label}
    return tfgnn.GraphTensor.from_pieces(
        node_sets={F.NODES: tfgnn.NodeSet.from_fields(
            sizes=tf.shape(aa_probs, out_type=tf.int32)[:1],
            features={F.AA_PROBS: aa_probs, F.XYZ: xyz})},
        edge_sets={F.CONTACTS: tfgnn.EdgeSet.from_fields(
            sizes=tf.shape(source, out_type=tf.int32)[:1],
            features=edge_features,
            adjacency=tfgnn.Adjacency.from_indices((F.NODES, source),
                                                   (F.NODES, target)))})


def link_dataset(make_examples, batch_size: int, parallel: int = 1) -> tf.data.Dataset:
    """Batches of ``batch_size`` labelled graphs merged into one component
    each. ``make_examples(shard)`` is a re-iterable source of example dicts
    for input shard ``(r, parallel)``; the shards run in parallel and are
    interleaved back into the order of the unsharded stream."""
    if parallel <= 1:
        ds = tf.data.Dataset.from_generator(lambda: make_examples((0, 1)),
                                            output_signature=LINK_SIGNATURE)
    else:
        ds = tf.data.Dataset.range(parallel).interleave(
            lambda r: tf.data.Dataset.from_generator(
                lambda r: make_examples((int(r), parallel)), args=(r,),
                output_signature=LINK_SIGNATURE),
            cycle_length=parallel, block_length=1, num_parallel_calls=parallel,
            deterministic=True)
    return (ds.map(lambda e: link_graph(e[F.AA_PROBS], e[F.XYZ], e[F.SOURCE],
                                        e[F.TARGET_NODE], e[LABEL]))
            .batch(batch_size)
            .map(lambda g: g.merge_batch_to_components())
            .prefetch(tf.data.AUTOTUNE))
