"""Shared fixtures. Importing tf_structgen first selects Keras 2 for TF-GNN."""

import tf_structgen  # noqa: F401  (sets TF_USE_LEGACY_KERAS before TF loads)

import pytest


@pytest.fixture(scope="session")
def tiny_preset():
    from tf_structgen.training.config import PRESETS

    return PRESETS["tiny"]


@pytest.fixture(scope="session")
def tiny_model():
    """A built (untrained) tiny StructureGenerator."""
    from tf_structgen.training.trainer import build_model
    from tf_structgen.training.config import PRESETS

    return build_model(PRESETS["tiny"])


@pytest.fixture(scope="session")
def exported_model(tiny_model, tmp_path_factory):
    """The tiny model exported as SavedModel: base folder with version 1."""
    from tf_structgen.export.serving import export_saved_model

    base = tmp_path_factory.mktemp("saved_models") / "structgen"
    export_saved_model(tiny_model, base, 1, cutoff=4.0, min_confidence=0.0)
    return base
