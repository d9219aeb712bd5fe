"""The accuracy table of issue 6: AA per input regime and decoder.

Rows (each problem simulated once with a fixed seed, then threaded by every
decoder):

* (a) ``synthetic``: the paper's protocol (exact coordinates, the paper's
  scores, uniform decoys up to 500 nodes) on held-out generated protein-like
  chains of 50-450 residues with random sequences. The paper's own synthetic
  graphs have no coordinates, which the HMM baseline needs, so the chains
  are generated folds (:mod:`tf_structgen.data.backbone`), from a seed
  stream never used in training;
* (b) ``paper``: the same protocol on every real structure of ``--structures``
  (all protein chains of each entry, threaded together);
* (c) ``realistic``: 0.25 Å noise, top-1 0.85, 3% missing, 30% near decoys;
* (d) ``hard``: 0.4 Å, top-1 0.75, 6% missing, 60% near decoys.

Columns: ``forward``, ``backward``, ``ensemble`` (the network's per-position
argmax, the paper's eq. 2), ``constrained`` (HMM Viterbi with the network's
emission correction, ensemble), ``hmm`` (the classical baseline alone) and the
paper's figure where it has one. AA is over positions that have a true node,
averaged over problems (structures). The HMM and the constrained decoder get
the row's coordinate noise as their noise hint.

Usage (from the repository root):

    python benchmarks/accuracy_table.py --model saved_models/structgen/2 \\
        [--structures ../shared/data/structures] [--synthetic 50] \\
        [--rows a b c d] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import pathlib
import sys
import time

import numpy as np

REPO_ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

import tf_structgen  # noqa: E402,F401  (Keras 2 before TensorFlow loads)
from tf_structgen.data import realistic  # noqa: E402
from tf_structgen.data.simulate import REALISM_PRESETS  # noqa: E402
from tf_structgen.data.config import DataConfig  # noqa: E402
from tf_structgen.evaluation.structures import (  # noqa: E402
    candidate_set,
    count_correct,
    evaluate_structures,
)
from tf_structgen.inference.predictor import Predictor  # noqa: E402
from tf_structgen.io.sequences import SequenceRecord  # noqa: E402
from tf_structgen.io.structures import structure_files  # noqa: E402

ROWS = {"a": ("synthetic", "paper"), "b": ("paper", "paper"),
        "c": ("realistic", "realistic"), "d": ("hard", "hard")}
PAPER_FIGURE = {"a": 0.9949, "b": 0.9899, "c": None, "d": None}
COLUMNS = ("forward", "backward", "ensemble", "constrained", "hmm")
SYNTHETIC_SEED = 1_000_003  # never a training seed


def predictors(model_dir: pathlib.Path | None, noise: float) -> dict[str, Predictor]:
    out = {"hmm": Predictor(None, decoder="hmm", coord_noise=noise)}
    if model_dir is not None:
        for direction in ("forward", "backward", "ensemble"):
            out[direction] = Predictor(model_dir, decoder="greedy", direction=direction,
                                       min_confidence=0.0)
        out["constrained"] = Predictor(model_dir, decoder="constrained",
                                       direction="ensemble", coord_noise=noise)
    return out


def synthetic_problems(count: int):
    """Row (a): (candidates, records, truth) on held-out generated chains."""
    data = DataConfig(min_length=50, max_length=450)
    config = realistic.RealisticConfig(max_chains=1)
    for k in range(count):
        chains, sim = realistic.generated_complex(
            data, config, REALISM_PRESETS["paper"], np.random.default_rng([SYNTHETIC_SEED, k]))
        records = [SequenceRecord(f"chain{i}", s) for i, (s, _) in enumerate(chains)]
        yield candidate_set(sim), records, sim.truth


def synthetic_row(count: int, threaders: dict) -> dict[str, float]:
    scores = {name: [] for name in threaders}
    for candidates, records, truth in synthetic_problems(count):
        for name, predictor in threaders.items():
            correct, total = count_correct(
                truth, [r.nodes for r in predictor.thread(candidates, records)])
            scores[name].append(correct / total)
    return {name: float(np.mean(v)) for name, v in scores.items()}


def structure_row(paths, realism_name: str, threaders: dict, seed: int) -> dict[str, float]:
    realism = REALISM_PRESETS[realism_name]
    return {name: evaluate_structures(paths, p.thread, realism, seed)["aa"]
            for name, p in threaders.items()}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=pathlib.Path, default=None,
                        help="SavedModel version folder (omit: HMM column only)")
    parser.add_argument("--structures", default=str(REPO_ROOT.parent / "shared" / "data"
                                                    / "structures"))
    parser.add_argument("--synthetic", type=int, default=50,
                        help="row (a): number of generated chains")
    parser.add_argument("--rows", nargs="+", default=list(ROWS), choices=list(ROWS))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=pathlib.Path, default=None)
    args = parser.parse_args(argv)

    paths = structure_files(args.structures)
    table = {}
    print(f"| row | {' | '.join(COLUMNS)} | paper | time |")
    print("|---" * (len(COLUMNS) + 3) + "|")
    for row in args.rows:
        source, realism_name = ROWS[row]
        threaders = predictors(args.model, REALISM_PRESETS[realism_name].coord_noise)
        start = time.perf_counter()
        if source == "synthetic":
            scores = synthetic_row(args.synthetic, threaders)
        else:
            scores = structure_row(paths, realism_name, threaders, args.seed)
        elapsed = time.perf_counter() - start
        table[row] = {"source": source, "realism": realism_name, **scores,
                      "paper": PAPER_FIGURE[row], "seconds": round(elapsed, 1)}
        cells = [f"{scores[c]:.4f}" if c in scores else "-" for c in COLUMNS]
        paper = f"{PAPER_FIGURE[row]:.4f}" if PAPER_FIGURE[row] else "-"
        print(f"| ({row}) {source}/{realism_name} | {' | '.join(cells)} | {paper} "
              f"| {elapsed:.0f} s |", flush=True)
    if args.json:
        args.json.write_text(json.dumps({"model": str(args.model), "structures":
                                         args.structures, "rows": table}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
