"""Model shapes, masking, directions and serialization of every layer."""

import numpy as np
import pytest
import tensorflow as tf

from tf_structgen.common import features as F
from tf_structgen.data import pipeline
from tf_structgen.models import (DIRECTIONS, GCNConv, GCNEncoder, NodeFeatureEmbedding,
                                 PointerHead, SequenceEncoder, StructureGenerator)
from tf_structgen.models.structure_generator import MASKED_LOGIT


def ragged_batch(sizes_and_lengths, seed=0):
    """A batch of graphs of different sizes (so padding exists)."""
    rng = np.random.default_rng(seed)
    examples = []
    for m, n in sizes_and_lengths:
        src = np.arange(m - 1, dtype=np.int32)
        examples.append({
            F.AA_PROBS: rng.dirichlet(np.ones(20), size=m).astype(np.float32),
            F.SOURCE: np.concatenate([src, src + 1]),
            F.TARGET_NODE: np.concatenate([src + 1, src]),
            F.SEQUENCE: rng.integers(0, 21, size=n).astype(np.int32),
            F.TARGET: rng.permutation(m)[:n].astype(np.int32),
        })
    return next(iter(pipeline.dataset_from_examples(lambda: iter(examples),
                                                    len(examples))))


@pytest.fixture(scope="module")
def batch():
    return ragged_batch([(6, 4), (9, 7), (4, 2)])


@pytest.mark.parametrize("pointer", ["dot", "additive"])
def test_logits_shape_and_masking(batch, pointer):
    model = StructureGenerator(node_units=8, sequence_units=4, lstm_units=6,
                               pointer=pointer, pointer_units=5)
    logits = model(batch).numpy()
    assert logits.shape == (3, 7, 9)
    # Graph 0 has 6 nodes: nodes 6..8 are padding and never probable.
    assert np.all(logits[0, :, 6:] == MASKED_LOGIT)
    assert np.all(logits[2, :, 4:] == MASKED_LOGIT)
    assert np.all(logits[1] > MASKED_LOGIT)
    for direction in DIRECTIONS:
        p = np.exp(model.log_probs(batch, direction).numpy())
        np.testing.assert_allclose(p.sum(-1), 1.0, rtol=1e-5)
        assert p[0, :, 6:].max() == 0.0 and p[2, :, 4:].max() == 0.0


def test_graphs_do_not_see_each_other(batch):
    """Changing graph 1's nodes leaves graph 0's probabilities unchanged."""
    model = StructureGenerator(node_units=8, sequence_units=4, lstm_units=6,
                               pointer="dot", pointer_units=5)
    other = ragged_batch([(6, 4), (9, 7), (4, 2)], seed=0)
    changed = ragged_batch([(6, 4), (9, 7), (4, 2)], seed=0)
    feats = changed.node_sets[F.NODES][F.AA_PROBS].numpy()
    feats[6:15] = feats[6:15][::-1]
    changed = changed.replace_features(node_sets={F.NODES: {F.AA_PROBS: tf.constant(feats)}})
    a, b = model(other).numpy(), model(changed).numpy()
    np.testing.assert_allclose(a[0], b[0], rtol=1e-6)
    np.testing.assert_allclose(a[2], b[2], rtol=1e-6)
    assert not np.allclose(a[1], b[1])


def test_backward_equals_forward_on_reversed_sequence(batch):
    model = StructureGenerator(node_units=8, sequence_units=4, lstm_units=6,
                               pointer="dot", pointer_units=5)
    seq = batch.context[F.SEQUENCE]
    rev = tf.RaggedTensor.from_row_lengths(
        tf.concat([r[::-1] for r in seq], 0), seq.row_lengths())
    reversed_graph = batch.replace_features(context={F.SEQUENCE: rev})
    backward = model.log_probs(batch, "backward").numpy()
    fwd_rev = model.log_probs(reversed_graph, "forward").numpy()
    for b, n in enumerate(seq.row_lengths().numpy()):
        np.testing.assert_allclose(backward[b, :n], fwd_rev[b, :n][::-1], rtol=1e-5, atol=1e-5)
    ens = np.exp(model.log_probs(batch, "ensemble").numpy())
    fwd = np.exp(model.log_probs(batch, "forward").numpy())
    np.testing.assert_allclose(ens, (fwd + np.exp(backward)) / 2, rtol=1e-4, atol=1e-6)


def test_bad_direction(batch):
    model = StructureGenerator(node_units=8, sequence_units=4, lstm_units=6, pointer="dot")
    with pytest.raises(ValueError, match="direction"):
        model.log_probs(batch, "sideways")


def test_paper_sizes():
    from tf_structgen.training.config import PRESETS

    cfg = PRESETS["paper"].model
    assert (cfg.node_units, cfg.gcn_layers, cfg.sequence_units, cfg.lstm_units,
            cfg.pointer) == (128, 2, 32, 256, "additive")


def test_sequence_encoder_masks_padding():
    enc = SequenceEncoder(4, lstm_units=3)
    a = enc(tf.constant([[1, 2, 3, -1, -1]])).numpy()
    b = enc(tf.constant([[1, 2, 3]])).numpy()
    np.testing.assert_allclose(a[:, :3], b, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("layer", [
    NodeFeatureEmbedding(7, activation="tanh", name="emb"),
    GCNConv(5, activation="linear", use_bias=False, edge_set_name="e"),
    GCNEncoder(6, num_layers=3, shared_weights=True),
    SequenceEncoder(4, lstm_units=9),
    PointerHead(11, kind="dot"),
    PointerHead(12, kind="additive"),
])
def test_layer_config_round_trip(layer):
    config = layer.get_config()
    clone = type(layer).from_config(config)
    assert clone.get_config() == config
    serialized = tf.keras.layers.serialize(layer)
    assert serialized["registered_name"].startswith("tf_structgen>")
    assert tf.keras.layers.deserialize(serialized).get_config() == config


def test_model_config_round_trip():
    model = StructureGenerator(node_units=8, gcn_layers=0, sequence_units=4,
                               lstm_units=6, pointer="dot", pointer_units=5)
    clone = StructureGenerator.from_config(model.get_config())
    assert clone.get_config() == model.get_config()


def test_keras_file_round_trip(tmp_path, batch):
    model = StructureGenerator(node_units=8, gcn_layers=2, sequence_units=4, lstm_units=6,
                               pointer="additive", pointer_units=5, node_skip=True)
    expected = model(batch).numpy()
    model.save(tmp_path / "m.keras")
    loaded = tf.keras.models.load_model(tmp_path / "m.keras")
    assert type(loaded) is StructureGenerator
    assert [type(l) for l in loaded.layers] == [type(l) for l in model.layers]
    assert loaded.get_config() == model.get_config()
    np.testing.assert_allclose(loaded(batch).numpy(), expected, rtol=1e-6)
