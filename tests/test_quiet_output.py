"""The terminal shows the tool's own lines, not TensorFlow's or Beam's chatter."""

import logging
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tf_structgen.cli.errors import configure_logging

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
# absl/glog prefix of TensorFlow's C++ log lines: "E0000 00:00:17... util.cc:131] ...".
TF_CPP_LINE = re.compile(r"^[IWEF]\d{4} ", re.MULTILINE)
BEAM_WARNING = "Resource module is not available"
_LOGGERS = ("", "tf_structgen", "tf_structgen.training", "absl", "tensorflow", "h5py",
            "apache_beam")


def tfsg_command() -> list[str]:
    """The ``tfsg`` console script: on PATH in CI, else beside this interpreter."""
    script = shutil.which("tfsg") or str(Path(sys.executable).with_name("tfsg"))
    if Path(script).is_file():
        return [script]
    # cli/main.py ends in `if __name__ == "__main__": app()`, so -m works too.
    return [sys.executable, "-m", "tf_structgen.cli.main"]


@pytest.fixture
def logging_state(monkeypatch):
    """Restores the logger levels and TF_CPP_MIN_LOG_LEVEL configure_logging sets."""
    monkeypatch.delenv("TF_CPP_MIN_LOG_LEVEL", raising=False)
    levels = {name: logging.getLogger(name).level for name in _LOGGERS}
    yield
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)


@pytest.mark.parametrize("before, verbose, after", [
    (None, False, "3"),   # unset: quiet
    ("2", False, "3"),    # the package's default (tf_structgen/__init__.py): quiet
    ("0", False, "0"),    # the user's own choice is kept
    ("1", False, "1"),
    (None, True, None),   # --verbose: as before
    ("2", True, "2"),
])
def test_tf_cpp_min_log_level(logging_state, monkeypatch, before, verbose, after):
    if before is not None:
        monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", before)
    configure_logging(verbose)
    assert os.environ.get("TF_CPP_MIN_LOG_LEVEL") == after


@pytest.mark.parametrize("verbose", [False, True])
def test_logger_levels(logging_state, verbose):
    configure_logging(verbose)
    for name in ("absl", "tensorflow", "h5py"):
        expected = logging.WARNING if verbose else logging.ERROR
        assert logging.getLogger(name).getEffectiveLevel() == expected, name
    # Beam's root-logger warning is hidden unless --verbose.
    assert logging.getLogger().isEnabledFor(logging.WARNING) == verbose
    assert logging.getLogger("apache_beam").isEnabledFor(logging.WARNING) == verbose
    # The tool's own lines still show.
    assert logging.getLogger("tf_structgen.io").isEnabledFor(logging.WARNING)
    assert logging.getLogger("tf_structgen.training").isEnabledFor(logging.INFO)
    assert logging.getLogger("tf_structgen.io").isEnabledFor(logging.DEBUG) == verbose


@pytest.mark.parametrize("verbose", [False, True])
def test_beam_resource_warning(logging_state, monkeypatch, caplog, verbose):
    """Beam's RunInference logs it on the root logger where `resource` is missing."""
    base = pytest.importorskip("apache_beam.ml.inference.base")
    memory = getattr(base, "_get_current_process_memory_in_bytes", None)
    if memory is None or not hasattr(base, "resource"):
        pytest.skip("this Beam version has no resource-module warning")
    configure_logging(verbose)
    monkeypatch.setattr(base, "resource", None)
    memory()
    assert (BEAM_WARNING in caplog.text) == verbose


@pytest.mark.slow
def test_predict_prints_only_the_tools_lines(tmp_path):
    """The bundled model through TensorFlow: no C++ log lines, no Beam warning."""
    out = tmp_path / "OUT.cif"
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    run = subprocess.run(
        [*tfsg_command(), "predict", str(EXAMPLES / "1aku_paper.json"),
         "--sequence", str(EXAMPLES / "1aku.fasta"), "--out", str(out)],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    assert not TF_CPP_LINE.search(run.stderr), run.stderr[-3000:]
    assert BEAM_WARNING not in run.stderr, run.stderr[-3000:]
    assert re.search(r"^chain A: \d+/\d+ positions assigned$", run.stdout, re.MULTILINE), \
        run.stdout
    assert f"wrote {out}" in run.stdout
    assert out.stat().st_size > 0
