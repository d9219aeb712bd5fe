"""Time and peak memory of threading large candidate sets (several chains).

Builds candidate sets of m nodes from real chains (dev_chains_ca.json.gz,
translated apart so chains do not overlap, simulated at a realism preset,
decoys up to m nodes), threads them with each ``--decoder`` (default:
``hmm``, ``tfsg predict``'s default, ``links`` with the bundled link head and
``constrained`` with the bundled model; tfsg predict's other defaults),
each in a fresh subprocess, and prints wall time (model load excluded and
included), the child's peak RSS and the largest peak RSS of its worker
processes (the assembly decoder threads large inputs in workers).

Usage (from the repository root):

    python benchmarks/predict_scaling.py [--nodes 500 5000 20000] [--decoder hmm links constrained]
        [--realism realistic] [--model saved_models/structgen]
"""

from __future__ import annotations

import argparse
import gzip
import json
import pathlib
import subprocess
import sys
import tempfile

REPO_ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from benchmarks.decoder_options import add_decoder_option, add_model_option  # noqa: E402

DEFAULT_DATA = REPO_ROOT.parent / "shared" / "data" / "dev_chains_ca.json.gz"

CHILD = r"""
import json, resource, sys, time
t0 = time.perf_counter()
import numpy as np
import tf_structgen
sys.path.insert(0, sys.argv[6])
from benchmarks.decoder_options import make_predictor
from tf_structgen.io import read_candidates, read_sequences
from tf_structgen.evaluation.structures import count_correct
cands_path, fasta, truth_path, decoder, model = sys.argv[1:6]
cands = read_candidates(cands_path)
records = read_sequences(fasta)
predictor = make_predictor(decoder, model or None)
t1 = time.perf_counter()
result = predictor.thread(cands, records)
t2 = time.perf_counter()
truth = [np.array([-1 if v is None else v for v in c["nodes"]])
         for c in json.load(open(truth_path))["chains"]]
correct, total = count_correct(truth, [c.nodes for c in result])
print(json.dumps({"thread_s": t2 - t1, "total_s": t2 - t0, "aa": correct / total,
                  "decoder": predictor.decoder,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "worker_rss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}))
"""


def build_set(chains, m, realism, out_dir):
    import numpy as np

    from tf_structgen.data.simulate import REALISM_PRESETS, chain_from_record, simulate
    from tf_structgen.io import CandidateSet, write_assignments, write_candidates

    rng = np.random.default_rng(0)
    picked, residues = [], 0
    for k, record in enumerate(chains):
        if residues > 0.45 * m:
            break
        seq, ca = chain_from_record(record)
        ca = ca - np.nanmean(ca, axis=0) + np.array([90.0 * (k % 6), 90.0 * (k // 6), 0.0])
        picked.append((seq, ca))
        residues += len(seq)
    import dataclasses
    realism_cfg = dataclasses.replace(REALISM_PRESETS[realism], node_budget=m)
    sim = simulate(picked, realism_cfg, rng)
    cands = out_dir / f"cands_{m}.npz"
    write_candidates(CandidateSet(xyz=sim.xyz, aa_probs=sim.aa_probs), cands)
    fasta = out_dir / f"seq_{m}.fasta"
    fasta.write_text("".join(f">c{k}\n{seq}\n" for k, (seq, _) in enumerate(picked)))
    truth = out_dir / f"truth_{m}.json"
    write_assignments(truth, "truth", [
        {"id": f"c{k}", "sequence": seq, "nodes": [int(v) if v >= 0 else None for v in t],
         "confidence": [1.0] * len(t)} for k, ((seq, _), t) in enumerate(zip(picked, sim.truth))])
    return cands, fasta, truth, len(picked), residues, sim.num_nodes


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", default=str(DEFAULT_DATA))
    parser.add_argument("--nodes", type=int, nargs="+", default=[500, 2000, 5000, 20000])
    add_decoder_option(parser, several=True, default=["hmm", "links", "constrained"])
    parser.add_argument("--realism", default="realistic")
    add_model_option(parser)
    parser.add_argument("--plot", default="", help="Write time and peak RSS vs nodes here (PNG).")
    args = parser.parse_args()
    rows = []
    chains = json.load(gzip.open(args.data))
    print(f"{'nodes':>6} {'chains':>6} {'residues':>8} {'decoder':>16} {'thread s':>9} "
          f"{'total s':>8} {'peak RSS MB':>11} {'worker MB':>9} {'AA':>6}")
    with tempfile.TemporaryDirectory() as tmp:
        for m in args.nodes:
            cands, fasta, truth, n_chains, residues, nodes = build_set(
                chains, m, args.realism, pathlib.Path(tmp))
            for decoder in args.decoders:
                run = subprocess.run([sys.executable, "-c", CHILD, str(cands), str(fasta),
                                      str(truth), decoder, str(args.model or ""),
                                      str(REPO_ROOT)],
                                     capture_output=True, text=True)
                if run.returncode != 0:
                    print(f"{m:>6} {decoder}: failed\n{run.stderr[-1500:]}")
                    continue
                r = json.loads(run.stdout.strip().splitlines()[-1])
                rows.append((nodes, decoder, r))
                label = decoder if r["decoder"] == decoder else f"{decoder}={r['decoder']}"
                print(f"{nodes:>6} {n_chains:>6} {residues:>8} {label:>16} {r['thread_s']:>9.2f} "
                      f"{r['total_s']:>8.2f} {r['peak_rss_mb']:>11.0f} "
                      f"{r['worker_rss_mb']:>9.0f} {r['aa']:>6.3f}", flush=True)

    if args.plot:
        plot(rows, args.plot)


def plot(rows, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax_t, ax_m) = plt.subplots(1, 2, figsize=(10, 4))
    for decoder in sorted({d for _, d, _ in rows}):
        pts = sorted((n, r) for n, d, r in rows if d == decoder)
        nodes = [n for n, _ in pts]
        ax_t.plot(nodes, [r["total_s"] for _, r in pts], "o-", label=decoder)
        ax_m.plot(nodes, [r["peak_rss_mb"] for _, r in pts], "o-", label=decoder)
    ax_t.set(xlabel="candidate nodes", ylabel="wall time incl. start-up (s)", title="Time")
    ax_m.set(xlabel="candidate nodes", ylabel="peak RSS (MB)", title="Memory")
    for ax in (ax_t, ax_m):
        ax.legend()
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
