"""Predict latency at m = 500 nodes: the decoders side by side, same run.

Real chains of dev_chains_ca.json.gz, grouped by length (≈50, 150, 300,
450 residues), are simulated at a realism preset with 500 nodes and
threaded by each ``--decoder`` (default: ``hmm``, ``tfsg predict``'s default,
``links`` with the bundled link head and ``constrained`` with the bundled
model) through
* the Python API (`Predictor.thread`, model loaded once),
* the CLI (`tfsg predict --decoder D [--model M]`, a fresh process:
  start-up included),
and, for the first network decoder, the SavedModel signature it calls alone
(`Predictor.signature`, no decoding). Every path gets tfsg predict's
defaults (``--coord-noise 0.3`` unless given). Prints mean milliseconds per
chain and AA beside each time.

Usage (from the repository root):

    python benchmarks/predict_latency.py [--decoder hmm links constrained] [--model saved_models/structgen]
        [--realism paper] [--per-bucket 3] [--cli-runs 2]
"""

from __future__ import annotations

import argparse
import gzip
import json
import pathlib
import subprocess
import sys
import tempfile
import time

REPO_ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

import numpy as np  # noqa: E402

import tf_structgen  # noqa: E402,F401
from benchmarks.decoder_options import (  # noqa: E402
    CLI_DEFAULTS,
    add_decoder_option,
    add_model_option,
    describe,
    make_predictor,
)
from tf_structgen.common.residue_constants import encode_sequence  # noqa: E402
from tf_structgen.data.simulate import REALISM_PRESETS, chain_from_record, simulate  # noqa: E402
from tf_structgen.export.requests import padded_request  # noqa: E402
from tf_structgen.io import CandidateSet, SequenceRecord, write_candidates  # noqa: E402

BUCKETS = (50, 150, 300, 450)
DEFAULT_DATA = REPO_ROOT.parent / "shared" / "data" / "dev_chains_ca.json.gz"


def aa(truth, nodes):
    has = truth >= 0
    return float((nodes[has] == truth[has]).mean())


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_decoder_option(parser, several=True, default=["hmm", "links", "constrained"])
    add_model_option(parser)
    parser.add_argument("--coord-noise", type=float, default=CLI_DEFAULTS["coord_noise"],
                        help="as tfsg predict --coord-noise (default: %(default)s)")
    parser.add_argument("--data", default=str(DEFAULT_DATA))
    parser.add_argument("--realism", default="paper")
    parser.add_argument("--per-bucket", type=int, default=3)
    parser.add_argument("--cli-runs", type=int, default=2)
    args = parser.parse_args()
    records = json.load(gzip.open(args.data))
    realism = REALISM_PRESETS[args.realism]
    predictors = {d: make_predictor(d, args.model, coord_noise=args.coord_noise)
                  for d in args.decoders}
    network = next((p for p in predictors.values() if p.signature is not None), None)
    tfsg = str(pathlib.Path(sys.executable).with_name("tfsg"))
    print(f"realism {args.realism}, m = 500 nodes; "
          + "; ".join(f"{d} = {describe(p)}" for d, p in predictors.items()))
    header = [f"{'n':>4} {'chains':>6}"]
    for d in args.decoders:
        header.append(f"{'API ' + d + ' ms':>15} {'AA':>6} {'CLI ' + d + ' ms':>15}")
    if network is not None:
        header.append(f"{'SavedModel ms':>13}")
    print(" | ".join(header))
    for target in BUCKETS:
        chosen = sorted(records, key=lambda r: abs(len(r["seqres"]) - target))[:args.per_bucket]
        rows = {key: [] for d in args.decoders for key in (f"api_{d}", f"aa_{d}", f"cli_{d}")}
        rows["sm"] = []
        for k, record in enumerate(chosen):
            seq, ca = chain_from_record(record)
            sim = simulate([(seq, ca)], realism, np.random.default_rng(k))
            cands = CandidateSet(xyz=sim.xyz, aa_probs=sim.aa_probs)
            recs = [SequenceRecord("A", seq)]
            for name, predictor in predictors.items():
                predictor.thread(cands, recs)  # warm-up (tracing)
                t0 = time.perf_counter()
                result = predictor.thread(cands, recs)
                rows[f"api_{name}"].append(time.perf_counter() - t0)
                rows[f"aa_{name}"].append(aa(sim.truth[0], result[0].nodes))
            if network is not None:
                request = padded_request([(sim.xyz, sim.aa_probs, encode_sequence(seq))])
                t0 = time.perf_counter()
                {key: value.numpy() for key, value in network.signature(**request).items()}
                rows["sm"].append(time.perf_counter() - t0)
            if k < args.cli_runs:
                with tempfile.TemporaryDirectory() as tmp:
                    path = pathlib.Path(tmp) / "c.json"
                    write_candidates(CandidateSet(xyz=sim.xyz, aa_probs=sim.aa_probs,
                                                  sequence=seq), path)
                    for name in args.decoders:
                        extra = ["--model", str(args.model)] if args.model else []
                        t0 = time.perf_counter()
                        subprocess.run([tfsg, "predict", str(path), "--out",
                                        str(pathlib.Path(tmp) / "m.cif"), "--decoder", name,
                                        "--coord-noise", str(args.coord_noise), *extra],
                                       check=True, capture_output=True)
                        rows[f"cli_{name}"].append(time.perf_counter() - t0)
        ms = {k: 1000 * float(np.mean(v)) if v else float("nan")
              for k, v in rows.items() if not k.startswith("aa")}
        n_mean = int(np.mean([len(r["seqres"]) for r in chosen]))
        cells = [f"{n_mean:>4} {len(chosen):>6}"]
        for d in args.decoders:
            cells.append(f"{ms[f'api_{d}']:>15.0f} {np.mean(rows[f'aa_{d}']):>6.3f} "
                         f"{ms[f'cli_{d}']:>15.0f}")
        if network is not None:
            cells.append(f"{ms['sm']:>13.0f}")
        print(" | ".join(cells), flush=True)


if __name__ == "__main__":
    main()
