"""Finding and loading exported SavedModels (the bundled one by default)."""

from __future__ import annotations

import importlib.resources
import json
from pathlib import Path

from tf_structgen.common.errors import InputError

BUNDLED_MODEL_NAME = "structgen"
BUNDLED_LINK_MODEL_NAME = "links"
METADATA = Path("assets.extra") / "tf_structgen.json"


def latest_version(model_dir: Path) -> Path:
    """``model_dir`` itself if it is a SavedModel, else its highest integer version."""
    if (model_dir / "saved_model.pb").is_file():
        return model_dir
    versions = sorted((int(p.name), p) for p in model_dir.iterdir()
                      if p.name.isdigit() and (p / "saved_model.pb").is_file()) \
        if model_dir.is_dir() else []
    if not versions:
        raise InputError(f"{model_dir}: no SavedModel here (expected saved_model.pb "
                         "or integer version folders)")
    return versions[-1][1]


def bundled_model_dir() -> Path:
    """The SavedModel shipped in ``saved_models/structgen`` (installed or in the tree)."""
    root = Path(str(importlib.resources.files("tf_structgen.saved_models")))
    return latest_version(root / BUNDLED_MODEL_NAME)


def bundled_link_model_dir() -> Path:
    """The link-head SavedModel shipped in ``saved_models/links``."""
    root = Path(str(importlib.resources.files("tf_structgen.saved_models")))
    return latest_version(root / BUNDLED_LINK_MODEL_NAME)


def _resolve(model: str | Path | None, bundled, what: str) -> Path:
    if model is None:
        return bundled()
    path = Path(model)
    if not path.exists():
        raise InputError(f"{path}: no such {what} folder")
    return latest_version(path)


def resolve_link_model_dir(model: str | Path | None) -> Path:
    """A user's ``--link-model`` (folder or version folder) or the bundled
    link model."""
    return _resolve(model, bundled_link_model_dir, "link model")


def resolve_model_dir(model: str | Path | None) -> Path:
    """A user's ``--model`` (folder or version folder) or the bundled model."""
    return _resolve(model, bundled_model_dir, "model")


def read_metadata(version_dir: Path) -> dict:
    """The settings stored with an export by :func:`export_saved_model`."""
    try:
        return json.loads((version_dir / METADATA).read_text())
    except (OSError, ValueError):
        return {}
