"""The paper-protocol generator and the tf.data pipeline."""

import numpy as np
import pytest

from tf_structgen.common import features as F
from tf_structgen.data import synthetic
from tf_structgen.data.config import DataConfig


CONFIG = DataConfig()


def example(index=0, reverse=False, seed=3, config=CONFIG):
    return synthetic.paper_example(config, synthetic.example_rng(seed, 0, index),
                                   reverse=reverse)


def test_paper_protocol_shapes_and_scores():
    ex = example()
    n, m = len(ex[F.SEQUENCE]), len(ex[F.AA_PROBS])
    assert 50 <= n <= 450 and m == 500
    np.testing.assert_allclose(ex[F.AA_PROBS].sum(1), 1.0, atol=1e-5)
    # The true class of every chain node is its residue and holds almost all mass.
    true_scores = ex[F.AA_PROBS][ex[F.TARGET], ex[F.SEQUENCE]]
    assert true_scores.min() > 0.7
    wrong = ex[F.AA_PROBS][ex[F.TARGET]].copy()
    wrong[np.arange(n), ex[F.SEQUENCE]] = np.nan
    # |N(0, 0.01)| has mean 0.01 * sqrt(2 / pi) ~ 0.008.
    assert 0.006 < np.nanmean(wrong) < 0.010
    assert len(set(ex[F.TARGET].tolist())) == n


def test_chain_edges_present_in_both_directions():
    ex = example(1)
    edges = set(zip(ex[F.SOURCE].tolist(), ex[F.TARGET_NODE].tolist()))
    t = ex[F.TARGET]
    for a, b in zip(t[:-1], t[1:]):
        assert (a, b) in edges and (b, a) in edges
    assert all((b, a) in edges for a, b in edges)
    assert all(a != b for a, b in edges)


def degrees(ex):
    return np.bincount(ex[F.SOURCE], minlength=len(ex[F.AA_PROBS]))


def test_decoys_apart_by_default_and_touching_on_request():
    ex = example(5)
    chain = ex[F.TARGET]
    deg = degrees(ex)
    assert deg[chain[1:-1]].max() == 2 and deg[chain[[0, -1]]].max() == 1
    touching = DataConfig(decoys_touch_chain=True)
    degs = [degrees(e)[e[F.TARGET]].mean()
            for e in (example(i, config=touching) for i in range(5))]
    assert np.mean(degs) > 2.2  # ~0.5 random decoy neighbours per chain node


def test_node_order_is_shuffled():
    t = example(2)[F.TARGET]
    assert not np.array_equal(t, np.arange(len(t)))


def test_deterministic_and_order_independent():
    a = list(synthetic.paper_examples(CONFIG, seed=5, stream=0, start=0, count=4))
    b = list(synthetic.paper_examples(CONFIG, seed=5, stream=0, start=2, count=2))
    for key in a[2]:
        np.testing.assert_array_equal(a[2][key], b[0][key])
        np.testing.assert_array_equal(a[3][key], b[1][key])
    c = next(synthetic.paper_examples(CONFIG, seed=6, stream=0, count=1))
    assert not np.array_equal(a[0][F.AA_PROBS].shape, c[F.AA_PROBS].shape) or \
        not np.array_equal(a[0][F.AA_PROBS], c[F.AA_PROBS])


def test_validation_stream_differs_from_training():
    train = next(synthetic.paper_examples(CONFIG, seed=0, stream=0, count=1))
    val = next(synthetic.paper_examples(CONFIG, seed=0, stream=1, count=1))
    assert not np.array_equal(train[F.SEQUENCE][:10], val[F.SEQUENCE][:10])


def test_reverse_flips_sequence_and_targets():
    fwd, bwd = example(4, reverse=False), example(4, reverse=True)
    np.testing.assert_array_equal(fwd[F.SEQUENCE][::-1], bwd[F.SEQUENCE])
    np.testing.assert_array_equal(fwd[F.TARGET][::-1], bwd[F.TARGET])


def test_composition_follows_background():
    from tf_structgen.common.residue_constants import BACKGROUND_FREQUENCIES

    seq = synthetic.sample_sequence(200_000, np.random.default_rng(0))
    freq = np.bincount(seq, minlength=20) / len(seq)
    np.testing.assert_allclose(freq, BACKGROUND_FREQUENCIES, atol=3e-3)


def test_config_validation():
    with pytest.raises(ValueError, match="node_budget"):
        DataConfig(max_length=600)
    with pytest.raises(ValueError, match="min_length"):
        DataConfig(min_length=0)


def test_pipeline_batches_several_graphs(tiny_preset):
    from tf_structgen.data import pipeline

    ds = pipeline.synthetic_dataset(tiny_preset.data, batch_size=3, seed=1, count=7)
    batches = list(ds)
    assert [int(b.num_components) for b in batches] == [3, 3, 1]
    g = batches[0]
    sizes = g.node_sets[F.NODES].sizes.numpy()
    assert list(sizes) == [24, 24, 24]
    assert g.node_sets[F.NODES][F.AA_PROBS].shape == (72, 20)
    # Edges of graph k point into graph k's node range after merging.
    src = g.edge_sets[F.CONTACTS].adjacency.source.numpy()
    edge_sizes = g.edge_sets[F.CONTACTS].sizes.numpy()
    owner = np.repeat(np.arange(3), edge_sizes)
    assert np.all(src // 24 == owner)
    seq = g.context[F.SEQUENCE]
    target = g.context[F.TARGET]
    assert seq.shape[0] == 3
    np.testing.assert_array_equal(seq.row_lengths(), target.row_lengths())
    # Targets are local to each graph.
    assert target.flat_values.numpy().max() < 24


def test_saved_dataset_round_trip(tmp_path, tiny_preset):
    from tf_structgen.common.errors import InputError
    from tf_structgen.data import pipeline

    examples = list(synthetic.paper_examples(tiny_preset.data, seed=0, stream=1, count=5))
    path = tmp_path / "val.npz"
    assert pipeline.save_examples(path, examples) == 5
    loaded = pipeline.load_examples(path)
    assert len(loaded) == 5
    for a, b in zip(examples, loaded):
        for key in a:
            np.testing.assert_array_equal(a[key], b[key])
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a zip")
    with pytest.raises(InputError, match="bad.npz"):
        pipeline.load_examples(bad)


def real_chain_example(xyz, sequence, index=0, config=CONFIG):
    return synthetic.paper_example_from_chain(
        np.asarray(sequence), xyz, config, synthetic.example_rng(0, 2, index))


def helix_trace(n):
    """An ideal α-helix Cα trace: consecutive Cα 3.8 Å apart, i..i+2 5.4 Å."""
    t = np.arange(n) * np.deg2rad(100.0)
    return np.stack([2.3 * np.cos(t), 2.3 * np.sin(t), 1.5 * np.arange(n)], 1)


def test_real_chain_keeps_its_contact_map_and_a_break():
    xyz = helix_trace(60)
    xyz[30:] += [0.0, 0.0, 20.0]           # a chain break between 29 and 30
    sequence = np.arange(60) % 21           # index 20: unknown residue 'X'
    ex = real_chain_example(xyz, sequence)
    t = ex[F.TARGET]
    assert len(ex[F.AA_PROBS]) == CONFIG.node_budget and len(set(t.tolist())) == 60
    np.testing.assert_array_equal(ex[F.SEQUENCE], sequence)     # forward, 'X' kept
    edges = set(zip(ex[F.SOURCE].tolist(), ex[F.TARGET_NODE].tolist()))
    chain_edges = {(a, b) for a, b in edges if a in set(t.tolist()) and b in set(t.tolist())}
    position = {node: i for i, node in enumerate(t.tolist())}
    links = {tuple(sorted((position[a], position[b]))) for a, b in chain_edges}
    assert links == {(i, i + 1) for i in range(59) if i != 29}
    # Decoys keep the training parameters: apart from the chain by default.
    assert len(edges) - len(chain_edges) > 0
    assert all((a in position) == (b in position) for a, b in edges)
    # Known residues score their own class; the 'X' nodes some standard class.
    known = sequence < 20
    assert ex[F.AA_PROBS][t[known], sequence[known]].min() > 0.7
    assert ex[F.AA_PROBS][t[~known]].max(1).min() > 0.7


def test_real_chain_longer_than_the_budget_gets_no_decoys_and_is_deterministic():
    config = DataConfig(min_length=20, max_length=40, node_budget=40)
    xyz, sequence = helix_trace(50), np.zeros(50, int)
    ex = real_chain_example(xyz, sequence, config=config)
    assert len(ex[F.AA_PROBS]) == 50
    again = real_chain_example(xyz, sequence, config=config)
    assert all(np.array_equal(ex[k], again[k]) for k in ex)
    other = real_chain_example(xyz, sequence, index=1, config=config)
    assert not np.array_equal(ex[F.TARGET], other[F.TARGET])


def test_paper_protocol_chains_one_problem_per_protein_chain():
    from pathlib import Path

    from tf_structgen.evaluation.structures import paper_protocol_chains, real_protein_chains
    from tf_structgen.io import read_structure_chains

    path = Path(__file__).parent / "data" / "1d66.pdb.gz"
    chains = read_structure_chains(path)
    labelled = real_protein_chains([path])
    assert [label for label, _ in labelled] == [f"1d66.pdb.gz:{c.id}" for c in chains]
    problems = list(paper_protocol_chains(labelled, CONFIG, seed=0))
    assert [len(p[F.SEQUENCE]) for p in problems] == [len(c.sequence) for c in chains]
    assert all(len(p[F.AA_PROBS]) == max(500, len(p[F.SEQUENCE])) for p in problems)
