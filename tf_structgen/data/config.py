"""Settings of the generated training data, for both data sources."""

from __future__ import annotations

import dataclasses

DATA_SOURCES = ("paper", "realistic")


@dataclasses.dataclass(frozen=True, kw_only=True)
class DataConfig:
    """Settings of the generated training data (paper protocol or realistic).

    Attributes:
      min_length: shortest sequence.
      max_length: longest sequence.
      node_budget: total nodes per graph (chain + decoys); >= max_length.
      score_sigma: sigma of ``|N(0, sigma)|`` for each wrong class.
      decoy_degree: mean number of random edges started by each decoy.
      decoys_touch_chain: decoy edges may also end on chain nodes. The paper
        says only "decoy nodes with random edges"; by default (False) they
        join decoys only, so the chain keeps its clean neighbourhoods (this
        reading matches the paper's reported accuracy). True is harder: every
        chain node gets ~0.5 random decoy neighbours on average.
      reverse_prob: probability that a training example presents its
        sequence (and targets) reversed, so one model serves forward,
        backward and ensemble inference.
      source: ``"paper"`` (:mod:`.synthetic`, no coordinates) or
        ``"realistic"`` (:mod:`.realistic`: simulated detector output on
        generated protein-like complexes, with coordinates, mixed with the
        paper protocol).
      contact_cutoff: contact distance (Å) of the realistic graphs.
    """

    min_length: int = 50
    max_length: int = 450
    node_budget: int = 500
    score_sigma: float = 0.01
    decoy_degree: float = 1.0
    decoys_touch_chain: bool = False
    reverse_prob: float = 0.5
    source: str = "paper"
    contact_cutoff: float = 4.0

    def __post_init__(self):
        if self.source not in DATA_SOURCES:
            raise ValueError(f"source must be one of {DATA_SOURCES}")
        if not 1 <= self.min_length <= self.max_length:
            raise ValueError("need 1 <= min_length <= max_length")
        if self.node_budget < self.max_length:
            raise ValueError("node_budget must be >= max_length")
