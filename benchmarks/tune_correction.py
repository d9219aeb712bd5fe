"""Chooses the constrained decoder's correction weight on generated data.

The network's emission correction is added to the HMM's emissions times a
weight λ (0 = the classical HMM). λ is tuned here on held-out *generated*
complexes (protein-like folds from :mod:`tf_structgen.data.backbone`, random
sequences, 1-3 chains) simulated at the paper, realistic and hard presets,
never on the real structures the accuracy table reports.

``--model`` defaults to the bundled model. ``--decoder`` is the decoder the
weight is for: ``auto`` (default: what ``tfsg predict --decoder auto``
runs, which must be ``constrained``, as for the bundled model) or ``constrained`` thread each
problem exactly as ``tfsg predict --decoder constrained`` would with the
model exported with ``--correction-weight λ``; ``sequential`` is the previous
release's HMM (copies threaded one after another), with which the bundled
model's 0.1 was chosen.

Usage (from the repository root):

    python benchmarks/tune_correction.py [--model saved_models/structgen/2] \\
        [--decoder auto|constrained|sequential] [--weights 0 0.25 0.5 1] [--count 24] \\
        [--unresolved]

``--unresolved``: every generated chain gets residues that are in its
sequence but not among the candidates (unresolved termini and loops, as
real deposited sequences have), where an emission correction that favours
some node at every position can pull nodes onto positions no node holds.
"""

from __future__ import annotations

import argparse
import pathlib
import sys

import numpy as np

REPO_ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

import tf_structgen  # noqa: E402,F401  (Keras 2 before TensorFlow loads)
from benchmarks.decoder_options import add_model_option, make_predictor  # noqa: E402
from tf_structgen.common.residue_constants import encode_sequence  # noqa: E402
from tf_structgen.data import realistic  # noqa: E402
from tf_structgen.data.simulate import REALISM_PRESETS  # noqa: E402
from tf_structgen.data.config import DataConfig  # noqa: E402
from tf_structgen.decoding.hmm import HMMConfig, hmm_thread  # noqa: E402
from tf_structgen.evaluation.structures import candidate_set, count_correct  # noqa: E402
from tf_structgen.io import SequenceRecord  # noqa: E402

TUNING_SEED = 2_000_003  # neither a training nor a table seed


def with_unresolved(chains, rng):
    """The chains with residues the map does not resolve, as deposited
    sequences have them: 0-15 at the N terminus, 0-10 at the C terminus and,
    in half the chains, one loop of 5-25 residues (their Cα become NaN: in
    the sequence, never among the candidates)."""
    out = []
    for seq, ca in chains:
        ca = np.array(ca, dtype=float)
        n = len(ca)
        head, tail = int(rng.integers(0, 16)), int(rng.integers(0, 11))
        ca[:head] = np.nan
        if tail:
            ca[n - tail:] = np.nan
        if rng.random() < 0.5:
            length = int(rng.integers(5, 26))
            start = int(rng.integers(head + 10, max(head + 11, n - tail - length - 10)))
            ca[start:start + length] = np.nan
        out.append((seq, ca))
    return out


def problems(count: int, realism_name: str, unresolved: bool = False):
    data = DataConfig(min_length=50, max_length=400)
    for k in range(count):
        chains, sim = realistic.generated_complex(
            data, realistic.RealisticConfig(), REALISM_PRESETS[realism_name],
            np.random.default_rng([TUNING_SEED, k]),
            edit_chains=with_unresolved if unresolved else None)
        yield sim, [s for s, _ in chains]


def scores_as_the_cli_threads(model, decoder: str, weights, noise: float,
                              problems_) -> np.ndarray:
    """[problems, weights] AA, each problem threaded by Predictor.thread with
    the weight given as a model's stored --correction-weight would be."""
    predictors = [make_predictor(decoder, model, coord_noise=noise, correction_weight=w)
                  for w in weights]
    if predictors[0].decoder != "constrained":
        raise SystemExit(f"--decoder {decoder} runs {predictors[0].decoder} with this "
                         "model: the correction weight applies to constrained only")
    rows = []
    for sim, seqs in problems_:
        records = [SequenceRecord(f"c{i}", s) for i, s in enumerate(seqs)]
        row = []
        for predictor in predictors:
            result = predictor.thread(candidate_set(sim), records)
            correct, total = count_correct(sim.truth, [a.nodes for a in result])
            row.append(correct / total)
        rows.append(row)
    return np.array(rows)


def scores_sequential(model, weights, noise: float, problems_) -> np.ndarray:
    """[problems, weights] AA with the previous release's sequential HMM and
    the network's correction x weight."""
    predictor = make_predictor("constrained", model, coord_noise=noise,
                               correction_weight=1.0)
    rows = []
    for sim, seqs in problems_:
        encoded = [encode_sequence(s) for s in seqs]
        corrections = predictor.emission_corrections(candidate_set(sim), encoded)
        row = []
        for w in weights:
            decoded = hmm_thread(sim.xyz, sim.aa_probs, encoded, HMMConfig(noise=noise),
                                 log_emission_prior=[w * c for c in corrections])
            correct, total = count_correct(sim.truth, [d for d, _ in decoded])
            row.append(correct / total)
        rows.append(row)
    return np.array(rows)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_model_option(parser, help="SavedModel folder or version folder, as tfsg predict "
                                  "--model (default: the bundled model)")
    parser.add_argument("--decoder", default="auto",
                        choices=["auto", "constrained", "sequential"],
                        help="auto / constrained: as tfsg predict threads; sequential: "
                             "the previous release's HMM (default: auto)")
    parser.add_argument("--weights", type=float, nargs="+", default=[0, 0.25, 0.5, 1.0])
    parser.add_argument("--presets", nargs="+", default=["paper", "realistic", "hard"])
    parser.add_argument("--count", type=int, default=24)
    parser.add_argument("--unresolved", action="store_true",
                        help="hide termini and a loop of each generated chain from the "
                             "candidates (in the sequence, as deposited sequences have them)")
    args = parser.parse_args(argv)

    print(f"| preset | {' | '.join(f'λ={w:g}' for w in args.weights)} |")
    print("|---" * (len(args.weights) + 1) + "|")
    totals = np.zeros(len(args.weights))
    for name in args.presets:
        noise = REALISM_PRESETS[name].coord_noise
        if args.decoder == "sequential":
            scores = scores_sequential(args.model, args.weights, noise,
                                       problems(args.count, name, args.unresolved))
        else:
            scores = scores_as_the_cli_threads(args.model, args.decoder, args.weights,
                                               noise, problems(args.count, name, args.unresolved))
        mean = scores.mean(axis=0)
        totals += mean
        print(f"| {name} | {' | '.join(f'{v:.4f}' for v in mean)} |", flush=True)
    best = args.weights[int(np.argmax(totals))]
    print(f"best weight over the presets: {best:g}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
