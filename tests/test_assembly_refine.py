"""Tests of tf_structgen.decoding.refine (local search over a decoded
assembly) and of junctions (the junction geometry it scores with).

Decodes are built by hand from known truths with one error planted (two
copies exchanged at a junction, a run of one copy threaded into another
copy's missing residues); refinement must undo exactly that error, never
lower the assembly's score and never use a node twice.
"""

import json
from pathlib import Path

import numpy as np
import pytest

from tf_structgen.common.residue_constants import ALPHABET, encode_sequence
from tf_structgen.data.backbone import generate_chain, generate_solenoid, pack_chains
from tf_structgen.data.simulate import Realism, simulate
from tf_structgen.decoding import assembly as assembly_module
from tf_structgen.decoding.assembly import thread_assembly
from tf_structgen.decoding.config import AssemblyConfig, HMMConfig
from tf_structgen.decoding.hmm import _check_nodes
from tf_structgen.decoding.junctions import junction_cost, reach
from tf_structgen.decoding import refine as refine_module
from tf_structgen.decoding.refine import (
    broken_runs,
    chain_score,
    copy_sets,
    refine,
    repeat_shifts,
    suspect_windows,
)
from tf_structgen.decoding.sterics import clash_distance, clashes
from tf_structgen.evaluation.assemblies import score_assembly


def peaked(seq: np.ndarray, peak: float = 0.9) -> np.ndarray:
    probs = np.full((len(seq), 20), (1.0 - peak) / 19)
    probs[np.arange(len(seq)), seq] = peak
    return probs


def decoder_for(xyz, probs, seqs, config=HMMConfig()):
    """The assembly decoder's own filler over a candidate set."""
    xyz, log_odds = _check_nodes(xyz, probs, config)
    return assembly_module._Decoder(xyz, log_odds, seqs, [None] * len(seqs), config,
                                    AssemblyConfig())


def total_score(decoded, decoder) -> float:
    return sum(chain_score(nodes, decoder.emission_at(e, nodes), decoder.xyz, decoder.config)
               for e, copies in enumerate(decoded) for nodes, _ in copies)


def as_decoded(paths):
    return [[(np.asarray(p, np.int32), np.where(np.asarray(p) >= 0, 0.9, 0.0).astype(np.float32))
             for p in paths]]


def packed_copies(seed: int, count: int = 2, n: int = 60, missing=None):
    """``count`` touching copies of one chain; returns xyz, probs, seq,
    truth. ``missing``: per copy, the residues without a node (or None)."""
    rng = np.random.default_rng(seed)
    chain = generate_chain(n, rng)
    # The decoder refuses to thread a steric clash (two Cα atoms three or
    # more residues apart closer than a real protein has them); the
    # generator keeps 4 Å.
    assert not len(clashes(np.arange(n), chain, clash_distance(HMMConfig())))
    traces = pack_chains([chain] * count, rng)
    seq = rng.integers(0, 20, n)
    truth, xyz, probs, size = [], [], [], 0
    for trace, drop in zip(traces, missing or (None,) * count):
        keep = np.ones(n, bool)
        if drop is not None:
            keep[drop] = False
        t = np.full(n, -1)
        t[keep] = size + np.arange(keep.sum())
        size += int(keep.sum())
        truth.append(t)
        xyz.append(trace[keep])
        probs.append(peaked(seq[keep]))
    return np.vstack(xyz), np.vstack(probs), seq, truth


def two_copies(seed: int, n: int = 60, missing=None):
    """Two touching copies of one chain; returns xyz, probs, seq, truth."""
    return packed_copies(seed, 2, n, missing)


# ------------------------------------------------------------ chain_score


def test_chain_score_worked_values():
    config = HMMConfig()
    xyz = np.array([[0.0, 0, 0], [3.8, 0, 0], [7.6, 0, 0], [11.4, 0, 0], [40.0, 0, 0]])
    emission = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    # Positions 1..3 on nodes 0..2 (exact steps), 0, 4 and 5 null.
    nodes = np.array([-1, 0, 1, 2, -1, -1])
    expected = 2.0 + 3.0 + 4.0 - config.null_cost - (config.gap_open + config.null_cost)
    assert chain_score(nodes, emission, xyz, config) == pytest.approx(expected)
    # A gap of two residues between nodes 2 and 3 (11.4 - 7.6 = 3.8 Å, a
    # second-neighbour distance too short): the junction cost of that gap.
    nodes = np.array([0, 1, 2, -1, 3, -1])
    gap = float(junction_cost(np.array([3.8]), np.array([2]), config)[0])
    expected = 1.0 + 2.0 + 3.0 + 5.0 - gap - config.gap_open
    assert chain_score(nodes, emission, xyz, config) == pytest.approx(expected)
    assert chain_score(np.full(6, -1), emission, xyz, config) == pytest.approx(
        -6 * config.null_cost)


def test_broken_runs_are_bounded_by_jumps():
    config = HMMConfig()
    xyz = np.array([[3.8 * k, 0.0, 0.0] for k in range(10)] + [[100.0, 0, 0], [103.8, 0, 0]])
    # Positions 0-1 on the far pair, then a clean run on nodes 0..9.
    nodes = np.array([10, 11] + list(range(10)))
    assert broken_runs(nodes, xyz, config) == [(0, 2), (2, 12)]
    assert broken_runs(nodes, xyz, config, max_run=5) == [(0, 2)]
    assert broken_runs(np.arange(10), xyz, config) == []      # no broken junction
    # A gap within reach is not broken.
    gapped = np.array([0, 1, -1, -1, 4, 5])
    assert broken_runs(gapped, xyz, config) == []
    assert float(np.linalg.norm(xyz[1] - xyz[4])) < float(reach(3, config))


# ------------------------------------------------------------ the moves


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_exchanged_copies_are_swapped_back(seed):
    xyz, probs, seq, (ta, tb) = two_copies(seed)
    decoder = decoder_for(xyz, probs, [seq])
    # Exchange the copies after the position where they are farthest apart.
    far = np.linalg.norm(xyz[ta[:-1]] - xyz[tb[1:]], axis=1) + np.linalg.norm(
        xyz[tb[:-1]] - xyz[ta[1:]], axis=1)
    cut = int(np.argmax(far[5:-5])) + 6
    mixed = [np.concatenate([ta[:cut], tb[cut:]]), np.concatenate([tb[:cut], ta[cut:]])]
    decoded = as_decoded(mixed)
    before = total_score(decoded, decoder)
    out = refine(decoded, decoder, decoder.confidence)
    got = [nodes for nodes, _ in out[0]]
    assert {tuple(g) for g in got} == {tuple(ta), tuple(tb)}
    assert total_score(out, decoder) > before
    for nodes, conf in out[0]:
        assert conf.dtype == np.float32 and (conf[nodes >= 0] > 0.5).all()


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_run_threaded_into_another_copy_goes_home(seed):
    # Copy 0 misses residues 0-2; copy 1 misses nothing. The decode puts
    # copy 1's residues 30-32 at copy 0's positions 0-2 (the same residue
    # types there: a repeated motif) and leaves copy 1 with a gap.
    n = 60
    xyz, probs, seq, (t0, t1) = two_copies(seed, n, missing=(slice(0, 3), None))
    seq[0:3] = seq[30:33]
    probs = np.vstack([peaked(seq[t0 >= 0]), peaked(seq)])
    decoder = decoder_for(xyz, probs, [seq])
    wrong0 = t0.copy()
    wrong0[0:3] = t1[30:33]
    wrong1 = t1.copy()
    wrong1[30:33] = -1
    decoded = as_decoded([wrong0, wrong1])
    before = total_score(decoded, decoder)
    out = refine(decoded, decoder, decoder.confidence)
    got = [nodes for nodes, _ in out[0]]
    np.testing.assert_array_equal(got[0], t0)
    np.testing.assert_array_equal(got[1], t1)
    assert total_score(out, decoder) > before


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_copies_that_took_each_others_window_backwards_get_it_back(seed):
    # A sequence that reads alike both ways at 30-34 (QEVEQ in the hexamer
    # 1hwu): each copy's decode holds the other copy's 30-34 backwards.
    # A tail exchange only moves the reversal; the window exchange undoes it.
    xyz, probs, seq, (ta, tb) = two_copies(seed)
    seq[33], seq[34] = seq[31], seq[30]
    assert (seq[30:35] == seq[30:35][::-1]).all()
    probs = np.vstack([peaked(seq), peaked(seq)])
    decoder = decoder_for(xyz, probs, [seq])
    wrong_a, wrong_b = ta.copy(), tb.copy()
    wrong_a[30:35], wrong_b[30:35] = tb[30:35][::-1], ta[30:35][::-1]
    decoded = as_decoded([wrong_a, wrong_b])
    before = total_score(decoded, decoder)
    out = refine(decoded, decoder, decoder.confidence)
    got = {tuple(nodes) for nodes, _ in out[0]}
    assert got == {tuple(ta), tuple(tb)}
    assert total_score(out, decoder) > before


def test_suspect_windows_worked_values():
    config = HMMConfig()
    line = [[3.8 * k, 0.0, 0.0] for k in range(12)]
    xyz = np.array(line + [[3.8 * 3, 5.0, 0.0], [3.8 * 4, 5.0, 0.0]])
    # 0-2 on the line, 3-4 detour to the two off-line nodes (links of 6.2 Å
    # and 5.0 Å: broken, then a stretched one costing >= 3), 5-11 back.
    nodes = np.array([0, 1, 2, 12, 13, 5, 6, 7, 8, 9, 10, 11])
    assert float(junction_cost(np.array([np.hypot(3.8, 5.0)]), 1, config)[0]) >= 3.0
    # Between suspect junctions, then 4 residues either side of each.
    assert suspect_windows(nodes, xyz, config) == [(0, 3), (3, 5), (5, 12), (0, 8), (0, 10)]
    assert suspect_windows(nodes, xyz, config, max_window=5) == [(0, 3), (3, 5)]
    # A clean chain has none; a plain gap alone makes no window.
    assert suspect_windows(np.arange(12), xyz, config) == []
    assert suspect_windows(np.array([0, 1, 2, -1, 4, 5]), xyz, config) == []


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_copies_exchanged_through_a_third_copys_bridge_are_separated(seed):
    # Copies a and b both miss residues 26-27 (as 6r79's D misses 24-25);
    # the decode runs a through three nodes of copy c (its 23-25) into b's
    # tail, and b into a's tail. No tail exchange separates them (a's bridge
    # stays in the way); emptying a window around the jumps does.
    gap = slice(26, 28)
    xyz, probs, seq, truth = packed_copies(seed, 3, missing=(gap, gap, None))
    ta, tb, tc = truth
    # The scene as described: a's residue 25 and b's residue 28 are far
    # apart, so the exchanged tails are joined by jumps. (Where the copies
    # touch at the gap, e.g. seed 0 here, 8.5 Å apart, the exchange is
    # nearly as good as the truth and the refinement may keep it.)
    assert np.linalg.norm(xyz[ta[25]] - xyz[tb[28]]) > 20.0
    decoder = decoder_for(xyz, probs, [seq])
    wrong_a = np.concatenate([ta[:23], tc[23:26], [-1, -1], tb[28:]])
    wrong_b = np.concatenate([tb[:28], ta[28:]])
    wrong_c = tc.copy()
    wrong_c[23:26] = -1
    decoded = as_decoded([wrong_a, wrong_b, wrong_c])
    before = total_score(decoded, decoder)
    out = refine(decoded, decoder, decoder.confidence)
    got = [nodes for nodes, _ in out[0]]
    assert {tuple(g) for g in got[:2]} == {tuple(ta), tuple(tb)}
    used = np.concatenate([g[g >= 0] for g in got])
    assert len(used) == len(set(used.tolist()))
    assert total_score(out, decoder) > before


def test_a_node_handed_over_in_a_move_keeps_its_new_owner():
    # A relocation sets the recipient first (it took a node of chain 0),
    # then chain 0: chain 0's update must not free the node it gave away,
    # or a later move hands it out a second time (a node in two chains:
    # seen with `constrained` on 1hwu before the fix).
    from tf_structgen.decoding.refine import _State

    xyz, probs, seq, (ta, tb) = two_copies(0)
    decoder = decoder_for(xyz, probs, [seq])
    state = _State(as_decoded([ta, tb]), decoder)
    given = int(ta[5])
    new_b = tb.copy()
    new_b[5] = given
    new_a = ta.copy()
    new_a[5] = -1
    state.set(1, new_b, state.score(1, new_b))
    state.set(0, new_a, state.score(0, new_a))
    assert state.owner[given] == 1
    assert state.owner[int(tb[5])] == -1          # chain 1's old node is free
    assert state.banned_for(0)[given] and not state.banned_for(1)[given]


def test_a_correct_decode_is_left_alone():
    xyz, probs, seq, truth = two_copies(3, missing=(slice(20, 24), slice(38, 42)))
    decoder = decoder_for(xyz, probs, [seq])
    decoded = as_decoded(truth)
    out = refine(decoded, decoder, decoder.confidence)
    for (nodes, conf), (old_nodes, old_conf) in zip(out[0], decoded[0]):
        np.testing.assert_array_equal(nodes, old_nodes)
        np.testing.assert_array_equal(conf, old_conf)   # untouched chains keep theirs


# ---------------------------------------------- through thread_assembly


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_refinement_raises_the_score_and_keeps_nodes_unique(seed):
    # Three touching copies at hard realism: noise, wrong scores, missing
    # residues and near decoys, so that the decode has junctions to mend.
    rng = np.random.default_rng(seed)
    n = 80
    chain = generate_chain(n, rng)
    letters = "".join(rng.choice(list(ALPHABET), n))
    realism = Realism(coord_noise=0.4, top1_accuracy=0.75, missing_fraction=0.06,
                      near_decoy_fraction=0.6, node_budget=320)
    sim = simulate([(letters, t) for t in pack_chains([chain] * 3, rng)], realism, rng)
    seq = encode_sequence(letters)
    config = HMMConfig(noise=0.4)
    plain = thread_assembly(sim.xyz, sim.aa_probs, [seq], [3], config,
                            assembly=AssemblyConfig(refine=False))
    refined = thread_assembly(sim.xyz, sim.aa_probs, [seq], [3], config)
    decoder = decoder_for(sim.xyz, sim.aa_probs, [seq], config)
    assert total_score(refined, decoder) >= total_score(plain, decoder) - 1e-6
    used = np.concatenate([nodes[nodes >= 0] for nodes, _ in refined[0]])
    assert len(used) == len(np.unique(used))
    for nodes, conf in refined[0]:
        assert nodes.dtype == np.int32 and conf.dtype == np.float32
        np.testing.assert_array_equal(conf[nodes < 0], 0.0)


# ------------------------------------------------------ repeat swaps


def repeat_chain(seed: int, unit: int = 16, units: int = 4):
    """A solenoid of ``units`` identical repeats with a repeated sequence,
    as ankyrin or HEAT repeats are; returns xyz, probs, seq."""
    rng = np.random.default_rng(seed)
    xyz = generate_solenoid(unit, units, rng)
    seq = np.tile(rng.integers(0, 20, unit), units)
    return xyz, peaked(seq), seq


def test_repeat_shifts_find_the_period():
    seq = encode_sequence("MKT" + "DSDGRTPLHYAAENGHKEIVKLLLSKGADPNAK" * 3 + "LEKQG")
    # A window of the second unit: one unit back and one unit forward.
    assert sorted(repeat_shifts(seq, 40, 50)) == [-33, 33]
    # Too short to say, or no repeat at all.
    assert repeat_shifts(seq, 40, 43) == []
    assert repeat_shifts(encode_sequence("ACDEFGHIKLMNPQRSTVWY" * 1), 2, 8) == []
    # Unknown residues match nothing.
    unknown = encode_sequence("X" * 40)
    assert repeat_shifts(unknown, 5, 12) == []


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_slipped_repeats_of_one_chain_are_swapped_back(seed):
    # Two segments of one chain, one repeat unit apart, threaded through
    # each other's nodes: the emissions cannot tell (same residues), only
    # the four broken junctions can. No copy to exchange with; the repeat
    # swap empties both segments and fills the chain again.
    unit = 16
    xyz, probs, seq = repeat_chain(seed, unit)
    truth = np.arange(len(seq))
    wrong = truth.copy()
    a = slice(unit + 4, unit + 10)
    b = slice(2 * unit + 4, 2 * unit + 10)
    wrong[a], wrong[b] = truth[b], truth[a]
    decoder = decoder_for(xyz, probs, [seq])
    decoded = as_decoded([wrong])
    before = total_score(decoded, decoder)
    assert before < total_score(as_decoded([truth]), decoder)
    out = refine(decoded, decoder, decoder.confidence)
    np.testing.assert_array_equal(out[0][0][0], truth)
    assert total_score(out, decoder) > before



@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_slip_into_a_touching_copy_one_repeat_off_is_swapped_back(seed):
    # Two touching copies of a repeat solenoid. Over one window, chain 0
    # runs along copy 1 one repeat unit further on, and chain 1 holds
    # chain 0's window there: same residues, so only the junctions tell.
    # The swap must look for the window's repeat partner in the other
    # chain, not only in its own.
    unit = 16
    xyz, _, seq = repeat_chain(seed, unit)
    n = len(seq)
    rng = np.random.default_rng(seed)
    traces = pack_chains([xyz, xyz], rng)
    xyz = np.vstack(traces)
    probs = np.vstack([peaked(seq), peaked(seq)])
    truth = [np.arange(n), n + np.arange(n)]
    wrong = [t.copy() for t in truth]
    a = slice(unit + 4, unit + 10)
    b = slice(2 * unit + 4, 2 * unit + 10)
    wrong[0][a], wrong[1][b] = truth[1][b], truth[0][a]
    decoder = decoder_for(xyz, probs, [seq])
    decoded = as_decoded(wrong)
    before = total_score(decoded, decoder)
    assert before < total_score(as_decoded(truth), decoder)
    out = refine(decoded, decoder, decoder.confidence)
    for got, want in zip(out[0], truth):
        np.testing.assert_array_equal(got[0], want)
    assert total_score(out, decoder) > before
    # The scene's premise: the moves that look in one chain only leave it
    # (the rethreads, which decode whole chains again, mend it at seed 0).
    kept = refine(as_decoded(wrong), decoder, decoder.confidence, repeat_swap=False,
                  rethread=False)
    assert any(not np.array_equal(got[0], want) for got, want in zip(kept[0], truth))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_gap_refill_frees_the_wrong_residues_beside_a_gap(seed):
    # Copy 0 has a gap (20-24) whose neighbours 19 and 25 sit on decoys a
    # few Å off their true nodes, with the right labels. Filling the gap
    # keeps them as anchors; the gap refill frees them with the gap and
    # threads the stretch again through the true nodes. (Without the gap
    # refill, seed 1 stays wrong; at seeds 0 and 2 the window exchange with
    # the touching copy mends it too.)
    n = 60
    xyz, probs, seq, truth = two_copies(seed, n)
    rng = np.random.default_rng(seed)
    decoys = []
    for t in (19, 25):
        while True:
            step = rng.normal(size=3)
            spot = xyz[truth[0][t]] + 2.6 * step / np.linalg.norm(step)
            if np.linalg.norm(np.vstack([xyz] + decoys) - spot, axis=1).min() > 2.4:
                break
        decoys.append(spot[None])
    xyz = np.vstack([xyz] + decoys)
    probs = np.vstack([probs, peaked(seq[[19, 25]])])
    wrong = [truth[0].copy(), truth[1].copy()]
    wrong[0][20:25] = -1
    wrong[0][[19, 25]] = [len(xyz) - 2, len(xyz) - 1]
    decoder = decoder_for(xyz, probs, [seq])
    decoded = as_decoded(wrong)
    before = total_score(decoded, decoder)
    assert before < total_score(as_decoded(truth), decoder)
    # Filling the gap alone keeps the decoys.
    banned = np.zeros(len(xyz), bool)
    banned[truth[1]] = True
    filled = decoder.fill_nodes(0, wrong[0], banned)
    assert list(filled[[19, 25]]) == [len(xyz) - 2, len(xyz) - 1]
    out = refine(decoded, decoder, decoder.confidence)
    for got, want in zip(out[0], truth):
        np.testing.assert_array_equal(got[0], want)
    assert total_score(out, decoder) > before


@pytest.mark.parametrize("seed", [1, 4, 5])
def test_a_chain_slipped_by_a_unit_over_two_windows_is_threaded_again(seed):
    # A solenoid of five 16-residue units whose sequence repeats only in
    # part (30 % of the residues mutated, below the repeat swap's identity).
    # Two touching copies; chain 0 threads units 2 and 3 through each
    # other's nodes (5eil at realistic realism, seed 3: two slipped
    # segments, each exchange alone scoring about level). The rethread
    # decodes the chain again over the free nodes near its own.
    unit = 16
    xyz, _, seq = repeat_chain(seed, unit, units=5)
    seq = seq.copy()
    mutated = np.random.default_rng(99 + seed).random(len(seq)) < 0.3
    seq[mutated] = np.random.default_rng(7 + seed).integers(0, 20, mutated.sum())
    n = len(seq)
    traces = pack_chains([xyz, xyz], np.random.default_rng(seed))
    xyz = np.vstack(traces)
    probs = np.vstack([peaked(seq), peaked(seq)])
    truth = [np.arange(n), n + np.arange(n)]
    wrong = [t.copy() for t in truth]
    a, b = slice(unit + 4, 2 * unit + 4), slice(2 * unit + 4, 3 * unit + 4)
    wrong[0][a], wrong[0][b] = truth[0][b], truth[0][a]
    decoder = decoder_for(xyz, probs, [seq])
    before = total_score(as_decoded(wrong), decoder)
    assert before < total_score(as_decoded(truth), decoder)
    out = refine(as_decoded(wrong), decoder, decoder.confidence)
    for got, want in zip(out[0], truth):
        np.testing.assert_array_equal(got[0], want)
    # The scene's premise: the local moves alone leave it.
    kept = refine(as_decoded(wrong), decoder, decoder.confidence, rethread=False)
    assert any(not np.array_equal(got[0], want) for got, want in zip(kept[0], truth))


def test_rethread_uses_free_nodes_near_the_chain_once_each_without_clashes():
    xyz, probs, seq, truth = two_copies(3, 60)
    decoder = decoder_for(xyz, probs, [seq])
    banned = np.zeros(len(xyz), bool)
    banned[truth[1]] = True
    # Chain 0 holds only its first half: the rethread may reach the nodes
    # within 8 Å of it, not the far end of the chain.
    half = truth[0].copy()
    half[30:] = -1
    new = decoder.rethread(0, half, banned, 8.0)
    assigned = new[new >= 0]
    assert len(np.unique(assigned)) == len(assigned)
    assert not banned[assigned].any()
    near = decoder.near(half[half >= 0], 8.0)
    assert near[assigned].all()
    assert not len(clashes(new, xyz, clash_distance(decoder.config), repeats=False))
    assert (new[:25] == truth[0][:25]).sum() >= 23
    # The whole chain: threaded as it truly is (a terminus may stay null).
    whole = decoder.rethread(0, truth[0], banned, 8.0)
    assert (whole == truth[0]).sum() >= 58 and ((whole == truth[0]) | (whole < 0)).all()


def refine_case(name: str):
    """A refinement case of tests/data (tests/data/make_refine_case.py):
    the decoder over it, the decoded paths the refinement received, the
    truth."""
    data = np.load(Path(__file__).parent / "data" / name)
    settings = json.loads(str(data["config"]))
    settings["second_neighbour_range"] = tuple(settings["second_neighbour_range"])
    config = HMMConfig(**settings)
    decoder = assembly_module._Decoder(data["xyz"], data["log_odds"], [data["seq"]], [None],
                                       config, AssemblyConfig())
    decoded = [[(x.astype(np.int32), np.where(x >= 0, 0.9, 0.0).astype(np.float32))
                for x in data["decoded"]]]
    return decoder, decoded, list(data["truth"])


def test_pair_rethread_uncrosses_copies_of_a_real_hexamer(monkeypatch):
    # 1hwu (a tuning entry), hard realism, seed 3, --decoder hmm: two of
    # its six copies cross where each also breaks; exchanging their tails
    # alone, or threading either again alone, scores worse, together better.
    decoder, decoded, truth = refine_case("refine_1hwu_hard_seed3.npz")
    out = refine(decoded, decoder, decoder.confidence)
    got = score_assembly([truth], [[nodes for nodes, _ in out[0]]])
    assert got["strict"] / got["positions"] > 0.92
    assert total_score(out, decoder) > total_score(decoded, decoder)
    # The premise: without the pair move the copies stay crossed.
    monkeypatch.setattr(refine_module, "_rethread_pairs", lambda *args, **kwargs: False)
    kept = refine(decoded, decoder, decoder.confidence)
    was = score_assembly([truth], [[nodes for nodes, _ in kept[0]]])
    assert was["strict"] / was["positions"] < 0.90


def test_copy_sets_join_records_of_one_sequence():
    seq = np.random.default_rng(0).integers(0, 20, 60)
    with_x = seq.copy()
    with_x[[10, 11]] = encode_sequence("XX")     # unresolved residues
    other = np.random.default_rng(1).integers(0, 20, 60)
    assert copy_sets([seq, other, with_x, seq.copy(), with_x.copy(), other]) == [0, 1, 2, 0, 2, 1]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_copies_given_as_separate_records_are_swapped_back(seed, monkeypatch):
    # The exchanged copies of test_exchanged_copies_are_swapped_back, but
    # as two records of one sequence (one FASTA record per chain): the
    # refinement exchanges them all the same.
    n = 60
    xyz, probs, seq, truth = two_copies(seed, n)
    decoder = decoder_for(xyz, probs, [seq, seq.copy()])
    ta, tb = truth
    far = np.linalg.norm(xyz[ta[:-1]] - xyz[tb[1:]], axis=1) + np.linalg.norm(
        xyz[tb[:-1]] - xyz[ta[1:]], axis=1)
    cut = int(np.argmax(far[5:-5])) + 6
    decoded = [as_decoded([np.concatenate([ta[:cut], tb[cut:]])])[0],
               as_decoded([np.concatenate([tb[:cut], ta[cut:]])])[0]]
    out = refine(decoded, decoder, decoder.confidence)
    np.testing.assert_array_equal(out[0][0][0], ta)
    np.testing.assert_array_equal(out[1][0][0], tb)
    # The premise: records kept apart, the copies stay exchanged.
    monkeypatch.setattr(refine_module, "copy_sets", lambda seqs: list(range(len(seqs))))
    kept = refine(decoded, decoder, decoder.confidence)
    assert not np.array_equal(kept[0][0][0], ta)
