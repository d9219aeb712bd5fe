"""Writes a refinement case for tests: the decoded paths that the assembly
refinement (:func:`tf_structgen.decoding.refine.refine`) received for one
real entry of ``../shared/data`` simulated as ``benchmarks/assemblies.py``
simulates it, with what the refinement reads (candidate coordinates, the
HMM's emission log-odds, the sequence, the HMM settings) and the truth.

    python tests/data/make_refine_case.py 1hwu hard 3 tests/data/refine_1hwu_hard_seed3.npz

(``--decoder hmm``: no learned prior, one entity.)
"""

from __future__ import annotations

import dataclasses
import gzip
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from benchmarks.assemblies import DEFAULT_DATA, Threader, simulated  # noqa: E402
from tf_structgen.decoding import assembly  # noqa: E402
from tf_structgen.evaluation.assemblies import entities_of_entry, score_assembly  # noqa: E402


def main(entry: str, realism: str, seed: int, out: str) -> None:
    records = json.load(gzip.open(DEFAULT_DATA))
    by_entry: dict[str, list] = {}
    for r in records:
        by_entry.setdefault(r["pdb_id"], []).append(r)
    entries = sorted(k for k, v in by_entry.items() if len(v) > 1)
    entities = entities_of_entry(by_entry[entry])
    if len(entities) != 1:
        raise SystemExit(f"error: {entry} has {len(entities)} entities; one is needed")
    sim, truth = simulated(entities, realism, np.random.default_rng([seed, entries.index(entry)]))
    seen = {}
    refine = assembly.refine

    def capturing(decoded, filler, *args, **kwargs):
        seen["filler"], seen["decoded"] = filler, [p[0].copy() for p in decoded[0]]
        return refine(decoded, filler, *args, **kwargs)

    assembly.refine = capturing
    predicted = Threader("hmm", None)(sim, entities)
    assembly.refine = refine
    scores = score_assembly(truth, predicted)
    filler = seen["filler"]
    np.savez_compressed(out, xyz=filler.xyz, log_odds=filler.log_odds.astype(np.float32),
                        seq=np.asarray(filler.seqs[0]), decoded=np.array(seen["decoded"]),
                        truth=np.array(truth[0]),
                        config=json.dumps(dataclasses.asdict(filler.config)))
    print(f"{out}: strict AA after the refinement {scores['strict'] / scores['positions']:.4f}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4])
