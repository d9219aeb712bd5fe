"""Training hyper-parameters and named presets."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from tf_structgen.data.config import DataConfig
from tf_structgen.models.config import ModelConfig


@dataclasses.dataclass(frozen=True, kw_only=True)
class TrainConfig:
    """Optimisation and bookkeeping settings.

    Attributes:
      batch_size: graphs per step.
      learning_rate: Adam learning rate before the drop (paper: 1e-3).
      learning_rate_after: after the drop (paper: 1e-4).
      lr_drop_step: step at which the rate drops.
      max_steps: last step of the run.
      checkpoint_every: steps between checkpoints (one is also written at exit).
      validate_every: steps between validation-AA measurements.
      validation_size: proteins in the seeded validation set.
      seed: data and initialisation seed.
      keep_checkpoints: how many recent checkpoints to keep.
      local_loss_weight: weight of
        :func:`~tf_structgen.training.losses.local_pointer_loss` added
        to the paper's loss (0: the paper's loss alone).
    """

    batch_size: int = 8
    learning_rate: float = 1e-3
    learning_rate_after: float = 1e-4
    lr_drop_step: int = 20_000
    max_steps: int = 30_000
    checkpoint_every: int = 500
    validate_every: int = 500
    validation_size: int = 100
    seed: int = 0
    keep_checkpoints: int = 3
    local_loss_weight: float = 0.0


@dataclasses.dataclass(frozen=True, kw_only=True)
class Preset:
    """Everything a run needs: data, model and training settings."""

    data: DataConfig
    model: ModelConfig
    train: TrainConfig

    def __post_init__(self):
        if (self.data.source == "realistic"
                and self.data.contact_cutoff != self.model.contact_cutoff):
            raise ValueError("data.contact_cutoff and model.contact_cutoff differ")

    def to_json(self) -> str:
        return json.dumps({k: dataclasses.asdict(getattr(self, k))
                           for k in ("data", "model", "train")}, indent=2)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Preset":
        return cls(data=DataConfig(**d["data"]), model=ModelConfig(**d["model"]),
                   train=TrainConfig(**d["train"]))

    def replace(self, **overrides) -> "Preset":
        """Returns a copy with ``section__field=value`` overrides applied."""
        sections = {k: {} for k in ("data", "model", "train")}
        for key, value in overrides.items():
            section, field = key.split("__", 1)
            sections[section][field] = value
        return Preset(**{k: dataclasses.replace(getattr(self, k), **v)
                         for k, v in sections.items()})


PRESETS: dict[str, Preset] = {
    # The paper's sizes and pointer. On CPU the additive pointer costs ~10x
    # the dot-product one; `paper-dot` keeps every size and swaps the pointer.
    "paper": Preset(data=DataConfig(), model=ModelConfig(), train=TrainConfig()),
    "paper-dot": Preset(data=DataConfig(), model=ModelConfig(pointer="dot"),
                        train=TrainConfig()),
    # Paper sizes, dot pointer, and the node skip connection: learns the
    # paper protocol several times faster on CPU (see README).
    "fast": Preset(data=DataConfig(),
                   model=ModelConfig(pointer="dot", node_skip=True),
                   train=TrainConfig(lr_drop_step=2500, max_steps=4000)),
    # Beyond the paper, for real inputs: realistic training graphs (generated
    # folds, noise, missing residues, near decoys, several chains, 20% paper
    # protocol), distance-gated message passing over 7 Å contacts, and
    # pointer logits = the HMM's emission log-odds + a learned correction
    # that starts at zero, trained with the paper's loss plus the local
    # (decoder-choice) loss. Decode with the HMM (`--decoder constrained`).
    "hybrid": Preset(
        data=DataConfig(source="realistic", contact_cutoff=7.0, max_length=400),
        model=ModelConfig(pointer="dot", node_skip=True, message="distance",
                          emission_prior=True, contact_cutoff=7.0),
        train=TrainConfig(learning_rate=5e-4, learning_rate_after=1e-4,
                          lr_drop_step=8000, max_steps=12000,
                          validation_size=48, local_loss_weight=1.0)),
    # Small and fast: unit tests and smoke runs.
    "tiny": Preset(
        data=DataConfig(min_length=8, max_length=16, node_budget=24),
        model=ModelConfig(node_units=32, sequence_units=8, lstm_units=32,
                          pointer="dot", pointer_units=32),
        train=TrainConfig(batch_size=8, learning_rate=1e-2,
                          learning_rate_after=1e-3, lr_drop_step=300,
                          max_steps=200, checkpoint_every=100,
                          validate_every=100, validation_size=32)),
    # The hybrid model at test size.
    "tiny-hybrid": Preset(
        data=DataConfig(source="realistic", contact_cutoff=7.0, min_length=30,
                        max_length=60, node_budget=80),
        model=ModelConfig(node_units=16, sequence_units=8, lstm_units=16,
                          pointer="dot", pointer_units=16, node_skip=True,
                          message="distance", emission_prior=True,
                          contact_cutoff=7.0),
        train=TrainConfig(batch_size=4, learning_rate=3e-3, lr_drop_step=300,
                          max_steps=60, checkpoint_every=30, validate_every=30,
                          validation_size=8)),
}
