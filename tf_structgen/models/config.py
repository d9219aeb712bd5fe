"""Model hyper-parameters."""

from __future__ import annotations

import dataclasses

POINTER_KINDS = ("additive", "dot")
MESSAGE_KINDS = ("gcn", "distance")


@dataclasses.dataclass(frozen=True, kw_only=True)
class ModelConfig:
    """Structure Generator sizes (defaults: the paper's).

    Attributes:
      node_units: node embedding width (paper: 128).
      gcn_layers: number T of GCN layers (paper: 2; 0 is the ablation).
      shared_weights: one GCN layer applied T times instead of T layers.
      sequence_units: width of the dense layer over the one-hot sequence (32).
      lstm_units: LSTM units per direction (256).
      pointer: ``"additive"`` (the paper's ``z = w^T tanh(W h_v + U h_P(t))``)
        or ``"dot"`` (scaled dot product; ~10x faster on CPU).
      pointer_units: width of the pointer's hidden space.
      node_skip: give the pointer ``[h_v^0, h_v^T]`` (the node's own embedding
        beside its GCN state) instead of ``h_v^T`` alone. Not in the paper:
        the symmetric GCN average blurs a node's own residue with its
        neighbours', and the skip keeps it.
      message: ``"gcn"`` (the paper's Kipf-Welling layers) or ``"distance"``
        (:class:`~tf_structgen.models.distance_conv.DistanceConv`: messages
        gated by the contact's length; needs node coordinates).
      emission_prior: pointer logits = the HMM baseline's emission log-odds
        + a learned correction (a pointer term and a per-node bias, both
        starting at exactly zero). Not in the paper.
      contact_cutoff: contact distance (Å) the model was trained with; the
        exported SavedModel builds its graphs with it.
    """

    node_units: int = 128
    gcn_layers: int = 2
    shared_weights: bool = False
    sequence_units: int = 32
    lstm_units: int = 256
    pointer: str = "additive"
    pointer_units: int = 128
    node_skip: bool = False
    message: str = "gcn"
    emission_prior: bool = False
    contact_cutoff: float = 4.0

    def __post_init__(self):
        if self.message not in MESSAGE_KINDS:
            raise ValueError(f"message must be one of {MESSAGE_KINDS}")
        if self.contact_cutoff <= 0:
            raise ValueError("contact_cutoff must be > 0")
        if self.pointer not in POINTER_KINDS:
            raise ValueError(f"pointer must be one of {POINTER_KINDS}")
        if self.gcn_layers < 0:
            raise ValueError("gcn_layers must be >= 0")
