"""Benchmark of the classical HMM threading baseline on simulated detector output.

Every chain of ``dev_chains_ca.json.gz`` (its SEQRES, NaN coordinates for the
residues unobserved in the structure) is simulated under each realism preset
with a fixed seed, threaded with :func:`hmm_thread` (``HMMConfig`` defaults,
the preset's coordinate noise as the noise hint), and scored by AA: the
fraction of the positions that have a true node whose assigned node is that
node, averaged over chains.

Usage (from the repository root):

    python benchmarks/hmm_baseline.py [--data PATH] [--presets paper hard]
        [--split all|tune|heldout] [--limit N]
"""

from __future__ import annotations

import argparse
import gzip
import json
import pathlib
import sys
import time
import zlib

import numpy as np

REPO_ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from tf_structgen.common.residue_constants import encode_sequence  # noqa: E402
from tf_structgen.data.simulate import (  # noqa: E402
    REALISM_PRESETS,
    chain_from_record,
    simulate,
)
from tf_structgen.decoding.hmm import HMMConfig, hmm_thread  # noqa: E402

DEFAULT_DATA = REPO_ROOT.parent / "shared" / "data" / "dev_chains_ca.json.gz"


def in_tuning_split(pdb_id: str) -> bool:
    """The HMM defaults were tuned on these entries (about a third)."""
    return zlib.crc32(pdb_id.encode()) % 3 == 0


def load_chains(path: pathlib.Path,
                split: str = "all") -> list[tuple[int, str, np.ndarray]]:
    """``(index, seqres, ca)`` per chain of a ``dev_chains_ca.json[.gz]`` file.

    The index (position in the file) seeds the chain's simulation, so a
    chain is simulated identically whatever the split.
    """
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt") as f:
        records = json.load(f)
    return [(k, *chain_from_record(r)) for k, r in enumerate(records)
            if split == "all" or in_tuning_split(r["pdb_id"]) == (
                split == "tune")]


def run_preset(chains, preset: str, seed: int) -> tuple[float, float, float]:
    """Returns (AA mean over chains, wall and CPU ms of threading per chain)."""
    realism = REALISM_PRESETS[preset]
    config = HMMConfig(noise=realism.coord_noise)
    accuracies, wall, cpu = [], 0.0, 0.0
    for k, seq, ca in chains:
        sim = simulate([(seq, ca)], realism, np.random.default_rng([seed, k]))
        start, start_cpu = time.perf_counter(), time.process_time()
        [(nodes, _)] = hmm_thread(sim.xyz, sim.aa_probs, [encode_sequence(seq)],
                                  config)
        wall += time.perf_counter() - start
        cpu += time.process_time() - start_cpu
        truth = sim.truth[0]
        has_node = truth >= 0
        if has_node.any():
            accuracies.append(np.mean(nodes[has_node] == truth[has_node]))
    return (float(np.mean(accuracies)), 1000.0 * wall / len(chains),
            1000.0 * cpu / len(chains))


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=pathlib.Path, default=DEFAULT_DATA,
                        help="dev_chains_ca.json.gz (default: %(default)s)")
    parser.add_argument("--presets", nargs="+", default=["paper", "realistic",
                                                         "hard"],
                        choices=sorted(REALISM_PRESETS))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--split", default="all",
                        choices=["all", "tune", "heldout"],
                        help="chains the defaults were tuned on, the others, "
                             "or all (default)")
    parser.add_argument("--limit", type=int, default=None,
                        help="use only the first N chains")
    args = parser.parse_args(argv)

    chains = load_chains(args.data, args.split)[:args.limit]
    residues = np.mean([len(seq) for _, seq, _ in chains])
    print(f"{len(chains)} chains, {residues:.0f} residues per chain on average")
    print(f"{'preset':<10} {'chains':>6} {'AA mean':>8} {'ms/chain':>9} "
          f"{'cpu ms/chain':>12}")
    for preset in args.presets:
        accuracy, wall, cpu = run_preset(chains, preset, args.seed)
        print(f"{preset:<10} {len(chains):>6} {accuracy:>8.4f} {wall:>9.1f} "
              f"{cpu:>12.1f}", flush=True)


if __name__ == "__main__":
    main()
