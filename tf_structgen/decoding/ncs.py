"""Copy consistency: the copies of one entity are one rigid structure.

Copies of a homo-oligomer (or the copies in a crystal's asymmetric unit)
have, to within noise and some flexibility, the same structure: one rigid
motion maps residue t of copy a onto residue t of copy b, for every t. A
chain that jumps between touching copies breaks this for the part it
threads on the other copy, however plausible its junctions look: that
part superposes onto the other copies with a different motion. This is
the non-crystallographic symmetry (NCS) a crystallographer checks a model
with, and it tells copies apart where local geometry cannot
(:func:`consistent_residues`; used by the assembly refinement's copy
exchange, :mod:`.refine`).

Its limits: with two copies related by a two-fold axis the motion is its
own inverse, so two chains exchanged there are as consistent as before;
about an n-fold axis, every chain taking the next copy's part is as
consistent as the copies are. The junctions decide between those (the
refinement scores both), and a dimer's exchanges are left to them alone.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

MIN_COMMON = 12       # residues two chains share for their superposition
_TRIM_ROUNDS = 4      # refits of a trimmed superposition


def consistency_cutoff(noise: float) -> float:
    """Å within which a residue superposed from one copy lands on another's:
    two noisy positions (``noise`` Å per coordinate) differ by about
    2.4 ``noise`` RMS, and copies differ by an Å or two in their loops."""
    return 3.0 + 4.0 * float(noise)


def superpose(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rotation R and translation s minimising ``|x R + s - y|`` (Kabsch;
    x, y [k, 3], k >= 3), a proper rotation."""
    cx, cy = x.mean(axis=0), y.mean(axis=0)
    u, _, vt = np.linalg.svd((x - cx).T @ (y - cy))
    flip = np.sign(np.linalg.det(u @ vt)) or 1.0
    u[:, -1] *= flip
    rotation = u @ vt
    return rotation, cy - cx @ rotation


def trimmed_superposition(x: np.ndarray, y: np.ndarray, cutoff: float
                          ) -> tuple[np.ndarray, np.ndarray]:
    """Superposition of x onto y fitted to the pairs it maps within
    ``cutoff`` (refitted ``_TRIM_ROUNDS`` times, from all pairs; never on
    fewer than the better half): the motion of the majority of the pairs,
    where a part of x belongs to another copy."""
    keep = np.ones(len(x), bool)
    for _ in range(_TRIM_ROUNDS):
        rotation, shift = superpose(x[keep], y[keep])
        residual = np.linalg.norm(x @ rotation + shift - y, axis=1)
        new = residual <= cutoff
        if new.sum() < max(3, len(x) // 2):
            new = residual <= np.median(residual)
        if np.array_equal(new, keep):
            break
        keep = new
    return rotation, shift


def consistent_residues(chains: Sequence[np.ndarray], xyz: np.ndarray,
                        cutoff: float) -> np.ndarray:
    """[k, n] bool: residue t of chain a (node per position, -1 = null;
    the k chains are copies of one entity, in one frame) lands within
    ``cutoff`` of residue t of at least half of the other chains that
    assign it, under their trimmed superpositions (:func:`trimmed_superposition`
    over the residues both assign, at least ``MIN_COMMON``). Residues
    with no such chain to compare with count as consistent."""
    nodes = np.asarray(chains)
    k, n = nodes.shape
    agree = np.zeros((k, n), np.int64)
    compared = np.zeros((k, n), np.int64)
    for a in range(k):
        for b in range(a + 1, k):
            both = np.flatnonzero((nodes[a] >= 0) & (nodes[b] >= 0))
            if len(both) < MIN_COMMON:
                continue
            x, y = xyz[nodes[a, both]], xyz[nodes[b, both]]
            rotation, shift = trimmed_superposition(x, y, cutoff)
            ok = np.linalg.norm(x @ rotation + shift - y, axis=1) <= cutoff
            for c in (a, b):
                agree[c, both] += ok
                compared[c, both] += 1
    return 2 * agree >= compared
