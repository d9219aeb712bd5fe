"""The pieces of a decoded chain: what it costs to go from one node to
another some residues later (the geometry of junctions between pieces, in
the HMM's units), where a chain has null runs, and nodes it uses twice."""

from __future__ import annotations

import numpy as np

from tf_structgen.decoding.config import HMMConfig

_STRAND_RISE = 3.5  # Å per residue of a fully extended chain
_COIL_B2 = 2.0 * 3.8 ** 2  # Å^2 per residue: mean square end-to-end distance of a coil


def reach(steps: np.ndarray | int, config: HMMConfig) -> np.ndarray:
    """Farthest (Å) a chain gets in ``steps`` residues, plus noise slack: a
    step of ``ca_distance`` for one residue, an extended strand's ~3.5 Å per
    residue beyond."""
    steps = np.asarray(steps)
    slack = 1.0 + config.max_sigmas * config.sigma
    return np.where(steps <= 1, config.ca_distance, _STRAND_RISE * steps) + slack


def junction_cost(d: np.ndarray, steps: np.ndarray, config: HMMConfig) -> np.ndarray:
    """HMM-style cost (natural-log units) of one chain going from a node to
    another ``steps`` residues later, ``d`` Å away.

    One step: the Cα-Cα distance score (trans or cis peptide, as the HMM's
    links). Longer: the gap (``gap_open``,
    ``null_cost`` per further unassigned residue, ``reentry_penalty``) plus
    the geometry: the second-neighbour range for two steps; for more, the
    ends of an unresolved loop as far apart as a random coil's (Gaussian
    chain) and never beyond an extended strand's reach. A geometry worse
    than a jump costs ``jump_penalty``.

    Two steps as short as one link cost what the link would: real files
    skip residue numbers between bonded residues, so a one-residue gap of
    the numbering may hold no residue at all. Costed as a jump instead, the
    bonded continuation tied with a crossing into another copy (1ay8 at
    paper realism: the two copies exchanged their tails at a numbering
    skip), and so did a cis peptide costed as a stretched trans link.
    """
    d = np.asarray(d, np.float64)
    steps = np.asarray(steps)
    sigma = config.sigma
    z = (d - config.ca_distance) / sigma
    z_cis = (d - config.cis_distance) / sigma
    one = np.minimum(np.minimum(0.5 * z * z, config.cis_penalty + 0.5 * z_cis * z_cis),
                     config.jump_penalty)
    low, high = config.second_neighbour_range
    excess2 = (np.maximum(low - d, 0.0) + np.maximum(d - high, 0.0)) / sigma
    two = np.minimum(np.minimum(0.5 * excess2 ** 2, one), config.jump_penalty)
    excess = np.maximum(d - reach(steps, config), 0.0) / sigma
    coil = 1.5 * d * d / (np.maximum(steps, 1) * _COIL_B2)
    more = np.minimum(coil + 0.5 * excess ** 2, config.jump_penalty)
    gap = (config.gap_open + config.null_cost * np.maximum(steps - 2, 0)
           + config.reentry_penalty)
    return np.where(steps <= 1, one, gap + np.where(steps == 2, two, more))


def broken(d: np.ndarray, steps: np.ndarray | int, config: HMMConfig) -> np.ndarray:
    """True where two nodes ``d`` Å apart cannot be ``steps`` residues of one
    chain: farther than :func:`reach`."""
    return np.asarray(d) > reach(steps, config)


def null_runs(nodes: np.ndarray) -> list[tuple[int, int]]:
    """The maximal runs ``[start, stop)`` of nulls (-1) in a chain."""
    null = np.concatenate([[False], nodes < 0, [False]])
    edges = np.flatnonzero(null[1:] != null[:-1])
    return [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2])]


def unique_nodes(nodes: np.ndarray, conf: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Nulls all but the most confident position of a node used twice (the
    first position among equally confident ones); returns nodes and float32
    confidence, 0 where nulled."""
    pos = np.flatnonzero(nodes >= 0)
    order = pos[np.lexsort((-conf[pos], nodes[pos]))]
    repeat = np.zeros(len(order), bool)
    repeat[1:] = nodes[order[1:]] == nodes[order[:-1]]
    nodes, conf = nodes.copy(), conf.copy()
    nodes[order[repeat]] = -1
    conf[order[repeat]] = 0.0
    return nodes, conf.astype(np.float32)
