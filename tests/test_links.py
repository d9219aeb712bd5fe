"""The link head: labels, geometry features, the model, its training run,
its SavedModel and the ``links`` decoder."""

import json

import numpy as np
import pytest

from tf_structgen.common.errors import InputError


def _example(seed=3, **kw):
    from tf_structgen.data import links

    return next(links.link_examples(links.LinkDataConfig(**kw), seed=seed, count=1))


def test_link_labels_mark_consecutive_residues_both_ways_and_skip_gaps():
    from tf_structgen.data.links import link_labels

    truth = [np.array([4, 2, -1, 0, 1]), np.array([3, 5])]
    source = np.array([4, 2, 2, 0, 1, 3, 5, 4, 2, 3])
    target = np.array([2, 4, 0, 1, 0, 5, 3, 1, 3, 4])
    labels = link_labels(truth, source, target, num_nodes=6)
    # 4-2 (both ways), 0-1 (both ways), 3-5 (both ways); 2-0 spans a gap.
    np.testing.assert_array_equal(labels, [1, 1, 0, 1, 1, 1, 1, 0, 0, 0])


def test_link_examples_are_reproducible_and_labelled():
    a, b = _example(seed=5), _example(seed=5)
    for key in a:
        np.testing.assert_array_equal(a[key], b[key])
    d = np.linalg.norm(a["xyz"][a["source"]] - a["xyz"][a["target_node"]], axis=1)
    assert d.max() < 7.0
    assert a["label"].sum() > 50
    # True links are about 3.8 Å long (noise at most 0.5 Å per coordinate).
    assert np.all(np.abs(d[a["label"] > 0] - 3.8) < 2.0)


def test_link_config_rejects_bad_values():
    from tf_structgen.data.links import LinkDataConfig

    with pytest.raises(ValueError):
        LinkDataConfig(copies_fraction=1.5)
    with pytest.raises(ValueError):
        LinkDataConfig(max_copies=1)


def test_contact_geometry_matches_brute_force():
    import tensorflow as tf

    from tf_structgen.models.link_scorer import ANGLE_CENTRES, LINK_RANGE, contact_geometry

    e = _example(seed=7)
    s, t, x = e["source"], e["target_node"], e["xyz"]
    distance, angle, reverse = (v.numpy() for v in contact_geometry(
        tf.constant(s), tf.constant(t), tf.constant(x)))
    np.testing.assert_array_equal(s[reverse], t)
    np.testing.assert_array_equal(t[reverse], s)
    all_d = np.linalg.norm(x[:, None] - x[None], axis=-1)
    np.testing.assert_allclose(distance, all_d[s, t], atol=1e-4)
    for k in (0, len(s) // 3, len(s) - 1):
        b, v = s[k], t[k]
        others = [w for w in range(len(x)) if w not in (b, v) and all_d[w, v] < LINK_RANGE]
        expected = sum((np.exp(-((all_d[w, b] - ANGLE_CENTRES) / 0.6) ** 2)
                        for w in others), np.zeros(len(ANGLE_CENTRES)))
        np.testing.assert_allclose(angle[k], expected, atol=1e-4)


def test_link_scorer_is_symmetric_in_the_two_nodes():
    import tensorflow as tf

    from tf_structgen.data.links import link_graph
    from tf_structgen.models.link_scorer import LinkScorer
    from tf_structgen.models.link_scorer import contact_geometry

    e = _example(seed=2)
    model = LinkScorer(units=8, num_layers=2)
    graph = link_graph(e["aa_probs"], e["xyz"], e["source"], e["target_node"])
    logits = model(graph).numpy()
    assert logits.shape == e["source"].shape
    _, _, reverse = contact_geometry(tf.constant(e["source"]), tf.constant(e["target_node"]),
                                     tf.constant(e["xyz"]))
    np.testing.assert_allclose(logits, logits[reverse.numpy()], atol=1e-5)


def test_auc_and_precision_at_recall_worked_values():
    from tf_structgen.evaluation.links import link_metrics, precision_at_recall, roc_auc

    labels = np.array([1, 0, 1, 0, 1, 0])
    assert roc_auc(labels, np.array([6, 5, 4, 3, 2, 1])) == pytest.approx(6 / 9)
    assert roc_auc(labels, np.array([1, 1, 1, 1, 1, 1])) == pytest.approx(0.5)
    assert np.isnan(roc_auc(np.zeros(3), np.arange(3)))
    # Keeping all three links needs the five highest scores: 3 of 5.
    assert precision_at_recall(labels, np.array([6, 5, 4, 3, 2, 1]), 0.95) == pytest.approx(0.6)
    metrics = link_metrics(labels, np.array([2.0, -1, 1, -2, -3, 5]),
                           np.array([3.8, 3.8, 3.8, 3.8, 3.8, 9.0]))
    assert metrics["contacts"] == 5 and metrics["links"] == 3
    assert metrics["precision"] == pytest.approx(1.0)
    assert metrics["recall"] == pytest.approx(2 / 3)


TINY = dict(units=8, num_layers=1, batch_size=1, max_steps=4, checkpoint_every=2,
            validate_every=2, validation_size=2, parallel=1)


def test_link_training_learns_resumes_and_logs(tmp_path):
    from tf_structgen.training.link_trainer import LinkTrainConfig, train_links

    run = tmp_path / "run"
    train_links(run, LinkTrainConfig(**TINY), time_limit=0.0)   # stops after one step
    with pytest.raises(InputError, match="already holds a run"):
        train_links(run, LinkTrainConfig(**TINY))
    train_links(run, resume=True)
    lines = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    assert [x["step"] for x in lines] == [2, 4]
    assert 0.0 <= lines[-1]["auc"] <= 1.0
    assert (run / "checkpoints" / "checkpoint").exists()
    with pytest.raises(InputError, match="not a link training run"):
        train_links(tmp_path / "nothing", resume=True)


@pytest.fixture(scope="module")
def link_export(tmp_path_factory):
    from tf_structgen.export.links import export_link_model
    from tf_structgen.models.link_scorer import LinkScorer

    model = LinkScorer(units=8, num_layers=2)
    base = tmp_path_factory.mktemp("links") / "links"
    path = export_link_model(model, base, 1, metadata={"link_weight": 0.7})
    return model, path


def test_exported_link_model_matches_keras_and_its_metadata(link_export):
    from tf_structgen.data.contact_graph import contact_edges
    from tf_structgen.data.links import link_graph
    from tf_structgen.inference.links import LinkModel

    model, path = link_export
    e = _example(seed=4)
    loaded = LinkModel(path)
    assert loaded.weight == pytest.approx(0.7)
    source, target, logits = loaded.logits(e["xyz"], e["aa_probs"])
    s, t = contact_edges(e["xyz"], 7.0)
    np.testing.assert_array_equal(source, s)
    np.testing.assert_array_equal(target, t)
    expected = model(link_graph(e["aa_probs"], e["xyz"], s.astype(np.int32),
                                t.astype(np.int32))).numpy()
    np.testing.assert_allclose(logits, expected, atol=1e-4)
    scores = loaded.scores(e["xyz"], e["aa_probs"])
    # weight x log P(link): never positive, never below weight x the clip.
    values = scores(source, target)
    assert values.max() <= 0 and values.min() >= 0.7 * -8.0 - 1e-9


def test_link_model_errors(link_export, exported_model):
    from tf_structgen.inference.links import LinkModel

    _, path = link_export
    with pytest.raises(InputError, match="link weight"):
        LinkModel(path, weight=-1.0)
    with pytest.raises(InputError, match="not a link model"):
        LinkModel(exported_model / "1")
    assert LinkModel(path, weight=0.0).scores(np.zeros((3, 3)), np.full((3, 20), 0.05)) is None


def test_links_decoder_threads_and_uses_the_scores(link_export):
    """The links decoder runs without the pointer network; scores that
    forbid every true link change the path, scores of 0 do not."""
    from tf_structgen.data.backbone import generate_chain
    from tf_structgen.data.realistic import random_chains
    from tf_structgen.data.simulate import REALISM_PRESETS, simulate
    from tf_structgen.decoding.assembly import thread_assembly
    from tf_structgen.decoding.config import HMMConfig
    from tf_structgen.decoding.graph import LinkScores
    from tf_structgen.common.residue_constants import encode_sequence
    from tf_structgen.inference.predictor import Predictor
    from tf_structgen.io.candidates import CandidateSet
    from tf_structgen.io.sequences import SequenceRecord

    _, path = link_export
    rng = np.random.default_rng(0)
    chains = random_chains([generate_chain(60, rng)], rng)
    sim = simulate(chains, REALISM_PRESETS["realistic"], rng)
    predictor = Predictor(None, decoder="links", link_model=path)
    result = predictor.thread(CandidateSet(xyz=sim.xyz, aa_probs=sim.aa_probs),
                              [SequenceRecord("A", chains[0][0])])
    truth = sim.truth[0]
    assert ((result[0].nodes == truth) & (truth >= 0)).sum() > 0.5 * (truth >= 0).sum()

    seq = [encode_sequence(chains[0][0])]
    config = HMMConfig(noise=0.25)
    plain = thread_assembly(sim.xyz, sim.aa_probs, seq, [1], config)[0][0][0]
    t = truth[truth >= 0]
    zero = LinkScores(t[:-1], t[1:], np.zeros(len(t) - 1))
    same = thread_assembly(sim.xyz, sim.aa_probs, seq, [1], config, link_scores=zero)[0][0][0]
    np.testing.assert_array_equal(plain, same)
    forbid = LinkScores(np.concatenate([t[:-1], t[1:]]), np.concatenate([t[1:], t[:-1]]),
                        np.full(2 * (len(t) - 1), -20.0))
    moved = thread_assembly(sim.xyz, sim.aa_probs, seq, [1], config, link_scores=forbid)[0][0][0]
    consecutive = sum(1 for a, b in zip(moved[:-1], moved[1:]) if a >= 0 and b >= 0
                      and any((t[:-1] == a) & (t[1:] == b)))
    assert consecutive < 0.2 * len(t)


def test_constrained_with_a_link_model_adds_both(link_export, exported_model):
    """--decoder constrained --link-model: the emission correction and the
    link scores together, exactly as the assembly decoder is given them;
    a model without the emission correction cannot take a link model."""
    from tf_structgen.common.residue_constants import encode_sequence
    from tf_structgen.data.backbone import generate_chain
    from tf_structgen.data.realistic import random_chains
    from tf_structgen.data.simulate import REALISM_PRESETS, simulate
    from tf_structgen.decoding.assembly import thread_assembly
    from tf_structgen.decoding.config import HMMConfig
    from tf_structgen.inference.model_store import bundled_model_dir
    from tf_structgen.inference.predictor import Predictor
    from tf_structgen.io.candidates import CandidateSet
    from tf_structgen.io.sequences import SequenceRecord

    _, path = link_export
    rng = np.random.default_rng(1)
    chains = random_chains([generate_chain(50, rng)], rng)
    sim = simulate(chains, REALISM_PRESETS["hard"], rng)
    candidates = CandidateSet(xyz=sim.xyz, aa_probs=sim.aa_probs)
    both = Predictor(bundled_model_dir(), decoder="constrained", link_model=path,
                     link_weight=0.7)
    assert both.links is not None and both.links.weight == 0.7
    assert str(path) in both.name
    [chain] = both.thread(candidates, [SequenceRecord("A", chains[0][0])])
    seq = [encode_sequence(chains[0][0])]
    expected = thread_assembly(
        sim.xyz, sim.aa_probs, seq, [1], HMMConfig(noise=both.coord_noise),
        log_emission_prior=both.emission_corrections(candidates, seq),
        link_scores=both.links.scores(sim.xyz, sim.aa_probs))[0][0][0]
    np.testing.assert_array_equal(chain.nodes, expected)
    assert Predictor(bundled_model_dir(), decoder="constrained").links is None
    with pytest.raises(InputError, match="needs the constrained decoder"):
        Predictor(exported_model / "1", decoder="auto", link_model=path)
    with pytest.raises(InputError, match="only used by the links and constrained"):
        Predictor(None, decoder="hmm", link_model=path)


def test_cli_train_export_and_predict_with_links(tmp_path):
    from typer.testing import CliRunner

    from tf_structgen.cli.main import app

    def invoke(*args):
        return CliRunner().invoke(app, [str(a) for a in args])

    run = tmp_path / "run"
    result = invoke("train-links", "--run-dir", run, "--max-steps", 2, "--batch-size", 1,
                    "--units", 8, "--layers", 1)
    assert result.exit_code == 0, result.output
    assert "stopped at step 2" in result.output
    result = invoke("train-links", "--run-dir", run, "--max-steps", 0)
    assert result.exit_code == 2 and "error:" in result.output
    result = invoke("export-links", "--run-dir", run, "--out", tmp_path / "links",
                    "--link-weight", 0.5)
    assert result.exit_code == 0, result.output
    meta = json.loads((tmp_path / "links" / "1" / "assets.extra" / "tf_structgen.json").read_text())
    assert meta["link_weight"] == 0.5 and meta["training_step"] == 2

    out = tmp_path / "m.cif"
    result = invoke("predict", "examples/1aku_realistic.json", "--sequence", "examples/1aku.fasta",
                    "--out", out, "--decoder", "links", "--link-model", tmp_path / "links")
    assert result.exit_code == 0, result.output
    assert out.exists() and "positions assigned" in result.output
    for args, message in [(("--link-model", tmp_path / "nothing"), "no such link model"),
                          (("--link-model", tmp_path / "links", "--link-weight", 11),
                           "link weight")]:
        result = invoke("predict", "examples/1aku_realistic.json", "--sequence",
                        "examples/1aku.fasta", "--out", tmp_path / "x.cif",
                        "--decoder", "links", *args)
        assert result.exit_code == 2, result.output
        assert message in result.output and not (tmp_path / "x.cif").exists()
    result = invoke("export-links", "--run-dir", tmp_path / "nothing", "--out", tmp_path / "l2")
    assert result.exit_code == 2 and "not a link training run" in result.output


def test_documented_link_request_works(link_export):
    """The REST body of docs/serving.md's link section, as TF Serving would
    decode it, gives one logit per ordered contact."""
    import re
    from pathlib import Path

    import tensorflow as tf

    doc = (Path(__file__).resolve().parents[1] / "docs" / "serving.md").read_text()
    body = json.loads(re.search(r"curl -d '(\{\"signature_name\": \"link_scores\".*?)'",
                                doc).group(1))
    loaded = tf.saved_model.load(str(link_export[1]))
    signature = loaded.signatures[body["signature_name"]]
    specs = signature.structured_input_signature[1]
    out = signature(**{k: tf.constant(v, specs[k].dtype) for k, v in body["inputs"].items()})
    assert out["source"].numpy().tolist() == [0, 1]
    assert out["target"].numpy().tolist() == [1, 0]
    assert out["logits"].shape == (2,)


def test_relative_link_scores_spare_each_nodes_two_best_contacts(link_export):
    from tf_structgen.inference.links import MIN_LOG_PROB, LinkModel, second_best

    source = np.array([0, 0, 0, 1, 3, 3])
    values = np.array([-1.0, -0.1, -3.0, -2.0, -5.0, -4.0])
    np.testing.assert_allclose(second_best(source, values, 5),
                               [-1.0, -2.0, MIN_LOG_PROB, -5.0, MIN_LOG_PROB])
    _, path = link_export
    e = _example(seed=4)
    relative = LinkModel(path, weight=1.0, mode="relative")
    absolute = LinkModel(path, weight=1.0, mode="absolute")
    s, t, _ = relative.logits(e["xyz"], e["aa_probs"])
    rel, ab = relative.scores(e["xyz"], e["aa_probs"])(s, t), absolute.scores(
        e["xyz"], e["aa_probs"])(s, t)
    assert rel.max() <= 0 and (rel >= ab - 1e-9).all()
    # Each node's best and second-best contact costs nothing on its side.
    for node in np.unique(s)[:20]:
        mine = np.flatnonzero(s == node)
        best_two = mine[np.argsort(-ab[mine])[:2]]
        side = np.minimum(0.0, ab[best_two] - second_best(s, ab, len(e["xyz"]))[node])
        np.testing.assert_allclose(side, 0.0, atol=1e-9)
    with pytest.raises(InputError, match="link mode"):
        LinkModel(path, mode="sideways")


def test_resume_with_a_new_last_step_and_the_committed_checkpoint(tmp_path):
    """--resume with --max-steps moves the run's end (saved with the run);
    the committed link checkpoint loads at the bundled model's step."""
    import shutil
    from pathlib import Path

    from tf_structgen.training.link_trainer import (LinkTrainConfig, load_link_scorer,
                                                    train_links)

    run = tmp_path / "run"
    train_links(run, LinkTrainConfig(**{**TINY, "max_steps": 2}))
    train_links(run, resume=True, max_steps=3)
    assert json.loads((run / "link_config.json").read_text())["max_steps"] == 3
    assert load_link_scorer(run)[1] == 3
    with pytest.raises(InputError, match="max_steps"):
        train_links(run, resume=True, max_steps=0)
    committed = Path(__file__).resolve().parents[1] / "training_checkpoints" / "links"
    copy = tmp_path / "links"
    shutil.copytree(committed, copy)
    model, step = load_link_scorer(copy)
    assert step == 6500 and model.units == 64
