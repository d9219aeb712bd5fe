"""Assembly decoding: every copy of every entity one continuous chain.

An assembly is a list of entities (distinct sequences), each present in one
or more copies. Threading the copies one after another, each with the nodes
of the earlier ones banned, gets almost every node's residue number right
but not its copy: where a copy has a gap (missing detections, an unresolved
loop) the first chain jumps to a touching copy that goes on, and builds a
mosaic of several copies; the later chains take what is left. And with
many entities, whichever is threaded first takes other entities' nodes
wherever its own are missing.

The assembly decoder keeps what threading gets right (which node holds
which residue of which entity) and decides copies and owners jointly:

1. *Register.* Entities are threaded independently of each other (in
   worker processes for large inputs). The copies of one entity (and
   records whose sequences are copies of each other, aligned in one
   frame) are threaded one after another by the HMM (:mod:`.hmm`), each
   with the earlier copies' nodes banned; one Viterbi pass per copy, the
   confidence from forward-backward on the nodes around the path. A path
   that puts two residues three or more apart on nodes closer than a real
   chain allows (:mod:`.sterics`) is decoded again, the more confident
   residue's surroundings banned for the others (up to
   ``HMMConfig.clash_rounds`` times).
2. *Fragments.* Every path is cut wherever it may leave its copy: at each
   null run, where two consecutive nodes are farther apart than one
   residue step allows (a jump), at links looser than ``loose_link_sigmas``,
   around positions less confident than ``weak_confidence`` (where a path
   crosses to a touching copy it passes through low-posterior nodes) and
   wherever another copy's path passes within one residue step
   (:func:`crossings`).
3. *Copies.* All fragments of one entity are assembled into at most as many
   chains as it has copies, each chain a sequence of fragments in residue
   order, at minimal total junction cost (:func:`junction_cost`: the HMM's
   gap and distance scores, a Gaussian-chain term for long unresolved
   loops), a fragment may be left out at the worth of its confidence. That
   is a minimum-cost path cover of the fragments' DAG with a bounded number
   of paths, solved exactly as one assignment problem (each fragment picks
   a successor, a chain end or itself; chain starts are c dummy rows).
4. *Owners.* A node claimed by chains of different entities goes to the
   most confident claim; the others are nulled, and a chain that lost
   nodes is threaded again in its own neighbourhood with every other
   chain's nodes banned.
5. *Gaps.* Every null run of every chain is threaded again over the free
   nodes within reach of the residues on either side (:meth:`_Decoder.
   fill_gaps`): residues lost to paths that were cut away come back;
   nodes that would clash with the chain's own are not offered.
6. *Refinement.* A local search over the whole assembly (:mod:`.refine`)
   exchanges two copies' tails where both jump and the exchange joins
   both, moves runs between jumps (and short islands cut off by long
   gaps) into the gap of the chain they fit, and empties short windows
   around suspect junctions in two touching copies and fills them again
   (tails kept or exchanged), swaps repeat units (within a chain or with
   a touching copy) and threads each gap again with the residues beside
   it freed, each move kept only if it raises the assembly's HMM score
   (which has no steric term: one that charged a jump per clash made no
   difference on the tuning entries); then every gap is filled again.

With ``copies=None`` (``tfsg predict --copies auto``) an entity's copies are
threaded until one explains fewer than ``min_copy_fraction`` of the first
copy's confident residues (and at least ``min_copy_residues``).

Learned scores plug in as per-entity emission log-odds
(``log_emission_prior``, the network's correction, computed once per entity
and shared by its copies) and as per-link transition log-odds
(``link_scores``, :class:`~.graph.LinkScores`, independent of the
sequence): they move the Viterbi paths and the gap filling; the confidence
(the cut criterion and the reported B-factor) stays the HMM's own
posterior. Without them the classical geometry scores of :mod:`.graph`
stand alone. The assembly's junction costs are geometric only.
"""

from __future__ import annotations

import concurrent.futures
import concurrent.futures.process
import dataclasses
import functools
import logging
import multiprocessing
import os
import warnings
from typing import Sequence

import numpy as np
import scipy.optimize
from scipy.spatial import cKDTree

from tf_structgen.common.errors import InputError
from tf_structgen.decoding.config import AssemblyConfig, HMMConfig
from tf_structgen.decoding.copies import copy_groups
from tf_structgen.decoding.graph import CandidateGraph, LinkScores
from tf_structgen.decoding.hmm import _check_nodes, _check_sequence, _decode_unique, _split_prior
from tf_structgen.decoding.junctions import junction_cost, null_runs, reach, unique_nodes
from tf_structgen.decoding.refine import refine
from tf_structgen.decoding.sterics import (ban_rows, clash_bans, clash_distance, clash_winners,
                                          clashes)
from tf_structgen.decoding.viterbi import node_marginals, viterbi

logger = logging.getLogger(__name__)

_FORBIDDEN = 1e6    # cost of an impossible junction (fragments overlap)
# Problems smaller than this many (residues x candidates, summed over the
# chains) are decoded in-process: starting workers costs more than it saves.
_PARALLEL_MIN_WORK = 20_000_000
_MAX_WORTH = 3.0          # largest emission log-odds a position adds to a fragment's worth
_MAX_FILL = 30            # residues of a terminal null run threaded again
_MAX_FILL_RADIUS = 40.0   # Å around the anchors searched when filling a run

Path = tuple[np.ndarray, np.ndarray]


@dataclasses.dataclass(frozen=True)
class Fragment:
    """A continuous piece of one decoded path, in frame positions.

    Attributes:
      start, stop: the positions it covers, ``[start, stop)``.
      nodes, confidence: [stop - start] node and posterior per position
        (no nulls).
      worth: what leaving it out of every chain costs: the sum over its
        positions of confidence x emission log-odds clipped to
        [0, ``_MAX_WORTH``] (scraps on the wrong residues are worth nothing).
    """

    start: int
    stop: int
    nodes: np.ndarray
    confidence: np.ndarray
    worth: float = 0.0


def split_fragments(nodes: np.ndarray, confidence: np.ndarray, emission: np.ndarray,
                    xyz: np.ndarray, config: HMMConfig, assembly: AssemblyConfig,
                    offset: int = 0, cut: np.ndarray | None = None) -> list[Fragment]:
    """Cuts a decoded path where it may leave its copy (see the module
    docstring); positions are shifted by ``offset`` into the frame.
    ``emission`` is the [n, m] emission log-odds the path was decoded with;
    ``cut`` ([n - 1] bool, optional) forces a cut after position t."""
    assigned = np.flatnonzero(nodes >= 0)
    if len(assigned) == 0:
        return []
    p = xyz[nodes[assigned]]
    d = np.linalg.norm(p[1:] - p[:-1], axis=1)
    weak = confidence[assigned] < assembly.weak_confidence
    loose = np.abs(d - config.ca_distance) > assembly.loose_link_sigmas * config.sigma
    broken = (np.diff(assigned) != 1) | loose | weak[1:] | weak[:-1]
    if cut is not None:
        broken |= cut[assigned[:-1]]
    out = []
    for piece in np.split(assigned, np.flatnonzero(broken) + 1):
        lo, hi = int(piece[0]), int(piece[-1]) + 1
        worth = confidence[lo:hi] * np.clip(emission[np.arange(lo, hi), nodes[lo:hi]], 0.0, _MAX_WORTH)
        out.append(Fragment(lo + offset, hi + offset, nodes[lo:hi].copy(),
                            confidence[lo:hi].copy(), float(worth.sum())))
    return out


def crossings(paths: Sequence[tuple[np.ndarray, int]], width: int, xyz: np.ndarray,
               config: HMMConfig) -> list[np.ndarray]:
    """Where copies' paths could be exchanged: per path, [n - 1] bool, True
    after position t when another path's node at t + 1 is within one
    residue step of this path's node at t, or this path's node at t + 1
    within a step of the other's at t. Paths are ``(nodes, offset)`` in a
    frame of ``width`` positions. A path that crossed to a touching copy
    there is cut even if the crossing link looks clean."""
    frame = np.full((len(paths), width, 3), np.nan)
    for i, (nodes, offset) in enumerate(paths):
        ok = np.flatnonzero(nodes >= 0)
        frame[i, ok + offset] = xyz[nodes[ok]]
    limit = reach(1, config)
    out = []
    for i, (nodes, offset) in enumerate(paths):
        here = frame[i, offset:offset + len(nodes)]
        others = np.delete(frame, i, axis=0)[:, offset:offset + len(nodes)]
        with np.errstate(invalid="ignore"):
            forward = np.linalg.norm(others[:, 1:] - here[None, :-1], axis=-1) <= limit
            backward = np.linalg.norm(others[:, :-1] - here[None, 1:], axis=-1) <= limit
        out.append((forward | backward).any(axis=0) if len(others) else
                   np.zeros(max(len(nodes) - 1, 0), bool))
    return out


def assemble_copies(fragments: Sequence[Fragment], num_chains: int, width: int,
                    xyz: np.ndarray, config: HMMConfig,
                    assembly: AssemblyConfig) -> list[Path]:
    """Fragments of one entity -> ``num_chains`` chains of ``width``
    positions, by a minimum-cost path cover with at most ``num_chains``
    paths, as one assignment problem: rows are the fragments (each links to
    a successor, ends a chain, or links to itself: left out) and
    ``num_chains`` chain starts; columns the fragments and ``num_chains``
    chain ends. Longest chains first."""
    f, c = len(fragments), num_chains
    starts = np.array([fr.start for fr in fragments])
    stops = np.array([fr.stop for fr in fragments])
    first = xyz[[int(fr.nodes[0]) for fr in fragments]].reshape(-1, 3)
    last = xyz[[int(fr.nodes[-1]) for fr in fragments]].reshape(-1, 3)
    d = np.linalg.norm(last[:, None, :] - first[None, :, :], axis=-1)
    steps = starts[None, :] - stops[:, None] + 1
    cost = np.zeros((f + c, f + c))
    cost[:f, :f] = np.where(steps >= 1, junction_cost(d, steps, config), _FORBIDDEN)
    # Starting a chain costs what a jump does, so a fragment continues a
    # chain wherever the junction is more plausible than a jump, rather than
    # opening one of the spare copies (more copies asked for than present).
    cost[f:, :f] = config.jump_penalty
    worth = np.array([assembly.drop_weight * fr.worth for fr in fragments])
    cost[np.arange(f), np.arange(f)] = worth
    rows, cols = scipy.optimize.linear_sum_assignment(cost)
    successor = np.full(f, -1)
    heads = np.ones(f, bool)
    for r, k in zip(rows, cols):
        if r < f and k < f:
            if r == k:
                heads[r] = False        # left out
            else:
                successor[r] = k
                heads[k] = False
    chains = []
    for head in np.flatnonzero(heads):
        nodes = np.full(width, -1, np.int32)
        conf = np.zeros(width, np.float32)
        k = int(head)
        while k >= 0:
            frag = fragments[k]
            nodes[frag.start:frag.stop] = frag.nodes
            conf[frag.start:frag.stop] = frag.confidence
            k = int(successor[k])
        chains.append((nodes, conf))
    chains.sort(key=lambda ch: -int((ch[0] >= 0).sum()))
    return chains[:num_chains]


@dataclasses.dataclass(frozen=True)
class _Slot:
    """One chain to thread: a copy of entity ``entity``, whose residue i is
    frame position ``i + offset`` of its copy group."""

    entity: int
    offset: int


@dataclasses.dataclass
class _Job:
    """A copy group (entities whose sequences are copies of one another):
    threaded together, independently of the other groups."""

    entities: list[int]
    offsets: dict[int, int]
    counts: dict[int, int | None]


class _Decoder:
    """The candidate set, its graph and the entities' emissions: everything
    a worker needs to thread a job."""

    def __init__(self, xyz, log_odds, seqs, priors, config: HMMConfig,
                 assembly: AssemblyConfig, link_scores: LinkScores | None = None):
        self.xyz, self.log_odds, self.seqs, self.priors = xyz, log_odds, seqs, priors
        self.config, self.assembly = config, assembly
        self.link_scores = link_scores
        self.tree = cKDTree(xyz)

    @functools.cached_property
    def graph(self) -> CandidateGraph:
        return CandidateGraph(self.xyz, self.config, self.link_scores)

    def emission(self, entity: int, rows: slice = slice(None)) -> np.ndarray:
        """[n, m] emission log-odds of ``entity`` (HMM + learned prior), or
        only the positions ``rows``."""
        emission = self.log_odds[self.seqs[entity][rows]]
        if self.priors[entity] is not None:
            emission += self.priors[entity][rows]
        return emission

    def near(self, nodes: np.ndarray, radius: float) -> np.ndarray:
        """[m] bool: candidates within ``radius`` Å of any of ``nodes``."""
        mask = np.zeros(len(self.xyz), bool)
        for group in self.tree.query_ball_point(self.xyz[nodes], radius):
            mask[group] = True
        return mask

    def decode(self, entity: int, banned: np.ndarray,
               allowed: np.ndarray | None = None,
               emission: np.ndarray | None = None, alone: bool = True) -> Path:
        """One Viterbi path of ``entity`` (each node once) and its
        confidence, over the nodes not ``banned`` (and, if given, within
        ``allowed``); ``emission`` is :meth:`emission` if already made.
        Steric clashes are decoded away (:mod:`.sterics`), a node used
        twice among them only if the chain is ``alone`` (no copies)."""
        if emission is None:
            emission = self.emission(entity)
        n = len(emission)
        if n == 0:
            return np.zeros(0, np.int32), np.zeros(0, np.float32)
        if allowed is None:
            graph, index = self.graph, None
            em = emission.copy()
            em[:, banned] = -np.inf
        else:
            index = np.flatnonzero(allowed & ~banned)
            if len(index) == 0:
                return np.full(n, -1, np.int32), np.zeros(n, np.float32)
            graph = CandidateGraph(self.xyz[index], self.config, self.link_scores, index)
            em = emission[:, index]
        cutoff = clash_distance(self.config)
        rounds = self.config.clash_rounds
        column = None   # candidate -> column of ``em`` (graph over a subset)
        for round_ in range(rounds + 1):
            local = viterbi(graph, em, self.config)
            nodes = np.where(local >= 0, local if index is None else index[local], -1)
            conf = self.confidence(entity, nodes, banned)
            bans = (clash_bans(nodes, conf, self.xyz, self.tree, cutoff, repeats=alone)
                    if round_ < rounds else [])
            if not bans:
                break
            if index is not None and column is None:
                column = np.full(len(self.xyz), -1)
                column[index] = np.arange(len(index))
            for t, sphere in bans:
                cols = sphere if column is None else column[sphere]
                em[np.ix_(ban_rows(n, t), cols[cols >= 0])] = -np.inf
        return unique_nodes(nodes.astype(np.int32), conf)

    def confidence(self, entity: int, nodes: np.ndarray,
                   banned: np.ndarray) -> np.ndarray:
        """Forward-backward posterior of each assignment, over the free
        nodes within ``confidence_radius`` of the path (the alternatives
        that matter; far nodes only enter by jumps), under the HMM's own
        emissions: a learned emission prior moves the path, not the
        confidence, which the assembly reads to find where paths may have
        crossed between copies (a sharper posterior hides the crossings)."""
        emission = self.log_odds[self.seqs[entity]]
        assigned = nodes[nodes >= 0]
        if len(assigned) == 0:
            return np.zeros(len(nodes), np.float32)
        near = self.near(assigned, self.assembly.confidence_radius) & ~banned
        near[assigned] = True
        index = np.flatnonzero(near)
        position = np.full(len(self.xyz), -1)
        position[index] = np.arange(len(index))
        em = emission[:, index]
        graph = CandidateGraph(self.xyz[index], self.config)
        marginals = node_marginals(graph, em, self.config)
        t = np.flatnonzero(nodes >= 0)
        conf = np.zeros(len(nodes), np.float32)
        conf[t] = marginals[t, position[nodes[t]]]
        return conf

    def emission_at(self, entity: int, nodes: np.ndarray) -> np.ndarray:
        """[n] emission log-odds of each position of ``entity`` at its node
        in ``nodes`` (0 at nulls)."""
        t = np.flatnonzero(nodes >= 0)
        out = np.zeros(len(nodes))
        out[t] = self.log_odds[self.seqs[entity][t], nodes[t]]
        if self.priors[entity] is not None:
            out[t] += self.priors[entity][t, nodes[t]]
        return out

    def fill_gaps(self, entity: int, nodes: np.ndarray, banned: np.ndarray) -> Path:
        """:meth:`fill_nodes` on every null run, then the whole chain's
        confidence."""
        nodes = self.fill_nodes(entity, nodes, banned)
        conf = self.confidence(entity, nodes, banned)
        return unique_nodes(nodes.astype(np.int32), conf)

    def fill_nodes(self, entity: int, nodes: np.ndarray, banned: np.ndarray,
                   only_near: np.ndarray | None = None,
                   within: tuple[int, int] | None = None) -> np.ndarray:
        """Threads each null run of a chain again over the free nodes (not
        ``banned``, not the chain's own) within reach of the assigned
        residues on either side, which stay where they are. Recovers
        residues that sequential threading lost to a path that has since
        been cut away. Only runs overlapping ``within`` (``[lo, hi)``) and
        only runs that can reach a node of the mask ``only_near``, if given.
        A node may come back twice (:func:`~.junctions.unique_nodes`)."""
        nodes = nodes.copy()
        n = len(nodes)
        free = ~banned
        free[nodes[nodes >= 0]] = False
        cutoff = clash_distance(self.config)
        if cutoff > 0 and (nodes >= 0).any():
            # Nodes that would clash with the chain's own (steric exclusion).
            free &= ~self.near(nodes[nodes >= 0], cutoff)
        for start, stop in null_runs(nodes):
            if start == 0 and stop == n:
                continue  # nothing to anchor on
            if within is not None and (stop <= within[0] or start >= within[1]):
                continue
            # Terminal runs: only the residues within reach of the anchor.
            if start == 0:
                start = max(0, stop - _MAX_FILL)
            if stop == n:
                stop = min(n, start + _MAX_FILL)
            anchors = [t for t in (start - 1, stop) if 0 <= t < n]
            radius = float(min(reach(stop - start + 1, self.config), _MAX_FILL_RADIUS))
            region = self.near(nodes[anchors], radius) & free
            if not region.any() or (only_near is not None and not (region & only_near).any()):
                continue
            index = np.concatenate([np.flatnonzero(region), nodes[anchors]])
            lo, hi = min(anchors + [start]), max(anchors + [stop - 1]) + 1
            em = self.emission(entity, slice(lo, hi))[:, index]
            for k, t in enumerate(anchors):   # anchors stay on their nodes
                em[t - lo] = -np.inf
                em[t - lo, len(index) - len(anchors) + k] = 0.0
            graph = CandidateGraph(self.xyz[index], self.config, self.link_scores, index)
            path = viterbi(graph, em, self.config)
            piece = path[start - lo:stop - lo]
            new = np.where(piece >= 0, index[np.maximum(piece, 0)], -1)
            new[np.isin(new, nodes[anchors])] = -1
            nodes[start:stop] = new
            free[new[new >= 0]] = False
        return nodes

    def rethread(self, entity: int, nodes: np.ndarray, banned: np.ndarray,
                 radius: float) -> np.ndarray:
        """The whole chain threaded again from scratch over the free nodes
        (not ``banned``) within ``radius`` Å of its assigned ones: Viterbi,
        a node used twice repaired as the HMM does
        (:func:`~.hmm._decode_unique`), and of two positions whose nodes
        clash (:mod:`.sterics`) the less confident nulled. Where local
        moves cannot get out, e.g. a chain slipped by a repeat unit over
        two windows at once, each exchange alone scoring worse."""
        assigned = nodes[nodes >= 0]
        if len(assigned) == 0:
            return nodes.copy()
        index = np.flatnonzero(self.near(assigned, radius) & ~banned)
        graph = CandidateGraph(self.xyz[index], self.config, self.link_scores, index)
        local, conf = _decode_unique(graph, self.emission(entity)[:, index], self.config)
        new = np.where(local >= 0, index[np.maximum(local, 0)], -1).astype(np.int32)
        pairs = clashes(new, self.xyz, clash_distance(self.config), repeats=False)
        if len(pairs):
            losers = np.setdiff1d(np.unique(pairs), clash_winners(pairs, conf))
            new[losers] = -1
        return new

    def thread_job(self, job: _Job) -> dict[int, list[Path]]:
        """Threads a copy group; returns per entity its copies' paths."""
        a = self.assembly
        slots = [_Slot(e, job.offsets[e]) for e in job.entities
                 for _ in range(job.counts[e] or 1)]
        auto_entities = [e for e in job.entities if job.counts[e] is None]
        auto = bool(auto_entities)
        # Further copies (auto) are copies of the first entity left to auto.
        reference = auto_entities[0] if auto else job.entities[0]
        emissions = {e: self.emission(e) for e in job.entities}
        banned = np.zeros(len(self.xyz), bool)
        paths: list[Path] = []
        k = 0
        while True:
            if k < len(slots):
                slot = slots[k]
            elif auto and k < a.max_copies:
                slot = _Slot(reference, job.offsets[reference])
            else:
                break
            nodes, conf = self.decode(slot.entity, banned, emission=emissions[slot.entity],
                                      alone=len(slots) == 1 and not auto)
            if k >= len(slots):
                confident = int((conf >= a.weak_confidence).sum())
                best = max(int((c >= a.weak_confidence).sum()) for _, c in paths)
                if confident < max(a.min_copy_residues, a.min_copy_fraction * best):
                    break
                slots.append(slot)
            paths.append((nodes, conf))
            banned[nodes[nodes >= 0]] = True
            k += 1
        if len(paths) == 1:
            return {slots[0].entity: paths}
        width = max(s.offset + len(self.seqs[s.entity]) for s in slots)
        cuts = crossings([(nodes, s.offset) for s, (nodes, _) in zip(slots, paths)],
                         width, self.xyz, self.config)
        fragments = [f for s, (nodes, conf), cut in zip(slots, paths, cuts)
                     for f in split_fragments(nodes, conf, emissions[s.entity], self.xyz,
                                              self.config, a, offset=s.offset, cut=cut)]
        chains = assemble_copies(fragments, len(slots), width, self.xyz, self.config, a)
        # A copy that explains fewer than min_copy_residues residues with
        # confidence is not there (more copies asked for than present).
        chains = [ch for ch in chains
                  if int((ch[1] >= a.weak_confidence).sum()) >= a.min_copy_residues]
        return _fill_slots(chains, slots, self.seqs)


def _fill_slots(chains: list[Path], slots: list[_Slot], seqs) -> dict[int, list[Path]]:
    """Assembled frame-wide chains -> one path per slot, each chain to the
    slot whose residue range holds most of it (positions outside it are
    dropped); slots without a chain are all null."""
    score = np.array([[int((nodes[s.offset:s.offset + len(seqs[s.entity])] >= 0).sum())
                       for s in slots] for nodes, _ in chains], dtype=np.int64)
    chosen = {}
    if len(chains):
        rows, cols = scipy.optimize.linear_sum_assignment(score, maximize=True)
        chosen = dict(zip(cols.tolist(), rows.tolist()))
    out: dict[int, list[Path]] = {}
    for k, s in enumerate(slots):
        n = len(seqs[s.entity])
        if k in chosen:
            nodes, conf = chains[chosen[k]]
            path = (nodes[s.offset:s.offset + n].copy(), conf[s.offset:s.offset + n].copy())
        else:
            path = (np.full(n, -1, np.int32), np.zeros(n, np.float32))
        out.setdefault(s.entity, []).append(path)
    return out


_WORKER: _Decoder | None = None


def _init_worker(*args) -> None:
    global _WORKER
    _WORKER = _Decoder(*args)


def _run_job(job: _Job) -> dict[int, list[Path]]:
    return _WORKER.thread_job(job)


def _jobs(seqs: list[np.ndarray], copies: Sequence[int | None]) -> list[_Job]:
    """Entities grouped into copy groups (gapless alignment, >= 90 %
    identity: records that are copies of one another)."""
    grouped: dict[int, _Job] = {}
    for group in copy_groups(seqs):
        job = _Job([k for k, _ in group], dict(group), {k: copies[k] for k, _ in group})
        for k, _ in group:
            grouped[k] = job
    jobs, seen = [], set()
    for k in range(len(seqs)):
        job = grouped.get(k) or _Job([k], {k: 0}, {k: copies[k]})
        if id(job) not in seen:
            seen.add(id(job))
            jobs.append(job)
    return jobs


def thread_assembly(xyz: np.ndarray, aa_probs: np.ndarray,
                    entities: Sequence[np.ndarray], copies: Sequence[int | None],
                    config: HMMConfig = HMMConfig(), log_emission_prior=None,
                    assembly: AssemblyConfig = AssemblyConfig(),
                    link_scores: LinkScores | None = None) -> list[list[Path]]:
    """Threads every copy of every entity; see the module docstring.

    Args:
      xyz: [m, 3] candidate coordinates.
      aa_probs: [m, 20] amino-acid scores (rows are renormalised).
      entities: per entity, [n] residue indices (``UNKNOWN_INDEX`` for
        non-standard residues).
      copies: per entity, its number of copies (>= 1), or None to find it
        from the candidates.
      config: the HMM's tunables.
      log_emission_prior: optional log-odds added to the emissions, one
        [n, m] array per entity (the same for every copy), e.g. the
        network's correction.
      assembly: the assembly decoder's tunables.
      link_scores: optional learned per-link log-odds (already weighted),
        added to the HMM's transitions wherever paths are decoded (not to
        the confidence, which stays the HMM's own).

    Returns:
      Per entity, per copy, ``(nodes, confidence)``: [n] int32 node per
      position (-1 = null) and [n] float32 posterior of that assignment (0
      for nulls). No node is used twice in the whole assembly. Copies that
      find no node come back all null.

    Raises:
      InputError: on inconsistent shapes, invalid values or copy counts.
    """
    xyz, log_odds = _check_nodes(xyz, aa_probs, config)
    seqs = [_check_sequence(s, k) for k, s in enumerate(entities)]
    copies = list(copies)
    if len(copies) != len(seqs):
        raise InputError(f"{len(copies)} copy counts for {len(seqs)} entities")
    for k, c in enumerate(copies):
        if c is not None and (isinstance(c, bool) or not isinstance(c, (int, np.integer))
                              or c < 1):
            raise InputError(f"entity {k}: copies must be a positive integer or "
                             f"None (auto), not {c!r}")
    priors = _split_prior(log_emission_prior, [len(s) for s in seqs], len(xyz))
    if len(xyz) == 0:
        return [[(np.full(len(s), -1, np.int32), np.zeros(len(s), np.float32))
                 for _ in range(c or 1)] for s, c in zip(seqs, copies)]
    jobs = _jobs(seqs, copies)
    args = (xyz, log_odds, seqs, priors, config, assembly, link_scores)
    work = len(xyz) * sum(len(s) * (c or 1) for s, c in zip(seqs, copies))
    workers = min(len(jobs), assembly.workers or os.cpu_count() or 1)
    results: dict[int, list[Path]] = {}
    if workers > 1 and work >= _PARALLEL_MIN_WORK:
        results = _thread_in_workers(jobs, seqs, args, workers)
    decoder = _Decoder(*args)  # a k-d tree; the full graph only if a job needs it
    if not results:
        for job in jobs:
            results.update(decoder.thread_job(job))
    decoded = _resolve_owners([results[k] for k in range(len(seqs))], decoder)
    decoded = _fill_all(decoded, decoder)
    if not assembly.refine:
        return decoded
    return refine(decoded, decoder, decoder.confidence, repeat_swap=assembly.repeat_swap,
                  rethread=assembly.rethread)


def _fill_all(decoded: list[list[Path]], decoder: _Decoder) -> list[list[Path]]:
    """:meth:`_Decoder.fill_gaps` on every chain, each with the nodes of all
    others banned."""
    owner = np.full(len(decoder.xyz), False)
    for copies in decoded:
        for nodes, _ in copies:
            owner[nodes[nodes >= 0]] = True
    for e, copies in enumerate(decoded):
        for k, (nodes, _) in enumerate(copies):
            if not (nodes < 0).any() or not (nodes >= 0).any():
                continue
            own = nodes[nodes >= 0]
            banned = owner.copy()
            banned[own] = False
            new_nodes, new_conf = decoder.fill_gaps(e, nodes, banned)
            owner[own] = False
            owner[new_nodes[new_nodes >= 0]] = True
            copies[k] = (new_nodes, new_conf)
    return decoded


def _thread_in_workers(jobs: list[_Job], seqs, args, workers: int
                       ) -> dict[int, list[Path]]:
    """Copy groups threaded in worker processes; empty if they cannot run.

    Workers are forked where the platform can (they inherit the candidate
    set without copying it, and an unguarded ``__main__`` of the caller is
    not run again); they use numpy and scipy only, never TensorFlow, so a
    parent that has TensorFlow loaded is safe to fork.
    """
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
    # Largest jobs first, so that the workers finish together.
    order = sorted(jobs, key=lambda j: -sum(len(seqs[e]) * (j.counts[e] or 1)
                                             for e in j.entities))
    results: dict[int, list[Path]] = {}
    logger.info("threading %d copy groups in %d worker processes", len(jobs), workers)
    try:
        with warnings.catch_warnings():
            # Python >= 3.12 warns about fork in a process with threads.
            warnings.simplefilter("ignore", DeprecationWarning)
            with concurrent.futures.ProcessPoolExecutor(
                    workers, mp_context=context, initializer=_init_worker,
                    initargs=args) as pool:
                for out in pool.map(_run_job, order):
                    results.update(out)
    except (OSError, RuntimeError, concurrent.futures.process.BrokenProcessPool) as e:
        logger.warning("worker processes failed (%s); threading in this process", e)
        return {}
    return results


def _resolve_owners(decoded: list[list[Path]], decoder: _Decoder) -> list[list[Path]]:
    """A node claimed by chains of different copy groups goes to the most
    confident claim; every chain that lost nodes is threaded again within
    ``confidence_radius`` of its path, all other chains' nodes banned."""
    m = len(decoder.xyz)
    chains = [(e, k) for e, copies in enumerate(decoded) for k in range(len(copies))]
    best = np.full(m, -1.0)
    owner = np.full(m, -1)
    for c, (e, k) in enumerate(chains):
        nodes, conf = decoded[e][k]
        for t in np.flatnonzero(nodes >= 0):
            j = nodes[t]
            if conf[t] > best[j] or owner[j] < 0:
                best[j], owner[j] = conf[t], c
    losers = []
    for c, (e, k) in enumerate(chains):
        nodes, conf = decoded[e][k]
        lost = (nodes >= 0) & (owner[np.maximum(nodes, 0)] != c)
        if lost.any():
            losers.append(c)
    if not losers:
        return decoded
    logger.info("%d chains lost nodes to other entities; threading them again", len(losers))
    for c in losers:
        e, k = chains[c]
        nodes, _ = decoded[e][k]
        banned = (owner >= 0) & (owner != c)
        near = decoder.near(nodes[nodes >= 0], decoder.assembly.confidence_radius)
        new_nodes, new_conf = decoder.decode(e, banned, allowed=near,
                                             alone=len(decoded[e]) == 1)
        owner[(owner == c)] = -1
        owner[new_nodes[new_nodes >= 0]] = c
        decoded[e][k] = (new_nodes, new_conf)
    return decoded
