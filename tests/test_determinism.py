"""Same inputs + same model -> same assignment, through every entry point.

The CLI (``tfsg predict``), the Python API (``Predictor.thread``) and the
SavedModel signature itself are each run twice and compared, then compared
with each other: CLI == API for every decoder, and for greedy decoding with
min_confidence 0 the API's nodes == the signature's ``node_index``.
"""

import json
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
from typer.testing import CliRunner

from tf_structgen.cli.main import app
from tf_structgen.common.residue_constants import encode_sequence
from tf_structgen.export.requests import padded_request
from tf_structgen.inference.predictor import Predictor
from tf_structgen.io import read_candidates, read_sequences

DATA = Path(__file__).parent / "data"
runner = CliRunner()


def invoke(*args):
    result = runner.invoke(app, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    return result


@pytest.fixture(scope="module")
def simulated(tmp_path_factory):
    """1A8O simulated (realistic preset, 120 nodes): candidates + FASTA."""
    d = tmp_path_factory.mktemp("determinism")
    invoke("simulate", DATA / "1A8O.pdb.gz", "--out", d / "cands.json",
           "--truth", d / "truth.json", "--fasta", d / "seq.fasta",
           "--realism", "realistic", "--node-budget", 120, "--seed", 3)
    return d


def cli_assignment(simulated, model_dir, decoder, out_dir: Path) -> dict:
    out_dir.mkdir()
    args = ["predict", simulated / "cands.json", "--sequence", simulated / "seq.fasta",
            "--out", out_dir / "m.cif", "--assignments", out_dir / "a.json",
            "--decoder", decoder, "--min-confidence", 0.1]
    if decoder != "hmm":
        args += ["--model", model_dir]
    invoke(*args)
    return json.loads((out_dir / "a.json").read_text())


def api_assignments(simulated, model_dir, decoder, min_confidence=0.1,
                    runs=2) -> list[list[dict]]:
    """``runs`` threadings by one Predictor (one SavedModel load)."""
    predictor = Predictor(None if decoder == "hmm" else model_dir, decoder=decoder,
                          min_confidence=min_confidence)
    cands = read_candidates(simulated / "cands.json")
    records = read_sequences(str(simulated / "seq.fasta"))
    return [[chain.to_json() for chain in predictor.thread(cands, records)]
            for _ in range(runs)]


@pytest.mark.parametrize("decoder", ["unique", "hmm"])
def test_cli_is_deterministic_and_matches_the_api(simulated, exported_model,
                                                  tmp_path, decoder):
    model_dir = exported_model / "1"
    first = cli_assignment(simulated, model_dir, decoder, tmp_path / "run1")
    second = cli_assignment(simulated, model_dir, decoder, tmp_path / "run2")
    assert first == second
    assert (tmp_path / "run1" / "m.cif").read_bytes() == (
        tmp_path / "run2" / "m.cif").read_bytes()
    api, again = api_assignments(simulated, model_dir, decoder)
    assert api == again
    assert first["chains"] == api
    if decoder == "hmm":
        assert any(v is not None for c in api for v in c["nodes"])


def test_saved_model_signature_is_deterministic_and_matches_the_api(
        simulated, exported_model):
    """Greedy, min_confidence 0: Predictor's nodes are the signature's node_index.

    The fixture exports with min_confidence 0, so node_index is the plain
    per-position argmax, as the greedy decoder with --min-confidence 0.
    """
    model_dir = exported_model / "1"
    cands = read_candidates(simulated / "cands.json")
    records = read_sequences(str(simulated / "seq.fasta"))
    request = padded_request([(cands.xyz, cands.aa_probs, encode_sequence(r.sequence))
                              for r in records])
    signature = tf.saved_model.load(str(model_dir)).signatures["serving_default"]
    runs = [{k: v.numpy() for k, v in signature(**request).items()} for _ in range(2)]
    np.testing.assert_array_equal(runs[0]["node_index"], runs[1]["node_index"])
    np.testing.assert_array_equal(runs[0]["top_nodes"], runs[1]["top_nodes"])
    np.testing.assert_array_equal(runs[0]["confidence"], runs[1]["confidence"])

    (api,) = api_assignments(simulated, model_dir, "greedy", min_confidence=0.0,
                             runs=1)
    for row, (record, chain) in enumerate(zip(records, api)):
        n = len(record.sequence)
        assert chain["nodes"] == runs[0]["node_index"][row, :n].tolist()
        assert (runs[0]["node_index"][row, n:] == -1).all()  # padding
