"""The dihedral penalty of the threading HMM (tf_structgen.decoding.backbone_prior)."""

import numpy as np
import pytest

from tf_structgen.common.residue_constants import encode_sequence
from tf_structgen.decoding import backbone_prior
from tf_structgen.decoding.config import HMMConfig
from tf_structgen.decoding.graph import path_dihedral_score
from tf_structgen.decoding.hmm import hmm_thread
from test_hmm import helix, zigzag   # right-handed α-helix; planar trace (τ = 180°)


def penalty_at(degrees: float, noise: float) -> float:
    table = backbone_prior.dihedral_penalty(noise)
    return float(table[backbone_prior.dihedral_bin(np.deg2rad(degrees))])


def test_a_helix_has_the_real_helical_dihedral():
    xyz = helix(6)
    tau = np.rad2deg(backbone_prior.dihedrals(xyz[:-3], xyz[1:-2], xyz[2:-1], xyz[3:]))
    assert np.allclose(tau, tau[0]) and 40 < tau[0] < 60


@pytest.mark.parametrize("noise", [0.0, 0.25, 0.4])
def test_real_dihedrals_cost_nothing_and_rare_ones_do(noise):
    table = backbone_prior.dihedral_penalty(noise)
    top = table.max()
    assert table.shape == (backbone_prior.DIHEDRAL_BINS,)
    assert 0.1 < top < 0.3                   # the mean penalty, given back
    assert penalty_at(50, noise) == top      # helix
    assert penalty_at(-170, noise) > top - 0.2   # strand
    assert penalty_at(-45, noise) < top - 1.0    # rare in real chains


def test_noise_softens_the_penalty_deterministically():
    assert penalty_at(-45, 0.4) > penalty_at(-45, 0.0)
    backbone_prior.dihedral_penalty.cache_clear()
    first = backbone_prior.dihedral_penalty(0.25).copy()
    backbone_prior.dihedral_penalty.cache_clear()
    assert np.array_equal(first, backbone_prior.dihedral_penalty(0.25))


def test_fragments_rebuild_in_a_canonical_frame():
    record = {"label_seq": list(range(1, 9)), "ca": helix(8).tolist()}
    frags = backbone_prior.fragments_from_records([record])
    assert frags.shape == (5, 4, 3)
    assert np.allclose(frags, frags[0], atol=1e-9)     # the helix repeats
    assert np.allclose(frags[:, 1], 0.0) and np.allclose(frags[:, :3, 2], 0.0)
    broken = {"label_seq": [1, 2, 3, 5, 6, 7, 8, 9], "ca": helix(8).tolist()}
    assert len(backbone_prior.fragments_from_records([broken])) == 2


def rotated(point, a, b, angle):
    """``point`` turned by ``angle`` (radians) about the axis a -> b."""
    axis = (b - a) / np.linalg.norm(b - a)
    v = point - a
    return a + (v * np.cos(angle) + np.cross(axis, v) * np.sin(angle)
                + axis * np.dot(axis, v) * (1 - np.cos(angle)))


def test_viterbi_turns_down_a_decoy_whose_dihedrals_real_chains_avoid():
    """A decoy as far from residue 6's neighbours as its node, its second
    neighbours in range, and with more of the residue's score: only its
    dihedrals tell it from the node."""
    n, weighted = 12, HMMConfig(noise=0.25, dihedral_weight=1.0)
    xyz = zigzag(n)
    seq = encode_sequence("ACDEFGHIKLMN")
    path = np.array([0, 1, 2, 3, 4, 5, n, 7, 8, 9, 10, 11])
    real = path_dihedral_score(np.arange(n), xyz, weighted)
    best = None
    for angle in np.deg2rad(np.arange(10, 351, 10)):     # about the 5-7 axis
        decoy = rotated(xyz[6], xyz[5], xyz[7], angle)
        if max(np.linalg.norm(decoy - xyz[[4, 8]], axis=1)) > 7.2:
            continue
        cost = real - path_dihedral_score(path, np.vstack([xyz, decoy]), weighted)
        if best is None or cost > best[0]:
            best = (cost, decoy)
    cost, decoy = best
    assert cost > 1.5                                    # the premise
    nodes = np.vstack([xyz, decoy])
    probs = np.full((n + 1, 20), 0.4 / 19)
    probs[np.arange(n), seq] = 0.6
    probs[n] = 0.1 / 19
    probs[n, seq[6]] = 0.9
    [(without, _)] = hmm_thread(nodes, probs, [seq],
                                HMMConfig(noise=0.25, dihedral_weight=0.0))
    assert without[6] == n                               # the decoy's score wins
    [(with_penalty, _)] = hmm_thread(nodes, probs, [seq], weighted)
    assert list(with_penalty) == list(range(n))
