"""The tfsg CLI through Typer's CliRunner."""

import json

import pytest
from typer.testing import CliRunner

from tf_structgen.cli.main import app

runner = CliRunner()


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


def test_version_and_help():
    assert invoke("--version").output.startswith("tfsg ")
    result = invoke("--help")
    assert result.exit_code == 0
    for command in ("train", "evaluate", "make-dataset"):
        assert command in result.output


@pytest.mark.slow
def test_train_then_evaluate(tmp_path):
    run = tmp_path / "run"
    result = invoke("train", "--preset", "tiny", "--run-dir", run, "--max-steps", 30,
                    "--validate-every", 15, "--checkpoint-every", 10)
    assert result.exit_code == 0, result.output
    assert "stopped at step 30" in result.output
    assert (run / "config.json").exists()

    result = invoke("train", "--preset", "tiny", "--run-dir", run, "--max-steps", 40,
                    "--resume")
    assert result.exit_code == 0, result.output
    assert "stopped at step 40" in result.output

    data = tmp_path / "val.npz"
    assert invoke("make-dataset", data, "--preset", "tiny", "--count", 6).exit_code == 0
    out = tmp_path / "eval"
    result = invoke("evaluate", "--run-dir", run, "--dataset", data, "--out", out)
    assert result.exit_code == 0, result.output
    for direction in ("forward", "backward", "ensemble"):
        assert f"AA {direction}" in result.output
    report = json.loads((out / "report.json").read_text())
    assert report["num_proteins"] == 6 and report["step"] == 40
    assert set(report["aa"]) == {"forward", "backward", "ensemble"}
    assert (out / "errors_vs_length.png").stat().st_size > 0
    assert (out / "aa_histogram.png").stat().st_size > 0

    result = invoke("evaluate", "--run-dir", run, "--count", 4, "--out", tmp_path / "e2")
    assert result.exit_code == 0, result.output
    assert "seeded validation set (4 proteins" in result.output


@pytest.mark.parametrize("args,message", [
    (("train", "--preset", "huge"), "unknown preset 'huge'"),
    (("train", "--preset", "tiny", "--pointer", "cosine"), "pointer must be one of"),
    (("train", "--preset", "tiny", "--time-limit", "soon"), "cannot read duration 'soon'"),
    (("evaluate", "--run-dir", "/nonexistent/run"), "not a training run directory"),
    (("make-dataset", "/nonexistent/dir/x.npz", "--preset", "tiny", "--count", 2),
     "does not exist"),
])
def test_user_errors_are_one_line(tmp_path, args, message):
    result = invoke(*args)
    assert result.exit_code != 0
    assert message in result.output
    assert "Traceback" not in result.output


def test_resume_without_run_is_an_error(tmp_path):
    result = invoke("train", "--preset", "tiny", "--run-dir", tmp_path / "none", "--resume")
    assert result.exit_code == 2
    assert "nothing to resume" in result.output
