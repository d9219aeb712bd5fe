"""Paper Fig. 5a/5b: detector accuracy and amino-acid confusion in `tfsg evaluate`."""

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from tf_structgen.cli.main import app
from tf_structgen.common.residue_constants import ALPHABET, encode_sequence
from tf_structgen.evaluation.detector import detector_accuracy, detector_confusion

DATA = Path(__file__).parent / "data"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _one_hot_scores(letters: str) -> np.ndarray:
    probs = np.full((len(letters), 20), 0.01, dtype=np.float32)
    probs[np.arange(len(letters)), encode_sequence(letters)] = 0.81
    return probs


def _is_png(path: Path) -> bool:
    return path.is_file() and path.read_bytes()[:8] == PNG_MAGIC and path.stat().st_size > 1000


def test_detector_confusion_hand_made():
    # Nodes' argmax classes: A, C, A, W.
    probs = _one_hot_scores("ACAW")
    residues = [encode_sequence("ACD"), encode_sequence("WX")]
    truth = [np.array([0, 2, -1]), np.array([3, 1])]
    counts = detector_confusion(residues, truth, probs)
    a, c, w = (ALPHABET.index(x) for x in "ACW")
    expected = np.zeros((20, 20), dtype=np.int64)
    expected[a, a] = 1  # A on node 0 (argmax A): right
    expected[c, a] = 1  # C on node 2 (argmax A): wrong
    expected[w, w] = 1  # W on node 3: right; D has no node, X is not a standard residue
    np.testing.assert_array_equal(counts, expected)
    assert counts.dtype == np.int64
    assert detector_accuracy(counts) == pytest.approx(2 / 3)
    assert np.isnan(detector_accuracy(np.zeros((20, 20), dtype=np.int64)))


def test_detector_confusion_rejects_mismatches():
    probs = _one_hot_scores("AC")
    with pytest.raises(ValueError, match="differ in shape"):
        detector_confusion([encode_sequence("AC")], [np.array([0])], probs)
    with pytest.raises(ValueError, match="past the last node"):
        detector_confusion([encode_sequence("AC")], [np.array([0, 2])], probs)
    with pytest.raises(ValueError, match="truth arrays"):
        detector_confusion([encode_sequence("AC")], [], probs)


def _evaluate(*args):
    return CliRunner().invoke(app, ["evaluate", *[str(a) for a in args]])


@pytest.mark.parametrize("realism", ["realistic", "clean"])
def test_evaluate_structures_draws_fig5(tmp_path, realism):
    out = tmp_path / "ev"
    result = _evaluate("--structures", DATA / "1A8O.pdb.gz", "--decoder", "hmm",
                       "--realism", realism, "--out", out)
    assert result.exit_code == 0, result.output
    assert _is_png(out / "aa_vs_detector_accuracy.png")
    assert _is_png(out / "confusion_matrix.png")
    assert "confusion_matrix.png" in result.output

    report = json.loads((out / "structures_report.json").read_text())
    for key in ("structures", "aa", "aa_positions", "model", "decoder", "realism"):
        assert key in report  # the existing keys stay
    assert report["detector_alphabet"] == ALPHABET
    counts = np.array(report["detector_confusion"])
    assert counts.shape == (20, 20) and counts.dtype.kind == "i"
    row = report["structures"][0]
    # Every observed residue of 1A8O is standard: each true node is counted once.
    assert counts.sum() == row["positions"] > 0
    assert row["detector_accuracy"] == pytest.approx(np.trace(counts) / counts.sum())
    if realism == "clean":  # top-1 accuracy 1: every true node's argmax is its residue
        assert counts.sum() == 70  # "clean" drops no residue
        assert row["detector_accuracy"] == 1.0
        assert (counts == np.diag(np.diag(counts))).all()
    else:  # top-1 accuracy 0.85
        assert 0.6 < row["detector_accuracy"] < 1.0
        assert np.trace(counts) < counts.sum()


def test_synthetic_report_draws_fig5(tiny_model, tiny_preset, tmp_path):
    from tf_structgen.evaluation.report import evaluate_batches, write_report
    from tf_structgen.training.trainer import validation_batches

    batches = validation_batches(tiny_preset, count=5, seed=3)
    report = evaluate_batches(tiny_model, batches, ("forward",))
    report |= {"pointer": tiny_preset.model.pointer, "step": 0,
               "data_source": tiny_preset.data.source}
    files = write_report(report, tmp_path)
    assert tmp_path / "aa_vs_detector_accuracy.png" in files
    assert _is_png(tmp_path / "aa_vs_detector_accuracy.png")
    assert _is_png(tmp_path / "confusion_matrix.png")

    saved = json.loads((tmp_path / "report.json").read_text())
    counts = np.array(saved["detector_confusion"])
    assert counts.shape == (20, 20)
    # The paper protocol gives every true node its residue as argmax, so the
    # confusion is diagonal and holds each protein's whole chain (no node is missing).
    assert tiny_preset.data.source == "paper"
    assert counts.sum() == np.trace(counts) == sum(p["length"] for p in saved["proteins"])
    assert [p["detector_accuracy"] for p in saved["proteins"]] == [1.0] * 5
