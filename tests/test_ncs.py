"""Copy consistency (tf_structgen.decoding.ncs) and the refinement's copy
exchange built on it."""

import numpy as np

from tf_structgen.decoding import ncs, refine
from tf_structgen.decoding.config import HMMConfig


def rotation_about_z(degrees: float) -> np.ndarray:
    a = np.deg2rad(degrees)
    return np.array([[np.cos(a), np.sin(a), 0], [-np.sin(a), np.cos(a), 0], [0, 0, 1]])


def walk(n: int, rng) -> np.ndarray:
    """A Cα-like random walk: 3.8 Å steps, no sharp turns."""
    steps = [rng.normal(size=3)]
    for _ in range(n - 2):
        step = steps[-1] + 0.8 * rng.normal(size=3)
        steps.append(step)
    steps = np.array([s / np.linalg.norm(s) * 3.8 for s in steps])
    return np.concatenate([[np.zeros(3)], np.cumsum(steps, axis=0)])


def trimer(n: int = 60, seed: int = 0, noise: float = 0.3):
    """Three copies of one chain about a three-fold axis (no two-fold: the
    motion from copy a to b is not the one from b to a), noisy; the
    candidate set is the copies' nodes, copy c's residue t at c * n + t."""
    rng = np.random.default_rng(seed)
    chain = walk(n, rng)
    chain -= chain.mean(axis=0) - np.array([30.0, 0.0, 0.0])
    copies = [chain @ rotation_about_z(120.0 * c) for c in range(3)]
    xyz = np.concatenate(copies) + rng.normal(0.0, noise, (3 * n, 3))
    return xyz, [np.arange(n) + c * n for c in range(3)]


def touching_copies(n: int, touching: int, seed: int, noise: float = 0.3):
    """Three copies of one chain in general positions (as in a crystal's
    asymmetric unit: no point group, so no permutation of the copies'
    parts superposes as well as the copies do); copies 0 and 1 touch at
    residue ``touching`` (their copies of it 5 Å apart), copy 2 is far."""
    rng = np.random.default_rng(seed)
    chain = walk(n, rng)
    chain -= chain[touching] - np.array([2.5, 0.0, 0.0])
    tilt = np.array([[1, 0, 0], [0, np.cos(0.7), np.sin(0.7)], [0, -np.sin(0.7), np.cos(0.7)]])
    copies = [chain, chain @ rotation_about_z(150.0),
              chain @ tilt @ rotation_about_z(70.0) + np.array([0.0, 0.0, 60.0])]
    xyz = np.concatenate(copies) + rng.normal(0.0, noise, (3 * n, 3))
    return xyz, [np.arange(n) + c * n for c in range(3)]


def test_superpose_recovers_a_rigid_motion():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(20, 3)) * 5
    rotation = rotation_about_z(40.0) @ np.array([[1, 0, 0], [0, 0, 1], [0, -1, 0]])
    y = x @ rotation + np.array([3.0, -2.0, 7.0])
    got_r, got_s = ncs.superpose(x, y)
    np.testing.assert_allclose(x @ got_r + got_s, y, atol=1e-8)
    assert np.linalg.det(got_r) > 0


def test_trimmed_superposition_follows_the_majority():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(40, 3)) * 6
    y = x @ rotation_about_z(120.0)
    y[28:] = x[28:] @ rotation_about_z(240.0)     # 12 of 40 from another copy
    rotation, shift = ncs.trimmed_superposition(x, y, cutoff=3.0)
    residual = np.linalg.norm(x @ rotation + shift - y, axis=1)
    assert (residual[:28] < 1e-6).all() and (residual[28:] > 3.0).all()


def test_exchanged_tails_are_inconsistent_and_only_they():
    xyz, nodes = trimer()
    cutoff = ncs.consistency_cutoff(0.3)
    assert ncs.consistent_residues(nodes, xyz, cutoff).all()
    crossed = [np.concatenate([nodes[0][:40], nodes[1][40:]]),
               np.concatenate([nodes[1][:40], nodes[0][40:]]), nodes[2]]
    ok = ncs.consistent_residues(crossed, xyz, cutoff)
    assert ok[:2, :40].all() and not ok[:2, 40:].any()
    # The third copy agrees with neither crossed tail: outvoted there.
    assert ok[2, :40].all() and not ok[2, 40:].any()


def test_a_cyclic_exchange_about_a_three_fold_is_invisible():
    # Documented limit: under a three-fold, each chain taking the next
    # copy's tail superposes as well as the copies themselves.
    xyz, nodes = trimer()
    cycled = [np.concatenate([nodes[c][:40], nodes[(c + 1) % 3][40:]]) for c in range(3)]
    assert ncs.consistent_residues(cycled, xyz, ncs.consistency_cutoff(0.3)).all()


def test_a_two_fold_exchange_is_invisible():
    # Documented limit: with two copies about a two-fold axis the motion
    # is its own inverse.
    rng = np.random.default_rng(3)
    chain = walk(50, rng) + np.array([10.0, 0, 0])
    two_fold = rotation_about_z(180.0)
    xyz = np.concatenate([chain, chain @ two_fold])
    crossed = [np.r_[np.arange(25), 75 + np.arange(25)], np.r_[50 + np.arange(25), 25 + np.arange(25)]]
    assert ncs.consistent_residues(crossed, xyz, 3.0).all()


class _Filler:
    """What the refinement reads: every residue scores the same emission,
    so only junctions and copy consistency tell the copies apart."""

    def __init__(self, xyz, n):
        self.xyz, self.config = xyz, HMMConfig(noise=0.3, dihedral_weight=0.0)
        self.seqs = [np.zeros(n, np.int64)]

    def emission_at(self, entity, nodes):
        return np.where(nodes >= 0, 2.0, 0.0)


def test_copy_exchange_restores_the_copies_where_junctions_cannot():
    n = 60
    xyz, nodes = touching_copies(n, touching=40, seed=4)
    # Copies 0 and 1 miss residues 36-43; threaded crossed through the gap.
    gapped = [x.copy() for x in nodes]
    for x in gapped[:2]:
        x[36:44] = -1
    crossed = [np.concatenate([gapped[0][:44], gapped[1][44:]]),
               np.concatenate([gapped[1][:44], gapped[0][44:]]), gapped[2]]
    filler = _Filler(xyz, n)
    state = refine._State([[(x, np.ones(n)) for x in crossed]], filler)
    right = refine._State([[(x, np.ones(n)) for x in gapped]], filler)
    # Premise: the copies touch across the gap, so the junctions alone do
    # not ask for the exchange.
    assert sum(right.scores) - sum(state.scores) < refine._MIN_GAIN
    assert refine._exchange_copies(state, [0, 1, 2], refine._MIN_GAIN)
    assert {tuple(state.nodes[0]), tuple(state.nodes[1])} == {
        tuple(gapped[0]), tuple(gapped[1])}
    assert not refine._exchange_copies(state, [0, 1, 2], refine._MIN_GAIN)


def test_many_copies_are_compared_with_their_nearest_only():
    rng = np.random.default_rng(5)
    chain = walk(40, rng) + np.array([60.0, 0.0, 0.0])
    copies = [chain @ rotation_about_z(360.0 / 24 * c) for c in range(24)]
    xyz = np.concatenate(copies)
    nodes = [np.arange(40) + c * 40 for c in range(24)]
    pairs = ncs.compared_pairs(nodes, xyz, max_partners=4)
    assert len(pairs) <= 24 * 4
    # Ring neighbours are among the nearest; the far side of the ring is not.
    assert (0, 1) in pairs and (0, 23) in pairs and (0, 12) not in pairs
    assert ncs.consistent_residues(nodes, xyz, 3.0).all()


def test_copy_exchange_among_many_copies():
    n, k = 50, 12
    rng = np.random.default_rng(6)
    chain = walk(n, rng)
    chain -= chain[30] - np.array([2.0, 0.0, 0.0])      # the copies touch at residue 30
    tilt = np.array([[1, 0, 0], [0, np.cos(0.3), np.sin(0.3)], [0, -np.sin(0.3), np.cos(0.3)]])
    copies = [chain @ rotation_about_z(360.0 / k * c) @ tilt + np.array([0, 0, 3.0 * c])
              for c in range(k)]   # a helical stack: no point group
    xyz = np.concatenate(copies) + rng.normal(0.0, 0.3, (k * n, 3))
    nodes = [np.arange(n) + c * n for c in range(k)]
    gapped = [x.copy() for x in nodes]
    for x in gapped[4:6]:
        x[27:33] = -1
    crossed = list(gapped)
    crossed[4] = np.concatenate([gapped[4][:33], gapped[5][33:]])
    crossed[5] = np.concatenate([gapped[5][:33], gapped[4][33:]])
    filler = _Filler(xyz, n)
    state = refine._State([[(x, np.ones(n)) for x in crossed]], filler)
    assert refine._exchange_copies(state, list(range(k)), refine._MIN_GAIN)
    assert all(np.array_equal(state.nodes[c], gapped[c]) for c in range(k))
