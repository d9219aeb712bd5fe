"""Realistic training data, distance-aware layers and the prior-corrected pointer."""

import numpy as np
import pytest
import tensorflow as tf

from tf_structgen.common import features as F
from tf_structgen.common.residue_constants import encode_sequence
from tf_structgen.data import backbone, pipeline
from tf_structgen.data.realistic import realistic_examples
from tf_structgen.data.simulate import REALISM_PRESETS
from tf_structgen.decoding.hmm import HMMConfig, _check_nodes, hmm_thread
from tf_structgen.models.emission_prior import EmissionLogOdds
from tf_structgen.training.config import PRESETS


def _distances(x):
    return np.linalg.norm(x[:, None] - x[None], axis=-1)


@pytest.mark.parametrize("n", [1, 2, 5, 80, 200])
def test_generated_chain_geometry(n):
    x = backbone.generate_chain(n, np.random.default_rng(n))
    assert x.shape == (n, 3) and np.isfinite(x).all()
    if n >= 2:
        np.testing.assert_allclose(np.linalg.norm(np.diff(x, axis=0), axis=1), 3.8, atol=1e-6)
    if n >= 3:
        second = np.linalg.norm(x[2:] - x[:-2], axis=1)
        assert second.min() > 4.8 and second.max() < 7.5
    if n >= 80:
        d = _distances(x)[np.triu_indices(n, 3)]
        # Self-avoiding: no Cα pair three or more residues apart closer than
        # min_separation (real chains: none below 3.3 Å).
        assert d.min() >= backbone.BackboneConfig().min_separation - 1e-6
        assert backbone.closest_non_bonded(x) == pytest.approx(d.min())
        # Compact: real chains have ~2 non-bonded Cα within 7 Å per residue.
        assert 1.2 < (d < 7.0).sum() / n < 3.0


@pytest.mark.parametrize("seed", range(4))
def test_long_generated_chains_are_self_avoiding(seed):
    """Long chains used to keep clashes from dead ends and from an unchecked
    segment boundary (the last two residues of one segment against the next
    segment's later residues)."""
    x = backbone.generate_chain(450, np.random.default_rng(seed))
    assert backbone.closest_non_bonded(x) >= backbone.BackboneConfig().min_separation - 1e-6


def test_generated_chains_are_seeded():
    a = backbone.generate_complex([40, 50], np.random.default_rng(3))
    b = backbone.generate_complex([40, 50], np.random.default_rng(3))
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)


def test_packed_chains_touch_without_clashing():
    a, b = backbone.generate_complex([60, 60], np.random.default_rng(7))
    d = np.linalg.norm(a[:, None] - b[None], axis=-1)
    assert d.min() >= 3.99
    assert (d < 7.0).sum() >= 3


def test_realistic_examples_are_valid_and_deterministic():
    config = PRESETS["hybrid"].data
    first = list(realistic_examples(config, seed=1, stream=0, count=6))
    again = list(realistic_examples(config, seed=1, stream=0, start=3, count=3))
    for x, y in zip(first[3:], again):
        for key in x:
            np.testing.assert_array_equal(x[key], y[key])
    for ex in first:
        m = len(ex[F.AA_PROBS])
        assert ex[F.XYZ].shape == (m, 3)
        np.testing.assert_allclose(ex[F.AA_PROBS].sum(1), 1.0, atol=1e-5)
        target = ex[F.TARGET]
        assert len(target) == len(ex[F.SEQUENCE])
        real = target[target >= 0]
        assert len(np.unique(real)) == len(real) and (real < m).all()
        # Consecutive residues that both kept a node are in contact.
        d = np.linalg.norm(ex[F.XYZ][ex[F.SOURCE]] - ex[F.XYZ][ex[F.TARGET_NODE]], axis=1)
        assert d.max() < 7.0
        pairs = set(zip(ex[F.SOURCE].tolist(), ex[F.TARGET_NODE].tolist()))
        both = (target[:-1] >= 0) & (target[1:] >= 0)
        linked = [(a, b) in pairs for a, b in zip(target[:-1][both], target[1:][both])]
        assert np.mean(linked) > 0.95


def test_emission_prior_matches_the_hmm():
    rng = np.random.default_rng(0)
    probs = rng.dirichlet(np.ones(20), size=7).astype(np.float32)
    probs[0] = 0.0
    probs[0, 3] = 1.0  # floored classes
    sequence = encode_sequence("ACDXWY")
    _, log_odds = _check_nodes(np.zeros((7, 3)), probs, HMMConfig(unknown_emission=0.0))
    expected = log_odds[sequence]  # [n, m], unknown row is 0
    got = EmissionLogOdds()((probs[None], sequence[None]))[0].numpy()
    np.testing.assert_allclose(got, expected, atol=1e-4)
    padded = EmissionLogOdds()((probs[None], np.array([[0, -1]])))[0].numpy()
    assert (padded[1] == 0).all()


@pytest.fixture(scope="module")
def hybrid_model():
    from tf_structgen.training.trainer import build_model

    return build_model(PRESETS["tiny-hybrid"])


def _batch(preset, count=4):
    return next(iter(pipeline.synthetic_dataset(preset.data, batch_size=count, seed=5,
                                                count=count)))


def test_untrained_correction_is_zero_and_logits_are_the_prior(hybrid_model):
    preset = PRESETS["tiny-hybrid"]
    graph = _batch(preset)
    for direction in ("forward", "backward", "ensemble"):
        assert float(tf.reduce_max(tf.abs(
            hybrid_model.emission_correction(graph, direction)))) == 0.0
    logits = hybrid_model(graph).numpy()
    sizes = graph.node_sets[F.NODES].sizes.numpy()
    probs = np.split(graph.node_sets[F.NODES][F.AA_PROBS].numpy(), np.cumsum(sizes)[:-1])
    seqs = graph.context[F.SEQUENCE]
    for b, p in enumerate(probs):
        seq = seqs[b].numpy()
        _, log_odds = _check_nodes(np.zeros((len(p), 3)), p, HMMConfig(unknown_emission=0.0))
        np.testing.assert_allclose(logits[b, :len(seq), :len(p)], log_odds[seq], atol=1e-4)
        assert (logits[b, :, len(p):] <= -1e8).all()


def test_distance_layers_see_contact_lengths(hybrid_model):
    graph = _batch(PRESETS["tiny-hybrid"], 1)
    nodes = graph.node_sets[F.NODES]
    stretched = graph.replace_features(node_sets={F.NODES: {
        **nodes.features, F.XYZ: nodes[F.XYZ] * 1.1}})
    a = hybrid_model.encode_nodes(graph).numpy()
    b = hybrid_model.encode_nodes(stretched).numpy()
    assert np.abs(a - b).max() > 1e-4


def test_constrained_decoder_starts_as_the_hmm(hybrid_model, tmp_path):
    """Zero correction: the exported model's constrained decoding is the HMM's."""
    from tf_structgen.evaluation.structures import candidate_set
    from tf_structgen.data.simulate import simulate
    from tf_structgen.export.serving import export_saved_model
    from tf_structgen.inference.predictor import Predictor
    from tf_structgen.io.sequences import SequenceRecord

    rng = np.random.default_rng(11)
    traces = backbone.generate_complex([50, 40], rng)
    seqs = ["".join(rng.choice(list("ACDEFGHIKLMNPQRSTVWY"), len(t))) for t in traces]
    sim = simulate(list(zip(seqs, traces)), REALISM_PRESETS["realistic"], rng)
    export_saved_model(hybrid_model, tmp_path / "m", 1, metadata={"correction_weight": 0.5})
    assert Predictor(tmp_path / "m" / "1", decoder="constrained").correction_weight == 0.5
    records = [SequenceRecord(f"c{k}", s) for k, s in enumerate(seqs)]
    cands = candidate_set(sim)
    constrained = Predictor(tmp_path / "m" / "1", decoder="constrained").thread(cands, records)
    classical = Predictor(None, decoder="hmm").thread(cands, records)
    for x, y in zip(constrained, classical):
        np.testing.assert_array_equal(x.nodes, y.nodes)
    correct = sum(((c.nodes == t) & (t >= 0)).sum() for c, t in zip(constrained, sim.truth))
    assert correct / sum((t >= 0).sum() for t in sim.truth) > 0.8


def test_hmm_prior_changes_the_decoding():
    rng = np.random.default_rng(2)
    trace = backbone.generate_chain(40, rng)
    seq = "".join(rng.choice(list("ACDEFGHIKLMNPQRSTVWY"), 40))
    from tf_structgen.data.simulate import simulate

    sim = simulate([(seq, trace)], REALISM_PRESETS["paper"], rng)
    prior = np.zeros((40, sim.num_nodes))
    decoy = np.setdiff1d(np.arange(sim.num_nodes), sim.truth[0])[0]
    prior[5, decoy] = 1e3
    (nodes, _), = hmm_thread(sim.xyz, sim.aa_probs, [encode_sequence(seq)],
                             log_emission_prior=prior)
    assert nodes[5] == decoy


def test_tiny_hybrid_training_lowers_the_loss_below_the_prior(tmp_path):
    """Training the correction must beat the classical prior it starts from."""
    from tf_structgen.training.losses import pointer_loss
    from tf_structgen.training import trainer

    preset = PRESETS["tiny-hybrid"].replace(train__max_steps=60)
    batches = list(pipeline.synthetic_dataset(preset.data, batch_size=8, seed=99,
                                              stream=1, count=16))
    untrained = trainer.build_model(preset)
    before = np.mean([float(pointer_loss(untrained(g), g)) for g in batches])
    trainer.train(tmp_path / "run", preset)
    model, _, step = trainer.load_trained_model(tmp_path / "run")
    after = np.mean([float(pointer_loss(model(g), g)) for g in batches])
    assert step == 60
    assert after < 0.95 * before


def test_local_pointer_loss_matches_a_brute_force_count(hybrid_model):
    """Softmax over the true node and the contacts of its neighbours' nodes."""
    from tf_structgen.training.losses import local_pointer_loss
    from tf_structgen.models.structure_generator import padded_sequences

    graph = _batch(PRESETS["tiny-hybrid"], 3)
    logits = hybrid_model(graph).numpy()
    target = padded_sequences(graph, F.TARGET)[0].numpy()
    sizes = graph.node_sets[F.NODES].sizes.numpy()
    offsets = np.cumsum(sizes) - sizes
    adjacency = graph.edge_sets[F.CONTACTS].adjacency
    component = np.repeat(np.arange(3), graph.edge_sets[F.CONTACTS].sizes.numpy())
    total = 0.0
    for b in range(3):
        contacts = {}
        for u, v in zip(adjacency.source.numpy()[component == b] - offsets[b],
                        adjacency.target.numpy()[component == b] - offsets[b]):
            contacts.setdefault(int(u), set()).add(int(v))
        row = target[b]
        for t, node in enumerate(row):
            before = row[t - 1] if t > 0 else -1
            after = row[t + 1] if t + 1 < len(row) else -1
            if node < 0 or (before < 0 and after < 0):
                continue
            pool = sorted({int(node)} | contacts.get(int(before), set())
                          | contacts.get(int(after), set()))
            x = logits[b, t, pool]
            total -= x[pool.index(node)] - np.log(np.exp(x - x.max()).sum()) - x.max()
    np.testing.assert_allclose(float(local_pointer_loss(tf.constant(logits), graph)),
                               total / 3, rtol=1e-4)


def test_generated_solenoid_repeats_one_unit():
    x = backbone.generate_solenoid(20, 4, np.random.default_rng(5))
    assert x.shape == (80, 3)
    # Consecutive Cα 3.8 Å apart, across the links between units too.
    np.testing.assert_allclose(np.linalg.norm(np.diff(x, axis=0), axis=1), 3.8, atol=1e-6)
    # Every unit is the first one translated by the same vector.
    shift = x[20] - x[0]
    for k in range(1, 4):
        np.testing.assert_allclose(x[20 * k:20 * (k + 1)], x[:20] + k * shift, atol=1e-9)
    assert backbone.closest_non_bonded(x) >= backbone.BackboneConfig().min_separation - 1e-6
    with pytest.raises(ValueError):
        backbone.generate_solenoid(2, 3, np.random.default_rng(0))
