"""Tests of tf_structgen.decoding.hmm."""

import json
import pathlib
import time
import tracemalloc

import numpy as np
import pytest

from tf_structgen.common.errors import InputError
from tf_structgen.common.residue_constants import UNKNOWN_INDEX, encode_sequence
from tf_structgen.data.simulate import REALISM_PRESETS, chain_from_record, simulate
from tf_structgen.decoding.hmm import HMMConfig, hmm_thread

DATA = pathlib.Path(__file__).parent / "data" / "dev_chains_small.json"


def zigzag(n: int) -> np.ndarray:
    """A planar Cα trace: 3.81 Å steps, 6.6 Å between i and i+2."""
    k = np.arange(n)
    return np.stack([3.3 * k, 0.95 * (-1.0) ** k, np.zeros(n)], axis=1)


def helix(n: int) -> np.ndarray:
    """An ideal α-helix Cα trace (3.83 Å steps, 5.4 Å between i and i+2)."""
    angle = np.deg2rad(100.0) * np.arange(n)
    return np.stack([2.3 * np.cos(angle), 2.3 * np.sin(angle),
                     1.5 * np.arange(n)], axis=1)


def peaked(seq: np.ndarray, peak: float = 0.9) -> np.ndarray:
    """[n, 20] scores with ``peak`` on each residue, the rest spread evenly."""
    probs = np.full((len(seq), 20), (1.0 - peak) / 19)
    probs[np.arange(len(seq)), seq] = peak
    return probs


def shuffled(xyz, probs, rng):
    """Shuffles the nodes; returns them and each original node's new index."""
    order = rng.permutation(len(xyz))
    new_index = np.empty_like(order)
    new_index[order] = np.arange(len(order))
    return xyz[order], probs[order], new_index


def test_small_chain_is_threaded_exactly():
    seq = encode_sequence("MKTAYIAK")
    xyz, probs, index = shuffled(zigzag(8), peaked(seq),
                                 np.random.default_rng(0))
    [(nodes, conf)] = hmm_thread(xyz, probs, [seq])
    np.testing.assert_array_equal(nodes, index)
    assert nodes.dtype == np.int32 and conf.dtype == np.float32
    assert (conf > 0.9).all() and (conf <= 1.0).all()


def test_decoy_with_the_right_residue_but_wrong_geometry_is_not_chosen():
    seq = encode_sequence("ACDEFGHI")
    trace = zigzag(8)
    probs = peaked(seq)
    probs[3] = peaked(seq[3:4], peak=0.4)[0]  # the true node is unsure...
    # ... the decoy is sure, 3.8 Å from residue 2 but 7 Å from residue 4.
    decoy = trace[2] + [-3.8, 0.0, 0.0]
    xyz = np.vstack([trace, decoy])
    probs = np.vstack([probs, peaked(seq[3:4], peak=0.99)])
    [(nodes, _)] = hmm_thread(xyz, probs, [seq])
    np.testing.assert_array_equal(nodes, np.arange(8))


def test_nodes_are_never_reused():
    # Two sure "A" nodes 3.8 Å apart and a poly-A sequence: a first-order
    # model would bounce between them; each may be used once.
    xyz = np.array([[0.0, 0.0, 0.0], [3.8, 0.0, 0.0]])
    seq = np.zeros(6, dtype=np.int64)
    [(nodes, conf)] = hmm_thread(xyz, peaked(seq[:2], 0.99), [seq])
    assigned = nodes[nodes >= 0]
    assert len(assigned) == len(set(assigned.tolist())) == 2
    assert (conf[nodes < 0] == 0).all()


def test_position_without_a_credible_node_is_null():
    seq = encode_sequence("ACDEFGHIKL")  # 10 residues, nodes for 0-7 minus 4
    trace = zigzag(8)
    keep = np.array([0, 1, 2, 3, 5, 6, 7])
    [(nodes, conf)] = hmm_thread(trace[keep], peaked(seq[keep]), [seq])
    np.testing.assert_array_equal(nodes, [0, 1, 2, 3, -1, 4, 5, 6, -1, -1])
    np.testing.assert_array_equal(conf[[4, 8, 9]], 0.0)


def test_unknown_residues_are_threaded_by_geometry():
    seq = encode_sequence("ACDXXGHI")
    assert (seq[3:5] == UNKNOWN_INDEX).all()
    probs = peaked(np.where(seq == UNKNOWN_INDEX, 0, seq))
    probs[3:5] = 1.0 / 20
    [(nodes, _)] = hmm_thread(zigzag(8), probs, [seq])
    np.testing.assert_array_equal(nodes, np.arange(8))


def test_two_chains_get_disjoint_nodes():
    seq = encode_sequence("MKTAYIAK")
    trace = zigzag(8)
    xyz = np.vstack([trace, trace + [0.0, 20.0, 0.0]])
    probs = np.vstack([peaked(seq), peaked(seq)])
    results = hmm_thread(xyz, probs, [seq, seq])
    first, second = (set(nodes.tolist()) for nodes, _ in results)
    assert not first & second
    assert first | second == set(range(16))
    assert {min(first), min(second)} == {0, 8}  # each chain on one copy


def test_emission_prior_hook():
    seq = encode_sequence("MKTAYIAK")
    xyz, probs = zigzag(8), peaked(seq)
    zeros = np.zeros((16, 8))
    as_one = hmm_thread(xyz, probs, [seq, seq], log_emission_prior=zeros)
    as_list = hmm_thread(xyz, probs, [seq, seq],
                         log_emission_prior=[zeros[:8], zeros[8:]])
    for (a, _), (b, _) in zip(as_one, as_list):
        np.testing.assert_array_equal(a, b)
    forbid = np.zeros((8, 8))
    forbid[:, 3] = -100.0  # a neural model rules node 3 out
    [(nodes, _)] = hmm_thread(xyz, probs, [seq], log_emission_prior=forbid)
    assert 3 not in nodes.tolist()
    with pytest.raises(InputError, match="log_emission_prior must be"):
        hmm_thread(xyz, probs, [seq], log_emission_prior=np.zeros((7, 8)))
    with pytest.raises(InputError, match="log_emission_prior contains NaN"):
        hmm_thread(xyz, probs, [seq], log_emission_prior=forbid * np.nan)


def test_real_chain_under_realistic_detector_output():
    record = json.loads(DATA.read_text())[1]
    seq, ca = chain_from_record(record)
    realism = REALISM_PRESETS["realistic"]
    sim = simulate([(seq, ca)], realism, np.random.default_rng(0))
    [(nodes, conf)] = hmm_thread(sim.xyz, sim.aa_probs, [encode_sequence(seq)],
                                 HMMConfig(noise=realism.coord_noise))
    truth = sim.truth[0]
    has_node = truth >= 0
    assert np.mean(nodes[has_node] == truth[has_node]) >= 0.9
    assigned = nodes[nodes >= 0]
    assert len(assigned) == len(np.unique(assigned))
    assert ((conf >= 0) & (conf <= 1)).all()
    # Confidence separates right from wrong assignments.
    right = nodes == truth
    assert conf[right & has_node].mean() > 0.8


def test_twenty_thousand_nodes_without_dense_arrays():
    rng = np.random.default_rng(1)
    n, m = 60, 20_000
    trace = helix(n)
    seq = rng.integers(0, 20, n)
    # Decoys at about protein Cα density (1 per 100 Å^3), none on the helix.
    side = (100.0 * m) ** (1 / 3)
    decoys = rng.uniform(-side / 2, side / 2, (m - n, 3)) + trace.mean(axis=0)
    far = np.min(np.linalg.norm(decoys[:, None] - trace[None, ::4], axis=2),
                 axis=1) > 4.0
    decoys = decoys[far]
    xyz = np.vstack([trace, decoys])
    probs = np.vstack([peaked(seq, 0.6),
                       peaked(rng.integers(0, 20, len(decoys)), 0.6)])
    tracemalloc.start()
    start = time.perf_counter()
    [(nodes, _)] = hmm_thread(xyz, probs, [seq], HMMConfig(noise=0.1))
    seconds = time.perf_counter() - start
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert np.mean(nodes == np.arange(n)) >= 0.95
    assert peak < 0.1 * len(xyz) ** 2 * 8  # far below one dense m x m array
    assert seconds < 15.0


def test_empty_inputs():
    [(nodes, conf)] = hmm_thread(np.zeros((0, 3)), np.zeros((0, 20)),
                                 [np.array([0, 1, 2])])
    np.testing.assert_array_equal(nodes, [-1, -1, -1])
    [(nodes, conf)] = hmm_thread(zigzag(3), peaked(np.arange(3)),
                                 [np.zeros(0, dtype=np.int32)])
    assert nodes.shape == conf.shape == (0,)


@pytest.mark.parametrize("xyz, probs, seqs, message", [
    (np.zeros((3, 2)), np.ones((3, 20)), [np.zeros(2, int)],
     r"xyz has shape \(3, 2\), expected \[m, 3\]"),
    (np.zeros((3, 3)), np.ones((3, 19)), [np.zeros(2, int)],
     r"aa_probs has shape \(3, 19\), expected \[3, 20\]"),
    (np.zeros((3, 3)), np.vstack([np.ones((2, 20)), np.zeros((1, 20))]),
     [np.zeros(2, int)], "aa_probs row 2 is all zeros"),
    (np.zeros((3, 3)), -np.ones((3, 20)), [np.zeros(2, int)],
     "aa_probs must be non-negative"),
    (np.full((3, 3), np.nan), np.ones((3, 20)), [np.zeros(2, int)],
     "xyz and aa_probs must be finite"),
    (np.zeros((3, 3)), np.ones((3, 20)), [np.array([0, 21])],
     r"sequence 0 has residue indices outside \[0, 20\]"),
    (np.zeros((3, 3)), np.ones((3, 20)), [np.array([0.5])],
     "sequence 0 must be a 1-D array of residue indices"),
])
def test_input_errors(xyz, probs, seqs, message):
    with pytest.raises(InputError, match=message):
        hmm_thread(xyz, probs, seqs)


def test_config_validation():
    with pytest.raises(ValueError, match="jump_penalty"):
        HMMConfig(jump_penalty=-1.0)
    with pytest.raises(ValueError, match="prob_floor"):
        HMMConfig(prob_floor=0.5)
    assert HMMConfig(noise=0.4).sigma == pytest.approx(np.hypot(0.1, 0.4 * 2**0.5))


def test_copy_groups_align_copies():
    from tf_structgen.decoding.hmm import copy_groups

    rng = np.random.default_rng(0)
    a = rng.integers(0, 20, 60)
    b = a.copy()
    b[10:15] = UNKNOWN_INDEX                      # unobserved stretch written as X
    tagged = np.concatenate([rng.integers(0, 20, 12), a])  # N-terminal extension
    other = rng.integers(0, 20, 60)
    groups = copy_groups([a, other, b, tagged])
    assert groups == [[(0, 12), (2, 12), (3, 0)]]
    assert copy_groups([a, other]) == []


def test_untangle_copies_repairs_a_mosaic():
    from tf_structgen.data.backbone import generate_chain
    from tf_structgen.decoding.hmm import HMMConfig, untangle_copies

    rng = np.random.default_rng(4)
    n = 60
    xyz = np.concatenate([generate_chain(n, rng), generate_chain(n, rng) + 80.0])
    seq = rng.integers(0, 20, n)
    first, second = np.arange(n), np.arange(n, 2 * n)
    # Copy 0 jumps onto copy 1 after a 3-residue gap, and the other way round.
    mosaic_0 = np.concatenate([first[:30], [-1, -1, -1], second[33:]])
    mosaic_1 = np.concatenate([second[:30], [-1, -1, -1], first[33:]])
    conf = np.ones(n, np.float32)
    fixed = untangle_copies([(mosaic_0, conf), (mosaic_1, conf)], [seq, seq], xyz,
                            HMMConfig(noise=0.25))
    np.testing.assert_array_equal(fixed[0][0][33:], first[33:])
    np.testing.assert_array_equal(fixed[1][0][33:], second[33:])
    np.testing.assert_array_equal(fixed[0][0][:30], first[:30])
    # Consistent paths are left alone.
    again = untangle_copies(fixed, [seq, seq], xyz, HMMConfig(noise=0.25))
    for (x, _), (y, _) in zip(fixed, again):
        np.testing.assert_array_equal(x, y)
