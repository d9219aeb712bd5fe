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
assigned residues, minus the cost of leading and trailing nulls, plus the
dihedral penalty (:func:`~.graph.path_dihedral_score`). Seven
moves are tried, each kept only if it raises that score by more than
``min_gain`` (and, after them, every null run is filled again):

1. *Tail exchange*: two chains of one entity swap everything after a
   position (the junction costs on either side decide). And the *copy
   exchange*: where a chain's residues stop superposing onto the other
   copies of its entity (:mod:`.ncs`), its tail and another copy's are
   exchanged, scored with a bonus per residue made consistent: copies
   that touch can exchange with junctions no worse than their own, and
   only the copies' common structure tells them apart (6r79, 1f2n).
2. *Relocation*: a run between broken junctions, or a short island cut
   off by long gaps (:func:`island_runs`), is taken out of its chain; the
   other chain whose null runs can reach its nodes best is filled again
   with them free, then the run's own chain is filled again.
3. *Window exchange*: a short window between two suspect junctions of a
   chain (a jump, a gap, or a one-step link stretched to ``_LOOSE_COST``),
   or around one that is not a gap, is emptied in that chain and in a
   touching copy of its entity, and the two are filled again, in both
   orders, with their tails kept or exchanged. This undoes what the first two
   moves cannot: two copies that took each other's residues over a few
   positions, also read backwards (an antiparallel strand pairing two
   copies, with a sequence that reads alike both ways, ``QEVEQ`` of the
   hexamer 1hwu), and a copy that took another's residues where its own
   are missing, a junction looser than a jump away from its own chain,
   and two copies exchanged through a bridge of a third copy's nodes whose
   entry looks like a clean link (6r79: both copies miss two residues).
4. *Repeat swap*: where the sequence repeats itself (a window reads at
   least ``_REPEAT_IDENTITY`` alike one repeat period away, as the
   33-residue units of an ankyrin-repeat protein do), a chain can thread
   one unit's residues through the next unit's nodes and back at no cost
   in emissions: two slipped segments of one chain that only their
   junctions betray (5eil). In an assembly a chain can also run along a
   touching copy one or more units off, the copy holding the chain's
   nodes there. A window between broken or suspect junctions and its
   repeat partner, in the same chain or a touching copy, exchange their
   nodes, or are emptied together and threaded again; of all such
   windows, partners and the two ways the best is kept (steepest ascent).
   This works on single chains too.
5. *Gap refill* (assemblies of two or more chains): every null run of a
   chain, with ``_GAP_PAD`` residues either side, is emptied and threaded
   again over the free nodes. The residues beside a gap were placed while
   other chains held nodes that moves have since freed, and the fill of
   the gap alone keeps them as anchors; freeing them lets the chain pass
   through the gap on its own nodes.
6. *Rethread* (assemblies): a chain with a broken junction is threaded
   again from scratch, Viterbi over the free nodes within
   ``_RETHREAD_RADIUS`` of its own (the filler's ``rethread``). The
   moves above change one or two windows at a time; a chain slipped by a
   repeat unit over two windows at once (its units 2 and 3 through each
   other's nodes) gains nothing from either exchange alone, and the whole
   chain decoded again with the other copies' nodes held gets out. And the
   *pair rethread*: two nearby copies exchange their tails after a broken
   junction of either, and both are threaded again (scored like the copy
   exchange, with the copy-consistency term): copies crossed at a junction
   and each broken after it, which neither the exchange nor a rethread
   mends alone (1hwu, 3og7).

"Copies" and "one entity" above mean one *copy set* (:func:`copy_sets`):
an entity's copies, and the copies given as other records of the same
sequence (one FASTA record per chain of a homo-oligomer).
"""

from __future__ import annotations

import logging
from typing import Callable, Protocol, Sequence

import numpy as np
from scipy.spatial import cKDTree

from tf_structgen.common.residue_constants import UNKNOWN_INDEX
from tf_structgen.decoding import ncs
from tf_structgen.decoding.config import HMMConfig
from tf_structgen.decoding.graph import path_dihedral_score
from tf_structgen.decoding.junctions import broken, junction_cost, null_runs, reach, unique_nodes

logger = logging.getLogger(__name__)

Path = tuple[np.ndarray, np.ndarray]

_MIN_GAIN = 1.0        # natural-log units a move must win by
_MAX_RUN = 40          # longest run that relocation takes out of a chain
_MAX_RECIPIENTS = 6    # null runs (of other chains) tried for a relocated run
# Rounds of all moves; each kept move raises the score by more than
# _MIN_GAIN, so the search ends anyway. Three rounds left copies of
# identical repeats crossed at hard realism (a move made in the last round
# opened the next); on generated solenoids they converge within ten.
_MAX_ROUNDS = 20
_LOOSE_COST = 3.0      # a one-step link costing this much (~2.4 sigma) is suspect
_MAX_WINDOW = 20       # longest window that a window exchange empties
_MAX_ISLAND = 8        # longest island (a short run cut off by gaps) relocated
_ISLAND_GAP = 5        # residues of a gap that cuts an island off
_PAD = 4               # residues either side of a hard junction in its window
_MAX_PARTNERS = 2      # touching copies tried per window
_PARTNER_RADIUS = 12.0  # Å: a partner's nodes within this of the window's
_REPEAT_IDENTITY = 0.8  # identical residues for two windows to be repeats
_MIN_REPEAT = 4        # shortest window a repeat swap moves
_MAX_SHIFTS = 4        # repeat partners tried per window
_MAX_SWAPS = 8         # repeat swaps per chain and round
_GAP_PAD = 6           # residues either side of a null run that a gap refill frees
_COPY_WEIGHT = 0.25    # score per residue a copy exchange makes consistent
_COPY_SHIFT = 2        # positions either side of a consistency change tried as the cut
_MAX_COPY_CUTS = 64    # cuts a copy exchange tries per pair of copies (bounds its work)
_RETHREAD_RADIUS = 8.0  # Å: nodes a chain threaded again may use, around its own


class Filler(Protocol):
    """What the local search needs from the decoder."""

    xyz: np.ndarray
    config: HMMConfig
    seqs: Sequence[np.ndarray]

    def emission_at(self, entity: int, nodes: np.ndarray) -> np.ndarray: ...

    def fill_nodes(self, entity: int, nodes: np.ndarray, banned: np.ndarray,
                   only_near: np.ndarray | None = None,
                   within: tuple[int, int] | None = None) -> np.ndarray: ...

    def rethread(self, entity: int, nodes: np.ndarray, banned: np.ndarray,
                 radius: float) -> np.ndarray: ...


def chain_score(nodes: np.ndarray, emission: np.ndarray, xyz: np.ndarray,
                config: HMMConfig) -> float:
    """The HMM's score of one chain (natural-log units, higher is better),
    its dihedral penalty included.

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
    return (float(emission[t].sum()) - links - config.null_cost * int(t[0]) - tail
            + path_dihedral_score(nodes, xyz, config))


def _junctions(nodes: np.ndarray, xyz: np.ndarray
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A chain's assigned positions t, and for each junction between two
    consecutive ones its length (Å) and its number of steps."""
    t = np.flatnonzero(nodes >= 0)
    p = xyz[nodes[t]]
    return t, np.linalg.norm(p[1:] - p[:-1], axis=1), np.diff(t)


def broken_runs(nodes: np.ndarray, xyz: np.ndarray, config: HMMConfig,
                max_run: int = _MAX_RUN) -> list[tuple[int, int]]:
    """Runs ``[lo, hi)`` of a chain (nulls inside allowed) bounded by broken
    junctions (or a terminus) on both sides and by at least one broken
    junction, at most ``max_run`` positions long."""
    t, d, steps = _junctions(nodes, xyz)
    if len(t) < 2:
        return []
    jumps = broken(d, steps, config)
    if not jumps.any():
        return []
    cuts = np.flatnonzero(jumps) + 1
    runs = []
    for piece in np.split(t, cuts):
        lo, hi = int(piece[0]), int(piece[-1]) + 1
        if hi - lo <= max_run and len(piece) < len(t):
            runs.append((lo, hi))
    return runs


def suspect_windows(nodes: np.ndarray, xyz: np.ndarray, config: HMMConfig,
                    max_window: int = _MAX_WINDOW) -> list[tuple[int, int]]:
    """Windows ``[lo, hi)`` between two consecutive suspect junctions of a
    chain (at most ``max_window`` positions): a junction is suspect when it
    is broken, spans a gap, or is a one-step link costing at least
    ``_LOOSE_COST``. A terminus bounds a window as a gap does, and a window
    needs one bound that is neither (gaps alone are the common case of
    missing detections). Then, for each broken or stretched junction, the
    window of ``_PAD`` residues either side of it."""
    t, d, steps = _junctions(nodes, xyz)
    if len(t) < 2:
        return []
    hard = broken(d, steps, config) | ((steps == 1) & (junction_cost(d, 1, config) >= _LOOSE_COST))
    gap = (steps > 1) & ~hard
    # Suspect junction k sits between t[k] and t[k + 1]; the termini are
    # junctions -1 and len(t) - 1.
    k = np.flatnonzero(hard | gap)
    kinds = np.concatenate([[False], hard[k], [False]])
    k = np.concatenate([[-1], k, [len(t) - 1]])
    windows = []
    for i in range(len(k) - 1):
        if not (kinds[i] or kinds[i + 1]):
            continue
        lo, hi = int(t[k[i] + 1]), int(t[k[i + 1]]) + 1
        if hi - lo <= max_window and not (k[i] == -1 and k[i + 1] == len(t) - 1):
            windows.append((lo, hi))
    # Around each hard junction: the residues before it may be a bridge
    # through another copy whose entry looks like a clean link.
    n = len(nodes)
    for j in np.flatnonzero(hard):
        window = (max(0, int(t[j]) - _PAD), min(n, int(t[j + 1]) + 1 + _PAD))
        if window not in windows and window[1] - window[0] <= max_window:
            windows.append(window)
    return windows


def island_runs(nodes: np.ndarray, xyz: np.ndarray, config: HMMConfig,
                max_island: int = _MAX_ISLAND, min_gap: int = _ISLAND_GAP
                ) -> list[tuple[int, int]]:
    """Short runs ``[lo, hi)`` (at most ``max_island`` positions) cut off
    from the rest of their chain by a gap of at least ``min_gap`` residues
    or a broken junction on both sides (a terminus counts as either), with
    one such side at least: an unresolved terminus or loop threaded
    through a few nodes whose residues match locally, often another copy's
    (3og7: an N-terminal ``MKK`` on the other copy's residues 38, 39 and
    51). Their junctions may all look plausible."""
    t, d, steps = _junctions(nodes, xyz)
    if len(t) < 2:
        return []
    cut = (steps >= min_gap) | broken(d, steps, config)
    if not cut.any():
        return []
    runs = []
    for piece in np.split(t, np.flatnonzero(cut) + 1):
        lo, hi = int(piece[0]), int(piece[-1]) + 1
        if hi - lo <= max_island:
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
        """Chain c's new nodes and score. A move sets the chains it changed
        one after another: nodes that another chain took over from c in the
        same move (set first) stay that chain's."""
        old = self.nodes[c]
        old = old[old >= 0]
        self.owner[old[self.owner[old] == c]] = -1
        self.owner[nodes[nodes >= 0]] = c
        self.nodes[c], self.scores[c] = nodes, score
        self.changed.add(c)

    def banned_for(self, c: int) -> np.ndarray:
        """[m] bool: the nodes of every chain but c."""
        return (self.owner >= 0) & (self.owner != c)


def copy_sets(seqs: Sequence[np.ndarray]) -> list[int]:
    """Per entity, the set of entities whose chains the moves may exchange
    between: the entity itself and the records with the same sequence
    (one FASTA record per chain of a homo-oligomer: threaded as one entity
    with copies would be). Records that differ, if only where one has an
    unresolved residue written as ``X``, stay apart: exchanging tails
    between them changes which chain must explain which ``X``, and at
    exact coordinates (noise 0) the HMM preferred such an exchange on 3og7
    (AA 1.0 -> 0.70). Returns a set id per entity (the smallest entity
    index of its set)."""
    first: dict[bytes, int] = {}
    return [first.setdefault(np.asarray(seq, np.int64).tobytes(), k)
            for k, seq in enumerate(seqs)]


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


def _exchange_copies(state: _State, members: Sequence[int], min_gain: float) -> bool:
    """Best tail exchange between two copies of one entity by copy
    consistency (:mod:`.ncs`): for two nearby copies (superposed onto each
    other, :func:`~.ncs.compared_pairs`), where the residues of either stop
    (or start) superposing onto the other copies, their tails are
    exchanged there (or up to ``_COPY_SHIFT`` either side, the junctions
    deciding), scored as the change of the chains' HMM score plus
    ``_COPY_WEIGHT`` per residue made consistent. Kept if that exceeds
    ``min_gain`` and the exchange makes residues consistent; True if one
    was made. Per candidate only the two chains' superpositions are fitted
    again, and at most ``_MAX_COPY_CUTS`` cuts are tried per pair, so the
    work grows linearly with the copies."""
    xyz, config = state.filler.xyz, state.filler.config
    nodes = [state.nodes[c] for c in members]
    k, n = len(members), len(nodes[0])
    if k < 2 or n < 2 or any(len(x) != n for x in nodes):
        return False
    cutoff = ncs.consistency_cutoff(config.noise)
    pairs = ncs.compared_pairs(nodes, xyz)
    agree = ncs.agreements(nodes, xyz, cutoff, pairs)
    assigned = np.array([x >= 0 for x in nodes])
    ok = ncs.tally(agree, k, n) & assigned
    if ok.sum() == assigned.sum():
        return False

    def changes(i):
        """Positions where chain i's consistency changes (the first
        assigned position after the change)."""
        t = np.flatnonzero(assigned[i])
        return t[np.flatnonzero(ok[i, t[1:]] != ok[i, t[:-1]]) + 1]

    change = [changes(i) for i in range(k)]
    best = (min_gain, None)
    for i, j in pairs:
        if not (len(change[i]) or len(change[j])):
            continue
        # Every change of either chain, at most _MAX_COPY_CUTS: those nearest
        # a change of the other, counted in positions both assign (copies
        # miss different parts of a loop).
        common = np.concatenate([[0], np.cumsum(assigned[i] & assigned[j])])
        gap = np.abs(common[change[i]][:, None] - common[change[j]][None, :]).astype(float)
        gap = np.pad(gap, ((0, 1), (0, 1)), constant_values=np.inf)   # a side may be empty
        either = np.concatenate([change[i], change[j]])
        near = np.concatenate([gap[:-1].min(axis=1), gap[:, :-1].min(axis=0)])
        cuts = sorted(set(either[np.argsort(near, kind="stable")].tolist()[:_MAX_COPY_CUTS]))
        a, b = members[i], members[j]
        na, nb = state.nodes[a], state.nodes[b]
        before = state.scores[a] + state.scores[b]
        touched = [p for p in pairs if i in p or j in p]
        for cut in cuts:
            tried = []
            for at in range(max(1, cut - _COPY_SHIFT), min(n, cut + _COPY_SHIFT + 1)):
                new_a = np.concatenate([na[:at], nb[at:]])
                new_b = np.concatenate([nb[:at], na[at:]])
                sa, sb = state.score(a, new_a), state.score(b, new_b)
                tried.append((sa + sb - before, new_a, new_b, sa, sb))
            local, new_a, new_b, sa, sb = max(tried, key=lambda o: o[0])
            swapped = list(nodes)
            swapped[i], swapped[j] = new_a, new_b
            now = dict(agree)
            now.update(ncs.agreements(swapped, xyz, cutoff, touched))
            made = int((ncs.tally(now, k, n) & (np.array(swapped) >= 0)).sum() - ok.sum())
            gain = local + _COPY_WEIGHT * made
            if made > 0 and gain > best[0]:
                best = (gain, ((a, new_a, sa), (b, new_b, sb)))
    if best[1] is None:
        return False
    logger.debug("copy exchange: chains %d, %d, gain %.2f", best[1][0][0], best[1][1][0], best[0])
    for c, new, score in best[1]:
        state.set(c, new, score)
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


def _partners(state: _State, c: int, lo: int, hi: int, members: list[int]) -> list[int]:
    """Other chains of c's entity with a node within ``_PARTNER_RADIUS`` of
    the window's nodes, nearest first, at most ``_MAX_PARTNERS``."""
    window = state.nodes[c][lo:hi]
    window = window[window >= 0]
    if len(window) == 0:
        return []
    tree = cKDTree(state.filler.xyz[window])
    near = []
    for b in members:
        other = state.nodes[b]
        other = other[other >= 0]
        if b == c or len(other) == 0:
            continue
        dist = float(tree.query(state.filler.xyz[other])[0].min())
        if dist <= _PARTNER_RADIUS:
            near.append((dist, b))
    return [b for _, b in sorted(near)[:_MAX_PARTNERS]]


def _exchange_window(state: _State, a: int, b: int, lo: int, hi: int,
                     min_gain: float) -> bool:
    """Empties ``[lo, hi)`` in chains a and b of one entity and fills both
    again, with their tails after the window kept or exchanged, each chain
    filled first in turn (the first picks from all freed nodes); True if
    the best outcome raised their score and was kept."""
    filler = state.filler
    na, nb = state.nodes[a], state.nodes[b]
    others = (state.owner >= 0) & (state.owner != a) & (state.owner != b)
    hole = np.full(hi - lo, -1, na.dtype)
    before = state.scores[a] + state.scores[b]
    best = (min_gain, None)
    for swap in (False, True) if hi < len(na) else (False,):
        emptied = {a: np.concatenate([na[:lo], hole, (nb if swap else na)[hi:]]),
                   b: np.concatenate([nb[:lo], hole, (na if swap else nb)[hi:]])}
        for first, second in ((a, b), (b, a)):
            banned = others.copy()
            banned[emptied[second][emptied[second] >= 0]] = True
            new_first = _dedupe(filler.fill_nodes(state.chains[first][0], emptied[first],
                                                  banned, within=(lo, hi)))
            banned = others.copy()
            banned[new_first[new_first >= 0]] = True
            new_second = _dedupe(filler.fill_nodes(state.chains[second][0], emptied[second],
                                                   banned, within=(lo, hi)))
            scores = {first: state.score(first, new_first),
                      second: state.score(second, new_second)}
            gain = scores[a] + scores[b] - before
            if gain > best[0]:
                best = (gain, {first: (new_first, scores[first]),
                               second: (new_second, scores[second])})
    if best[1] is None:
        return False
    new = best[1]
    if all(np.array_equal(new[c][0], state.nodes[c]) for c in (a, b)):
        return False
    for c in (a, b):
        state.set(c, *new[c])
    return True


def repeat_shifts(seq: np.ndarray, lo: int, hi: int,
                  min_identity: float = _REPEAT_IDENTITY,
                  max_shifts: int = _MAX_SHIFTS) -> list[int]:
    """Shifts P such that ``seq[lo + P:hi + P]`` lies in the sequence, does
    not overlap ``[lo, hi)`` and matches ``seq[lo:hi]`` at ``min_identity``
    of its positions or more (unknown residues match nothing); the most
    alike first, at most ``max_shifts``. Empty for windows shorter than
    ``_MIN_REPEAT`` or longer than half the sequence."""
    length = hi - lo
    if length < _MIN_REPEAT or length > len(seq) // 2:
        return []
    window = seq[lo:hi]
    starts = np.lib.stride_tricks.sliding_window_view(seq, length)
    same = ((starts == window) & (window != UNKNOWN_INDEX)).mean(axis=1)
    shift = np.arange(len(starts)) - lo
    ok = (same >= min_identity) & (np.abs(shift) >= length)
    order = np.argsort(-same[ok], kind="stable")
    return [int(p) for p in shift[ok][order][:max_shifts]]


def _swap_repeats(state: _State, c: int, min_gain: float,
                  members: Sequence[int] = ()) -> bool:
    """For every window of chain c between broken junctions
    (:func:`broken_runs`) or suspect ones (:func:`suspect_windows`), each
    of its repeat partners (:func:`repeat_shifts`) and each chain that
    may hold the partner window (c itself, and the copies of c's entity
    in ``members`` that touch the window, :func:`_partners`), two
    candidates: the two windows' nodes exchanged, and both windows emptied
    and threaded again (c's first, with the partner's nodes free; the
    fill's Viterbi takes a jump as a cheap way out where the chain's score
    charges a broken junction, so the fill alone can miss the plain
    exchange). Keeps the single best candidate if it raised the chains'
    score: steepest ascent, since with several slipped units the first
    gain found is often a swap of the wrong windows. With copies, a chain
    can run along a touching copy one or more repeat periods off (the
    copy holds the chain's nodes there, and the chain the copy's)."""
    filler = state.filler
    e = state.chains[c][0]
    nodes = state.nodes[c]
    seq = np.asarray(filler.seqs[e])
    windows = broken_runs(nodes, filler.xyz, filler.config)
    windows += [w for w in suspect_windows(nodes, filler.xyz, filler.config)
                if w not in windows]
    best = (min_gain, None)
    for lo, hi in windows:
        shifts = repeat_shifts(seq, lo, hi)
        if not shifts:
            continue
        for b in [c] + _partners(state, c, lo, hi, list(members)):
            for shift in shifts:
                for change in _repeat_candidates(state, c, b, lo, hi, shift):
                    gain = sum(score for _, _, score in change) - sum(
                        state.scores[x] for x, _, _ in change)
                    if gain > best[0]:
                        best = (gain, change)
    if best[1] is None or all(np.array_equal(new, state.nodes[x]) for x, new, _ in best[1]):
        return False
    for x, new, score in best[1]:
        state.set(x, new, score)
    return True


def _repeat_candidates(state: _State, c: int, b: int, lo: int, hi: int, shift: int
                       ) -> list[list[tuple[int, np.ndarray, float]]]:
    """The two candidates of :func:`_swap_repeats` for window ``[lo, hi)``
    of chain c and ``[lo + shift, hi + shift)`` of chain b (b may be c):
    per candidate, (chain, new nodes, new score) of each chain it changes."""
    filler = state.filler
    e = state.chains[c][0]
    nc, nb = state.nodes[c], state.nodes[b]
    lo2, hi2 = lo + shift, hi + shift
    if b == c:
        swapped = nc.copy()
        swapped[lo:hi] = nc[lo2:hi2]
        swapped[lo2:hi2] = nc[lo:hi]
        emptied = nc.copy()
        emptied[lo:hi] = -1
        emptied[lo2:hi2] = -1
        span = (min(lo, lo2), max(hi, hi2))
        refilled = _dedupe(filler.fill_nodes(e, emptied, state.banned_for(c), within=span))
        return [[(c, new, state.score(c, new))] for new in (swapped, refilled)]
    swap_c, swap_b = nc.copy(), nb.copy()
    swap_c[lo:hi] = nb[lo2:hi2]
    swap_b[lo2:hi2] = nc[lo:hi]
    empty_c, empty_b = nc.copy(), nb.copy()
    empty_c[lo:hi] = -1
    empty_b[lo2:hi2] = -1
    others = (state.owner >= 0) & (state.owner != c) & (state.owner != b)
    banned = others.copy()
    banned[empty_b[empty_b >= 0]] = True
    fill_c = _dedupe(filler.fill_nodes(e, empty_c, banned, within=(lo, hi)))
    banned = others.copy()
    banned[fill_c[fill_c >= 0]] = True
    fill_b = _dedupe(filler.fill_nodes(state.chains[b][0], empty_b, banned, within=(lo2, hi2)))
    return [[(c, new_c, state.score(c, new_c)), (b, new_b, state.score(b, new_b))]
            for new_c, new_b in ((swap_c, swap_b), (fill_c, fill_b))]


def _rethread(state: _State, c: int, min_gain: float) -> bool:
    """Chain c, if it has a broken junction, threaded again from scratch
    over the free nodes near its own (the filler's ``rethread``); kept if
    that raises its score."""
    filler = state.filler
    nodes = state.nodes[c]
    _, d, steps = _junctions(nodes, filler.xyz)
    if not broken(d, steps, filler.config).any():
        return False
    new = _dedupe(filler.rethread(state.chains[c][0], nodes, state.banned_for(c),
                                  _RETHREAD_RADIUS))
    score = state.score(c, new)
    if score - state.scores[c] <= min_gain or np.array_equal(new, nodes):
        return False
    state.set(c, new, score)
    return True


def _broken_cuts(nodes: np.ndarray, xyz: np.ndarray, config: HMMConfig) -> np.ndarray:
    """The first assigned position after each broken junction of a chain."""
    t, d, steps = _junctions(nodes, xyz)
    if len(t) < 2:
        return np.zeros(0, np.int64)
    return t[np.flatnonzero(broken(d, steps, config)) + 1]


def _rethread_pairs(state: _State, members: Sequence[int], min_gain: float) -> bool:
    """Best tail exchange of two nearby copies of one entity
    (:func:`~.ncs.compared_pairs`) followed by a rethread of both
    (:func:`_rethread`: each threaded again over the free nodes near its
    new nodes, the other's held, in both orders, each kept as exchanged
    where the rethread scores worse). Cuts: after every broken junction of
    either chain, at most ``_MAX_COPY_CUTS`` per pair. Scored as the
    chains' HMM change plus ``_COPY_WEIGHT`` per residue made consistent
    with the other copies (:mod:`.ncs`; fewer counts against). Kept if
    that exceeds ``min_gain``; True if one was made. Two copies crossed
    at a junction and each slipped or broken after it need the exchange
    and the rethread together: neither raises the score alone."""
    filler = state.filler
    xyz, config = filler.xyz, filler.config
    nodes = [state.nodes[c] for c in members]
    k, n = len(members), len(nodes[0])
    if k < 2 or n < 2 or any(len(x) != n for x in nodes):
        return False
    cuts = [_broken_cuts(x, xyz, config) for x in nodes]
    if not any(len(c) for c in cuts):
        return False
    cutoff = ncs.consistency_cutoff(config.noise)
    pairs = ncs.compared_pairs(nodes, xyz)
    agree = ncs.agreements(nodes, xyz, cutoff, pairs)
    consistent = int((ncs.tally(agree, k, n) & np.array([x >= 0 for x in nodes])).sum())
    best = (min_gain, None)
    for i, j in pairs:
        at = sorted({int(t) + d for t in np.concatenate([cuts[i], cuts[j]])
                     for d in (-1, 0, 1) if 0 < int(t) + d < n})[:_MAX_COPY_CUTS]
        if not at:
            continue
        a, b = members[i], members[j]
        before = state.scores[a] + state.scores[b]
        others = (state.owner >= 0) & (state.owner != a) & (state.owner != b)
        touched = [p for p in pairs if i in p or j in p]
        for cut in at:
            swapped = {a: np.concatenate([state.nodes[a][:cut], state.nodes[b][cut:]]),
                       b: np.concatenate([state.nodes[b][:cut], state.nodes[a][cut:]])}
            for first, second in ((a, b), (b, a)):
                new, score = {}, {}
                held = others.copy()
                held[swapped[second][swapped[second] >= 0]] = True
                for c in (first, second):
                    plain = swapped[c]
                    again = _dedupe(filler.rethread(state.chains[c][0], plain, held,
                                                    _RETHREAD_RADIUS))
                    options = [(state.score(c, plain), plain), (state.score(c, again), again)]
                    score[c], new[c] = max(options, key=lambda o: o[0])
                    if c == first:   # the second is threaded around the first's new nodes
                        held = others.copy()
                        held[new[c][new[c] >= 0]] = True
                if np.intersect1d(new[a][new[a] >= 0], new[b][new[b] >= 0]).size:
                    continue
                trial = list(nodes)
                trial[i], trial[j] = new[a], new[b]
                now = dict(agree)
                now.update(ncs.agreements(trial, xyz, cutoff, touched))
                made = int((ncs.tally(now, k, n) & (np.array(trial) >= 0)).sum()) - consistent
                gain = score[a] + score[b] - before + _COPY_WEIGHT * made
                if gain > best[0]:
                    best = (gain, ((a, new[a], score[a]), (b, new[b], score[b])))
    if best[1] is None or all(np.array_equal(new, state.nodes[c]) for c, new, _ in best[1]):
        return False
    logger.debug("pair rethread: chains %d, %d, gain %.2f", best[1][0][0], best[1][1][0], best[0])
    for c, new, score in best[1]:
        state.set(c, new, score)
    return True


def _refill_gaps(state: _State, c: int, min_gain: float, pad: int = _GAP_PAD) -> int:
    """Each null run of chain c, with ``pad`` residues either side, emptied
    and threaded again over the free nodes; kept where it raises the
    chain's score. Returns the number kept."""
    filler = state.filler
    e = state.chains[c][0]
    made = 0
    for start, stop in null_runs(state.nodes[c]):
        nodes = state.nodes[c]
        lo, hi = max(0, start - pad), min(len(nodes), stop + pad)
        emptied = nodes.copy()
        emptied[lo:hi] = -1
        if not (emptied >= 0).any():
            continue
        new = _dedupe(filler.fill_nodes(e, emptied, state.banned_for(c), within=(lo, hi)))
        score = state.score(c, new)
        if score - state.scores[c] > min_gain and not np.array_equal(new, nodes):
            state.set(c, new, score)
            made += 1
    return made


def refine(decoded: list[list[Path]], filler: Filler,
           confidence: Callable[[int, np.ndarray, np.ndarray], np.ndarray],
           min_gain: float = _MIN_GAIN, max_rounds: int = _MAX_ROUNDS,
           repeat_swap: bool = True, rethread: bool = True) -> list[list[Path]]:
    """Tail exchanges, relocations, window exchanges, gap refills,
    (with ``repeat_swap``) repeat swaps and (with ``rethread``) rethreads
    and pair rethreads (module docstring) until none
    raises the assembly's score by more than ``min_gain``; then, if any
    move was made, every chain's null runs are filled again (the nodes the
    moves freed offered). Changed chains get their confidence again from
    ``confidence(entity, nodes, banned)``."""
    state = _State(decoded, filler)
    copy_set = copy_sets(filler.seqs)
    by_set: dict[int, list[int]] = {}   # per copy set, the chains moves may pair
    for c, (e, _) in enumerate(state.chains):
        by_set.setdefault(copy_set[e], []).append(c)
    several = len(state.chains) > 1   # the gap refill is for assemblies
    moves = 0
    for _ in range(max_rounds):
        made = 0
        for members in by_set.values():
            for i, a in enumerate(members):
                for b in members[i + 1:]:
                    while _exchange_tails(state, a, b, min_gain):
                        made += 1
            for _ in range(len(members)):
                if not _exchange_copies(state, members, min_gain):
                    break
                made += 1
        for c in range(len(state.chains)):
            runs = broken_runs(state.nodes[c], filler.xyz, filler.config)
            runs += [r for r in island_runs(state.nodes[c], filler.xyz, filler.config)
                     if r not in runs]
            for lo, hi in runs:
                if _relocate(state, c, lo, hi, min_gain):
                    made += 1
        for c, (e, _) in enumerate(state.chains):
            if len(by_set[copy_set[e]]) < 2:
                continue
            for lo, hi in suspect_windows(state.nodes[c], filler.xyz, filler.config):
                for b in _partners(state, c, lo, hi, by_set[copy_set[e]]):
                    if _exchange_window(state, c, b, lo, hi, min_gain):
                        made += 1
                        break
        for c in range(len(state.chains) if several else 0):
            made += _refill_gaps(state, c, min_gain)
        for c in range(len(state.chains) if several and rethread else 0):
            made += _rethread(state, c, min_gain)
        for members in by_set.values() if rethread else ():
            for _ in range(len(members)):
                if not _rethread_pairs(state, members, min_gain):
                    break
                made += 1
        for c, (e, _) in enumerate(state.chains if repeat_swap else []):
            for _ in range(_MAX_SWAPS):
                if not _swap_repeats(state, c, min_gain, by_set[copy_set[e]]):
                    break
                made += 1
        moves += made
        if not made:
            break
    if moves and several:
        # The gap step again: nodes the moves freed are offered to every
        # chain's null runs (the decoder filled them before the moves).
        for c, (e, _) in enumerate(state.chains):
            nodes = state.nodes[c]
            if not (nodes < 0).any() or not (nodes >= 0).any():
                continue
            new = _dedupe(filler.fill_nodes(e, nodes, state.banned_for(c)))
            if not np.array_equal(new, nodes):
                state.set(c, new, state.score(c, new))
    if moves:
        logger.info("assembly refinement: %d moves on %d chains", moves, len(state.changed))
    out = [list(copies) for copies in decoded]
    for c in sorted(state.changed):
        e, k = state.chains[c]
        nodes = state.nodes[c].astype(np.int32)
        out[e][k] = (nodes, confidence(e, nodes, state.banned_for(c)))
    return out
