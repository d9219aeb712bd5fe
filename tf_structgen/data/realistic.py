"""Realistic training problems: simulated detector output on protein-like folds.

Each example draws a complex of one to ``max_chains`` generated Cα traces
(:mod:`.backbone`), a level of realism within the ranges users meet, and runs
the same simulator as ``tfsg simulate`` (:func:`.simulate.simulate`):

* coordinate noise sigma uniform in [0, ``max_noise``] Å;
* detector top-1 accuracy uniform in ``top1_range`` with soft wrong scores;
* missing residues uniform in [0, ``max_missing``], singles and runs;
* decoys: between 20% and 100% of the node budget left by the chains (at
  least a fifth of the chain size), a share uniform in [0, ``max_near``]
  placed 2.5–5 Å from the chain;
* with probability ``paper_fraction`` the paper's protocol instead: exact
  coordinates, the paper's scores, uniform decoys up to the node budget.

The sequence of the example is one chain of the complex (the others' nodes
are the hardest decoys there are: real Cα positions); its target is -1 where
the residue was dropped. The contact graph joins nodes closer than
``contact_cutoff``; node coordinates travel with the graph, so distance-aware
layers can weigh each contact.

Real chains can be fed through the same path (:func:`chains_example`), which
is how the held-out real-structure rows are built.
"""

from __future__ import annotations

import dataclasses
from typing import Sequence

import numpy as np

from tf_structgen.common import features as F
from tf_structgen.common.residue_constants import decode_sequence, encode_sequence
from tf_structgen.data import backbone
from tf_structgen.data.contact_graph import contact_edges
from tf_structgen.data.simulate import REALISM_PRESETS, Realism, Simulation, simulate
from tf_structgen.data.synthetic import example_indices, sample_sequence

_MIN_CHAIN = 30
_BACKBONE_REUSE = 4  # examples drawn from one generated complex


@dataclasses.dataclass(frozen=True, kw_only=True)
class RealisticConfig:
    """Ranges of the realistic training distribution (see module doc)."""

    max_noise: float = 0.5
    top1_range: tuple[float, float] = (0.7, 1.0)
    max_missing: float = 0.10
    max_near: float = 0.7
    max_chains: int = 3
    paper_fraction: float = 0.2

    def __post_init__(self):
        lo, hi = self.top1_range
        if not 0.0 <= lo <= hi <= 1.0:
            raise ValueError("top1_range must be (low, high) within [0, 1]")
        if self.max_chains < 1:
            raise ValueError("max_chains must be >= 1")
        for name in ("max_missing", "max_near", "paper_fraction"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be in [0, 1]")


def sample_realism(config: RealisticConfig, num_true: int, node_budget: int,
                   rng: np.random.Generator) -> Realism:
    """One draw from the training distribution of detector imperfections."""
    if rng.random() < config.paper_fraction:
        return dataclasses.replace(REALISM_PRESETS["paper"], node_budget=node_budget)
    room = max(node_budget - num_true, num_true // 5)
    return Realism(
        coord_noise=float(rng.uniform(0.0, config.max_noise)),
        top1_accuracy=float(rng.uniform(*config.top1_range)),
        missing_fraction=float(rng.uniform(0.0, config.max_missing)),
        num_decoys=int(round(rng.uniform(0.2, 1.0) * room)),
        near_decoy_fraction=float(rng.uniform(0.0, config.max_near)))


def chains_example(chains: Sequence[tuple[str, np.ndarray]], realism: Realism,
                   rng: np.random.Generator, *, contact_cutoff: float,
                   query: int | None = None, reverse: bool = False
                   ) -> dict[str, np.ndarray]:
    """Simulates one threading problem from (sequence, Cα) chains.

    Args:
      chains: per chain, one-letter sequence and [n, 3] Cα (NaN = unobserved).
      realism: the detector imperfections.
      rng: random generator.
      contact_cutoff: edges join nodes closer than this (Å).
      query: the chain whose sequence is threaded; random when None.
      reverse: present the sequence (and targets) reversed.

    Returns:
      An example dict with ``xyz`` beside the keys of the paper examples.
    """
    sim = simulate(chains, realism, rng)
    if query is None:
        query = int(rng.integers(len(chains)))
    sequence = encode_sequence(chains[query][0])
    target = sim.truth[query].astype(np.int32)
    if reverse:
        sequence, target = sequence[::-1].copy(), target[::-1].copy()
    source, target_node = contact_edges(sim.xyz, contact_cutoff)
    return {F.AA_PROBS: sim.aa_probs, F.XYZ: sim.xyz,
            F.SOURCE: source.astype(np.int32),
            F.TARGET_NODE: target_node.astype(np.int32),
            F.SEQUENCE: sequence.astype(np.int32), F.TARGET: target}


def generate_traces(data_config, config: RealisticConfig,
                    rng: np.random.Generator) -> list[np.ndarray]:
    """A complex of 1 to ``max_chains`` generated traces (each >= 30 residues)
    totalling ``min_length``-``max_length`` residues."""
    total = int(rng.integers(data_config.min_length, data_config.max_length + 1))
    max_chains = max(1, min(config.max_chains, total // _MIN_CHAIN))
    k = int(rng.integers(1, max_chains + 1))
    spare = np.diff(np.concatenate(
        [[0], np.sort(rng.integers(0, total - _MIN_CHAIN * k + 1, k - 1)),
         [total - _MIN_CHAIN * k]]))
    return backbone.generate_complex([int(_MIN_CHAIN + s) for s in spare], rng)


def random_chains(traces: Sequence[np.ndarray], rng: np.random.Generator
                  ) -> list[tuple[str, np.ndarray]]:
    """The traces with random sequences of Swiss-Prot composition."""
    return [(decode_sequence(sample_sequence(len(t), rng)), t) for t in traces]


def generated_complex(data_config, config: RealisticConfig, realism: Realism,
                      rng: np.random.Generator, edit_chains=None
                      ) -> tuple[list[tuple[str, np.ndarray]], Simulation]:
    """A held-out style problem: generated traces, random sequences,
    simulated at a fixed realism. Returns the chains and the simulation.
    ``edit_chains(chains, rng) -> chains``, if given, changes the chains
    before they are simulated (e.g. hides residues: NaN Cα)."""
    chains = random_chains(generate_traces(data_config, config, rng), rng)
    if edit_chains is not None:
        chains = edit_chains(chains, rng)
    return chains, simulate(chains, realism, rng)


def realistic_example(data_config, config: RealisticConfig,
                      traces: Sequence[np.ndarray], rng: np.random.Generator,
                      reverse: bool | None = None) -> dict[str, np.ndarray]:
    """One training problem: the traces with fresh random sequences,
    simulated at a random realism, contacts within ``data_config.contact_cutoff``."""
    chains = random_chains(traces, rng)
    total = sum(len(t) for t in traces)
    realism = sample_realism(config, total, data_config.node_budget, rng)
    if reverse is None:
        reverse = rng.random() < data_config.reverse_prob
    return chains_example(chains, realism, rng, contact_cutoff=data_config.contact_cutoff,
                          reverse=reverse)


def realistic_examples(data_config, *, seed: int, stream: int, start: int = 0,
                       count: int | None = None, reverse: bool | None = None,
                       shard: tuple[int, int] = (0, 1), shard_block: int = 1,
                       config: RealisticConfig = RealisticConfig()):
    """Yields examples ``start, start + 1, ...`` like
    :func:`.synthetic.paper_examples`; example i is a pure function of
    ``(seed, stream, i)``. One generated complex serves ``_BACKBONE_REUSE``
    consecutive examples, each with fresh sequences, realism, noise and
    decoys (generating folds costs more than simulating detections)."""
    cached_group, traces = None, None
    for index in example_indices(start, count, shard, shard_block):
        group = index // _BACKBONE_REUSE
        if cached_group != group:
            traces = generate_traces(
                data_config, config, np.random.default_rng([seed, stream, group, 1]))
            cached_group = group
        rng = np.random.default_rng([seed, stream, index, 2])
        yield realistic_example(data_config, config, traces, rng, reverse)
