"""Predict latency at m = 500 nodes: neural model vs HMM baseline, same run.

Real chains of dev_chains_ca.json.gz, grouped by length (≈50, 150, 300,
450 residues), are simulated at a realism preset with 500 nodes and
threaded through
* the Python API (`Predictor.thread`, model loaded once; neural `unique`
  decoder and the HMM),
* the SavedModel `serving_default` signature alone (no decoding),
* the CLI (`tfsg predict`, a fresh process: start-up included).
Prints mean milliseconds per chain and AA beside each time.

Usage (from the repository root):

    python benchmarks/predict_latency.py [--realism paper] [--per-bucket 3] [--cli-runs 2]
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
from tf_structgen.common.residue_constants import encode_sequence  # noqa: E402
from tf_structgen.data.simulate import REALISM_PRESETS, chain_from_record, simulate  # noqa: E402
from tf_structgen.export.requests import padded_request  # noqa: E402
from tf_structgen.inference.model_store import bundled_model_dir  # noqa: E402
from tf_structgen.inference.predictor import Predictor  # noqa: E402
from tf_structgen.io import CandidateSet, SequenceRecord, write_candidates  # noqa: E402

BUCKETS = (50, 150, 300, 450)
DEFAULT_DATA = REPO_ROOT.parent / "shared" / "data" / "dev_chains_ca.json.gz"


def aa(truth, nodes):
    has = truth >= 0
    return float((nodes[has] == truth[has]).mean())


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", default=str(DEFAULT_DATA))
    parser.add_argument("--realism", default="paper")
    parser.add_argument("--per-bucket", type=int, default=3)
    parser.add_argument("--cli-runs", type=int, default=2)
    args = parser.parse_args()
    records = json.load(gzip.open(args.data))
    realism = REALISM_PRESETS[args.realism]
    neural = Predictor(bundled_model_dir(), decoder="unique")
    hmm = Predictor(None, decoder="hmm", coord_noise=max(realism.coord_noise, 0.1))
    signature = neural.signature
    tfsg = str(pathlib.Path(sys.executable).with_name("tfsg"))
    print(f"realism {args.realism}, m = 500 nodes, bundled model {bundled_model_dir()}")
    print(f"{'n':>4} {'chains':>6} | {'API neural ms':>13} {'AA':>6} | {'API hmm ms':>10} {'AA':>6} | "
          f"{'SavedModel ms':>13} | {'CLI neural ms':>13} {'CLI hmm ms':>10}")
    for target in BUCKETS:
        chosen = sorted(records, key=lambda r: abs(len(r["seqres"]) - target))[:args.per_bucket]
        rows = {"api_nn": [], "api_hmm": [], "sm": [], "aa_nn": [], "aa_hmm": [],
                "cli_nn": [], "cli_hmm": []}
        for k, record in enumerate(chosen):
            seq, ca = chain_from_record(record)
            sim = simulate([(seq, ca)], realism, np.random.default_rng(k))
            cands = CandidateSet(xyz=sim.xyz, aa_probs=sim.aa_probs)
            recs = [SequenceRecord("A", seq)]
            for name, predictor in (("nn", neural), ("hmm", hmm)):
                predictor.thread(cands, recs)  # warm-up (tracing)
                t0 = time.perf_counter()
                result = predictor.thread(cands, recs)
                rows[f"api_{name}"].append(time.perf_counter() - t0)
                rows[f"aa_{name}"].append(aa(sim.truth[0], result[0].nodes))
            request = padded_request([(sim.xyz, sim.aa_probs, encode_sequence(seq))])
            t0 = time.perf_counter()
            signature(**request)["node_index"].numpy()
            rows["sm"].append(time.perf_counter() - t0)
            if k < args.cli_runs:
                with tempfile.TemporaryDirectory() as tmp:
                    path = pathlib.Path(tmp) / "c.json"
                    write_candidates(CandidateSet(xyz=sim.xyz, aa_probs=sim.aa_probs,
                                                  sequence=seq), path)
                    for name, extra in (("nn", []), ("hmm", ["--decoder", "hmm"])):
                        t0 = time.perf_counter()
                        subprocess.run([tfsg, "predict", str(path), "--out",
                                        str(pathlib.Path(tmp) / "m.cif"), *extra],
                                       check=True, capture_output=True)
                        rows[f"cli_{name}"].append(time.perf_counter() - t0)
        ms = {k: 1000 * float(np.mean(v)) for k, v in rows.items() if not k.startswith("aa")}
        n_mean = int(np.mean([len(r["seqres"]) for r in chosen]))
        print(f"{n_mean:>4} {len(chosen):>6} | {ms['api_nn']:>13.0f} {np.mean(rows['aa_nn']):>6.3f} | "
              f"{ms['api_hmm']:>10.0f} {np.mean(rows['aa_hmm']):>6.3f} | {ms['sm']:>13.0f} | "
              f"{ms['cli_nn']:>13.0f} {ms['cli_hmm']:>10.0f}", flush=True)


if __name__ == "__main__":
    main()
