"""setup.cfg lists every package; the CLI installs inside tf_structgen."""

import configparser
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_every_package_is_listed():
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg")
    listed = set(cfg["options"]["packages"].split())
    found = {".".join(p.parent.relative_to(ROOT).parts)
             for p in (ROOT / "tf_structgen").rglob("__init__.py")}
    found |= {"tf_structgen.cli", "tf_structgen.saved_models"}
    assert found == listed


def test_cli_installs_inside_the_package(tmp_path):
    """`tf_structgen.cli` imports, and no top-level `cli` module is installed."""
    import subprocess
    import sys

    code = ("import importlib.util, tf_structgen.cli.main as m; "
            "print(importlib.util.find_spec('cli') is None, m.app is not None)")
    run = subprocess.run([sys.executable, "-c", code], cwd=tmp_path,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.split() == ["True", "True"]


def test_bundled_model_is_found():
    from tf_structgen.inference.model_store import bundled_model_dir

    path = bundled_model_dir()
    assert (path / "saved_model.pb").is_file()
    assert path.parent.name == "structgen" and path.name.isdigit()
