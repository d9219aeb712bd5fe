"""Protein-like Cα traces for unlimited realistic training data.

Real structures are few (and the held-out evaluation set), so training
graphs are simulated from generated backbones that share the local and
global statistics a threader relies on:

* consecutive Cα–Cα distance 3.80 Å;
* secondary structure as runs of virtual bond angles θ and dihedrals τ
  (Cα-only geometry): α-helices (θ ≈ 91°, τ ≈ 50°, Cα(i)–Cα(i+2) ≈ 5.4 Å),
  β-strands (θ ≈ 120°, τ ≈ −170°, ≈ 6.6 Å) and loops (θ in 82–150°, τ
  anywhere), so the second-neighbour distance stays in its real 5–7.4 Å range;
* compact, self-avoiding chains: each segment is chosen among several random
  trials as the one closest to the chain's centre that keeps every Cα pair
  three or more residues apart at least ``min_separation`` apart (the chain
  backs up a few segments out of a dead end), so distant parts of the chain
  pack against each other at 4.5–7 Å, like helices and sheets in real folds:
  the look-alike neighbours that make threading hard, with no pair closer
  than real chains have (3.3 Å in ../shared/data);
* several chains packed against each other (complexes, homo-oligomers).

Every trace is a pure function of the generator's state.
"""

from __future__ import annotations

import dataclasses

import numpy as np
from scipy.spatial import cKDTree

CA_CA = 3.80

# (theta mean, theta sd, tau mean, tau sd) in degrees, and length range.
_HELIX = (91.0, 3.0, 50.0, 6.0)
_STRAND = (120.0, 5.0, -170.0, 12.0)
_LOOP_THETA = (82.0, 150.0)
_HELIX_LENGTH = (6, 22)
_STRAND_LENGTH = (4, 11)
_LOOP_LENGTH = (2, 8)
# Segments alternate between loops and secondary structure; a loop is
# followed by a helix with this probability, else by a strand.
_HELIX_AFTER_LOOP = 0.45 / (0.45 + 0.25)


@dataclasses.dataclass(frozen=True, kw_only=True)
class BackboneConfig:
    """Settings of :func:`generate_chain`.

    Attributes:
      min_separation: smallest allowed distance (Å) between Cα atoms more than
        two residues apart.
      trials: random variants tried per segment; the most compact clash-free
        one is kept.
      backtracks: segment draws with no clash-free trial allowed per attempt
        (each second failure of a segment backs the chain up one to three
        segments); after that the least clashing trial is kept.
      restarts: attempts at a whole chain before the least-clashing one is
        accepted.
    """

    min_separation: float = 4.0
    trials: int = 64
    backtracks: int = 400
    restarts: int = 4


def _place(a: np.ndarray, b: np.ndarray, c: np.ndarray, theta: np.ndarray,
           tau: np.ndarray) -> np.ndarray:
    """Points d with |cd| = 3.8, angle bcd = theta, dihedral abcd = tau
    (radians): natural extension of reference frame, vectorised over the
    leading axis of every argument ([k, 3] points, [k] angles)."""
    bc = c - b
    bc /= np.linalg.norm(bc, axis=-1, keepdims=True)
    n = np.cross(b - a, bc)
    n /= np.linalg.norm(n, axis=-1, keepdims=True)
    m = np.cross(n, bc)
    return c + CA_CA * (-np.cos(theta)[:, None] * bc
                        + (np.sin(theta) * np.cos(tau))[:, None] * m
                        + (np.sin(theta) * np.sin(tau))[:, None] * n)


def _segment_angles(kind: str, shape: tuple[int, int], rng: np.random.Generator):
    """Virtual bond angles and dihedrals (radians) of [trials, length]."""
    if kind == "loop":
        theta = rng.uniform(*_LOOP_THETA, shape)
        tau = rng.uniform(-180.0, 180.0, shape)
    else:
        t_mean, t_sd, d_mean, d_sd = _HELIX if kind == "helix" else _STRAND
        theta = rng.normal(t_mean, t_sd, shape)
        tau = rng.normal(d_mean, d_sd, shape)
    return np.radians(theta), np.radians(tau)


def _segment_plan(n: int, rng: np.random.Generator) -> list[tuple[str, int]]:
    """Alternating secondary-structure segments covering n - 3 residues."""
    plan, total, last = [], 0, "loop"
    while total < n - 3:
        if last == "loop":
            kind = "helix" if rng.random() < _HELIX_AFTER_LOOP else "strand"
        else:
            kind = "loop"
        lo, hi = {"helix": _HELIX_LENGTH, "strand": _STRAND_LENGTH,
                  "loop": _LOOP_LENGTH}[kind]
        length = min(int(rng.integers(lo, hi + 1)), n - 3 - total)
        plan.append((kind, length))
        total += length
        last = kind
    return plan


def _segment_trials(kind: str, length: int, previous: np.ndarray, trials: int,
                    rng: np.random.Generator) -> np.ndarray:
    """[trials, length, 3] random continuations of the last three residues."""
    theta, tau = _segment_angles(kind, (trials, length), rng)
    points = np.zeros((trials, length + 3, 3))
    points[:, :3] = previous
    for i in range(length):
        points[:, i + 3] = _place(points[:, i], points[:, i + 1],
                                  points[:, i + 2], theta[:, i], tau[:, i])
    return points[:, 3:]


def _closest_non_bonded(new: np.ndarray, placed: np.ndarray) -> np.ndarray:
    """Per trial, the closest distance between a residue of the new segment
    [trials, length, 3] and any residue three or more positions away: in the
    placed chain [done, 3] (the segment starts at index done) or in the
    segment itself."""
    k, length, _ = new.shape
    done = len(placed)
    clash = np.full(k, np.inf)
    if done > 2:
        dist, _ = cKDTree(placed[:done - 2]).query(new.reshape(-1, 3))
        clash = dist.reshape(k, length).min(axis=1)
    # The last two placed residues are three or more positions away from all
    # but the segment's first one or two residues.
    for back, first in ((2, 1), (1, 2)):
        if done >= back and length > first:
            d = np.linalg.norm(new[:, first:] - placed[done - back], axis=-1)
            clash = np.minimum(clash, d.min(axis=1))
    for i in range(3, length):
        inner = np.sqrt(((new[:, i:i + 1] - new[:, :i - 2]) ** 2).sum(-1))
        clash = np.minimum(clash, inner.min(axis=1))
    return clash


def closest_non_bonded(xyz: np.ndarray, within: float = 8.0) -> float:
    """The closest distance between two Cα of ``xyz`` [n, 3] three or more
    residues apart (``inf`` if none is within ``within`` Å)."""
    pairs = cKDTree(xyz).query_pairs(within, output_type="ndarray")
    pairs = pairs[np.abs(pairs[:, 0] - pairs[:, 1]) >= 3]
    if not len(pairs):
        return np.inf
    return float(np.linalg.norm(xyz[pairs[:, 0]] - xyz[pairs[:, 1]], axis=1).min())


def _try_chain(n: int, config: BackboneConfig, rng: np.random.Generator):
    """One attempt; returns (coordinates, closest non-bonded distance).

    Segments are grown one at a time. When none of a segment's trials keeps
    its distance from the chain, the segment is drawn again; at its second
    failure the chain backs up one to three segments (a dead end is usually
    made by the segments before it). After ``config.backtracks`` failed draws
    the least clashing trial is kept.
    """
    start_theta = np.radians(rng.uniform(85.0, 125.0))
    xyz = np.zeros((n, 3))
    xyz[1] = [CA_CA, 0.0, 0.0]
    xyz[2] = [CA_CA - CA_CA * np.cos(start_theta), CA_CA * np.sin(start_theta), 0.0]
    plan = _segment_plan(n, rng)
    starts = np.cumsum([3] + [length for _, length in plan])
    failures = np.zeros(len(plan), dtype=int)
    budget, s = config.backtracks, 0
    while s < len(plan):
        (kind, length), done = plan[s], int(starts[s])
        new = _segment_trials(kind, length, xyz[done - 3:done], config.trials, rng)
        clash = _closest_non_bonded(new, xyz[:done])
        ok = clash >= config.min_separation
        if not ok.any() and budget > 0:
            budget -= 1
            failures[s] += 1
            if failures[s] >= 2 and s > 0:
                failures[s] = 0
                s -= min(s, int(rng.integers(1, 4)))
            continue
        # Compactness: the segment should end near the centre of the chain.
        centre = xyz[:done].mean(axis=0)
        spread = (np.linalg.norm(new - centre, axis=-1).mean(axis=-1)
                  + np.linalg.norm(new[:, -1] - centre, axis=-1))
        pick = (int(np.argmin(np.where(ok, spread, np.inf))) if ok.any()
                else int(np.argmax(clash)))
        xyz[done:done + length] = new[pick]
        s += 1
    return xyz, closest_non_bonded(xyz, within=config.min_separation + 1.0)


def generate_chain(n: int, rng: np.random.Generator,
                   config: BackboneConfig = BackboneConfig()) -> np.ndarray:
    """A compact, protein-like Cα trace of ``n`` >= 1 residues, [n, 3] float64,
    centred on the origin."""
    if n < 1:
        raise ValueError("a chain needs at least one residue")
    if n < 3:
        return np.array([[CA_CA * i, 0.0, 0.0] for i in range(n)])
    best, best_clash = None, -np.inf
    for _ in range(config.restarts):
        xyz, clash = _try_chain(n, config, rng)
        if clash >= config.min_separation:
            best = xyz
            break
        if clash > best_clash:
            best, best_clash = xyz, clash
    return best - best.mean(axis=0)


def generate_solenoid(unit: int, units: int, rng: np.random.Generator,
                      config: BackboneConfig = BackboneConfig()) -> np.ndarray:
    """A repeat protein's Cα trace, [unit * units, 3], centred: one
    generated unit of ``unit`` residues repeated ``units`` times, each copy
    translated along the unit's end-to-end vector plus one 3.8 Å link (a
    straight solenoid; real ones also twist). Units are drawn again until
    no two Cα three or more residues apart are closer than
    ``config.min_separation``."""
    if unit < 3 or units < 1:
        raise ValueError("a solenoid needs units of at least three residues")
    while True:
        trace = generate_chain(unit, rng, config)
        axis = trace[-1] - trace[0]
        shift = axis + CA_CA * axis / np.linalg.norm(axis)
        xyz = np.concatenate([trace + k * shift for k in range(units)])
        if closest_non_bonded(xyz) >= config.min_separation:
            return xyz - xyz.mean(axis=0)


def _random_rotation(rng: np.random.Generator) -> np.ndarray:
    q, r = np.linalg.qr(rng.normal(size=(3, 3)))
    q *= np.sign(np.diag(r))
    if np.linalg.det(q) < 0:
        q[:, 0] *= -1
    return q


def place_chains(chains: list[np.ndarray], rng: np.random.Generator,
                 contact: float = 7.0, min_separation: float = 4.0,
                 step: float = 0.5) -> list[tuple[np.ndarray, np.ndarray]]:
    """Rigid placements that pack chains side by side, each against the ones
    placed before.

    Each new chain is randomly rotated, set far away along a random direction
    and moved in by ``step`` Å while no Cα pair comes closer than
    ``min_separation``, until it makes about one inter-chain contact (Cα pair
    within ``contact`` Å) per ten residues of the smaller partner: an interface,
    not a touch.

    Returns:
      Per chain, ``(rotation [3, 3], shift [3])``: the placed chain is
      ``chain @ rotation.T + shift`` (the first chain stays where it is).
    """
    placements = [(np.eye(3), np.zeros(3))]
    placed = [chains[0]]
    for chain in chains[1:]:
        complex_xyz = np.concatenate(placed)
        tree = cKDTree(complex_xyz)
        rotation = _random_rotation(rng)
        chain = chain @ rotation.T
        direction = rng.normal(size=3)
        direction /= np.linalg.norm(direction)
        wanted = max(3, min(len(chain), len(complex_xyz)) // 10)
        offset = (np.linalg.norm(complex_xyz, axis=1).max()
                  + np.linalg.norm(chain, axis=1).max() + contact)
        while offset > 0:
            moved = chain + (offset - step) * direction
            closest, _ = tree.query(moved)
            if closest.min() < min_separation:
                break
            offset -= step
            if (closest < contact).sum() >= wanted:
                break
        placements.append((rotation, offset * direction))
        placed.append(chain + offset * direction)
    return placements


def pack_chains(chains: list[np.ndarray], rng: np.random.Generator,
                contact: float = 7.0, min_separation: float = 4.0,
                step: float = 0.5) -> list[np.ndarray]:
    """The chains placed by :func:`place_chains`."""
    return [chain @ rotation.T + shift for chain, (rotation, shift) in zip(
        chains, place_chains(chains, rng, contact, min_separation, step))]


def generate_complex(lengths: list[int], rng: np.random.Generator,
                     config: BackboneConfig = BackboneConfig()) -> list[np.ndarray]:
    """One Cα trace per length, packed into a complex."""
    return pack_chains([generate_chain(n, rng, config) for n in lengths], rng,
                       min_separation=config.min_separation)
