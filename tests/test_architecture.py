"""Imports flow one way: the layers of docs/architecture.md, checked with ast."""

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "tf_structgen"
DOC = ROOT / "docs" / "architecture.md"
CLI = "cli"


def documented_layers(text: str) -> dict[str, int]:
    """Package -> layer number, from the block between the layers markers."""
    block = re.search(r"<!-- layers: begin -->(.*?)<!-- layers: end -->", text, re.S)
    assert block, f"{DOC}: no '<!-- layers: begin -->' ... '<!-- layers: end -->' block"
    layers = {}
    for line in block.group(1).splitlines():
        fields = line.split()
        if not fields or not fields[0].isdigit():
            continue
        for name in fields[1:]:
            assert name not in layers, f"{DOC}: {name} is in two layers"
            layers[name] = int(fields[0])
    return layers


def imported_modules(source: str, module: str, is_package: bool) -> list[tuple[int, str]]:
    """(line, absolute module name) of every import in ``source``, at any depth.

    ``from X import a, b`` yields ``X.a`` and ``X.b`` (a may be a module);
    relative imports are resolved against ``module``.
    """
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = module.split(".")
                # A package's __init__ is its own level-1 anchor.
                anchor = parts[:len(parts) - node.level + (1 if is_package else 0)]
                base = ".".join(anchor + ([node.module] if node.module else []))
            found += [(node.lineno, f"{base}.{alias.name}") for alias in node.names]
    return found


def layer_violations(modules, layers: dict[str, int]) -> list[str]:
    """One line per import that goes up or sideways.

    Args:
      modules: ``(module name, is_package, source)`` of every module under
        ``tf_structgen``.
      layers: package -> layer (``documented_layers``).
    """
    problems = []
    for module, is_package, source in modules:
        parts = module.split(".")
        own = parts[1] if len(parts) > 1 else None  # None: tf_structgen/__init__.py
        if own is not None and own not in layers:
            problems.append(f"{module}: package {own!r} is not in the layers of {DOC.name}")
            continue
        for line, name in imported_modules(source, module, is_package):
            target = name.split(".")
            if target[0] == CLI or target[:2] == ["tf_structgen", CLI]:
                problems.append(f"{module}:{line}: imports {name}: nothing in the "
                                "package imports cli")
                continue
            if target[0] != "tf_structgen" or len(target) < 2:
                continue
            other = target[1]
            if other not in layers:  # an attribute of the root, e.g. __version__
                continue
            if own is None:
                problems.append(f"{module}:{line}: imports {name}: tf_structgen/__init__.py "
                                "imports no sub-package")
            elif other != own and layers[other] >= layers[own]:
                problems.append(f"{module}:{line}: imports {name}: {own} (layer "
                                f"{layers[own]}) may only import lower layers, "
                                f"{other} is layer {layers[other]}")
    return problems


def package_modules():
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        is_package = parts[-1] == "__init__"
        if is_package:
            parts = parts[:-1]
        yield ".".join(parts), is_package, path.read_text()


LAYERS = documented_layers(DOC.read_text())


def test_every_package_has_a_layer():
    packages = {p.parent.name for p in PACKAGE.glob("*/__init__.py")}
    assert packages | {CLI} == set(LAYERS), (
        f"{DOC.name} lists {sorted(LAYERS)}, the code has {sorted(packages | {CLI})}")
    assert max(LAYERS.values()) == LAYERS[CLI]
    assert [n for n, k in LAYERS.items() if k == LAYERS[CLI]] == [CLI]


def test_imports_only_go_down():
    problems = layer_violations(list(package_modules()), LAYERS)
    assert not problems, "imports against docs/architecture.md:\n" + "\n".join(problems)


@pytest.mark.parametrize("module, is_package, source, expected", [
    ("tf_structgen.models.x", False, "from tf_structgen.training import losses",
     "tf_structgen.models.x:1: imports tf_structgen.training.losses: models (layer 1) "
     "may only import lower layers, training is layer 3"),
    ("tf_structgen.models.x", False, "def f():\n    import tf_structgen.decoding.hmm",
     "tf_structgen.models.x:2: imports tf_structgen.decoding.hmm: models (layer 1) "
     "may only import lower layers, decoding is layer 1"),
    ("tf_structgen.evaluation.x", False, "from ..training.trainer import train",
     "tf_structgen.evaluation.x:1: imports tf_structgen.training.trainer.train: "
     "evaluation (layer 2) may only import lower layers, training is layer 3"),
    ("tf_structgen.data", True, "from ..io import read_candidates",
     "tf_structgen.data:1: imports tf_structgen.io.read_candidates: data (layer 1) "
     "may only import lower layers, io is layer 1"),
    ("tf_structgen.io.x", False, "from tf_structgen import models",
     "tf_structgen.io.x:1: imports tf_structgen.models: io (layer 1) may only import "
     "lower layers, models is layer 1"),
    ("tf_structgen.inference.x", False, "from tf_structgen.cli.errors import fail",
     "tf_structgen.inference.x:1: imports tf_structgen.cli.errors.fail: nothing in the "
     "package imports cli"),
    ("tf_structgen.inference.x", False, "import cli.main",
     "tf_structgen.inference.x:1: imports cli.main: nothing in the package imports cli"),
    ("tf_structgen", True, "from tf_structgen.common import ALPHABET",
     "tf_structgen:1: imports tf_structgen.common.ALPHABET: tf_structgen/__init__.py "
     "imports no sub-package"),
    ("tf_structgen.extras.x", False, "import numpy",
     "tf_structgen.extras.x: package 'extras' is not in the layers of architecture.md"),
])
def test_the_check_reports_the_module_and_the_import(module, is_package, source, expected):
    assert layer_violations([(module, is_package, source)], LAYERS) == [expected]


@pytest.mark.parametrize("module, is_package, source", [
    ("tf_structgen.training.x", False, "from tf_structgen.evaluation.metrics import mean_accuracy"),
    ("tf_structgen.models.x", False, "from tf_structgen.common import features as F\n"
                                     "from tf_structgen.models.config import ModelConfig\n"
                                     "from . import gcn_conv\nimport tensorflow as tf"),
    ("tf_structgen", True, "import os\nfrom tf_structgen import __version__"),
])
def test_the_check_lets_downward_imports_through(module, is_package, source):
    assert layer_violations([(module, is_package, source)], LAYERS) == []
