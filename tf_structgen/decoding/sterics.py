"""Steric exclusion: two residues of a chain that are not within two steps
of each other never have their Cα atoms closer than about 3.3 Å.

The HMM is second order: it sees each link and each Cα(i)-Cα(i+2) pair,
never two residues far apart in the sequence. Where detections are dense
(side-chain centroids, density around the chain: decoys 1-5 Å from true
Cα atoms) a decoded path may put residue t on a true node and residue
t + 20 on a decoy 2 Å from it, a geometry no protein has (the closest
such pair in the real chains of ../shared/data is 3.31 Å). On the 34
held-out real chains simulated at hard realism the true paths had one
pair closer than 3 Å, the paths decoded without this module 389; in 248
of the 269 pairs with exactly one member on its true node, that member
was the more confident one (``python benchmarks/clashes.py``).

:func:`clash_bans` finds the clashes of a decoded path and, for each, bans
the sphere around the more confident member's node for every position of
the chain that is not within two residues of it; the decoder then decodes
again (:class:`~tf_structgen.decoding.assembly` does, up to
``HMMConfig.clash_rounds`` times).

A node that a path uses at two positions (a sequence repeat threaded twice
over the same nodes) is the closest clash there is, and for a chain alone
the same repair suits it. Not for an entity with several copies: there the
repeat's second pass, banned from the first one's nodes, takes the
touching copy's (5eil at realistic realism: 0.97 -> 0.59 strict AA); so
the assembly decoder leaves those to its copy assembly (the repeat goes
null and the copy's own nodes come back by gap filling) and repairs only
clashes between distinct nodes.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree

from tf_structgen.decoding.config import HMMConfig

# Residues this close in sequence are never a clash (links, cis peptides,
# second neighbours: the HMM scores those itself).
MIN_SEPARATION = 3


def clash_distance(config: HMMConfig) -> float:
    """Two nodes closer than this (Å) cannot hold residues ``MIN_SEPARATION``
    or more apart: ``config.clash_distance`` less ``clash_sigmas`` times the
    spread of a distance between two noisy nodes."""
    return max(config.clash_distance
               - config.clash_sigmas * np.sqrt(2.0) * config.noise, 0.0)


def clashes(nodes: np.ndarray, xyz: np.ndarray, cutoff: float,
            repeats: bool = True) -> np.ndarray:
    """[k, 2] position pairs ``(s, t)``, ``s < t``, of one chain whose nodes
    are closer than ``cutoff`` Å and ``t - s >= MIN_SEPARATION``; with
    ``repeats=False`` a node used at two positions is not counted (only
    distinct nodes)."""
    assigned = np.flatnonzero(nodes >= 0)
    if len(assigned) < 2 or cutoff <= 0:
        return np.zeros((0, 2), np.int64)
    pairs = cKDTree(xyz[nodes[assigned]]).query_pairs(cutoff, output_type="ndarray")
    if len(pairs) == 0:
        return np.zeros((0, 2), np.int64)
    s, t = np.sort(assigned[pairs], axis=1).T
    keep = t - s >= MIN_SEPARATION
    if not repeats:
        keep &= nodes[s] != nodes[t]
    return np.stack([s[keep], t[keep]], axis=1)


def clash_winners(pairs: np.ndarray, confidence: np.ndarray) -> np.ndarray:
    """The positions that keep their node: in decreasing confidence (ties:
    the earlier position), a position wins unless a winner already clashes
    with it. Returns the winners that clash with something, sorted."""
    if len(pairs) == 0:
        return np.zeros(0, np.int64)
    involved = np.unique(pairs)
    order = involved[np.lexsort((involved, -confidence[involved]))]
    partners: dict[int, list[int]] = {}
    for s, t in pairs.tolist():
        partners.setdefault(s, []).append(t)
        partners.setdefault(t, []).append(s)
    winners, lost = [], set()
    for s in order.tolist():
        if s in lost:
            continue
        winners.append(s)
        lost.update(partners[s])
    return np.sort(np.asarray(winners, np.int64))


def clash_bans(nodes: np.ndarray, confidence: np.ndarray, xyz: np.ndarray,
               tree: cKDTree, cutoff: float, repeats: bool = True
               ) -> list[tuple[int, np.ndarray]]:
    """What to ban so that the next decode avoids this path's clashes (a
    node used twice among them unless ``repeats`` is False, see
    :func:`clashes`).

    Returns:
      Per winning position t (see :func:`clash_winners`), ``(t, sphere)``:
      the candidate nodes within ``cutoff`` Å of t's node, t's node
      included; they are to be banned at every position further than
      ``MIN_SEPARATION - 1`` from t, except t's own node at t. Empty when
      the path has no clash.
    """
    pairs = clashes(nodes, xyz, cutoff, repeats)
    winners = clash_winners(pairs, confidence)
    return [(int(t), np.asarray(tree.query_ball_point(xyz[nodes[t]], cutoff), np.int64))
            for t in winners]


def ban_rows(n: int, t: int) -> np.ndarray:
    """[n] bool: the positions of a chain of n residues at which a node that
    position t holds excludes its sphere (all but t - 2 .. t + 2)."""
    rows = np.ones(n, bool)
    rows[max(0, t - MIN_SEPARATION + 1):t + MIN_SEPARATION] = False
    return rows
