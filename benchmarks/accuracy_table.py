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

Columns (``--decoder``, default all): ``auto`` (the model's own decoder,
``tfsg predict``'s default until 2026-12-01: ``constrained`` for the
bundled one, where the two columns are one run), ``forward``, ``backward``, ``ensemble`` (the network's
per-position argmax, the paper's eq. 2: ``--decoder greedy --direction ...
--min-confidence 0``), ``constrained`` (HMM Viterbi with the network's
emission correction, ensemble), ``hmm`` (the classical baseline alone,
``tfsg predict``'s default since 2026-12-02), ``links`` (the HMM with the
bundled link head), ``constrained+links`` (both: ``--decoder constrained
--link-model saved_models/links/1``) and the paper's figure where it has one. AA is over positions that have a true node,
averaged over problems (structures). The HMM-based decoders (``auto`` when
it is ``constrained``, ``constrained``, ``hmm``, ``links``) get the row's coordinate
noise as their noise hint. ``--model`` defaults to the bundled model;
``--decoder hmm`` alone loads no model.

Usage (from the repository root):

    python benchmarks/accuracy_table.py [--model saved_models/structgen/2] \\
        [--decoder auto forward backward ensemble constrained hmm links] \\
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
from benchmarks.decoder_options import add_model_option, describe, make_predictor  # noqa: E402
from tf_structgen.data import realistic  # noqa: E402
from tf_structgen.data.simulate import REALISM_PRESETS  # noqa: E402
from tf_structgen.data.config import DataConfig  # noqa: E402
from tf_structgen.evaluation.structures import (  # noqa: E402
    candidate_set,
    count_correct,
    evaluate_structures,
)
from tf_structgen.io.sequences import SequenceRecord  # noqa: E402
from tf_structgen.io.structures import structure_files  # noqa: E402

ROWS = {"a": ("synthetic", "paper"), "b": ("paper", "paper"),
        "c": ("realistic", "realistic"), "d": ("hard", "hard")}
PAPER_FIGURE = {"a": 0.9949, "b": 0.9899, "c": None, "d": None}
COLUMNS = ("auto", "forward", "backward", "ensemble", "constrained", "hmm", "links",
           "constrained+links")
DIRECTIONS = ("forward", "backward", "ensemble")
SYNTHETIC_SEED = 1_000_003  # never a training seed


def predictors(model: pathlib.Path | None, columns, noise: float) -> dict:
    """Column -> Predictor; columns that run the same decoder with the same
    settings share one Predictor (and are threaded once)."""
    out, seen = {}, {}
    for column in columns:
        if column in DIRECTIONS:
            p = make_predictor("greedy", model, direction=column, min_confidence=0.0)
        else:
            p = make_predictor(column, model, coord_noise=noise)
        key = (p.decoder, p.direction, p.min_confidence, p.coord_noise,
               p.correction_weight, str(p.model_dir),
               None if p.links is None else (str(p.links.model_dir), p.links.weight))
        out[column] = seen.setdefault(key, p)
    return out


def unique_threaders(threaders: dict) -> dict:
    """One column name per distinct Predictor."""
    first = {}
    for name, predictor in threaders.items():
        first.setdefault(id(predictor), name)
    return {name: threaders[name] for name in first.values()}


def per_column(threaders: dict, scores: dict) -> dict[str, float]:
    """Scores of the distinct Predictors spread back to every column."""
    by_id = {id(threaders[name]): value for name, value in scores.items()}
    return {name: by_id[id(p)] for name, p in threaders.items()}


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
    distinct = unique_threaders(threaders)
    scores = {name: [] for name in distinct}
    for candidates, records, truth in synthetic_problems(count):
        for name, predictor in distinct.items():
            correct, total = count_correct(
                truth, [r.nodes for r in predictor.thread(candidates, records)])
            scores[name].append(correct / total)
    return per_column(threaders, {name: float(np.mean(v)) for name, v in scores.items()})


def structure_row(paths, realism_name: str, threaders: dict, seed: int) -> dict[str, float]:
    realism = REALISM_PRESETS[realism_name]
    return per_column(threaders, {
        name: evaluate_structures(paths, p.thread, realism, seed)["aa"]
        for name, p in unique_threaders(threaders).items()})


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_model_option(parser)
    parser.add_argument("--decoder", "--decoders", dest="columns", nargs="+",
                        default=list(COLUMNS), choices=list(COLUMNS), metavar="COLUMN",
                        help="columns: auto (the model's own decoder), forward / "
                             "backward / ensemble (greedy argmax), constrained, hmm, links "
                             "(default: all; hmm alone loads no model, links only the link head)")
    parser.add_argument("--structures", default=str(REPO_ROOT.parent / "shared" / "data"
                                                    / "structures"))
    parser.add_argument("--synthetic", type=int, default=50,
                        help="row (a): number of generated chains")
    parser.add_argument("--rows", nargs="+", default=list(ROWS), choices=list(ROWS))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=pathlib.Path, default=None)
    args = parser.parse_args(argv)

    paths = structure_files(args.structures)
    columns = [c for c in COLUMNS if c in args.columns]
    table, decoders = {}, {}
    print(f"| row | {' | '.join(columns)} | paper | time |")
    print("|---" * (len(columns) + 3) + "|")
    for row in args.rows:
        source, realism_name = ROWS[row]
        threaders = predictors(args.model, columns,
                               REALISM_PRESETS[realism_name].coord_noise)
        decoders = {name: describe(p) for name, p in threaders.items()}
        start = time.perf_counter()
        if source == "synthetic":
            scores = synthetic_row(args.synthetic, threaders)
        else:
            scores = structure_row(paths, realism_name, threaders, args.seed)
        elapsed = time.perf_counter() - start
        table[row] = {"source": source, "realism": realism_name, **scores,
                      "paper": PAPER_FIGURE[row], "seconds": round(elapsed, 1)}
        cells = [f"{scores[c]:.4f}" if c in scores else "-" for c in columns]
        paper = f"{PAPER_FIGURE[row]:.4f}" if PAPER_FIGURE[row] else "-"
        print(f"| ({row}) {source}/{realism_name} | {' | '.join(cells)} | {paper} "
              f"| {elapsed:.0f} s |", flush=True)
    print("columns: " + "; ".join(f"{name} = {d}" for name, d in decoders.items()))
    if args.json:
        args.json.write_text(json.dumps({"model": str(args.model or "bundled"), "decoders": decoders,
                                         "structures": args.structures, "rows": table},
                                        indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
