"""Batch prediction on Apache Beam's DirectRunner."""

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from tf_structgen.cli.main import app
from tf_structgen.io import CandidateSet, write_candidates

runner = CliRunner()


def chain_set(k: int) -> CandidateSet:
    """A 12-residue helix-like trace plus 8 decoys, sequence inside."""
    rng = np.random.default_rng(k)
    t = np.arange(12)
    chain = np.stack([2.3 * np.cos(1.75 * t), 2.3 * np.sin(1.75 * t), 1.5 * t], 1)
    decoys = rng.uniform(-15, 15, size=(8, 3)) + [30, 0, 0]
    seq = "".join(rng.choice(list("ACDEFGHIKLMNPQRSTVWY"), 12))
    probs = np.full((20, 20), 0.01)
    for i, a in enumerate(seq):
        probs[i, "ACDEFGHIKLMNPQRSTVWY".index(a)] = 0.81
    probs[12:] = rng.dirichlet(np.ones(20), size=8)
    return CandidateSet(xyz=np.concatenate([chain, decoys]).astype(np.float32),
                        aa_probs=probs.astype(np.float32), sequence=seq)


@pytest.fixture(scope="module")
def many_files(tmp_path_factory):
    d = tmp_path_factory.mktemp("many")
    for k in range(200):
        write_candidates(chain_set(k), d / f"set{k:03d}.npz")
    (d / "broken.json").write_text('{"nodes": {"xyz": [[0, 0]], "aa_probs": [[1]]}}')
    return d


@pytest.mark.slow
def test_hundreds_of_files_bad_ones_reported_and_rerun_skips(many_files, tmp_path):
    out = tmp_path / "out"
    args = ["predict", str(many_files), "--out", str(out), "--decoder", "hmm",
            "--runner", "DirectRunner"]
    result = runner.invoke(app, args)
    assert result.exit_code == 1, result.output
    assert "200/201 files threaded" in result.output
    assert "broken.json" in result.output
    assert len(list(out.glob("set*.cif"))) == 200
    chain = json.loads((out / "set007.assignments.json").read_text())["chains"][0]
    assert sum(v is not None for v in chain["nodes"]) >= 10
    assert len(set(v for v in chain["nodes"] if v is not None)) == \
        sum(v is not None for v in chain["nodes"])
    (out / "set010.cif").unlink()  # an interrupted run: one output missing
    result = runner.invoke(app, args)
    assert "0 already done" not in result.output
    assert "(199 already done, skipped)" in result.output
    assert (out / "set010.cif").exists()


@pytest.mark.slow
def test_neural_model_through_run_inference(many_files, exported_model, tmp_path):
    files = tmp_path / "few"
    files.mkdir()
    for k in range(4):
        (files / f"set{k:03d}.npz").write_bytes((many_files / f"set{k:03d}.npz").read_bytes())
    out = tmp_path / "out"
    result = runner.invoke(app, ["predict", str(files), "--out", str(out), "--model",
                                 str(exported_model), "--runner", "DirectRunner",
                                 "--min-confidence", "0", "--format", "pdb"])
    assert result.exit_code == 0, result.output
    assert "4/4 files threaded" in result.output
    data = json.loads((out / "set002.assignments.json").read_text())
    assert data["model"].endswith("/1")
    assert len(data["chains"][0]["nodes"]) == 12


def test_copies_reach_every_worker_predictor():
    from tf_structgen.inference.beam_pipeline import ThreadingModelHandler

    handler = ThreadingModelHandler(None, decoder="hmm", copies=2)
    assert handler.load_model().copies == 2


def test_bad_copies_fail_before_the_pipeline(tmp_path):
    from tf_structgen.common.errors import InputError
    from tf_structgen.inference.beam_pipeline import run_pipeline

    jobs = [(tmp_path / "a.npz", tmp_path / "a.cif", tmp_path / "a.assignments.json")]
    with pytest.raises(InputError, match="^--copies must be 'fasta', 'auto' or a "
                                         "positive integer, not '0'$"):
        run_pipeline(jobs, tmp_path, model_dir=None, sequence_arg=None,
                     runner="DirectRunner", decoder="hmm", copies="0")
    assert list(tmp_path.iterdir()) == []


def test_beam_threads_copies(tmp_path):
    files = tmp_path / "in"
    files.mkdir()
    for k in range(2):
        write_candidates(chain_set(k), files / f"set{k}.npz")
    out = tmp_path / "out"
    result = runner.invoke(app, ["predict", str(files), "--out", str(out), "--decoder", "hmm",
                                 "--runner", "DirectRunner", "--copies", "2"])
    assert result.exit_code == 0, result.output
    assert "2/2 files threaded" in result.output
    chains = json.loads((out / "set1.assignments.json").read_text())["chains"]
    assert [(c["id"], c["entity"], c["copy"]) for c in chains] == [("A", "A", 0),
                                                                   ("B", "A", 1)]
    assert "_struct_asym" in (out / "set1.cif").read_text()


def test_input_error_while_threading_goes_to_the_errors_output(tmp_path, monkeypatch):
    """One file fails inside RunInference (a limit of Predictor.thread, not a
    read or write error): it is reported in OUT/errors-*.txt and on stderr,
    and the rest of the batch is threaded and written."""
    from tf_structgen.inference import predictor

    files = tmp_path / "in"
    files.mkdir()
    for k in range(3):
        write_candidates(chain_set(k), files / f"set{k}.npz")
    small = chain_set(3)
    rng = np.random.default_rng(3)
    extra = rng.uniform(-15, 15, size=(10, 3)) + [-30, 0, 0]
    big = CandidateSet(xyz=np.concatenate([small.xyz, extra]).astype(np.float32),
                       aa_probs=np.concatenate([small.aa_probs,
                                                rng.dirichlet(np.ones(20), 10)]
                                               ).astype(np.float32),
                       sequence=small.sequence)
    write_candidates(big, files / "big.npz")
    # The DirectRunner threads in this process: the patched limit applies.
    monkeypatch.setattr(predictor, "MAX_NODES", 25)
    out = tmp_path / "out"
    result = runner.invoke(app, ["predict", str(files), "--out", str(out), "--decoder", "hmm",
                                 "--runner", "DirectRunner"])
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    errors = [line for line in result.output.splitlines() if line.startswith("error:")]
    expected = f"error: {files / 'big.npz'}: 30 candidates exceed the limit of 25; " \
               "split the map into regions"
    assert errors == [expected], result.output
    assert "3/4 files threaded" in result.output
    reported = [line for f in out.glob("errors-*.txt") for line in f.read_text().splitlines()]
    assert reported == [expected.removeprefix("error: ")]
    for k in range(3):
        chain = json.loads((out / f"set{k}.assignments.json").read_text())["chains"][0]
        assert sum(v is not None for v in chain["nodes"]) >= 10
        assert (out / f"set{k}.cif").stat().st_size > 0
    assert not (out / "big.cif").exists() and not (out / "big.assignments.json").exists()
