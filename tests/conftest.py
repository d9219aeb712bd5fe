"""Shared fixtures. Importing tf_structgen first selects Keras 2 for TF-GNN."""

import tf_structgen  # noqa: F401  (sets TF_USE_LEGACY_KERAS before TF loads)

import pytest


@pytest.fixture(scope="session")
def tiny_preset():
    from tf_structgen.training.config import PRESETS

    return PRESETS["tiny"]
