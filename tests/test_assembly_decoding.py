"""Tests of tf_structgen.decoding.assembly (the assembly decoder).

Scenes are small: protein-like Cα traces from
:func:`~tf_structgen.data.backbone.generate_chain`, copies packed against each
other with :func:`~tf_structgen.data.backbone.pack_chains` (so that they
touch), exact coordinates and peaked amino-acid scores unless said otherwise.
Node ``k`` of a scene is known to belong to one true copy, so "no mosaic"
and "no node used twice" can be checked directly.
"""

import logging
import re

import numpy as np
import pytest

from tf_structgen.common.errors import InputError
from tf_structgen.common.residue_constants import ALPHABET, UNKNOWN_INDEX, encode_sequence
from tf_structgen.data.backbone import generate_chain, pack_chains
from tf_structgen.data.simulate import Realism, simulate
from tf_structgen.decoding import assembly as assembly_module
from tf_structgen.decoding.assembly import (
    Fragment,
    assemble_copies,
    junction_cost,
    reach,
    split_fragments,
    thread_assembly,
)
from tf_structgen.decoding.config import AssemblyConfig, HMMConfig
from tf_structgen.decoding.copies import copy_groups
from tf_structgen.decoding.hmm import hmm_thread
from tf_structgen.evaluation.assemblies import score_assembly


# ----------------------------------------------------------------- helpers


def zigzag(n: int) -> np.ndarray:
    """A planar Cα trace: 3.81 Å steps, 6.6 Å between i and i+2."""
    k = np.arange(n)
    return np.stack([3.3 * k, 0.95 * (-1.0) ** k, np.zeros(n)], axis=1)


def peaked(seq: np.ndarray, peak: float = 0.9) -> np.ndarray:
    """[n, 20] scores with ``peak`` on each residue, the rest spread evenly."""
    probs = np.full((len(seq), 20), (1.0 - peak) / 19)
    probs[np.arange(len(seq)), seq] = peak
    return probs


def all_nodes(decoded) -> np.ndarray:
    """Every assigned node of a thread_assembly result, repeats kept."""
    return np.concatenate([nodes[nodes >= 0] for copies in decoded
                           for nodes, _ in copies] + [np.zeros(0, np.int32)])


def assert_well_formed(decoded, lengths, counts):
    """Shapes, dtypes, nulls at confidence 0, each node used at most once."""
    assert [len(copies) for copies in decoded] == counts
    for copies, n in zip(decoded, lengths):
        for nodes, conf in copies:
            assert nodes.shape == conf.shape == (n,)
            assert nodes.dtype == np.int32 and conf.dtype == np.float32
            np.testing.assert_array_equal(conf[nodes < 0], 0.0)
            assert ((conf >= 0) & (conf <= 1)).all()
    used = all_nodes(decoded)
    assert len(used) == len(np.unique(used)), "a node is used twice"


class Scene:
    """Copies of traces as one candidate set.

    ``add(seq, trace, keep)`` appends the kept residues of one true copy as
    nodes (in order); ``owner[j]`` is the copy node j belongs to and
    ``truth[c]`` copy c's true node per residue (-1 where dropped).
    """

    def __init__(self, peak: float = 0.9):
        self.peak = peak
        self.xyz, self.probs, self.owner, self.truth = [], [], [], []
        self.size = 0

    def add(self, seq, trace, keep=None) -> int:
        keep = np.ones(len(seq), bool) if keep is None else keep
        copy = len(self.truth)
        truth = np.full(len(seq), -1)
        truth[keep] = self.size + np.arange(keep.sum())
        self.xyz.append(trace[keep])
        self.probs.append(peaked(seq[keep], self.peak))
        self.owner += [copy] * int(keep.sum())
        self.truth.append(truth)
        self.size += int(keep.sum())
        return copy

    def arrays(self):
        return np.vstack(self.xyz), np.vstack(self.probs)

    def copies_of(self, nodes) -> set:
        return {self.owner[j] for j in nodes[nodes >= 0]}


def homodimer_with_gaps(seed: int = 0, peak: float = 0.9, n: int = 60):
    """Two touching copies of one 60-residue chain, copy 0 missing residues
    20-23 and copy 1 missing 38-41: the sequential threader's mosaic case."""
    rng = np.random.default_rng(seed)
    chain = generate_chain(n, rng)
    a, b = pack_chains([chain, chain], rng)
    seq = rng.integers(0, 20, n)
    scene = Scene(peak)
    keep_a = np.ones(n, bool)
    keep_a[20:24] = False
    keep_b = np.ones(n, bool)
    keep_b[38:42] = False
    scene.add(seq, a, keep_a)
    scene.add(seq, b, keep_b)
    return scene, seq


def motif_scene(seed: int, peak: float):
    """Two different 40-residue entities packed together; entity B carries
    entity A's residues 10-21, whose nodes were not detected in A. Threaded
    alone, A borrows B's nodes for that motif."""
    rng = np.random.default_rng(seed)
    n = 40
    trace_a, trace_b = pack_chains([generate_chain(n, rng), generate_chain(n, rng)], rng)
    seq_a = rng.integers(0, 20, n)
    seq_b = rng.integers(0, 20, n)
    seq_b[10:22] = seq_a[10:22]
    keep_a = np.ones(n, bool)
    keep_a[10:22] = False
    scene = Scene(peak)
    scene.add(seq_a, trace_a, keep_a)
    scene.add(seq_b, trace_b)
    return scene, seq_a, seq_b


# ------------------------------------------------ 1. homo-dimer with gaps


@pytest.mark.parametrize("seed, peak", [(0, 0.9), (1, 1.0), (8, 0.9)])
def test_touching_copies_with_gaps_are_not_mosaicked(seed, peak):
    scene, seq = homodimer_with_gaps(seed, peak)
    xyz, probs = scene.arrays()
    decoded = thread_assembly(xyz, probs, [seq], [2])
    assert_well_formed(decoded, [60], [2])
    [[(first, _), (second, _)]] = decoded
    # Each copy follows one true copy, and not the same one.
    assert len(scene.copies_of(first)) == 1
    assert len(scene.copies_of(second)) == 1
    assert scene.copies_of(first) != scene.copies_of(second)
    score = score_assembly([scene.truth], [[first, second]])
    assert score["positions"] == 112
    assert score["strict"] >= 0.95 * score["positions"]
    # The sequential threader, on the same input, builds mosaics: at a gap
    # its first chain jumps to the touching copy.
    legacy = hmm_thread(xyz, probs, [seq, seq], HMMConfig(untangle_copies=False))
    assert any(len(scene.copies_of(nodes)) > 1 for nodes, _ in legacy)
    legacy_score = score_assembly([scene.truth], [[nodes for nodes, _ in legacy]])
    assert legacy_score["register"] >= 0.95 * score["positions"]  # right register...
    assert legacy_score["strict"] < score["strict"] - 20           # ...wrong copies


# ----------------------------------------------------- 2. junction costs


def test_reach_worked_values():
    # sigma 0.1 (no noise): slack 1 + 3.5 * 0.1 = 1.35 Å.
    np.testing.assert_allclose(reach(np.array([0, 1, 2, 10]), HMMConfig()),
                               [5.15, 5.15, 8.35, 36.35])
    noisy = HMMConfig(noise=0.25)
    slack = 1.0 + 3.5 * np.hypot(0.1, 0.25 * 2 ** 0.5)
    np.testing.assert_allclose(reach(3, noisy), 10.5 + slack)


def test_junction_cost_worked_values():
    config = HMMConfig()  # sigma 0.1, gap_open 4, null 0.3, reentry 1, jump 8
    cost = junction_cost(
        np.array([3.8, 4.0, 50.0, 6.0, 7.45, 10.0, 12.35, 100.0]),
        np.array([1, 1, 1, 2, 2, 10, 3, 10]), config)
    np.testing.assert_allclose(cost, [
        0.0,                         # one step at exactly ca_distance
        0.5 * 2.0 ** 2,              # one step 2 sigma long
        8.0,                         # one step far away: a jump
        4.0 + 1.0,                   # 2-step gap in the second-neighbour range
        4.0 + 1.0 + 0.5,             # 1 sigma beyond its high end
        # 10 steps, 10 Å: gap (4 + 8 x 0.3 + 1) plus the coil term.
        4.0 + 8 * 0.3 + 1.0 + 1.5 * 100.0 / (10 * 2 * 3.8 ** 2),
        # 3 steps, 0.5 Å (5 sigma) beyond the reach 11.85 Å: capped.
        4.0 + 0.3 + 1.0 + 8.0,
        4.0 + 8 * 0.3 + 1.0 + 8.0,   # long gap far beyond the reach
    ])


def test_junctions_at_a_cis_peptide_or_a_numbering_skip_beat_a_jump():
    """A cis peptide (2.95 Å) costs the HMM's cis link, not a jump; two
    steps as short as one link (a residue number skipped between bonded
    residues) cost the gap plus that link. Costed as jumps, both tied with a
    crossing into another copy 50 Å away, and 1ay8's copies swapped tails."""
    config = HMMConfig()  # sigma 0.1, cis penalty 5, gap 4 + reentry 1, jump 8
    cost = junction_cost(np.array([2.95, 3.8, 50.0, 50.0]), np.array([1, 2, 1, 2]), config)
    np.testing.assert_allclose(cost, [5.0, 4.0 + 1.0, 8.0, 4.0 + 1.0 + 8.0])


def test_junction_cost_is_monotone_in_distance():
    config = HMMConfig(noise=0.25)
    low, high = config.second_neighbour_range
    d = np.linspace(0.0, 120.0, 2401)
    for steps, start in ((1, config.ca_distance), (2, low), (3, 0.0), (8, 0.0),
                         (40, 0.0)):
        cost = junction_cost(d, np.full(len(d), steps), config)
        rising = cost[d >= start]
        assert (np.diff(rising) >= -1e-12).all(), steps
        # Never more than the gap plus a jump.
        gap = (0.0 if steps == 1 else config.gap_open + config.reentry_penalty
               + config.null_cost * max(steps - 2, 0))
        assert cost.max() == pytest.approx(gap + config.jump_penalty)
    # Below the second-neighbour range a 2-step junction costs more again.
    two = junction_cost(np.array([3.0, low]), np.array([2, 2]), config)
    assert two[0] > two[1]


# ------------------------------------------------------- split_fragments


def test_split_fragments_cuts_at_nulls_jumps_and_weak_positions():
    xyz = np.vstack([zigzag(10), [[0.0, 50.0, 0.0]]])   # node 10 is far away
    nodes = np.array([0, 1, 2, -1, 4, 5, 10, 7, 8, 9])
    conf = np.array([1, 1, 1, 0, 1, 1, 1, 1, 0.3, 1], np.float32)
    emission = np.full((10, 11), 2.0)
    emission[1, 1] = -4.0           # a wrong residue adds nothing to the worth
    emission[2, 2] = 7.0            # a sure one adds at most 3
    fragments = split_fragments(nodes, conf, emission, xyz, HMMConfig(),
                                AssemblyConfig(), offset=5)
    assert [(f.start, f.stop, f.nodes.tolist()) for f in fragments] == [
        (5, 8, [0, 1, 2]),      # cut at the null
        (9, 11, [4, 5]),        # cut at the jump to node 10...
        (11, 12, [10]),         # ...and back
        (12, 13, [7]),          # cut around the weak position
        (13, 14, [8]),
        (14, 15, [9]),
    ]
    np.testing.assert_array_equal(fragments[4].confidence, np.float32([0.3]))
    # Worth: confidence x emission log-odds clipped to [0, 3], summed.
    np.testing.assert_allclose([f.worth for f in fragments],
                               [2.0 + 0.0 + 3.0, 4.0, 2.0, 2.0, 0.3 * 2.0, 2.0],
                               rtol=1e-6)
    assert split_fragments(np.full(4, -1), np.zeros(4), emission[:4], xyz,
                           HMMConfig(), AssemblyConfig()) == []


# ------------------------------------------------------ 3. assemble_copies


def fragment(start, nodes, conf=1.0):
    """A piece of path at ``conf`` per position, worth what
    :func:`split_fragments` gives sure residues (log-odds 3 per position)."""
    nodes = np.asarray(nodes)
    return Fragment(start, start + len(nodes), nodes,
                    np.full(len(nodes), conf, np.float32),
                    worth=3.0 * conf * len(nodes))


@pytest.fixture
def two_copies():
    """Copy A: nodes 0-9; copy B (nodes 10-19) 8 Å above it, so that the
    crossed junctions are out of reach (12.9 Å > 11.85 Å for 3 steps)."""
    a = zigzag(10)
    return np.vstack([a, a + [0.0, 0.0, 8.0]])


def as_lists(chains):
    return sorted(nodes.tolist() for nodes, _ in chains)


def test_assemble_copies_repairs_crossed_fragments(two_copies):
    # Two mosaic paths, both with a gap at positions 4-5: A's N-terminal
    # piece then B's C-terminal piece, and the other way round.
    fragments = [fragment(0, [0, 1, 2, 3]), fragment(6, [16, 17, 18, 19]),
                 fragment(0, [10, 11, 12, 13]), fragment(6, [6, 7, 8, 9])]
    chains = assemble_copies(fragments, 2, 10, two_copies, HMMConfig(),
                             AssemblyConfig())
    assert as_lists(chains) == [[0, 1, 2, 3, -1, -1, 6, 7, 8, 9],
                                [10, 11, 12, 13, -1, -1, 16, 17, 18, 19]]
    for nodes, conf in chains:
        assert conf.dtype == np.float32
        np.testing.assert_array_equal(conf, np.where(nodes >= 0, 1.0, 0.0))


def test_assemble_copies_leaves_out_an_overlapping_scrap(two_copies):
    xyz = np.vstack([two_copies, [[0.0, 30.0, 0.0], [3.8, 30.0, 0.0],
                                  [7.6, 30.0, 0.0], [11.4, 30.0, 0.0]]])
    scrap = fragment(3, [20, 21, 22, 23], conf=0.1)   # positions 3-6
    fragments = [fragment(0, [0, 1, 2, 3]), fragment(6, [16, 17, 18, 19]), scrap,
                 fragment(0, [10, 11, 12, 13]), fragment(6, [6, 7, 8, 9])]
    chains = assemble_copies(fragments, 2, 10, xyz, HMMConfig(), AssemblyConfig())
    assert as_lists(chains) == [[0, 1, 2, 3, -1, -1, 6, 7, 8, 9],
                                [10, 11, 12, 13, -1, -1, 16, 17, 18, 19]]


def test_assemble_copies_fills_a_gap_by_geometry(two_copies):
    # Weak pieces for the gap at 4-5: A's true nodes join copy A (two clean
    # steps), a far-away pair is left out (two jumps cost more than it is worth).
    xyz = np.vstack([two_copies, [[0.0, 40.0, 0.0], [3.8, 40.0, 0.0]]])
    fragments = [fragment(0, [0, 1, 2, 3]), fragment(6, [6, 7, 8, 9]),
                 fragment(4, [4, 5], conf=0.2), fragment(4, [20, 21], conf=0.2),
                 fragment(0, [10, 11, 12, 13]), fragment(6, [16, 17, 18, 19])]
    chains = assemble_copies(fragments, 2, 10, xyz, HMMConfig(), AssemblyConfig())
    assert as_lists(chains) == [list(range(10)),
                                [10, 11, 12, 13, -1, -1, 16, 17, 18, 19]]


def test_assemble_copies_with_fewer_fragments_than_chains(two_copies):
    chains = assemble_copies([fragment(2, [0, 1, 2])], 3, 6, two_copies,
                             HMMConfig(), AssemblyConfig())
    assert as_lists(chains) == [[-1, -1, 0, 1, 2, -1]]
    assert assemble_copies([], 2, 6, two_copies, HMMConfig(), AssemblyConfig()) == []


def test_assemble_copies_longest_chain_first(two_copies):
    fragments = [fragment(0, [10, 11, 12]), fragment(0, [0, 1, 2, 3, 4, 5])]
    chains = assemble_copies(fragments, 2, 6, two_copies, HMMConfig(),
                             AssemblyConfig())
    assert [nodes.tolist() for nodes, _ in chains] == [
        [0, 1, 2, 3, 4, 5], [10, 11, 12, -1, -1, -1]]


def test_assemble_copies_starting_a_chain_costs_a_jump(two_copies):
    # A 2-residue scrap (worth 6) would have to open the second chain, at
    # jump_penalty (8): it is left out instead.
    fragments = [fragment(0, [10, 11]), fragment(0, [0, 1, 2, 3, 4, 5])]
    chains = assemble_copies(fragments, 2, 6, two_copies, HMMConfig(),
                             AssemblyConfig())
    assert [nodes.tolist() for nodes, _ in chains] == [[0, 1, 2, 3, 4, 5]]


# ------------------------------------------- 4. more copies than candidates


def test_more_copies_than_the_candidates_hold_come_back_null():
    rng = np.random.default_rng(0)
    n = 40
    trace = generate_chain(n, rng)
    seq = rng.integers(0, 20, n)
    decoded = thread_assembly(trace, peaked(seq), [seq], [3])
    assert_well_formed(decoded, [n], [3])
    [[(first, conf), second, third]] = decoded
    np.testing.assert_array_equal(first, np.arange(n))
    assert (conf > 0.5).all()
    for nodes, conf in (second, third):
        np.testing.assert_array_equal(nodes, -1)
        np.testing.assert_array_equal(conf, 0.0)


# ------------------------------------------------------ 5. auto copies


def simulated_oligomer(copies: int, seed: int = 1, n: int = 40):
    """``copies`` packed copies of one chain as realistic detector output
    (noise, soft and sometimes wrong scores, a few missing residues and 250
    nodes in all, a third of the decoys near the chain)."""
    rng = np.random.default_rng(seed)
    chain = generate_chain(n, rng)
    seq = "".join(rng.choice(list(ALPHABET), n))
    realism = Realism(coord_noise=0.1, top1_accuracy=0.9, missing_fraction=0.03,
                      near_decoy_fraction=0.3, node_budget=250)
    traces = pack_chains([chain] * copies, rng)
    sim = simulate([(seq, t) for t in traces], realism, rng)
    return sim, encode_sequence(seq)


@pytest.mark.parametrize("present", [3, 1])
def test_auto_copies_finds_the_copies_present(present):
    sim, seq = simulated_oligomer(present)
    decoded = thread_assembly(sim.xyz, sim.aa_probs, [seq], [None],
                              HMMConfig(noise=0.1))
    assert_well_formed(decoded, [len(seq)], [present])
    score = score_assembly([sim.truth], [[nodes for nodes, _ in decoded[0]]])
    assert score["strict"] >= 0.95 * score["positions"]


def test_auto_copies_stop_at_max_copies():
    sim, seq = simulated_oligomer(3)
    decoded = thread_assembly(sim.xyz, sim.aa_probs, [seq], [None],
                              HMMConfig(noise=0.1), assembly=AssemblyConfig(max_copies=2))
    assert_well_formed(decoded, [len(seq)], [2])


@pytest.mark.parametrize("assembly, expected", [
    # A full copy (30 confident residues) and 12 residues of a second one.
    (AssemblyConfig(min_copy_fraction=0.5), 1),     # 12 < max(10, 15)
    (AssemblyConfig(min_copy_fraction=0.3), 2),     # 12 >= max(10, 9)
    (AssemblyConfig(min_copy_fraction=0.0, min_copy_residues=13), 1),
    (AssemblyConfig(min_copy_fraction=0.4), 2),     # 12 >= 12: kept
])
def test_auto_copies_thresholds(assembly, expected):
    rng = np.random.default_rng(0)
    n = 30
    chain = generate_chain(n, rng)
    x, y = pack_chains([chain, chain], rng)
    seq = rng.integers(0, 20, n)
    scene = Scene()
    scene.add(seq, x)
    scene.add(seq, y, np.arange(n) < 12)
    xyz, probs = scene.arrays()
    decoded = thread_assembly(xyz, probs, [seq], [None], assembly=assembly)
    assert_well_formed(decoded, [n], [expected])
    np.testing.assert_array_equal(decoded[0][0][0], np.arange(n))
    if expected == 2:
        np.testing.assert_array_equal(decoded[0][1][0][:12], np.arange(n, n + 12))


def test_auto_copies_without_any_node_is_one_null_copy():
    seq = np.zeros(6, np.int64)
    decoded = thread_assembly(zigzag(4), peaked(np.full(4, 18), 0.99), [seq], [None])
    assert_well_formed(decoded, [6], [1])
    np.testing.assert_array_equal(decoded[0][0][0], -1)


# --------------------------------------------------- 6. different entities


def test_touching_entities_keep_their_own_nodes():
    scene, seq_a, seq_b = motif_scene(seed=0, peak=0.9)
    xyz, probs = scene.arrays()
    # Threaded independently, A claims B's motif nodes: owners must decide.
    [(alone_a, _)] = hmm_thread(xyz, probs, [seq_a])
    [(alone_b, _)] = hmm_thread(xyz, probs, [seq_b])
    assert len(np.intersect1d(alone_a[alone_a >= 0], alone_b[alone_b >= 0])) >= 10
    decoded = thread_assembly(xyz, probs, [seq_a, seq_b], [1, 1])
    assert_well_formed(decoded, [40, 40], [1, 1])
    [[(nodes_a, _)], [(nodes_b, _)]] = decoded
    assert scene.copies_of(nodes_a) == {0}
    np.testing.assert_array_equal(nodes_a, scene.truth[0])
    np.testing.assert_array_equal(nodes_b, scene.truth[1])


def test_touching_entities_keep_their_own_nodes_with_sharp_scores():
    # With sharp scores the borrowed motif's posterior in A ties B's own, so
    # owner resolution leaves B's nodes 42-46 in A; the refinement moves the
    # run (bounded by jumps in A) into B's gap, where it raises the score.
    scene, seq_a, seq_b = motif_scene(seed=3, peak=1.0)
    xyz, probs = scene.arrays()
    decoded = thread_assembly(xyz, probs, [seq_a, seq_b], [1, 1])
    assert_well_formed(decoded, [40, 40], [1, 1])
    [[(nodes_a, _)], [(nodes_b, _)]] = decoded
    assert scene.copies_of(nodes_a) == {0}
    np.testing.assert_array_equal(nodes_b, scene.truth[1])


def test_touching_entities_given_in_the_other_order():
    # The same scene with the entities given the other way round.
    scene, seq_a, seq_b = motif_scene(seed=0, peak=0.9)
    xyz, probs = scene.arrays()
    [[(nodes_b, _)], [(nodes_a, _)]] = thread_assembly(xyz, probs, [seq_b, seq_a],
                                                       [1, 1])
    np.testing.assert_array_equal(nodes_a, scene.truth[0])
    np.testing.assert_array_equal(nodes_b, scene.truth[1])


# -------------------------------------- 7. copies with different termini


def truncated_pair(seed: int = 0, n: int = 30):
    """A full copy (nodes 0-29) and a copy lacking residues 0-4 (nodes
    30-54) of one chain, touching."""
    rng = np.random.default_rng(seed)
    chain = generate_chain(n, rng)
    x, y = pack_chains([chain, chain], rng)
    seq = rng.integers(0, 20, n)
    return x, y, seq


@pytest.mark.parametrize("full_first", [True, False])
def test_records_with_other_termini_are_threaded_as_copies(full_first):
    x, y, seq = truncated_pair()
    short = seq[5:]
    assert copy_groups([seq, short]) == [[(0, 0), (1, 5)]]
    xyz = np.vstack([x, y[5:]])
    probs = np.vstack([peaked(seq), peaked(short)])
    entities = [seq, short] if full_first else [short, seq]
    decoded = thread_assembly(xyz, probs, entities, [1, 1])
    if not full_first:
        decoded = decoded[::-1]
    assert_well_formed(decoded, [30, 25], [1, 1])
    [[(full, _)], [(trunc, _)]] = decoded
    np.testing.assert_array_equal(full, np.arange(30))
    np.testing.assert_array_equal(trunc, np.arange(30, 55))


def test_auto_copies_go_to_the_auto_entity_of_a_copy_group():
    x, y, seq = truncated_pair()
    rng = np.random.default_rng(1)
    z = pack_chains([x, y, y], rng)[2]   # a second truncated copy
    short = seq[5:]
    xyz = np.vstack([x, y[5:], z[5:]])
    probs = np.vstack([peaked(seq), peaked(short), peaked(short)])
    decoded = thread_assembly(xyz, probs, [seq, short], [1, None])
    assert_well_formed(decoded, [30, 25], [1, 2])


# --------------------------------------------------------------- 8. errors


@pytest.mark.parametrize("bad", [0, -1, 2.5, 2.0, True, "2"])
def test_copy_count_errors_name_the_entity(bad):
    seq = np.zeros(4, np.int64)
    message = ("entity 1: copies must be a positive integer or None (auto), "
               f"not {bad!r}")
    with pytest.raises(InputError, match=re.escape(message)):
        thread_assembly(zigzag(4), peaked(seq), [seq, seq], [1, bad])
    # Checked before the empty-candidate shortcut too.
    with pytest.raises(InputError, match=re.escape(message)):
        thread_assembly(np.zeros((0, 3)), np.zeros((0, 20)), [seq, seq], [1, bad])


def test_copy_counts_of_the_wrong_length():
    seq = np.zeros(4, np.int64)
    with pytest.raises(InputError, match="^3 copy counts for 2 entities$"):
        thread_assembly(zigzag(4), peaked(seq), [seq, seq], [1, 1, 1])
    with pytest.raises(InputError, match="^0 copy counts for 1 entities$"):
        thread_assembly(zigzag(4), peaked(seq), [seq], [])


def test_numpy_integer_copy_counts_are_accepted():
    seq = np.arange(4)
    decoded = thread_assembly(zigzag(4), peaked(seq), [seq], np.array([2]))
    assert_well_formed(decoded, [4], [2])


def test_candidate_and_sequence_errors_are_reported():
    seq = np.zeros(4, np.int64)
    with pytest.raises(InputError, match=r"aa_probs has shape \(4, 19\)"):
        thread_assembly(zigzag(4), np.ones((4, 19)), [seq], [1])
    with pytest.raises(InputError, match=r"sequence 1 has residue indices outside"):
        thread_assembly(zigzag(4), peaked(seq), [seq, np.array([0, 21])], [1, 1])


@pytest.mark.parametrize("kwargs, message", [
    (dict(weak_confidence=1.5), r"AssemblyConfig.weak_confidence must be in \[0, 1\]"),
    (dict(min_copy_fraction=-0.1),
     r"AssemblyConfig.min_copy_fraction must be in \[0, 1\]"),
    (dict(loose_link_sigmas=-1.0), "AssemblyConfig.loose_link_sigmas must be >= 0"),
    (dict(drop_weight=-1.0), "AssemblyConfig.drop_weight must be >= 0"),
    (dict(confidence_radius=-1.0), "AssemblyConfig.confidence_radius must be >= 0"),
    (dict(min_copy_residues=-1), "AssemblyConfig.min_copy_residues must be >= 0"),
    (dict(workers=-1), "AssemblyConfig.workers must be >= 0"),
    (dict(max_copies=0), "AssemblyConfig.max_copies must be >= 1"),
])
def test_assembly_config_validation(kwargs, message):
    with pytest.raises(ValueError, match=message):
        AssemblyConfig(**kwargs)


def test_empty_candidate_set_gives_null_copies():
    a, b = np.arange(5), np.arange(3)
    decoded = thread_assembly(np.zeros((0, 3)), np.zeros((0, 20)), [a, b], [2, None])
    assert_well_formed(decoded, [5, 3], [2, 1])
    for copies in decoded:
        for nodes, conf in copies:
            np.testing.assert_array_equal(nodes, -1)
            np.testing.assert_array_equal(conf, 0.0)


@pytest.mark.parametrize("entity", ["no matching node", "all unknown", "empty"])
def test_copies_that_find_no_node_come_back_null(entity):
    xyz, probs = zigzag(8), peaked(np.zeros(8, np.int64), 0.99)   # all alanine
    seq = {"no matching node": np.full(8, 18),                   # poly-W
           "all unknown": np.full(8, UNKNOWN_INDEX),
           "empty": np.zeros(0, np.int64)}[entity]
    decoded = thread_assembly(xyz, probs, [seq], [2])
    assert_well_formed(decoded, [len(seq)], [2])
    for nodes, _ in decoded[0]:
        np.testing.assert_array_equal(nodes, -1)


# ------------------------------------------------------ 9. worker processes


def test_worker_processes_give_the_in_process_result(monkeypatch, caplog):
    # Three copy groups (a homodimer and the two motif entities, whose owner
    # conflict is resolved after the workers return).
    scene, seq_a, seq_b = motif_scene(seed=0, peak=0.9)
    rng = np.random.default_rng(5)
    seq_c = rng.integers(0, 20, 30)
    chain = generate_chain(30, rng)
    placed = pack_chains([np.vstack(scene.xyz), chain, chain], rng)
    scene.add(seq_c, placed[1])
    scene.add(seq_c, placed[2])
    xyz, probs = scene.arrays()
    args = (xyz, probs, [seq_a, seq_b, seq_c], [1, 1, 2])
    serial = thread_assembly(*args, assembly=AssemblyConfig(workers=1))
    monkeypatch.setattr(assembly_module, "_PARALLEL_MIN_WORK", 0)
    with caplog.at_level(logging.INFO, logger="tf_structgen.decoding.assembly"):
        parallel = thread_assembly(*args, assembly=AssemblyConfig(workers=2))
    assert "threading 3 copy groups in 2 worker processes" in caplog.text
    assert "worker processes failed" not in caplog.text
    assert_well_formed(parallel, [40, 40, 30], [1, 1, 2])
    for copies_s, copies_p in zip(serial, parallel):
        for (nodes_s, conf_s), (nodes_p, conf_p) in zip(copies_s, copies_p):
            np.testing.assert_array_equal(nodes_p, nodes_s)
            np.testing.assert_array_equal(conf_p, conf_s)
    [c0, c1] = [scene.copies_of(nodes) for nodes, _ in parallel[2]]
    assert {frozenset(c0), frozenset(c1)} == {frozenset({2}), frozenset({3})}


# ------------------------------------------------ 10. log_emission_prior


def two_copy_nodes(n: int = 30):
    rng = np.random.default_rng(0)
    chain = generate_chain(n, rng)
    x, y = pack_chains([chain, chain], rng)
    seq = rng.integers(0, 20, n)
    return np.vstack([x, y]), np.vstack([peaked(seq)] * 2), seq


def scene_copy(nodes):
    """The copies (0: nodes 0-29, 1: nodes 30-59) of two_copy_nodes a path uses."""
    return {int(j) // 30 for j in nodes[nodes >= 0]}


def test_emission_prior_moves_the_assignment():
    xyz, probs, seq = two_copy_nodes()
    [[(nodes, _)]] = thread_assembly(xyz, probs, [seq], [1])
    assert scene_copy(nodes) in ({0}, {1})
    other = 30 if nodes[0] < 30 else 0
    prior = np.zeros((30, 60))
    prior[0, other] = 50.0
    [[(moved, _)]] = thread_assembly(xyz, probs, [seq], [1], log_emission_prior=[prior])
    assert moved[0] == other
    # The rest of the chain follows the prior onto the other copy.
    np.testing.assert_array_equal(moved, other + np.arange(30))


def test_emission_prior_is_per_entity():
    xyz, probs, seq = two_copy_nodes()
    other_seq = (seq + 1) % 20
    prior = np.zeros((30, 60))
    prior[:, 30:] = -np.inf          # entity 0 ruled out of copy 1
    zero = np.zeros((30, 60))
    as_list = thread_assembly(xyz, probs, [seq, other_seq], [1, 1],
                              log_emission_prior=[prior, zero])
    as_one = thread_assembly(xyz, probs, [seq, other_seq], [1, 1],
                             log_emission_prior=np.vstack([prior, zero]))
    for (copies_l, copies_o) in zip(as_list, as_one):
        np.testing.assert_array_equal(copies_l[0][0], copies_o[0][0])
    np.testing.assert_array_equal(as_list[0][0][0], np.arange(30))
    # The same prior for both copies of one entity: the second copy, banned
    # from copy 1 by the prior and from copy 0 by the first, finds nothing.
    [[(first, _), (second, _)]] = thread_assembly(xyz, probs, [seq], [2],
                                                  log_emission_prior=[prior])
    np.testing.assert_array_equal(first, np.arange(30))
    np.testing.assert_array_equal(second, -1)


@pytest.mark.parametrize("prior, message", [
    ([np.zeros((30, 60))],
     re.escape("log_emission_prior must be [60, 60] or one [n, 60] array per "
               "chain (chain lengths [30, 30])")),
    ([np.zeros((30, 60)), np.zeros((30, 59))],
     re.escape("log_emission_prior must be [60, 60] or one [n, 60] array per chain")),
    (np.zeros((59, 60)), "log_emission_prior must be"),
    ([np.zeros((30, 60)), np.full((30, 60), np.nan)],
     "log_emission_prior contains NaN"),
])
def test_emission_prior_errors(prior, message):
    xyz, probs, seq = two_copy_nodes()
    with pytest.raises(InputError, match=message):
        thread_assembly(xyz, probs, [seq, (seq + 1) % 20], [1, 1],
                        log_emission_prior=prior)


# -------------------------------------- learned link scores


def test_link_scores_reach_the_transitions():
    from tf_structgen.decoding.graph import CandidateGraph, LinkScores

    xyz = zigzag(6)
    graph = CandidateGraph(xyz, HMMConfig())
    scores = LinkScores(np.array([1, 2]), np.array([2, 3]), np.array([0.5, -2.0]))
    scored = CandidateGraph(xyz, HMMConfig(), scores)
    delta = dict(zip(zip(scored.src.tolist(), scored.dst.tolist()),
                     (scored.weight - graph.weight).tolist()))
    assert delta[(1, 2)] == pytest.approx(0.5)
    assert delta[(2, 3)] == pytest.approx(-2.0)
    assert delta[(2, 1)] == 0.0 and delta[(3, 4)] == 0.0   # direction matters
    # A graph over a subset maps its nodes to the candidate set's indices.
    sub = CandidateGraph(xyz[[1, 2, 3]], HMMConfig(), scores, nodes=np.array([1, 2, 3]))
    full = dict(zip(zip(graph.src.tolist(), graph.dst.tolist()), graph.weight.tolist()))
    local = dict(zip(zip(sub.src.tolist(), sub.dst.tolist()), sub.weight.tolist()))
    assert local[(0, 1)] == pytest.approx(full[(1, 2)] + 0.5)
    assert local[(1, 2)] == pytest.approx(full[(2, 3)] - 2.0)


def test_link_scores_move_the_decoded_path():
    xyz = zigzag(8)
    probs = peaked(np.zeros(8, np.int64), 0.99)
    seq = np.zeros(8, np.int64)
    [[(plain, _)]] = thread_assembly(xyz, probs, [seq], [1])
    assert plain.tolist() in (list(range(8)), list(range(8))[::-1])
    from tf_structgen.decoding.graph import LinkScores

    # Forbid-ish every forward link: the chain runs the other way.
    forward = plain[:-1], plain[1:]
    scores = LinkScores(forward[0], forward[1], np.full(7, -30.0))
    [[(moved, _)]] = thread_assembly(xyz, probs, [seq], [1], link_scores=scores)
    assert moved.tolist() == plain.tolist()[::-1]
    zero = LinkScores(forward[0], forward[1], np.zeros(7))
    [[(same, _)]] = thread_assembly(xyz, probs, [seq], [1], link_scores=zero)
    assert same.tolist() == plain.tolist()


def test_link_scores_reject_bad_arrays():
    from tf_structgen.decoding.graph import LinkScores

    with pytest.raises(ValueError, match="must be \\[K\\] arrays"):
        LinkScores(np.array([0, 1]), np.array([1]), np.array([0.0, 1.0]))
    with pytest.raises(ValueError, match="finite"):
        LinkScores(np.array([0]), np.array([1]), np.array([np.nan]))
