"""Chooses the constrained decoder's correction weight on generated data.

The network's emission correction is added to the HMM's emissions times a
weight λ (0 = the classical HMM). λ is tuned here on held-out *generated*
complexes (protein-like folds from :mod:`tf_structgen.data.backbone`, random
sequences, 1-3 chains) simulated at the paper, realistic and hard presets,
never on the real structures the accuracy table reports.

Usage (from the repository root):

    python benchmarks/tune_correction.py --model saved_models/structgen/2 \\
        [--weights 0 0.25 0.5 1] [--count 24]
"""

from __future__ import annotations

import argparse
import pathlib
import sys

import numpy as np

REPO_ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

import tf_structgen  # noqa: E402,F401  (Keras 2 before TensorFlow loads)
from tf_structgen.common.residue_constants import encode_sequence  # noqa: E402
from tf_structgen.data import realistic  # noqa: E402
from tf_structgen.data.simulate import REALISM_PRESETS  # noqa: E402
from tf_structgen.data.config import DataConfig  # noqa: E402
from tf_structgen.decoding.hmm import HMMConfig, hmm_thread  # noqa: E402
from tf_structgen.evaluation.structures import candidate_set, count_correct  # noqa: E402
from tf_structgen.inference.predictor import Predictor  # noqa: E402

TUNING_SEED = 2_000_003  # neither a training nor a table seed


def problems(count: int, realism_name: str):
    data = DataConfig(min_length=50, max_length=400)
    for k in range(count):
        chains, sim = realistic.generated_complex(
            data, realistic.RealisticConfig(), REALISM_PRESETS[realism_name],
            np.random.default_rng([TUNING_SEED, k]))
        yield sim, [encode_sequence(s) for s, _ in chains]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=pathlib.Path, required=True)
    parser.add_argument("--weights", type=float, nargs="+", default=[0, 0.25, 0.5, 1.0])
    parser.add_argument("--presets", nargs="+", default=["paper", "realistic", "hard"])
    parser.add_argument("--count", type=int, default=24)
    args = parser.parse_args(argv)

    print(f"| preset | {' | '.join(f'λ={w:g}' for w in args.weights)} |")
    print("|---" * (len(args.weights) + 1) + "|")
    totals = np.zeros(len(args.weights))
    for name in args.presets:
        noise = REALISM_PRESETS[name].coord_noise
        predictor = Predictor(args.model, decoder="constrained", coord_noise=noise,
                              correction_weight=1.0)
        scores = np.zeros((args.count, len(args.weights)))
        for k, (sim, seqs) in enumerate(problems(args.count, name)):
            corrections = predictor.emission_corrections(candidate_set(sim), seqs)
            for j, w in enumerate(args.weights):
                decoded = hmm_thread(sim.xyz, sim.aa_probs, seqs, HMMConfig(noise=noise),
                                     log_emission_prior=[w * c for c in corrections])
                correct, total = count_correct(sim.truth, [d for d, _ in decoded])
                scores[k, j] = correct / total
        mean = scores.mean(axis=0)
        totals += mean
        print(f"| {name} | {' | '.join(f'{v:.4f}' for v in mean)} |", flush=True)
    best = args.weights[int(np.argmax(totals))]
    print(f"best weight over the presets: {best:g}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
