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
    # Without --max-steps (and --preset) a resumed run keeps its own last
    # step, not the default preset's 30,000.
    result = invoke("train", "--run-dir", run, "--resume")
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
    assert len(report["structures"]) == len(list(data.glob("*.pdb.gz")))
    assert report["aa"] > 0.9  # no noise, no decoys: the HMM threads them


def test_evaluate_structures_errors(tmp_path):
    result = invoke("evaluate", "--structures", str(tmp_path / "*.cif"), "--decoder", "hmm")
    assert result.exit_code == 2 and "no file matches" in result.output
    result = invoke("evaluate", "--structures", tmp_path, "--decoder", "hmm",
                    "--realism", "messy")
    assert result.exit_code == 2 and "unknown realism 'messy'" in result.output


# tfsg export --correction-weight ---------------------------------------------

def test_export_rejects_a_bad_correction_weight(tmp_path):
    for value in ("-0.5", "10.5", "nan"):
        result = invoke("export", "--run-dir", tmp_path / "no-run", "--out", tmp_path / "m",
                        "--correction-weight", value)
        assert result.exit_code == 2, result.output
        errors = [l for l in result.output.splitlines() if l.startswith("error:")]
        assert errors == ["error: --correction-weight must be within [0, 10]"], result.output
        assert "Traceback" not in result.output
        assert not (tmp_path / "m").exists()


@pytest.mark.slow
def test_export_correction_weight_reaches_the_constrained_decoder(tmp_path):
    """The bundled model's training run exported with --correction-weight 5:
    the weight is stored, the Predictor applies it to the Keras model's own
    correction, and `tfsg predict` with the export threads differently from
    the bundled export of the same checkpoint (weight 0.1)."""
    from pathlib import Path

    import numpy as np

    from tf_structgen.common.residue_constants import encode_sequence
    from tf_structgen.export.graph_builder import padded_batch_to_graph
    from tf_structgen.export.requests import padded_request
    from tf_structgen.inference.model_store import read_metadata, resolve_model_dir
    from tf_structgen.inference.predictor import Predictor
    from tf_structgen.io import read_candidates, read_sequences
    from tf_structgen.training.trainer import load_trained_model

    root = Path(__file__).resolve().parent.parent
    run, examples = root / "training_checkpoints" / "hybrid", root / "examples"
    result = invoke("export", "--run-dir", run, "--out", tmp_path / "w5",
                    "--correction-weight", 5)
    assert result.exit_code == 0, result.output
    exported = tmp_path / "w5" / "1"
    assert read_metadata(exported)["correction_weight"] == 5.0

    # The Predictor (decoder auto -> constrained) hands the decoder 5 x the
    # Keras model's emission correction.
    predictor = Predictor(exported, decoder="auto")
    assert (predictor.decoder, predictor.correction_weight) == ("constrained", 5.0)
    candidates = read_candidates(examples / "1aku_realistic.json")
    (record,) = read_sequences(str(examples / "1aku.fasta"))
    seq = encode_sequence(record.sequence)
    (used,) = predictor.emission_corrections(candidates, [seq])
    model, _, step = load_trained_model(run)
    request = padded_request([(candidates.xyz, candidates.aa_probs, seq)])
    graph = padded_batch_to_graph(request["xyz"], request["aa_probs"], request["num_nodes"],
                                  request["sequence"], request["sequence_length"],
                                  read_metadata(exported)["cutoff"])
    raw = model.emission_correction(graph, predictor.direction).numpy()[0]
    assert np.abs(raw).max() > 1e-3, "the correction is all zero"
    np.testing.assert_allclose(used, 5.0 * raw, rtol=1e-4, atol=5e-4)

    # From the CLI: the bundled export of the same checkpoint (weight 0.1)
    # threads 1aku_realistic like the HMM; at weight 5 the correction moves
    # the paths (cf. test_default_path: 26 of 147 positions at this weight).
    bundled = resolve_model_dir(None)
    assert read_metadata(bundled)["training_step"] == step
    nodes = {}
    for name, model_dir in (("w5", tmp_path / "w5"), ("bundled", bundled)):
        out = tmp_path / f"{name}.json"
        result = invoke("predict", examples / "1aku_realistic.json",
                        "-s", examples / "1aku.fasta", "--model", model_dir,
                        "--out", tmp_path / f"{name}.pdb", "-a", out)
        assert result.exit_code == 0, result.output
        (chain,) = json.loads(out.read_text())["chains"]
        nodes[name] = np.array([-1 if v is None else v for v in chain["nodes"]])
    assert (nodes["w5"] != nodes["bundled"]).sum() >= 5
