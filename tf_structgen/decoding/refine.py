"""Local search over a decoded assembly: moves that raise its total score.

The assembly decoder (:mod:`.assembly`) decides copies from fragments of
sequential Viterbi paths and then fills the gaps chain by chain. Two kinds of
error survive it, both visible as a *broken junction* (two consecutive
assigned residues of a chain farther apart than the chain can reach in
their number of steps):

* a short run of one copy's nodes threaded into another copy's unresolved
  residues (the sequence repeats a motif, e.g. an ``MKK`` at the terminus
  and another inside), with the copy that owns them left with a gap;
* two copies of one entity exchanged at a junction (both have a gap at
  the same place, or a fill went on along the touching copy).

The assembly's score is the HMM's, summed over its chains
(:func:`chain_score`): emission log-odds of the assigned residues, minus the
junction costs (:func:`~.junctions.junction_cost`) between consecutive
assigned residues, minus the cost of leading and trailing nulls. Two moves
are tried, each kept only if it raises that score by more than
``min_gain``:

1. *Tail exchange*: two chains of one entity swap everything after a
   position (the junction costs on either side decide).
2. *Relocation*: a run between broken junctions is taken out of its
   chain; the chain whose null runs can reach its nodes best is filled
   again with them free, then the run's own chain is filled again.
"""

from __future__ import annotations

import logging
from typing import Callable, Protocol, Sequence

import numpy as np
from scipy.spatial import cKDTree

from tf_structgen.decoding.config import HMMConfig
from tf_structgen.decoding.junctions import broken, junction_cost, null_runs, reach, unique_nodes

logger = logging.getLogger(__name__)

Path = tuple[np.ndarray, np.ndarray]

_MIN_GAIN = 1.0        # natural-log units a move must win by
_MAX_RUN = 40          # longest run that relocation takes out of a chain
_MAX_RECIPIENTS = 6    # null runs (of other chains) tried for a relocated run
_MAX_ROUNDS = 3


class Filler(Protocol):
    """What the local search needs from the decoder."""

    xyz: np.ndarray
    config: HMMConfig

    def emission_at(self, entity: int, nodes: np.ndarray) -> np.ndarray: ...

    def fill_nodes(self, entity: int, nodes: np.ndarray, banned: np.ndarray,
                   only_near: np.ndarray | None = None,
                   within: tuple[int, int] | None = None) -> np.ndarray: ...


def chain_score(nodes: np.ndarray, emission: np.ndarray, xyz: np.ndarray,
                config: HMMConfig) -> float:
    """The HMM's score of one chain (natural-log units, higher is better).

    Args:
      nodes: [n] node per position, -1 = null.
      emission: [n] emission log-odds of each position at its node (any
        value at nulls).
    """
    t = np.flatnonzero(nodes >= 0)
    n = len(nodes)
    if len(t) == 0:
        return -config.null_cost * n
    p = xyz[nodes[t]]
    d = np.linalg.norm(p[1:] - p[:-1], axis=1)
    links = float(junction_cost(d, np.diff(t), config).sum()) if len(t) > 1 else 0.0
    trailing = n - 1 - int(t[-1])
    tail = config.gap_open + config.null_cost * (trailing - 1) if trailing else 0.0
    return float(emission[t].sum()) - links - config.null_cost * int(t[0]) - tail


def broken_runs(nodes: np.ndarray, xyz: np.ndarray, config: HMMConfig,
                max_run: int = _MAX_RUN) -> list[tuple[int, int]]:
    """Runs ``[lo, hi)`` of a chain (nulls inside allowed) bounded by broken
    junctions (or a terminus) on both sides and by at least one broken
    junction, at most ``max_run`` positions long."""
    t = np.flatnonzero(nodes >= 0)
    if len(t) < 2:
        return []
    p = xyz[nodes[t]]
    d = np.linalg.norm(p[1:] - p[:-1], axis=1)
    jumps = broken(d, np.diff(t), config)
    if not jumps.any():
        return []
    cuts = np.flatnonzero(jumps) + 1
    runs = []
    for piece in np.split(t, cuts):
        lo, hi = int(piece[0]), int(piece[-1]) + 1
        if hi - lo <= max_run and len(piece) < len(t):
            runs.append((lo, hi))
    return runs


class _State:
    """The chains being refined, their scores and who owns which node."""

    def __init__(self, decoded: list[list[Path]], filler: Filler):
        self.filler = filler
        self.chains = [(e, k) for e, copies in enumerate(decoded) for k in range(len(copies))]
        self.nodes = [decoded[e][k][0].copy() for e, k in self.chains]
        self.owner = np.full(len(filler.xyz), -1)
        for c, nodes in enumerate(self.nodes):
            self.owner[nodes[nodes >= 0]] = c
        self.scores = [self.score(c, nodes) for c, nodes in enumerate(self.nodes)]
        self.changed: set[int] = set()

    def score(self, c: int, nodes: np.ndarray) -> float:
        e = self.chains[c][0]
        return chain_score(nodes, self.filler.emission_at(e, nodes), self.filler.xyz,
                           self.filler.config)

    def set(self, c: int, nodes: np.ndarray, score: float) -> None:
        old = self.nodes[c]
        self.owner[old[old >= 0]] = -1
        self.owner[nodes[nodes >= 0]] = c
        self.nodes[c], self.scores[c] = nodes, score
        self.changed.add(c)

    def banned_for(self, c: int) -> np.ndarray:
        """[m] bool: the nodes of every chain but c."""
        return (self.owner >= 0) & (self.owner != c)


def _dedupe(nodes: np.ndarray) -> np.ndarray:
    """Nulls every repeat of a node after its first position."""
    return unique_nodes(nodes, np.zeros(len(nodes)))[0]


def _exchange_tails(state: _State, a: int, b: int, min_gain: float) -> bool:
    """Best tail exchange between chains a and b of one entity; True if
    one was made."""
    xyz, config = state.filler.xyz, state.filler.config
    na, nb = state.nodes[a], state.nodes[b]
    n = len(na)
    if n < 2 or len(nb) != n:
        return False

    def around(nodes):
        idx = np.where(nodes >= 0, np.arange(n), -1)
        last = np.maximum.accumulate(idx)[:-1]              # last assigned <= t
        nxt = np.where(nodes >= 0, np.arange(n), n)
        nxt = np.minimum.accumulate(nxt[::-1])[::-1][1:]    # first assigned > t
        return last, nxt

    la, xa = around(na)
    lb, xb = around(nb)
    ok = (la >= 0) & (lb >= 0) & (xa < n) & (xb < n)
    if not ok.any():
        return False
    t = np.flatnonzero(ok)
    la, xa, lb, xb = la[t], xa[t], lb[t], xb[t]

    def cost(i, j, from_nodes, to_nodes):
        d = np.linalg.norm(xyz[from_nodes[i]] - xyz[to_nodes[j]], axis=1)
        return junction_cost(d, j - i, config), broken(d, j - i, config)

    keep_a, broken_a = cost(la, xa, na, na)
    keep_b, broken_b = cost(lb, xb, nb, nb)
    swap_a, broken_ab = cost(la, xb, na, nb)
    swap_b, broken_ba = cost(lb, xa, nb, na)
    keep, swap = keep_a + keep_b, swap_a + swap_b
    # Only two broken junctions are exchanged, for two that are not: between
    # junctions within reach, the geometry of an unresolved loop does not
    # tell copies apart.
    gain = np.where(broken_a & broken_b & ~broken_ab & ~broken_ba, keep - swap, -np.inf)
    best = int(np.argmax(gain))
    if gain[best] <= min_gain:
        return False
    cut = int(t[best]) + 1
    new_a = np.concatenate([na[:cut], nb[cut:]])
    new_b = np.concatenate([nb[:cut], na[cut:]])
    sa, sb = state.score(a, new_a), state.score(b, new_b)
    if sa + sb - state.scores[a] - state.scores[b] <= min_gain:
        return False
    state.set(a, new_a, sa)
    state.set(b, new_b, sb)
    return True


def _relocate(state: _State, c: int, lo: int, hi: int, min_gain: float) -> bool:
    """Takes the run ``[lo, hi)`` out of chain c, fills the best recipient's
    gaps and then c's own with its nodes free; True if kept."""
    filler = state.filler
    xyz, config = filler.xyz, filler.config
    nodes = state.nodes[c]
    run = nodes[lo:hi]
    freed = run[run >= 0]
    if len(freed) == 0:
        return False
    emptied = nodes.copy()
    emptied[lo:hi] = -1
    free_mask = np.zeros(len(xyz), bool)
    free_mask[freed] = True
    radius = float(min(reach(len(freed) + 1, config), 40.0))
    tree = cKDTree(xyz[freed])
    # Recipients: null runs of other chains anchored within reach of the
    # run's nodes, each filled on its own (a chain's first run to be filled
    # would otherwise take the nodes another of its runs fits better).
    options = []
    for r, other in enumerate(state.nodes):
        if r == c or not (other < 0).any():
            continue
        for start, stop in null_runs(other):
            anchors = [t for t in (start - 1, stop) if 0 <= t < len(other)]
            if not anchors:
                continue
            dist, _ = tree.query(xyz[other[anchors]])
            if dist.min() <= radius:
                options.append((float(dist.min()), r, (start, stop)))
    options.sort()
    before = state.scores[c]
    best = (0.0, None, None)
    for _, r, within in options[:_MAX_RECIPIENTS]:
        e = state.chains[r][0]
        banned = state.banned_for(r)
        banned[freed] = False
        filled = _dedupe(filler.fill_nodes(e, state.nodes[r], banned, only_near=free_mask,
                                           within=within))
        gain = state.score(r, filled) - state.scores[r]
        if gain > best[0] and np.isin(freed, filled).any():
            best = (gain, r, filled)
    gain_r, r, filled = best
    banned = state.banned_for(c)
    if r is not None:
        old = state.nodes[r]
        banned[old[old >= 0]] = False
        banned[filled[filled >= 0]] = True
    e = state.chains[c][0]
    refilled = _dedupe(filler.fill_nodes(e, emptied, banned, within=(lo, hi)))
    refilled_score = state.score(c, refilled)
    total = refilled_score - before + gain_r
    if total <= min_gain or np.array_equal(refilled, nodes):
        return False
    if r is not None:
        state.set(r, filled, state.scores[r] + gain_r)
    state.set(c, refilled, refilled_score)
    return True


def refine(decoded: list[list[Path]], filler: Filler,
           confidence: Callable[[int, np.ndarray, np.ndarray], np.ndarray],
           min_gain: float = _MIN_GAIN, max_rounds: int = _MAX_ROUNDS) -> list[list[Path]]:
    """Tail exchanges and relocations (module docstring) until none raises
    the assembly's score by more than ``min_gain``; changed chains get
    their confidence again from ``confidence(entity, nodes, banned)``."""
    state = _State(decoded, filler)
    by_entity: dict[int, list[int]] = {}
    for c, (e, _) in enumerate(state.chains):
        by_entity.setdefault(e, []).append(c)
    moves = 0
    for _ in range(max_rounds):
        made = 0
        for members in by_entity.values():
            for i, a in enumerate(members):
                for b in members[i + 1:]:
                    while _exchange_tails(state, a, b, min_gain):
                        made += 1
        for c in range(len(state.chains)):
            for lo, hi in broken_runs(state.nodes[c], filler.xyz, filler.config):
                if _relocate(state, c, lo, hi, min_gain):
                    made += 1
        moves += made
        if not made:
            break
    if moves:
        logger.info("assembly refinement: %d moves on %d chains", moves, len(state.changed))
    out = [list(copies) for copies in decoded]
    for c in sorted(state.changed):
        e, k = state.chains[c]
        nodes = state.nodes[c].astype(np.int32)
        out[e][k] = (nodes, confidence(e, nodes, state.banned_for(c)))
    return out
