"""What real Cα traces look like locally: a penalty on virtual dihedrals
that real chains rarely take, for the threading HMM.

Four consecutive Cα atoms of a real chain are far from a random walk with
3.8 Å steps: their virtual dihedral τ (i-1, i, i+1, i+2) clusters near +50°
(helix) and −170° (strand), and is rare between about −100° and −10°. A
path through decoys has no such preference (a decoy is anywhere on the
shell around its neighbour, so its dihedral is uniform). The HMM adds, per four consecutive
assigned residues,

    ``dihedral_weight * (min(0, L(τ)) - E_real[min(0, L)])``,

with ``L(τ) = log(p_real(τ | noise) / (1 / 2π))`` measured on real fragments
after adding the candidates' coordinate noise (so a noisy map's trace is
not held to a clean one's dihedrals).

Only the penalty side of the log-odds is kept. Viterbi takes the best of
very many paths; where decoys are dense (hard realism: several within
reach of every residue) it finds decoy paths whose dihedrals look helical,
so a bonus for real-looking dihedrals is earned by decoys as much as by the
chain, while a penalty for dihedrals real chains avoid is not. The penalty's
mean over real dihedrals (about 0.2) is given back to every dihedral: a
constant per residue that no complete path gains over another, but without
it a real chain pays on average for every residue it threads, and the HMM
nulls noisy residues rather than pay (on real assemblies with few decoys at
hard realism, chains threaded one per file lost 0.002-0.008).

Measured on the tuning entries' single chains at hard realism (500 nodes,
three simulation seeds, mean AA): the second-order HMM 0.936, the full
log-odds lower (0.943 → 0.901 on eight chains, pure Viterbi), the penalty
0.948, the penalty re-centred 0.952; weights 0.5 / 1 / 2 of the penalty
gave 0.922 / 0.925 / 0.901 (pure Viterbi, seed 0).

The real fragments (``backbone_fragments.npz``) are every four consecutive
observed residues, with all three Cα–Cα links 3.6-4.0 Å (no cis peptides,
no chain breaks), of the chains of the tuning entries of
``tf_structgen/evaluation/dev_split.py`` (``../shared/data``), each in its
own frame, in units of 0.01 Å. Rebuild them with::

    python benchmarks/backbone_fragments.py ../shared/data/dev_chains_ca.json.gz
"""

from __future__ import annotations

import functools
import pathlib

import numpy as np

FRAGMENTS_PATH = pathlib.Path(__file__).with_name("backbone_fragments.npz")
DIHEDRAL_BINS = 72   # 5° over [-180°, 180°)
_SAMPLES = 200_000   # noisy fragments drawn to measure the densities
_PSEUDO_COUNT = 0.5  # per bin, before the densities are taken
_MIN_LOG_ODDS = -6.0
_LINK_RANGE = (3.6, 4.0)
FRAGMENT_SCALE = 100.0  # stored units per Å


def fragments_from_records(records, keep=lambda record: True) -> np.ndarray:
    """[N, 4, 3] float64 fragments (Å, centred, in a canonical frame) of
    four consecutive observed residues with every link in ``_LINK_RANGE``.

    Args:
      records: ``dev_chains_ca.json`` records (``label_seq``, ``ca``).
      keep: which records to use.
    """
    out = []
    for record in records:
        if not keep(record):
            continue
        label = np.asarray(record["label_seq"], np.int64)
        ca = np.asarray(record["ca"], np.float64)
        if len(ca) < 4:
            continue
        d = np.linalg.norm(ca[1:] - ca[:-1], axis=1)
        ok = (np.diff(label) == 1) & (d >= _LINK_RANGE[0]) & (d <= _LINK_RANGE[1])
        starts = np.flatnonzero(ok[:-2] & ok[1:-1] & ok[2:])
        for s in starts:
            out.append(_canonical(ca[s:s + 4]))
    return np.asarray(out, np.float64).reshape(-1, 4, 3)


def _canonical(points: np.ndarray) -> np.ndarray:
    """The fragment centred on its second atom, the first link along x and
    the first three atoms in the xy plane (rounding-friendly, frame-free)."""
    p = points - points[1]
    x = -p[0] / np.linalg.norm(p[0])
    z = np.cross(x, p[2])
    z /= np.linalg.norm(z)
    y = np.cross(z, x)
    return p @ np.stack([x, y, z], axis=1)


@functools.lru_cache(maxsize=1)
def _fragments() -> np.ndarray:
    with np.load(FRAGMENTS_PATH) as data:
        return data["fragments"].astype(np.float64) / FRAGMENT_SCALE


def dihedrals(a: np.ndarray, b: np.ndarray, c: np.ndarray,
              d: np.ndarray) -> np.ndarray:
    """Dihedral angles (radians, [-π, π]) of ``a-b-c-d`` ([..., 3]); an
    α-helix's Cα trace is near +50°."""
    b1, b2, b3 = b - a, c - b, d - c
    n1, n2 = np.cross(b1, b2), np.cross(b2, b3)
    x = np.sum(n1 * n2, axis=-1)
    y = np.linalg.norm(b2, axis=-1) * np.sum(b1 * n2, axis=-1)
    return np.arctan2(y, x)


def dihedral_bin(tau: np.ndarray) -> np.ndarray:
    """Table index of dihedrals in radians."""
    return np.clip(((np.asarray(tau) + np.pi) * (DIHEDRAL_BINS / (2 * np.pi)))
                   .astype(np.int64), 0, DIHEDRAL_BINS - 1)


@functools.lru_cache(maxsize=16)
def dihedral_penalty(noise: float) -> np.ndarray:
    """[DIHEDRAL_BINS] float64 score of a virtual dihedral (index with
    :func:`dihedral_bin`) for candidates with coordinate noise ``noise`` (Å,
    per coordinate): ``min(0, log-odds)`` of a real chain against a path
    through decoys, less its mean over real dihedrals (module docstring).
    Deterministic."""
    frags = _fragments()
    rng = np.random.default_rng(20261204)
    pick = rng.integers(0, len(frags), _SAMPLES)
    points = frags[pick] + rng.normal(0.0, float(noise), (_SAMPLES, 4, 3))
    tau = dihedral_bin(dihedrals(points[:, 0], points[:, 1], points[:, 2], points[:, 3]))
    counts = np.bincount(tau, minlength=DIHEDRAL_BINS) + _PSEUDO_COUNT
    counts = (np.roll(counts, 1) + 2 * counts + np.roll(counts, -1)) / 4  # circular
    penalty = np.clip(np.log(counts / counts.sum() * DIHEDRAL_BINS), _MIN_LOG_ODDS, 0.0)
    return penalty - float(np.mean(penalty[tau]))
