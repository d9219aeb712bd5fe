"""The exported SavedModel: signatures, outputs, independence from the package."""

import os
import shutil
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import tensorflow as tf

from tf_structgen.export.graph_builder import padded_batch_to_graph


def request(seed=0, batch=2, m=30, length=12):
    rng = np.random.default_rng(seed)
    xyz = (np.cumsum(rng.normal(size=(batch, m, 3)), 1) * 2).astype(np.float32)
    return {
        "xyz": xyz,
        "aa_probs": rng.dirichlet(np.ones(20), size=(batch, m)).astype(np.float32),
        "num_nodes": np.array([m] + [m - 10] * (batch - 1), np.int32),
        "sequence": rng.integers(0, 21, (batch, length)).astype(np.int32),
        "sequence_length": np.array([length] + [length - 3] * (batch - 1), np.int32),
    }


@pytest.fixture(scope="module")
def loaded(exported_model):
    return tf.saved_model.load(str(exported_model / "1"))


def test_layout_and_signatures(exported_model, loaded):
    assert (exported_model / "1" / "saved_model.pb").is_file()
    assert (exported_model / "1" / "assets.extra" / "tf_structgen.json").is_file()
    assert set(loaded.signatures) == {
        "serving_default", "forward", "backward", "log_probs", "emission_correction",
        "emission_correction_forward", "emission_correction_backward"}


def test_outputs_match_the_keras_model(tiny_model, loaded):
    req = request()
    out = loaded.signatures["serving_default"](**req)
    assert out["node_index"].shape == (2, 12)
    assert out["confidence"].shape == (2, 12)
    assert out["top_nodes"].shape == (2, 12, 8)
    graph = padded_batch_to_graph(req["xyz"], req["aa_probs"], req["num_nodes"],
                                  req["sequence"], req["sequence_length"], 4.0)
    expected = tiny_model.log_probs(graph, "ensemble").numpy()
    full = loaded.signatures["log_probs"](**req)["log_probs"].numpy()
    np.testing.assert_allclose(full[0], expected[0], rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(full[1, :9, :20], expected[1, :9, :20], rtol=1e-4, atol=1e-4)
    node = out["node_index"].numpy()
    # The chosen node is the most probable one (up to float round-off: an
    # untrained model has near-ties that thread scheduling can flip).
    np.testing.assert_allclose(expected[0][np.arange(12), node[0]], expected[0].max(-1),
                               rtol=0, atol=1e-4)
    # Padding positions and nodes are never answered.
    assert np.all(node[1, 9:] == -1)
    assert node[1, :9].max() < 20
    np.testing.assert_allclose(out["confidence"].numpy()[0], np.exp(expected[0].max(-1)), rtol=1e-4)


def test_single_protein_batch(loaded):
    out = loaded.signatures["forward"](**request(batch=1, m=7, length=5))
    assert out["node_index"].shape == (1, 5)
    assert out["top_nodes"].shape == (1, 5, 7)  # K = min(8, M)


@pytest.mark.parametrize("change,message", [
    (lambda r: r.update(num_nodes=np.array([31, 20], np.int32)), "num_nodes exceeds"),
    (lambda r: r.update(num_nodes=np.array([0, 20], np.int32)), "num_nodes must be >= 1"),
    (lambda r: r["sequence"].__setitem__((0, 0), 21), "sequence indices must be <= 20"),
    (lambda r: r["sequence"].__setitem__((0, 0), -1), "sequence indices must be >= 0"),
    (lambda r: r["xyz"].__setitem__((0, 0, 0), np.nan), "xyz has NaN"),
    (lambda r: r["aa_probs"].__setitem__((0, 0, 0), -1.0), "aa_probs must be >= 0"),
    (lambda r: r["aa_probs"].__setitem__((0, 3), 0.0), "all zeros"),
    (lambda r: r.update(sequence_length=np.array([13, 9], np.int32)), "sequence_length exceeds"),
    (lambda r: r.update(sequence_length=np.array([12], np.int32)), "one entry per problem"),
])
def test_bad_requests_are_invalid_argument(loaded, change, message):
    req = request()
    change(req)
    with pytest.raises(tf.errors.InvalidArgumentError, match=message):
        loaded.signatures["serving_default"](**req)


def test_wrong_width_is_rejected_by_the_signature(loaded):
    req = request()
    req["aa_probs"] = req["aa_probs"][..., :19]
    with pytest.raises((ValueError, TypeError, tf.errors.InvalidArgumentError)):
        loaded.signatures["serving_default"](**req)


def test_loads_without_tf_structgen_or_tensorflow_gnn(exported_model, tmp_path):
    script = textwrap.dedent(f"""
        import sys
        sys.modules["tensorflow_gnn"] = None   # any import of it now fails
        sys.modules["tf_structgen"] = None
        import numpy as np, tensorflow as tf
        try:
            import tensorflow_gnn
            raise SystemExit("tensorflow_gnn importable")
        except ImportError:
            pass
        m = tf.saved_model.load({str(exported_model / "1")!r})
        rng = np.random.default_rng(0)
        out = m.signatures["serving_default"](
            xyz=(np.cumsum(rng.normal(size=(1, 9, 3)), 1) * 2).astype(np.float32),
            aa_probs=rng.dirichlet(np.ones(20), size=(1, 9)).astype(np.float32),
            num_nodes=np.array([9], np.int32),
            sequence=np.array([[0, 5, 7, 20]], np.int32),
            sequence_length=np.array([4], np.int32))
        print("OK", out["node_index"].shape)
    """)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["TF_USE_LEGACY_KERAS"] = "1"
    run = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "OK (1, 4)" in run.stdout


def test_saved_model_cli_shows_the_signature(exported_model):
    cli = shutil.which("saved_model_cli") or os.path.join(os.path.dirname(sys.executable),
                                                          "saved_model_cli")
    run = subprocess.run([cli, "show", "--all", "--dir", str(exported_model / "1")],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    text = run.stdout
    assert "signature_def['serving_default']" in text
    for name in ("xyz", "aa_probs", "num_nodes", "sequence", "sequence_length",
                 "node_index", "confidence", "top_nodes", "top_log_probs"):
        assert f"['{name}']" in text
    assert "shape: (-1, -1, 20)" in text


@pytest.mark.parametrize("change", [
    lambda r: r.update(xyz=r["xyz"][0]),                               # rank 2, not 3
    lambda r: r.update(sequence=r["sequence"].astype(np.float32)),      # dtype
    lambda r: r.update(num_nodes=r["num_nodes"].astype(np.int64)),      # dtype
])
def test_wrong_rank_or_dtype_is_rejected(loaded, change):
    # Typed tensors, as TF Serving decodes them from a request: a wrong rank
    # or dtype does not match the signature and is refused, never cast.
    req = request()
    change(req)
    with pytest.raises((ValueError, TypeError, tf.errors.InvalidArgumentError)):
        loaded.signatures["serving_default"](**{k: tf.constant(v) for k, v in req.items()})


def test_empty_batch_is_invalid_argument(loaded):
    req = {k: v[:0] for k, v in request().items()}
    with pytest.raises(tf.errors.InvalidArgumentError, match="empty batch"):
        loaded.signatures["serving_default"](**req)


# The correction in two steps (models trained with emission_prior) ----------

@pytest.fixture(scope="module")
def hybrid_export(tmp_path_factory):
    """A tiny hybrid model with random weights where training starts from
    zeros (an untrained correction is exactly zero), exported."""
    from tf_structgen.export.serving import export_saved_model
    from tf_structgen.training.config import PRESETS
    from tf_structgen.training.trainer import build_model

    model = build_model(PRESETS["tiny-hybrid"])
    rng = np.random.default_rng(3)
    for v in model.variables:
        if not np.any(v.numpy()):
            v.assign(rng.normal(0.0, 0.5, v.shape).astype(np.float32))
    base = tmp_path_factory.mktemp("hybrid") / "structgen"
    export_saved_model(model, base, 1, metadata={"correction_weight": 0.5})
    return base / "1"


def test_correction_from_node_states_equals_the_one_step_signature(hybrid_export):
    loaded = tf.saved_model.load(str(hybrid_export))
    req = request(seed=4, batch=2, m=40, length=15)
    req["xyz"] *= 1.5  # the tiny hybrid model's contact cutoff is 7 Å
    for direction, suffix in (("ensemble", ""), ("forward", "_forward"),
                              ("backward", "_backward")):
        one_step = loaded.signatures["emission_correction" + suffix](**req)["correction"]
        states = loaded.signatures["node_states"](
            xyz=req["xyz"], aa_probs=req["aa_probs"],
            num_nodes=req["num_nodes"])["node_states"]
        assert states.shape[:2] == (2, 40)
        # Values past sequence_length must not matter (they are masked).
        sequence = req["sequence"].copy()
        sequence[1, req["sequence_length"][1]:] = 7
        two_step = loaded.signatures["emission_correction_from_states" + suffix](
            node_states=states, num_nodes=req["num_nodes"], sequence=sequence,
            sequence_length=req["sequence_length"])["correction"].numpy()
        one_step = one_step.numpy()
        assert np.abs(one_step).max() > 1e-2, "the correction is all zero"
        np.testing.assert_allclose(two_step[0], one_step[0], rtol=1e-5, atol=1e-5)
        n, m = req["sequence_length"][1], req["num_nodes"][1]
        np.testing.assert_allclose(two_step[1, :n, :m], one_step[1, :n, :m],
                                   rtol=1e-5, atol=1e-5)


def test_two_step_correction_rejects_bad_requests(hybrid_export):
    signature = tf.saved_model.load(str(hybrid_export)).signatures[
        "emission_correction_from_states"]
    states = np.zeros((1, 10, 32), np.float32)
    good = {"node_states": states, "num_nodes": np.array([10], np.int32),
            "sequence": np.zeros((1, 5), np.int32),
            "sequence_length": np.array([5], np.int32)}
    for key, value, message in (
            ("num_nodes", np.array([11], np.int32), "num_nodes exceeds"),
            ("sequence", np.full((1, 5), 21, np.int32), "sequence indices"),
            ("sequence_length", np.array([6], np.int32), "sequence_length exceeds")):
        with pytest.raises(tf.errors.InvalidArgumentError, match=message):
            signature(**{**good, key: value})


@pytest.mark.parametrize("max_entries", [4_000_000, 1_500])
def test_predictor_shares_one_node_encoding_between_chains(hybrid_export, monkeypatch,
                                                           max_entries):
    """The constrained predictor takes the two-step path and hands the
    decoder what the one-step signature gives, chain by chain (chains in
    one call, or one call per chain)."""
    from tf_structgen.inference import predictor
    from tf_structgen.inference.predictor import Predictor
    from tf_structgen.io.candidates import CandidateSet

    req = request(seed=5, batch=1, m=60, length=20)
    cands = CandidateSet(xyz=req["xyz"][0] * 1.5, aa_probs=req["aa_probs"][0])
    rng = np.random.default_rng(6)
    sequences = [rng.integers(0, 21, n) for n in (20, 7, 33)]
    monkeypatch.setattr(predictor, "MAX_POINTER_ENTRIES", max_entries)
    two_step = Predictor(hybrid_export, decoder="constrained")
    assert two_step._states_signatures is not None
    one_step = Predictor(hybrid_export, decoder="constrained")
    one_step._states_signatures = None
    for a, b in zip(two_step.emission_corrections(cands, sequences),
                    one_step.emission_corrections(cands, sequences)):
        assert a.shape == b.shape
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)
