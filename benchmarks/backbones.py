"""Generated backbones against real chains: self-avoidance and compactness.

The training data, the generated problems of the tuning benchmarks and row
(a) of the accuracy table are drawn from :mod:`tf_structgen.data.backbone`.
This script prints, for ``--count`` chains of each length drawn with the
generator's defaults (or ``--settings``, ``BackboneConfig`` fields as JSON),
and for the real chains of ``dev_chains_ca.json.gz`` (every chain of 60 or
more observed residues):

* ``closest``: the closest Cα pair three or more residues apart (the worst
  chain), and how many chains have a pair closer than 3.3 Å (real chains:
  none; the steric exclusion of the decoder assumes so);
* ``contacts``: Cα pairs three or more residues apart closer than 7 Å, per
  residue (how packed the fold is: the near neighbours that make threading
  hard);
* ``Rg / N^0.38``: radius of gyration over the length's scaling for
  globular proteins;
* seconds per chain.

Usage (from the repository root):

    python benchmarks/backbones.py [--lengths 60 150 300 450] [--count 10]
        [--seed 0] [--settings '{"trials": 32}']
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

from benchmarks.hmm_baseline import DEFAULT_DATA  # noqa: E402
from tf_structgen.data import backbone  # noqa: E402

CLASH = 3.3


def chain_stats(xyz: np.ndarray) -> tuple[float, float, float]:
    """(closest non-bonded Cα pair, contacts < 7 Å per residue, Rg / N^0.38)."""
    n = len(xyz)
    d = np.linalg.norm(xyz[:, None] - xyz[None], axis=-1)[np.triu_indices(n, 3)]
    rg = np.sqrt(((xyz - xyz.mean(axis=0)) ** 2).sum(axis=1).mean())
    return backbone.closest_non_bonded(xyz), float((d < 7.0).sum() / n), rg / n ** 0.38


def summary(label: str, stats: list[tuple[float, float, float]], seconds: float | None) -> str:
    s = np.array(stats)
    time_cell = "–" if seconds is None else f"{seconds:.2f}"
    return (f"| {label} | {len(s)} | {s[:, 0].min():.2f} | {(s[:, 0] < CLASH).sum()} | "
            f"{s[:, 1].mean():.2f} | {s[:, 2].mean():.2f} | {time_cell} |")


def real_chains(path: pathlib.Path, min_length: int = 60) -> list[np.ndarray]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt") as f:
        records = json.load(f)
    chains = []
    for record in records:
        ca = np.array(record["ca"], dtype=float)
        ca = ca[np.isfinite(ca).all(axis=1)]
        if len(ca) >= min_length:
            chains.append(ca)
    return chains


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lengths", type=int, nargs="+", default=[60, 150, 300, 450])
    parser.add_argument("--count", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--settings", default="{}",
                        help="BackboneConfig fields as JSON (default: the generator's defaults)")
    parser.add_argument("--data", type=pathlib.Path, default=DEFAULT_DATA)
    args = parser.parse_args(argv)
    config = backbone.BackboneConfig(**json.loads(args.settings))
    print(f"generator: {config}")
    print(f"| chains | count | closest (Å) | with a pair < {CLASH} Å | contacts < 7 Å per residue "
          "| Rg / N^0.38 | s per chain |")
    print("|---|---|---|---|---|---|---|")
    rng = np.random.default_rng(args.seed)
    for n in args.lengths:
        start = time.perf_counter()
        chains = [backbone.generate_chain(n, rng, config) for _ in range(args.count)]
        seconds = (time.perf_counter() - start) / args.count
        print(summary(f"generated, {n} residues", [chain_stats(c) for c in chains], seconds))
    if args.data.exists():
        print(summary(f"real ({args.data.name}, >= 60 observed)",
                      [chain_stats(c) for c in real_chains(args.data)], None))
    return 0


if __name__ == "__main__":
    sys.exit(main())
