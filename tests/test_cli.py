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
    assert (out / "contact_map.png").stat().st_size > 0
    assert (out / "pointer_heatmap.png").stat().st_size > 0

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


@pytest.mark.slow
def test_export_then_predict_and_evaluate_structures(tmp_path):
    from pathlib import Path

    run = tmp_path / "run"
    assert invoke("train", "--preset", "tiny", "--run-dir", run, "--max-steps", 3,
                  "--validate-every", 100).exit_code == 0
    result = invoke("export", "--run-dir", run, "--out", tmp_path / "models" / "sg")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "models" / "sg" / "1" / "saved_model.pb").is_file()
    result = invoke("export", "--run-dir", run, "--out", tmp_path / "models" / "sg")
    assert "sg/2" in result.output  # next free version

    data = Path(__file__).parent / "data"
    out = tmp_path / "ev"
    result = invoke("evaluate", "--structures", data / "1A8O.pdb.gz", "--realism", "paper",
                    "--model", tmp_path / "models" / "sg", "--out", out)
    assert result.exit_code == 0, result.output
    report = json.loads((out / "structures_report.json").read_text())
    assert report["structures"][0]["positions"] == 70
    assert 0.0 <= report["aa"] <= 1.0

    result = invoke("evaluate", "--structures", str(data / "*.pdb.gz"), "--realism", "clean",
                    "--decoder", "hmm", "--out", out)
    assert result.exit_code == 0, result.output
    report = json.loads((out / "structures_report.json").read_text())
    assert len(report["structures"]) == 3
    assert report["aa"] > 0.9  # no noise, no decoys: the HMM threads them


def test_evaluate_structures_errors(tmp_path):
    result = invoke("evaluate", "--structures", str(tmp_path / "*.cif"), "--decoder", "hmm")
    assert result.exit_code == 2 and "no file matches" in result.output
    result = invoke("evaluate", "--structures", tmp_path, "--decoder", "hmm",
                    "--realism", "messy")
    assert result.exit_code == 2 and "unknown realism 'messy'" in result.output
