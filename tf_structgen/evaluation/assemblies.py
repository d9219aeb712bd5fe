"""Assembly benchmarks: real and packed multi-copy assemblies, scored per copy.

Two scores for a threaded assembly, both over the residues that have a true
node:

* strict AA: predicted copies are matched one-to-one to true copies of the
  same entity (Hungarian algorithm on the number of shared correct nodes); a
  position counts when it holds the true node of the matched copy. A chain
  that jumps between copies loses every residue after the jump.
* register AA: a position counts when its node is the true node of that
  position of that entity in any copy. It ignores which copy a chain follows
  and is the upper bound that copy assignment can reach.
"""

from __future__ import annotations

import dataclasses
from typing import Sequence

import numpy as np
from scipy.optimize import linear_sum_assignment

from tf_structgen.data.backbone import place_chains


@dataclasses.dataclass(frozen=True)
class Entity:
    """One distinct sequence and the Cα traces of its copies.

    Attributes:
      sequence: the full (deposited) one-letter sequence.
      copies: per copy, [n, 3] Cα coordinates with NaN rows for residues
        without a Cα.
      name: a label for reports.
    """

    sequence: str
    copies: tuple[np.ndarray, ...]
    name: str = ""


def entities_of_entry(chains: Sequence[dict]) -> list[Entity]:
    """Groups the chains of one entry (``dev_chains_ca.json.gz`` records)
    into entities by identical deposited sequence, in file order."""
    from tf_structgen.data.simulate import chain_from_record

    groups: dict[str, list[np.ndarray]] = {}
    names: dict[str, str] = {}
    for record in chains:
        seq, ca = chain_from_record(record)
        groups.setdefault(seq, []).append(ca)
        names.setdefault(seq, f"{record['pdb_id']}_{record['chain']}")
    return [Entity(seq, tuple(cas), names[seq]) for seq, cas in groups.items()]


def packed_assembly(entities: Sequence[Entity], copies: int,
                    rng: np.random.Generator) -> list[Entity]:
    """Each entity's first copy, ``copies`` times, packed into one compact
    assembly whose chains touch (random orientations, interfaces of about
    one Cα contact within 7 Å per ten residues). Copies of one entity are
    interleaved with the others' in placement order, so they touch each
    other and other entities."""
    traces = [e.copies[0] for e in entities]
    order = [(k, c) for c in range(copies) for k in range(len(entities))]
    observed = [traces[k][np.isfinite(traces[k]).all(axis=1)] for k, _ in order]
    centres = [o.mean(axis=0) for o in observed]
    placed = place_chains([o - c for o, c in zip(observed, centres)], rng)
    out: list[list[np.ndarray]] = [[] for _ in entities]
    for (k, _), centre, (rotation, shift) in zip(order, centres, placed):
        out[k].append((traces[k] - centre) @ rotation.T + shift)
    return [Entity(e.sequence, tuple(c), e.name) for e, c in zip(entities, out)]


def assembly_chains(entities: Sequence[Entity]) -> list[tuple[str, np.ndarray]]:
    """The ``(sequence, ca)`` list that :func:`~tf_structgen.data.simulate.
    simulate` takes: entity by entity, copy by copy."""
    return [(e.sequence, ca) for e in entities for ca in e.copies]


def score_assembly(truth: Sequence[Sequence[np.ndarray]],
                   predicted: Sequence[Sequence[np.ndarray]]) -> dict[str, int]:
    """Strict and register counts of one threaded assembly.

    Args:
      truth: per entity, per true copy, [n] true node per position (-1 none).
      predicted: per entity, per predicted copy, [n] node per position (-1
        null). The numbers of true and predicted copies may differ.

    Returns:
      ``{"positions", "strict", "register"}``: residues with a true node,
      and how many of them are right strictly (copies matched) and by
      register (any copy).
    """
    positions = strict = register = 0
    for true_copies, pred_copies in zip(truth, predicted):
        true_copies = [np.asarray(t) for t in true_copies]
        pred_copies = [np.asarray(p) for p in pred_copies]
        positions += int(sum((t >= 0).sum() for t in true_copies))
        if not pred_copies or not true_copies:
            continue
        # node -> position of the entity it truly holds.
        position_of = {}
        for t in true_copies:
            for pos in np.flatnonzero(t >= 0):
                position_of[int(t[pos])] = int(pos)
        for p in pred_copies:
            register += sum(position_of.get(int(v)) == pos
                            for pos, v in enumerate(p) if v >= 0)
        agree = np.array([[int(((p == t) & (t >= 0)).sum()) for t in true_copies]
                          for p in pred_copies])
        rows, cols = linear_sum_assignment(agree, maximize=True)
        strict += int(agree[rows, cols].sum())
    return {"positions": positions, "strict": strict, "register": register}
