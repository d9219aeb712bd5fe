"""Homo-oligomer copies among the given chains, and the sequential threader's
tail re-pairing between them (see :func:`untangle_copies`)."""

from __future__ import annotations

from typing import Sequence

import numpy as np
import scipy.optimize

from tf_structgen.common.residue_constants import UNKNOWN_INDEX
from tf_structgen.decoding.config import HMMConfig

_KMER = 5                   # word length of the copy alignment seeds
_UNTANGLE_MARGIN = 0.1      # smallest break-cost gain worth a tail exchange


def _break_cost(xyz: np.ndarray, a: int, b: int, steps: int, step: float,
                slack: float) -> float:
    """How implausible it is for the chain to go from node a to node b in
    ``steps`` residues of at most ``step`` Å: 1 plus the excess distance in
    units of 10 Å when b is out of reach, else the distance as a fraction of
    the reach (across a long gap the chain's own continuation is usually the
    nearer one)."""
    if a < 0 or b < 0:
        return 0.0
    reach = step * steps + slack
    d = float(np.linalg.norm(xyz[a] - xyz[b]))
    if d > reach:
        return 1.0 + (d - reach) / 10.0
    return 0.5 * max(d - slack, 0.0) / reach


def _kmer_index(a: np.ndarray) -> dict[bytes, list[int]]:
    """Start positions of every 5-mer of ``a``."""
    index: dict[bytes, list[int]] = {}
    for i in range(len(a) - _KMER + 1):
        index.setdefault(a[i:i + _KMER].tobytes(), []).append(i)
    return index


def _copy_offset(a: np.ndarray, a_index: dict[bytes, list[int]], b: np.ndarray,
                 min_identity: float, min_overlap: int) -> int | None:
    """Offset d such that b[i] aligns with a[i + d] without gaps, if the
    overlap is long enough and identical enough over known residues.

    Candidate offsets come from the 5-mers b shares with a (``a_index``, from
    :func:`_kmer_index`; linear time), the most supported ones are checked.
    """
    votes: dict[int, int] = {}
    for j in range(len(b) - _KMER + 1):
        word = b[j:j + _KMER]
        if (word == UNKNOWN_INDEX).any():
            continue
        for i in a_index.get(word.tobytes(), ()):
            votes[i - j] = votes.get(i - j, 0) + 1
    for d in sorted(votes, key=votes.get, reverse=True)[:3]:
        lo, hi = max(0, d), min(len(a), len(b) + d)
        if hi - lo < min_overlap:
            continue
        x, y = a[lo:hi], b[lo - d:hi - d]
        known = (x != UNKNOWN_INDEX) & (y != UNKNOWN_INDEX)
        if known.sum() >= min_overlap and (x[known] == y[known]).mean() >= min_identity:
            return d
    return None


def copy_groups(sequences: Sequence[np.ndarray], min_identity: float = 0.9,
                min_overlap: int = 20) -> list[list[tuple[int, int]]]:
    """Chains that are copies of one another, with their alignment.

    Copies align without gaps over at least ``min_overlap`` residues, at
    least ``min_identity`` identical over the positions where both residues
    are known (unknown residues, e.g. unobserved stretches written as X, do
    not count against it); their termini may differ (tags, constructs).
    Returns groups of two or more ``(chain, offset)``, residue i of the chain
    sitting at position ``i + offset`` of the group's frame (offsets >= 0).
    """
    groups: list[list[tuple[int, int]]] = []
    references: list[tuple[np.ndarray, dict[bytes, list[int]]]] = []
    for k, seq in enumerate(sequences):
        seq = np.asarray(seq, np.int64)
        for group, (ref, ref_index) in zip(groups, references):
            d = _copy_offset(ref, ref_index, seq, min_identity, min_overlap)
            if d is not None:
                group.append((k, group[0][1] + d))
                break
        else:
            groups.append([(k, 0)])
            references.append((seq, _kmer_index(seq)))
    out = []
    for group in groups:
        if len(group) > 1:
            low = min(o for _, o in group)
            out.append([(k, o - low) for k, o in group])
    return out


def untangle_copies(results: list[tuple[np.ndarray, np.ndarray]],
                    sequences: Sequence[np.ndarray], xyz: np.ndarray,
                    config: HMMConfig) -> list[tuple[np.ndarray, np.ndarray]]:
    """Repairs mosaics between copies of the same chain.

    Chains are decoded one after the other, so where the first copy of a
    homo-oligomer meets a gap (an unresolved loop, a missing run) Viterbi
    jumps anywhere and may resume on the second copy, which then gets the
    first one's leftovers. Copies share the sequence, so exchanging the tails
    of two copies' paths after position t changes no emission, only the
    geometry at t: at every position where a copy's path breaks (its next
    assigned node is farther than 3.8 Å per residue, plus noise slack), the
    tails of all copies are re-paired by a minimum-cost assignment of the
    break costs, if that strictly lowers their sum.
    """
    results = [(n.copy(), c.copy()) for n, c in results]
    slack = 1.0 + config.max_sigmas * config.sigma
    for members in copy_groups(sequences):
        width = max(o + len(sequences[k]) for k, o in members)
        nodes = np.full((len(members), width), -1, np.int64)    # frame order
        conf = np.zeros((len(members), width), np.float32)
        for i, (k, o) in enumerate(members):
            nodes[i, o:o + len(sequences[k])] = results[k][0]
            conf[i, o:o + len(sequences[k])] = results[k][1]
        # Tails are exchanged over the frame positions every copy has.
        start = max(o for _, o in members)
        stop = min(o + len(sequences[k]) for k, o in members)
        for t in range(start, stop - 1):
            # Last assigned node at <= t and first at > t, per copy.
            left, right = [], []
            for row in nodes:
                before = np.flatnonzero(row[:t + 1] >= 0)
                after = np.flatnonzero(row[t + 1:stop] >= 0)
                left.append((row[before[-1]], before[-1]) if len(before) else (-1, t))
                right.append((row[t + 1 + after[0]], t + 1 + after[0])
                             if len(after) else (-1, t + 1))
            if all(q != t + 1 for _, q in right):
                continue  # no copy resumes here: the pairing is decided later
            cost = np.array([[_break_cost(xyz, a, b, q - p, config.ca_distance, slack)
                              for b, q in right] for a, p in left])
            if np.trace(cost) < _UNTANGLE_MARGIN:
                continue
            rows, cols = scipy.optimize.linear_sum_assignment(cost)
            if cost[rows, cols].sum() < np.trace(cost) - _UNTANGLE_MARGIN:
                nodes[:, t + 1:stop] = nodes[cols, t + 1:stop]
                conf[:, t + 1:stop] = conf[cols, t + 1:stop]
        for i, (k, o) in enumerate(members):
            n = len(sequences[k])
            results[k] = (nodes[i, o:o + n].astype(np.int32), conf[i, o:o + n])
    return results
