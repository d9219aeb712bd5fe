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
MAX_PARTNERS = 6      # nearest copies each chain is superposed onto
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


def compared_pairs(chains: Sequence[np.ndarray], xyz: np.ndarray,
                   max_partners: int = MAX_PARTNERS) -> list[tuple[int, int]]:
    """Pairs ``(a, b)``, a < b, of the chains to superpose: each chain with
    its ``max_partners`` nearest (centroids of their assigned nodes), so
    that the work grows linearly with the copies (a 60-copy capsid)."""
    k = len(chains)
    centre = np.array([xyz[c[c >= 0]].mean(axis=0) if (c >= 0).any() else np.full(3, np.nan)
                       for c in chains])
    pairs = set()
    for a in range(k):
        d = np.linalg.norm(centre - centre[a], axis=1)
        d[a] = np.nan
        order = [int(b) for b in np.argsort(d) if np.isfinite(d[b])]
        pairs.update((min(a, b), max(a, b)) for b in order[:max_partners])
    return sorted(pairs)


def agreements(chains: Sequence[np.ndarray], xyz: np.ndarray, cutoff: float,
               pairs: Sequence[tuple[int, int]]) -> dict[tuple[int, int], np.ndarray]:
    """Per pair ``(a, b)`` of chains (node per position, -1 = null; copies
    of one entity, in one frame): [n] int8, 1 where residue t of a lands
    within ``cutoff`` of residue t of b under their trimmed superposition
    (:func:`trimmed_superposition`, over the residues both assign, at
    least ``MIN_COMMON``), 0 where it does not, -1 where not compared."""
    out = {}
    for a, b in pairs:
        na, nb = np.asarray(chains[a]), np.asarray(chains[b])
        agree = np.full(len(na), -1, np.int8)
        both = np.flatnonzero((na >= 0) & (nb >= 0))
        if len(both) >= MIN_COMMON:
            x, y = xyz[na[both]], xyz[nb[both]]
            rotation, shift = trimmed_superposition(x, y, cutoff)
            agree[both] = np.linalg.norm(x @ rotation + shift - y, axis=1) <= cutoff
        out[(a, b)] = agree
    return out


def tally(agree: dict[tuple[int, int], np.ndarray], k: int, n: int) -> np.ndarray:
    """[k, n] bool: residue t of chain a agrees with at least half of the
    chains it was compared with there (:func:`agreements`); residues
    compared with none count as consistent."""
    votes = np.zeros((k, n), np.int64)
    compared = np.zeros((k, n), np.int64)
    for (a, b), ok in agree.items():
        for c in (a, b):
            votes[c] += ok == 1
            compared[c] += ok >= 0
    return 2 * votes >= compared


def consistent_residues(chains: Sequence[np.ndarray], xyz: np.ndarray, cutoff: float,
                        max_partners: int = MAX_PARTNERS) -> np.ndarray:
    """[k, n] bool: residue t of chain a (the k chains are copies of one
    entity, in one frame) lands within ``cutoff`` of residue t of at least
    half of the chains it is compared with (its ``max_partners`` nearest,
    :func:`compared_pairs`) that assign it, under their trimmed
    superpositions (:func:`agreements`). Residues with no such chain to
    compare with count as consistent."""
    nodes = np.asarray(chains)
    k, n = nodes.shape
    pairs = compared_pairs(nodes, xyz, max_partners)
    return tally(agreements(nodes, xyz, cutoff, pairs), k, n)
