"""Where a decoder goes wrong: AA by distance to the nearest residue without a node.

Every position that has a true node is put in a bin by its distance, in
residues, to the nearest position of its chain that has none (a missed
detection, or a residue the map does not resolve); per bin, the share of
positions on the right node, on a wrong node and left null, pooled over
the problems. Problems: the generated ones of ``tune_correction.py`` (same
seed, never used in training or for the real-entry tables; with
``--unresolved``, with unresolved termini and loops), or with ``--real``
the chains of ``dev_chains_ca.json.gz`` one per file, simulated as
``hmm_baseline.py`` does (same seeds; ``--split``).

Usage (from the repository root):

    python benchmarks/gap_errors.py [--decoder hmm] [--model M] \\
        [--preset hard] [--count 24] [--unresolved | --real [--split heldout]]
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
from benchmarks.hmm_baseline import DEFAULT_DATA, load_chains  # noqa: E402
from benchmarks.tune_correction import problems  # noqa: E402
from tf_structgen.data.simulate import REALISM_PRESETS, simulate  # noqa: E402
from tf_structgen.evaluation.structures import candidate_set  # noqa: E402
from tf_structgen.io import SequenceRecord  # noqa: E402

BINS = ((0, 3, "1-3"), (4, 10, "4-10"), (11, np.inf, "> 10"))


def gap_distance(truth: np.ndarray) -> np.ndarray:
    """[n] residues from each position to the nearest one without a node
    (infinite in a chain without one)."""
    empty = np.flatnonzero(truth < 0)
    positions = np.arange(len(truth))
    if len(empty) == 0:
        return np.full(len(truth), np.inf)
    return np.abs(positions[:, None] - empty[None, :]).min(axis=1)


def tally(truth: np.ndarray, nodes: np.ndarray, counts: dict) -> None:
    distance = gap_distance(truth)
    for lo, hi, label in BINS:
        here = (truth >= 0) & (distance >= lo) & (distance <= hi)
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
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--unresolved", action="store_true",
                        help="as tune_correction.py --unresolved")
    source.add_argument("--real", action="store_true",
                        help="the real chains, one per file, as hmm_baseline.py simulates them")
    parser.add_argument("--split", default="heldout", choices=["all", "tune", "heldout"],
                        help="with --real: which entries (default: heldout)")
    parser.add_argument("--seed", type=int, default=0, help="with --real: as hmm_baseline.py")
    args = parser.parse_args(argv)

    predictor = make_predictor(args.decoder, args.model,
                               coord_noise=REALISM_PRESETS[args.preset].coord_noise)
    counts: dict = {}
    if args.real:
        realism = REALISM_PRESETS[args.preset]
        cases = ((simulate([(seq, ca)], realism, np.random.default_rng([args.seed, k])), [seq])
                 for k, seq, ca in load_chains(DEFAULT_DATA, args.split))
        label = f"real chains ({args.split}), seed {args.seed}"
    else:
        cases = problems(args.count, args.preset, args.unresolved)
        label = f"{args.count} generated problems" + (
            ", unresolved residues" if args.unresolved else "")
    for sim, seqs in cases:
        records = [SequenceRecord(f"c{i}", s) for i, s in enumerate(seqs)]
        # One sequence per chain, each chain its own record: the i-th result
        # threads the i-th true chain.
        for truth, chain in zip(sim.truth, predictor.thread(candidate_set(sim), records)):
            tally(np.asarray(truth), np.asarray(chain.nodes), counts)
    print(f"{describe(predictor)}; preset {args.preset}, {label}\n")
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
