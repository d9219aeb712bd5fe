"""Steric clashes: real chains have none, decoded paths without the exclusion do.

Every chain of ``dev_chains_ca.json.gz`` is simulated alone as
``hmm_baseline.py`` does (same seeds) and threaded by the HMM assembly
decoder (``tfsg predict --decoder hmm``) under each of ``--settings``
(``HMMConfig`` fields as JSON; default: ``{}``, the steric exclusion as
shipped, :mod:`tf_structgen.decoding.sterics`, and ``{"clash_distance":
0}``, without it). Prints, per setting, the AA mean and the number of
clashes (two positions three or more residues apart on nodes closer than
``--cutoff`` Å) on the true paths and on the decoded ones; for the
clashes of the paths decoded without the exclusion, which kind of
position each member is (``right``: its true node; ``wrong``: another
node; ``no node``: a residue without a true node) and, where exactly one
member is right, whether it is the more confident one (the rule the
exclusion uses to decide who keeps the place).

Usage (from the repository root):

    python benchmarks/clashes.py [--preset hard] [--split heldout] [--seed 0]
        [--cutoff 3.0] [--settings '{}' '{"clash_distance": 0}' '{"clash_sigmas": 3}']
"""

from __future__ import annotations

import argparse
import collections
import json
import pathlib
import sys

import numpy as np

REPO_ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from benchmarks.hmm_baseline import DEFAULT_DATA, load_chains  # noqa: E402
from tf_structgen.common.residue_constants import encode_sequence  # noqa: E402
from tf_structgen.data.simulate import REALISM_PRESETS, simulate  # noqa: E402
from tf_structgen.decoding.assembly import thread_assembly  # noqa: E402
from tf_structgen.decoding.config import HMMConfig  # noqa: E402
from tf_structgen.decoding.sterics import clash_distance, clashes  # noqa: E402


def kind(t: int, nodes: np.ndarray, truth: np.ndarray) -> str:
    if truth[t] < 0:
        return "no node"
    return "right" if nodes[t] == truth[t] else "wrong"


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=pathlib.Path, default=DEFAULT_DATA)
    parser.add_argument("--preset", default="hard", choices=sorted(REALISM_PRESETS))
    parser.add_argument("--split", default="heldout", choices=["all", "tune", "heldout"])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cutoff", type=float, default=3.0,
                        help="Å; the counts' cut-off (the decoder's own is printed)")
    parser.add_argument("--settings", nargs="+", default=["{}", '{"clash_distance": 0}'],
                        help="HMMConfig fields as JSON, one setting each (noise is the preset's)")
    args = parser.parse_args(argv)

    realism = REALISM_PRESETS[args.preset]
    try:
        settings = {text: HMMConfig(noise=realism.coord_noise, **json.loads(text))
                    for text in args.settings}
    except (ValueError, TypeError) as e:
        parser.error(f"--settings: {e}")
    chains = load_chains(args.data, args.split)
    print(f"{len(chains)} chains ({args.split}), {args.preset} realism, seed {args.seed}; "
          f"counts below {args.cutoff} Å; the decoder's cut-off at this noise: "
          + ", ".join(f"{text} {clash_distance(c):.2f} Å" for text, c in settings.items()))
    # The clash diagnosis is of the first setting without the exclusion.
    off = next((t for t, c in settings.items() if clash_distance(c) == 0), None)
    accuracy = collections.defaultdict(list)
    counts = collections.Counter()
    kinds, confident = collections.Counter(), collections.Counter()
    for k, seq, ca in chains:
        sim = simulate([(seq, ca)], realism, np.random.default_rng([args.seed, k]))
        truth = sim.truth[0]
        has = truth >= 0
        counts["true paths"] += len(clashes(truth, sim.xyz, args.cutoff))
        for name, config in settings.items():
            [[(nodes, conf)]] = thread_assembly(sim.xyz, sim.aa_probs, [encode_sequence(seq)],
                                                [1], config)
            accuracy[name].append(float(np.mean(nodes[has] == truth[has])) if has.any()
                                  else np.nan)
            pairs = clashes(nodes, sim.xyz, args.cutoff)
            counts[name] += len(pairs)
            if name != off:
                continue
            for s, t in pairs.tolist():
                a, b = kind(s, nodes, truth), kind(t, nodes, truth)
                kinds[tuple(sorted((a, b)))] += 1
                if (a == "right") != (b == "right"):
                    right, other = (s, t) if a == "right" else (t, s)
                    confident["right more confident" if conf[right] > conf[other]
                              else "right not more confident"] += 1
    width = max(len(t) for t in settings) + 2
    print(f"\n{'paths':<{width}} {'AA mean':>8} {'clashes':>8}")
    print(f"{'true':<{width}} {'':>8} {counts['true paths']:>8}")
    for name in settings:
        print(f"{name:<{width}} {np.nanmean(accuracy[name]):>8.4f} {counts[name]:>8}")
    if off is None:
        return
    print(f"\nclashes of the paths decoded with {off}, by kind of position:")
    for pair, number in kinds.most_common():
        print(f"  {pair[0]} / {pair[1]}: {number}")
    print("where exactly one member is right:",
          ", ".join(f"{k} {v}" for k, v in confident.most_common()))


if __name__ == "__main__":
    main()
