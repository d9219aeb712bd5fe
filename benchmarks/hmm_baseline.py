"""Benchmark of the classical HMM threading baseline on simulated detector output.

Every chain of ``dev_chains_ca.json.gz`` (its SEQRES, NaN coordinates for the
residues unobserved in the structure) is simulated under each realism preset
with a fixed seed, threaded with :func:`hmm_thread` (``HMMConfig`` defaults,
the preset's coordinate noise as the noise hint), and scored by AA: the
fraction of the positions that have a true node whose assigned node is that
node, averaged over chains.

Usage (from the repository root):

    python benchmarks/hmm_baseline.py [--data PATH] [--presets paper hard]
"""

from __future__ import annotations

import argparse
import gzip
import json
import pathlib
import sys
import time

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


def load_chains(path: pathlib.Path) -> list[tuple[str, np.ndarray]]:
    """``(seqres, ca)`` per chain of a ``dev_chains_ca.json[.gz]`` file."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt") as f:
        return [chain_from_record(record) for record in json.load(f)]


def run_preset(chains, preset: str, seed: int) -> tuple[float, float]:
    """Returns (AA mean over chains, milliseconds of threading per chain)."""
    realism = REALISM_PRESETS[preset]
    config = HMMConfig(noise=realism.coord_noise)
    accuracies, seconds = [], 0.0
    for k, (seq, ca) in enumerate(chains):
        sim = simulate([(seq, ca)], realism, np.random.default_rng([seed, k]))
        start = time.perf_counter()
        [(nodes, _)] = hmm_thread(sim.xyz, sim.aa_probs, [encode_sequence(seq)],
                                  config)
        seconds += time.perf_counter() - start
        truth = sim.truth[0]
        has_node = truth >= 0
        if has_node.any():
            accuracies.append(np.mean(nodes[has_node] == truth[has_node]))
    return float(np.mean(accuracies)), 1000.0 * seconds / len(chains)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=pathlib.Path, default=DEFAULT_DATA,
                        help="dev_chains_ca.json.gz (default: %(default)s)")
    parser.add_argument("--presets", nargs="+", default=["paper", "realistic",
                                                         "hard"],
                        choices=sorted(REALISM_PRESETS))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--limit", type=int, default=None,
                        help="use only the first N chains")
    args = parser.parse_args(argv)

    chains = load_chains(args.data)[:args.limit]
    print(f"{'preset':<10} {'chains':>6} {'AA mean':>8} {'ms/chain':>9}")
    for preset in args.presets:
        accuracy, ms = run_preset(chains, preset, args.seed)
        print(f"{preset:<10} {len(chains):>6} {accuracy:>8.4f} {ms:>9.1f}",
              flush=True)


if __name__ == "__main__":
    main()
