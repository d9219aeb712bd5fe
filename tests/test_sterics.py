"""Steric exclusion in the decoder: clash detection, who keeps a contested
place, the bans, and decoding that honours it."""

import json
import pathlib

import numpy as np
import pytest
from scipy.spatial import cKDTree

from tf_structgen.common.residue_constants import encode_sequence
from tf_structgen.data.simulate import REALISM_PRESETS, chain_from_record, simulate
from tf_structgen.decoding.assembly import thread_assembly
from tf_structgen.decoding.config import HMMConfig
from tf_structgen.decoding.sterics import (
    ban_rows, clash_bans, clash_distance, clash_winners, clashes)

DATA = pathlib.Path(__file__).parent / "data" / "dev_chains_small.json"


def line(n: int, step: float = 3.8) -> np.ndarray:
    return np.stack([np.arange(n) * step, np.zeros(n), np.zeros(n)], axis=1)


def test_clash_distance_shrinks_with_the_noise_and_zero_turns_it_off():
    assert clash_distance(HMMConfig()) == pytest.approx(3.3)
    cut = clash_distance(HMMConfig(noise=0.4))
    assert cut == pytest.approx(3.3 - 2.0 * np.sqrt(2.0) * 0.4)
    assert clash_distance(HMMConfig(noise=0.4, clash_distance=0.0)) == 0.0
    with pytest.raises(ValueError):
        HMMConfig(clash_rounds=-1)


def test_clashes_are_close_pairs_three_or_more_residues_apart():
    xyz = np.concatenate([line(8), [[0.0, 1.0, 0.0], [3.8, 2.9, 0.0]]])
    # Positions 0..5 on the line; position 6 on node 8 (1 Å from node 0),
    # position 7 on node 9 (2.9 Å from node 1); position 2 null.
    nodes = np.array([0, 1, -1, 3, 4, 5, 8, 9])
    pairs = clashes(nodes, xyz, cutoff=2.0)
    assert pairs.tolist() == [[0, 6]]
    assert sorted(map(tuple, clashes(nodes, xyz, cutoff=3.0).tolist())) == [(0, 6), (1, 7)]
    # Close but within two residues: never a clash (links, cis peptides).
    assert clashes(np.array([0, 8]), xyz, cutoff=2.0).size == 0
    assert clashes(np.array([0, -1, 8]), xyz, cutoff=2.0).size == 0
    assert clashes(np.array([0, -1, -1, 8]), xyz, cutoff=2.0).tolist() == [[0, 3]]
    assert clashes(nodes, xyz, cutoff=0.0).size == 0


def test_the_more_confident_position_keeps_its_place():
    pairs = np.array([[0, 5], [5, 9]])
    # 5 is less confident than 0: it loses, so 9 keeps its node too.
    assert clash_winners(pairs, np.array([.9, 0, 0, 0, 0, .5, 0, 0, 0, .8])).tolist() == [0, 9]
    # 5 is the most confident: both others lose.
    assert clash_winners(pairs, np.array([.4, 0, 0, 0, 0, .9, 0, 0, 0, .8])).tolist() == [5]
    # Ties go to the earlier position.
    assert clash_winners(np.array([[2, 7]]), np.full(8, 0.5)).tolist() == [2]
    assert clash_winners(np.zeros((0, 2), int), np.zeros(3)).size == 0


def test_bans_cover_the_winners_sphere_away_from_its_neighbours():
    xyz = np.concatenate([line(8), [[0.0, 1.0, 0.0], [0.0, -1.5, 0.0]]])
    nodes = np.array([0, 1, 2, 3, 4, 5, 8, -1])
    conf = np.array([.9, .9, .9, .9, .9, .9, .2, 0.0])
    [(t, sphere)] = clash_bans(nodes, conf, xyz, cKDTree(xyz), cutoff=2.0)
    assert t == 0
    assert sorted(sphere.tolist()) == [0, 8, 9]   # node 9 is free but in the sphere
    assert ban_rows(8, 0).tolist() == [False] * 3 + [True] * 5
    assert ban_rows(8, 4).tolist() == [True, True] + [False] * 5 + [True]
    assert clash_bans(nodes[:6], conf[:6], xyz, cKDTree(xyz), cutoff=2.0) == []


def _hard_case(seed: int):
    record = json.loads(DATA.read_text())[0]
    seq, ca = chain_from_record(record)
    sim = simulate([(seq, ca)], REALISM_PRESETS["hard"], np.random.default_rng(seed))
    return seq, sim


def test_decoded_chains_have_no_clash_and_the_switch_turns_it_off():
    """A dense hard-realism case (70 residues among 500 nodes, 60 % of the
    decoys 2.5-5 Å from the chain): without the exclusion the path puts
    distant residues on overlapping nodes; with it (3 rounds) at most one
    such pair is left, and more residues are right. The second-order model
    alone (no dihedral penalty), which the exclusion was built for."""
    seq, sim = _hard_case(1)
    encoded = [encode_sequence(seq)]
    on = HMMConfig(noise=0.4, dihedral_weight=0.0)
    cut = clash_distance(on)
    [[(with_, _)]] = thread_assembly(sim.xyz, sim.aa_probs, encoded, [1], on)
    [[(without, _)]] = thread_assembly(sim.xyz, sim.aa_probs, encoded, [1],
                                       HMMConfig(noise=0.4, clash_distance=0.0,
                                                 dihedral_weight=0.0))
    assert len(clashes(sim.truth[0], sim.xyz, cut)) == 0
    assert len(clashes(without, sim.xyz, cut)) > 0
    assert len(clashes(with_, sim.xyz, cut)) <= 1
    truth = sim.truth[0]
    has = truth >= 0
    assert np.mean(with_[has] == truth[has]) > np.mean(without[has] == truth[has])


def test_a_node_used_twice_is_a_clash_unless_repeats_are_left_out():
    xyz = line(8)
    nodes = np.array([0, 1, 2, 3, 4, 5, 0])
    assert clashes(nodes, xyz, cutoff=2.0).tolist() == [[0, 6]]
    assert clashes(nodes, xyz, cutoff=2.0, repeats=False).size == 0
    conf = np.full(7, 0.5)
    assert clash_bans(nodes, conf, xyz, cKDTree(xyz), 2.0, repeats=False) == []
