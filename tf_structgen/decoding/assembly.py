"""Assembly decoding: every copy of every entity one continuous chain.

An assembly is a list of entities (distinct sequences), each present in one
or more copies. Threading the copies one after another, each with the nodes
of the earlier ones banned, gets almost every node's residue number right
but not its copy: where a copy has a gap (missing detections, an unresolved
loop) the first chain jumps to a touching copy that goes on, and builds a
mosaic of several copies; the later chains take what is left.

The assembly decoder keeps what sequential threading gets right (which
node holds which residue of which entity) and decides the copies jointly:

1. *Register.* Each copy is threaded by the HMM (:mod:`.hmm`), nodes of
   earlier copies banned.
2. *Fragments.* Every path is cut wherever it is not one continuous piece
   of chain: at each null run and wherever two consecutive assigned nodes
   are farther apart than a chain can reach in that many residues.
3. *Copies.* All fragments of one entity are assembled into at most as many
   chains as it has copies, each chain a sequence of fragments in residue
   order, so that the total break cost (how implausible each junction is
   for a chain: distance against the reach of the residues in between) is
   minimal. That is a minimum-cost path cover of the fragments' DAG with
   a fixed number of paths, solved exactly as one assignment problem
   (predecessor -> successor, plus chain starts and ends).
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Sequence

import numpy as np
import scipy.optimize

from tf_structgen.decoding.hmm import HMMConfig, hmm_thread

logger = logging.getLogger(__name__)

_FORBIDDEN = 1e6    # cost of an impossible junction (fragments overlap)
WEAK_CONFIDENCE = 0.5
LOOSE_LINK_SIGMAS = 1.0
DROP_WEIGHT = 3.0
_STRAND_RISE = 3.5
_COIL_B2 = 2.0 * 3.8 ** 2  # Å^2 per residue: mean square end-to-end distance of a coil  # Å per residue of a fully extended chain


@dataclasses.dataclass(frozen=True)
class Fragment:
    """A continuous piece of one decoded path.

    Attributes:
      start, stop: the positions it covers, ``[start, stop)``; its first and
        last positions hold a node.
      nodes, confidence: [stop - start] node per position (-1 = null inside
        no fragment; fragments hold no nulls) and posterior.
    """

    start: int
    stop: int
    nodes: np.ndarray
    confidence: np.ndarray

    @property
    def first(self) -> int:
        return int(self.nodes[0])

    @property
    def last(self) -> int:
        return int(self.nodes[-1])


def reach(steps: int, config: HMMConfig) -> float:
    """Farthest (Å) a chain gets in ``steps`` residues, plus noise slack: a
    step of ``ca_distance`` for one residue, an extended strand's ~3.5 Å per
    residue beyond."""
    slack = 1.0 + config.max_sigmas * config.sigma
    if steps <= 1:
        return config.ca_distance + slack
    return _STRAND_RISE * steps + slack


def junction_cost(xyz: np.ndarray, a: int, b: int, steps: int,
                  config: HMMConfig) -> float:
    """HMM-style cost (natural log units) of one chain going from node a to
    node b ``steps`` residues later: the gap (``gap_open`` and ``null_cost``
    per unassigned residue in between) plus the geometry: the Cα-Cα
    distance model for one step, the second-neighbour range for two, and
    for longer gaps nothing within the reach and a Gaussian fall-off beyond;
    a geometry worse than a jump costs ``jump_penalty``."""
    d = float(np.linalg.norm(xyz[a] - xyz[b]))
    sigma = config.sigma
    if steps <= 1:
        z = (d - config.ca_distance) / sigma
        return min(0.5 * z * z, config.jump_penalty)
    gap = config.gap_open + config.null_cost * (steps - 2) + config.reentry_penalty
    if steps == 2:
        low, high = config.second_neighbour_range
        excess = (max(low - d, 0.0) + max(d - high, 0.0)) / sigma
        return gap + min(0.5 * excess * excess, config.jump_penalty)
    # Longer gaps: an unresolved stretch is a loop whose ends are as far
    # apart as a random coil's (Gaussian chain, mean square end-to-end
    # distance steps * _COIL_B2), never farther than an extended strand.
    excess = max(d - reach(steps, config), 0.0) / sigma
    coil = 1.5 * d * d / (steps * _COIL_B2)
    return gap + min(coil + 0.5 * excess * excess, config.jump_penalty)


def split_fragments(nodes: np.ndarray, confidence: np.ndarray, xyz: np.ndarray,
                    config: HMMConfig) -> list[Fragment]:
    """Cuts a decoded path at every null run and every geometric break."""
    assigned = np.flatnonzero(nodes >= 0)
    if len(assigned) == 0:
        return []
    p = xyz[nodes[assigned]]
    d = np.linalg.norm(p[1:] - p[:-1], axis=1)
    contiguous = np.diff(assigned) == 1
    weak = confidence[assigned] < WEAK_CONFIDENCE
    loose = np.abs(d - config.ca_distance) > LOOSE_LINK_SIGMAS * config.sigma
    broken = ~contiguous | loose | weak[1:] | weak[:-1]
    cuts = np.flatnonzero(broken) + 1
    out = []
    for piece in np.split(assigned, cuts):
        lo, hi = int(piece[0]), int(piece[-1]) + 1
        out.append(Fragment(lo, hi, nodes[lo:hi].copy(), confidence[lo:hi].copy()))
    return out


def assemble_copies(fragments: Sequence[Fragment], num_copies: int, length: int,
                    xyz: np.ndarray, config: HMMConfig
                    ) -> list[tuple[np.ndarray, np.ndarray]]:
    """Fragments of one entity -> ``num_copies`` chains of ``length``
    positions, by a minimum-cost path cover with at most ``num_copies``
    paths (one assignment problem: each fragment gets a successor or ends a
    chain, each gets a predecessor or starts one)."""
    f, c = len(fragments), num_copies
    cost = np.zeros((f + c, f + c))
    cost[:f, :f] = _FORBIDDEN
    for i, a in enumerate(fragments):
        for j, b in enumerate(fragments):
            if a.stop <= b.start:
                cost[i, j] = junction_cost(xyz, a.last, b.first,
                                           b.start - a.stop + 1, config)
    # A fragment may also be left out (row f -> column f), at the worth of
    # its assignments: cheap for the low-confidence scraps that sequential
    # threading leaves where it crossed between copies.
    for i, frag in enumerate(fragments):
        cost[i, i] = DROP_WEIGHT * float(frag.confidence.sum())
    rows, cols = scipy.optimize.linear_sum_assignment(cost)
    successor = np.full(f, -1)
    has_predecessor = np.zeros(f, bool)
    for r, k in zip(rows, cols):
        if r < f and k < f and r != k:
            if cost[r, k] >= _FORBIDDEN:
                raise AssertionError("overlapping fragments linked")
            successor[r] = k
            has_predecessor[k] = True
    chains = []
    dropped = {int(r) for r, k in zip(rows, cols) if r == k}
    for head in np.flatnonzero(~has_predecessor):
        if int(head) in dropped:
            continue
        nodes = np.full(length, -1, np.int32)
        conf = np.zeros(length, np.float32)
        k = int(head)
        while k >= 0:
            frag = fragments[k]
            nodes[frag.start:frag.stop] = frag.nodes
            conf[frag.start:frag.stop] = frag.confidence
            k = int(successor[k])
        chains.append((nodes, conf))
    # Longest chains first; empty copies (nothing left for them) last.
    chains.sort(key=lambda ch: -int((ch[0] >= 0).sum()))
    while len(chains) < num_copies:
        chains.append((np.full(length, -1, np.int32), np.zeros(length, np.float32)))
    return chains


def sequential(xyz, aa_probs, entities, copies, config=HMMConfig(),
               log_emission_prior=None):
    """Copies threaded one after another (the HMM's own copy untangling)."""
    counts = [1 if c is None else c for c in copies]
    seqs = [s for s, c in zip(entities, counts) for _ in range(c)]
    prior = None
    if log_emission_prior is not None:
        prior = [p for p, c in zip(log_emission_prior, counts) for _ in range(c)]
    flat = hmm_thread(xyz, aa_probs, seqs, config, log_emission_prior=prior)
    out, start = [], 0
    for c in counts:
        out.append(flat[start:start + c])
        start += c
    return out


def thread_assembly(xyz: np.ndarray, aa_probs: np.ndarray,
                    entities: Sequence[np.ndarray], copies: Sequence[int | None],
                    config: HMMConfig = HMMConfig(),
                    log_emission_prior=None) -> list[list[tuple[np.ndarray, np.ndarray]]]:
    """Threads every copy of every entity; see the module docstring.

    Args:
      xyz: [m, 3] candidate coordinates.
      aa_probs: [m, 20] amino-acid scores.
      entities: per entity, [n] residue indices.
      copies: per entity, the number of copies (None: found from the
        candidates).
      config: the HMM's tunables.
      log_emission_prior: optional per entity [n, m] log-odds added to the
        emissions (the same for every copy).

    Returns:
      Per entity, per copy, ``(nodes, confidence)`` as :func:`hmm_thread`.
      No node is used twice.
    """
    xyz = np.asarray(xyz, np.float64)
    counts = [1 if c is None else c for c in copies]
    decoded = sequential(xyz, aa_probs, entities, counts,
                         dataclasses.replace(config, untangle_copies=False),
                         log_emission_prior)
    out = []
    for seq, count, paths in zip(entities, counts, decoded):
        if count == 1:
            out.append(paths)
            continue
        fragments = [f for nodes, conf in paths
                     for f in split_fragments(nodes, conf, xyz, config)]
        out.append(assemble_copies(fragments, count, len(seq), xyz, config))
    return out
