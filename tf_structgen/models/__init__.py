"""Keras layers and the Structure Generator model (all registered serializable)."""

from tf_structgen.models.config import ModelConfig
from tf_structgen.models.gcn_conv import GCNConv
from tf_structgen.models.gcn_encoder import GCNEncoder
from tf_structgen.models.node_features import NodeFeatureEmbedding
from tf_structgen.models.pointer_head import PointerHead
from tf_structgen.models.sequence_encoder import SequenceEncoder
from tf_structgen.models.structure_generator import (
    DIRECTIONS,
    StructureGenerator,
)

__all__ = [
    "DIRECTIONS",
    "GCNConv",
    "GCNEncoder",
    "ModelConfig",
    "NodeFeatureEmbedding",
    "PointerHead",
    "SequenceEncoder",
    "StructureGenerator",
]
