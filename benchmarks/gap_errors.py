"""Where a decoder goes wrong: AA by distance to the nearest residue without a node.

On the generated problems of ``tune_correction.py`` (same seed, never used
in training or for the real-entry tables), every position that has a true
node is put in a bin by its distance, in residues, to the nearest position
of its chain that has none (a missed detection, or with ``--unresolved`` a
residue the map does not resolve); per bin, the share of positions on the
right node, on a wrong node and left null, pooled over the problems.

Usage (from the repository root):

    python benchmarks/gap_errors.py [--decoder hmm] [--model M] \\
        [--preset hard] [--count 24] [--unresolved]
"""

from __future__ import annotations

import argparse
import pathlib
import sys

import numpy as np

REPO_ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

import tf_structgen  # noqa: E402,F401  (Keras 2 before TensorFlow loads)
from benchmarks.decoder_options import (  # noqa: E402
    add_decoder_option, add_model_option, describe, make_predictor)
from benchmarks.tune_correction import problems  # noqa: E402
from tf_structgen.data.simulate import REALISM_PRESETS  # noqa: E402
from tf_structgen.evaluation.structures import candidate_set  # noqa: E402
from tf_structgen.io import SequenceRecord  # noqa: E402

BINS = ((0, 3, "1-3"), (4, 10, "4-10"), (11, None, "> 10"))


def gap_distance(truth: np.ndarray) -> np.ndarray:
    """[n] residues from each position to the nearest one without a node
    (a large number in a chain without one)."""
    empty = np.flatnonzero(truth < 0)
    positions = np.arange(len(truth))
    if len(empty) == 0:
        return np.full(len(truth), 10**6)
    return np.abs(positions[:, None] - empty[None, :]).min(axis=1)


def tally(truth: np.ndarray, nodes: np.ndarray, counts: dict) -> None:
    distance = gap_distance(truth)
    for lo, hi, label in BINS:
        here = (truth >= 0) & (distance >= lo) & (distance <= (hi if hi else 10**7))
        right = here & (nodes == truth)
        null = here & (nodes < 0)
        row = counts.setdefault(label, np.zeros(3, np.int64))
        row += [int(here.sum()), int(right.sum()), int(null.sum())]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_decoder_option(parser)
    add_model_option(parser)
    parser.add_argument("--preset", default="hard", choices=sorted(REALISM_PRESETS))
    parser.add_argument("--count", type=int, default=24)
    parser.add_argument("--unresolved", action="store_true",
                        help="as tune_correction.py --unresolved")
    args = parser.parse_args(argv)

    predictor = make_predictor(args.decoder, args.model,
                               coord_noise=REALISM_PRESETS[args.preset].coord_noise)
    counts: dict = {}
    for sim, seqs in problems(args.count, args.preset, args.unresolved):
        records = [SequenceRecord(f"c{i}", s) for i, s in enumerate(seqs)]
        # One sequence per chain, each chain its own record: the i-th result
        # threads the i-th true chain.
        for truth, chain in zip(sim.truth, predictor.thread(candidate_set(sim), records)):
            tally(np.asarray(truth), np.asarray(chain.nodes), counts)
    print(f"{describe(predictor)}; preset {args.preset}, {args.count} problems"
          f"{', unresolved residues' if args.unresolved else ''}\n")
    print("| residues to the nearest residue without a node | positions | right | "
          "wrong node | null |")
    print("|---|---|---|---|---|")
    for _, _, label in BINS:
        total, right, null = counts.get(label, np.zeros(3, np.int64))
        if total:
            print(f"| {label} | {total} | {right / total:.4f} | "
                  f"{(total - right - null) / total:.4f} | {null / total:.4f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
