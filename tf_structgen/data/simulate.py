"""Realistic detector output simulated from real Cα traces.

A cryo-EM Cα detector returns an unordered set of candidate positions, each
with a 20-way amino-acid probability vector. Compared with the true trace the
set is imperfect in four ways, each controlled by a field of :class:`Realism`:

* coordinates are noisy (isotropic Gaussian, ``coord_noise``);
* the amino-acid scores are soft and sometimes wrong (``top1_accuracy``,
  ``soft_wrong``, or the paper's protocol ``paper_scores``);
* some residues are not detected at all (``missing_fraction``), singly or as
  contiguous runs (``missing_run_fraction``);
* decoys are detected where there is no Cα (``num_decoys``/``node_budget``),
  some of them close to the chain (``near_decoy_fraction``): side-chain
  centroids and neighbouring density, the hard ones.

Decoys get amino-acid scores from exactly the same score model as true
nodes, with a latent residue type drawn from the background composition, so
neither their argmax nor their peak probability gives them away.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Mapping, Sequence

import numpy as np
from scipy.spatial import cKDTree

from tf_structgen.common.errors import InputError
from tf_structgen.common.residue_constants import (
    BACKGROUND_FREQUENCIES,
    NUM_AMINO_ACIDS,
    UNKNOWN_INDEX,
    encode_sequence,
)

logger = logging.getLogger(__name__)

# Score model constants (see ``_score_rows``).
_TOP_MASS_RIGHT = (0.40, 0.95)   # peak probability when the argmax is right
_TOP_MASS_WRONG = (0.30, 0.70)   # ... and when it is wrong (less confident)
_TRUE_SHARE_WRONG = (0.20, 0.80)  # share of the rest kept by the true class
_PAPER_WRONG_SIGMA = 0.01        # paper protocol: wrong classes |N(0, 0.01)|
_UNKNOWN_CONCENTRATION = 5.0     # Dirichlet concentration for unknown residues
_RUN_LENGTHS = (2, 8)            # contiguous missing runs, inclusive
_NEAR_DECOY_RANGE = (2.5, 5.0)   # Å from a chain Cα
_BOX_PADDING = 5.0               # Å around the chain's bounding box
_MAX_DECOY_ROUNDS = 50
# Every node coordinate is rounded to 3 decimals, the precision of PDB/mmCIF
# files, so that true nodes (read from a structure) and decoys (drawn here)
# look alike to anything that reads raw coordinates, in memory and in files.
COORD_DECIMALS = 3


@dataclasses.dataclass(frozen=True, kw_only=True)
class Realism:
    """How far simulated detector output departs from the true Cα trace.

    Attributes:
      coord_noise: sigma (Å) of the isotropic Gaussian noise added to each
        coordinate of each true node.
      top1_accuracy: probability that a node's argmax is its true residue.
      soft_wrong: soft scores (a peak plus Dirichlet-distributed rest, the true
        class keeping a sizeable share when the argmax is wrong); if False the
        rows are one-hot at the argmax. Ignored when ``paper_scores``.
      paper_scores: the paper's protocol: the argmax class gets ``1 - sum`` and
        every other class ``|N(0, 0.01)|``.
      missing_fraction: fraction of the observed residues that get no node.
      missing_run_fraction: share of the missing residues removed as
        contiguous runs of 2-8 residues rather than as singles.
      num_decoys: number of decoy nodes; None means
        ``max(0, node_budget - number of true nodes)``.
      node_budget: total number of nodes aimed at when ``num_decoys`` is None.
      near_decoy_fraction: share of the decoys placed 2.5-5 Å from a random
        chain Cα; the rest are uniform in the chains' bounding box padded by
        5 Å.
      min_decoy_distance: minimum distance (Å) from a decoy to any true node
        and to any other decoy.
    """

    coord_noise: float = 0.0
    top1_accuracy: float = 1.0
    soft_wrong: bool = True
    paper_scores: bool = False
    missing_fraction: float = 0.0
    missing_run_fraction: float = 0.5
    num_decoys: int | None = None
    node_budget: int = 500
    near_decoy_fraction: float = 0.0
    min_decoy_distance: float = 1.0

    def __post_init__(self):
        for name in ("top1_accuracy", "missing_fraction",
                     "missing_run_fraction", "near_decoy_fraction"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"Realism.{name} must be in [0, 1]")
        for name in ("coord_noise", "node_budget", "min_decoy_distance"):
            if getattr(self, name) < 0:
                raise ValueError(f"Realism.{name} must be >= 0")
        if self.num_decoys is not None and self.num_decoys < 0:
            raise ValueError("Realism.num_decoys must be >= 0 or None")


REALISM_PRESETS: dict[str, Realism] = {
    # The paper's protocol: exact coordinates, every residue detected, clean
    # but not one-hot scores, uniform decoys up to the node budget.
    "paper": Realism(paper_scores=True),
    "realistic": Realism(coord_noise=0.25, top1_accuracy=0.85,
                         missing_fraction=0.03, near_decoy_fraction=0.3),
    "hard": Realism(coord_noise=0.4, top1_accuracy=0.75,
                    missing_fraction=0.06, near_decoy_fraction=0.6),
    "clean": Realism(num_decoys=0),
}


@dataclasses.dataclass(frozen=True, kw_only=True, eq=False)
class Simulation:
    """Simulated detector output for one or more chains.

    Attributes:
      xyz: [num_nodes, 3] float32 node coordinates (shuffled order), rounded
        to 3 decimals like PDB/mmCIF coordinates.
      aa_probs: [num_nodes, 20] float32 amino-acid probabilities; rows sum to 1.
      truth: per chain, [num_residues] int32 index of the residue's node, or
        -1 where the residue has none (unobserved in the structure or dropped).
    """

    xyz: np.ndarray
    aa_probs: np.ndarray
    truth: list[np.ndarray]

    @property
    def num_nodes(self) -> int:
        return self.xyz.shape[0]


def chain_from_record(record: Mapping) -> tuple[str, np.ndarray]:
    """One chain of ``dev_chains_ca.json.gz`` -> ``(seqres, ca_xyz)``.

    Args:
      record: a dict with ``seqres`` (one-letter string), ``label_seq``
        (1-based seqres position of each observed Cα) and ``ca`` (their
        coordinates).

    Returns:
      The seqres string and its [len(seqres), 3] Cα coordinates, NaN rows for
      residues not observed in the structure.
    """
    seq = record["seqres"]
    ca = np.full((len(seq), 3), np.nan)
    ca[np.asarray(record["label_seq"], dtype=np.int64) - 1] = np.asarray(
        record["ca"], dtype=np.float64)
    return seq, ca


def simulate(chains: Sequence[tuple[str, np.ndarray]], realism: Realism,
             rng: np.random.Generator) -> Simulation:
    """Turns true Cα traces into a detector-like candidate set.

    Args:
      chains: per chain, its one-letter sequence and [n, 3] Cα coordinates
        (NaN rows for residues unobserved in the structure).
      realism: the imperfections to simulate.
      rng: the source of randomness (the result is a function of its state).

    Returns:
      The candidate set, in random node order, and the per-chain truth. All
      node coordinates, true and decoy, are rounded to ``COORD_DECIMALS``
      (3) decimals, so their precision does not tell them apart.

    Raises:
      InputError: if a chain's coordinates do not match its sequence.
    """
    seqs, cas = [], []
    for k, (sequence, ca) in enumerate(chains):
        seq = encode_sequence(sequence)
        ca = np.asarray(ca, dtype=np.float64)
        if ca.shape != (len(seq), 3):
            raise InputError(
                f"chain {k}: coordinates have shape {ca.shape}, expected "
                f"({len(seq)}, 3) for a sequence of {len(seq)} residues")
        seqs.append(seq)
        cas.append(ca)

    observed = [np.isfinite(ca).all(axis=1) for ca in cas]
    kept = [_drop_residues(obs, realism, rng) for obs in observed]
    true_xyz = np.concatenate(
        [ca[keep] for ca, keep in zip(cas, kept)] + [np.zeros((0, 3))])
    true_xyz = np.round(
        true_xyz + rng.normal(0.0, realism.coord_noise, true_xyz.shape),
        COORD_DECIMALS)
    true_aa = np.concatenate(
        [seq[keep] for seq, keep in zip(seqs, kept)] + [np.zeros(0, np.int32)])
    all_ca = np.concatenate([ca[o] for ca, o in zip(cas, observed)]
                            + [np.zeros((0, 3))])

    num_true = len(true_xyz)
    num_decoys = (max(0, realism.node_budget - num_true)
                  if realism.num_decoys is None else realism.num_decoys)
    decoy_xyz = _place_decoys(all_ca, true_xyz, num_decoys, realism, rng)
    decoy_aa = rng.choice(NUM_AMINO_ACIDS, size=len(decoy_xyz),
                          p=BACKGROUND_FREQUENCIES).astype(np.int32)

    xyz = np.concatenate([true_xyz, decoy_xyz])
    probs = _score_rows(np.concatenate([true_aa, decoy_aa]), realism, rng)
    order = rng.permutation(len(xyz))
    new_index = np.empty_like(order)
    new_index[order] = np.arange(len(order))

    truth, start = [], 0
    for keep in kept:
        chain_truth = np.full(len(keep), -1, dtype=np.int32)
        residues = np.flatnonzero(keep)
        chain_truth[residues] = new_index[start:start + len(residues)]
        start += len(residues)
        truth.append(chain_truth)
    return Simulation(xyz=xyz[order].astype(np.float32),
                      aa_probs=probs[order].astype(np.float32), truth=truth)


def _drop_residues(observed: np.ndarray, realism: Realism,
                   rng: np.random.Generator) -> np.ndarray:
    """Returns the mask of observed residues that keep a node."""
    kept = observed.copy()
    n_obs = int(observed.sum())
    n_drop = int(round(realism.missing_fraction * n_obs))
    n_runs = int(round(realism.missing_run_fraction * n_drop))
    lo, hi = _RUN_LENGTHS
    # Contiguous runs first; a run may overlap an unobserved stretch or an
    # earlier run, only newly dropped residues count.
    # A remainder shorter than a run goes to the singles.
    dropped, attempts = 0, 0
    while n_runs - dropped >= lo and attempts < 100 * n_runs:
        attempts += 1
        length = min(int(rng.integers(lo, hi + 1)), n_runs - dropped)
        start = int(rng.integers(0, len(kept) - length + 1))
        run = kept[start:start + length]
        dropped += int(run.sum())
        run[:] = False
    singles = np.flatnonzero(kept)
    n_single = min(n_drop - dropped, len(singles))
    if n_single > 0:
        kept[rng.choice(singles, size=n_single, replace=False)] = False
    return kept


def _place_decoys(chain_ca: np.ndarray, true_xyz: np.ndarray, count: int,
                  realism: Realism, rng: np.random.Generator) -> np.ndarray:
    """Samples ``count`` decoy positions by rejection (see :class:`Realism`).

    Proposals are rounded to ``COORD_DECIMALS`` before the distance checks,
    so the minimum distance holds for the coordinates actually returned.
    """
    if count == 0:
        return np.zeros((0, 3))
    if len(chain_ca) == 0:
        raise InputError("cannot place decoys: no chain has an observed Cα")
    n_near = int(round(realism.near_decoy_fraction * count))
    lo_box = chain_ca.min(axis=0) - _BOX_PADDING
    hi_box = chain_ca.max(axis=0) + _BOX_PADDING
    true_tree = cKDTree(true_xyz) if len(true_xyz) else None
    min_dist = realism.min_decoy_distance

    def propose(near: bool, size: int) -> np.ndarray:
        if near:
            centre = chain_ca[rng.integers(0, len(chain_ca), size)]
            direction = rng.normal(size=(size, 3))
            direction /= np.linalg.norm(direction, axis=1, keepdims=True)
            radius = rng.uniform(*_NEAR_DECOY_RANGE, size=(size, 1))
            points = centre + radius * direction
        else:
            points = rng.uniform(lo_box, hi_box, size=(size, 3))
        return np.round(points, COORD_DECIMALS)

    accepted = np.zeros((0, 3))
    for near, wanted in ((True, n_near), (False, count - n_near)):
        have = 0
        for _ in range(_MAX_DECOY_ROUNDS):
            if have == wanted:
                break
            cand = propose(near, 2 * (wanted - have) + 8)
            if min_dist > 0:
                cand = _far_from(cand, true_tree, min_dist)
                if len(accepted):
                    cand = _far_from(cand, cKDTree(accepted), min_dist)
                pairs = cKDTree(cand).query_pairs(min_dist, output_type="ndarray")
                cand = np.delete(cand, np.unique(pairs[:, 1]), axis=0)
            cand = cand[:wanted - have]
            accepted = np.concatenate([accepted, cand])
            have += len(cand)
        if have < wanted:
            logger.warning("placed only %d of %d %s decoys (min distance %.2f Å)",
                           have, wanted, "near" if near else "uniform", min_dist)
    return accepted


def _far_from(points: np.ndarray, tree: cKDTree | None,
              min_dist: float) -> np.ndarray:
    """Keeps the points at least ``min_dist`` from every point of ``tree``."""
    if tree is None or len(points) == 0:
        return points
    dist, _ = tree.query(points, k=1, distance_upper_bound=min_dist)
    return points[~np.isfinite(dist)]


def _score_rows(latent: np.ndarray, realism: Realism,
                rng: np.random.Generator) -> np.ndarray:
    """Detector scores for nodes whose true (or latent) residue is ``latent``.

    The argmax is the latent residue with probability ``top1_accuracy``,
    otherwise another residue drawn from the background composition. Soft
    scores: the argmax gets U(0.40, 0.95) when right, U(0.30, 0.70) when
    wrong, in which case the latent residue keeps U(0.2, 0.8) of the rest;
    a flat Dirichlet spreads what remains. Unknown residues
    (``UNKNOWN_INDEX``) get near-uniform Dirichlet scores.

    Returns:
      [len(latent), 20] float64 rows summing to 1.
    """
    size = len(latent)
    rows = np.arange(size)
    known = latent != UNKNOWN_INDEX
    right = known & (rng.random(size) < realism.top1_accuracy)
    top = np.where(known, latent, 0)
    wrong = np.flatnonzero(known & ~right)
    # Wrong argmax: background composition without the latent residue.
    others = np.tile(BACKGROUND_FREQUENCIES, (len(wrong), 1))
    others[np.arange(len(wrong)), latent[wrong]] = 0.0
    cdf = np.cumsum(others, axis=1)
    top[wrong] = np.argmax(
        cdf > rng.random((len(wrong), 1)) * cdf[:, -1:], axis=1)

    if realism.paper_scores:
        probs = np.abs(rng.normal(0.0, _PAPER_WRONG_SIGMA,
                                  (size, NUM_AMINO_ACIDS)))
        probs[rows, top] = 0.0
        probs[rows, top] = 1.0 - probs.sum(axis=1)
    elif realism.soft_wrong:
        peak = np.where(right, rng.uniform(*_TOP_MASS_RIGHT, size),
                        rng.uniform(*_TOP_MASS_WRONG, size))
        # When the argmax is wrong the true class keeps a sizeable share of
        # the rest; the others share it by a flat Dirichlet.
        true_share = np.where(known & ~right,
                              rng.uniform(*_TRUE_SHARE_WRONG, size), 0.0)
        rest = rng.dirichlet(np.ones(NUM_AMINO_ACIDS), size)
        rest[rows, top] = 0.0
        rest[wrong, latent[wrong]] = 0.0
        rest /= rest.sum(axis=1, keepdims=True)
        probs = (1.0 - peak)[:, None] * (1.0 - true_share)[:, None] * rest
        probs[wrong, latent[wrong]] = np.minimum(
            (1.0 - peak[wrong]) * true_share[wrong], 0.95 * peak[wrong])
        probs[rows, top] = peak
        probs /= probs.sum(axis=1, keepdims=True)
        # Dirichlet tails can rarely beat the peak: swap so the argmax holds.
        best = probs.argmax(axis=1)
        swap = np.flatnonzero(best != top)
        probs[swap, best[swap]], probs[swap, top[swap]] = (
            probs[swap, top[swap]], probs[swap, best[swap]])
    else:
        probs = np.zeros((size, NUM_AMINO_ACIDS))
        probs[rows, top] = 1.0

    unknown = np.flatnonzero(~known)
    probs[unknown] = rng.dirichlet(
        np.full(NUM_AMINO_ACIDS, _UNKNOWN_CONCENTRATION), len(unknown))
    return probs
