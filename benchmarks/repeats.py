"""Internal repeats: generated solenoids threaded with and without the
refinement's repeat swap.

Repeat proteins (ankyrin, HEAT, TPR, leucine-rich repeats) are common in
cryo-EM maps, and their units read alike: a chain can thread one unit's
residues through the next unit's nodes at no cost in emissions. The only
real entry of ``../shared/data`` with internal repeats is 5eil (held-out,
where the repeat swap was found), so this script measures the move on
generated ones, nothing tuned on them:

* the chain is :func:`~tf_structgen.data.backbone.generate_solenoid`:
  ``--units`` copies of one generated unit of ``--unit`` residues, each
  translated along the unit's end-to-end vector (plus one 3.8 Å link), a
  straight solenoid (real solenoids also twist and pack their units
  closer);
* the sequence: a capping unit of its own random sequence at each end
  (real repeat proteins have caps; 5eil's differ from its repeats) and
  the unit's random sequence repeated in between, each residue mutated
  with probability ``--mutation`` (5eil's repeats are identical; natural
  repeats are often 30-60 % identical, where the move does not apply);
* threaded alone and as three touching copies
  (:func:`~tf_structgen.data.backbone.pack_chains`), 15 % decoys as in
  ``benchmarks/assemblies.py``, at each ``--realism``;
* decoded as ``tfsg predict --decoder hmm --coord-noise <the preset's
  noise>`` does, with the repeat swap (the default) and without it
  (``AssemblyConfig(repeat_swap=False)``).

Prints strict AA (copies matched), pooled over positions, per case.

Usage (from the repository root):

    python benchmarks/repeats.py [--count 8] [--unit 33] [--units 5]
        [--mutation 0] [--realism realistic hard] [--seed 0]
"""

from __future__ import annotations

import argparse
import pathlib
import sys
import time

import numpy as np

REPO_ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from benchmarks.assemblies import realism_for  # noqa: E402
from tf_structgen.common.residue_constants import ALPHABET, encode_sequence  # noqa: E402
from tf_structgen.data.backbone import generate_solenoid, pack_chains  # noqa: E402
from tf_structgen.data.simulate import simulate  # noqa: E402
from tf_structgen.decoding.assembly import thread_assembly  # noqa: E402
from tf_structgen.decoding.config import AssemblyConfig, HMMConfig  # noqa: E402
from tf_structgen.evaluation.assemblies import score_assembly  # noqa: E402

COPIES = 3


def repeat_sequence(unit: int, units: int, mutation: float,
                    rng: np.random.Generator) -> str:
    """Capping units of their own sequence at both ends (as real repeat
    proteins have; without them a shift by one unit would cost nothing
    anywhere), the repeated unit in between, each residue of the repeats
    mutated with probability ``mutation``."""
    repeats = np.tile(rng.integers(0, 20, unit), units - 2)
    mutate = rng.random(len(repeats)) < mutation
    repeats[mutate] = rng.integers(0, 20, int(mutate.sum()))
    residues = np.concatenate([rng.integers(0, 20, unit), repeats, rng.integers(0, 20, unit)])
    return "".join(ALPHABET[i] for i in residues)


def run_case(args, realism: str, copies: int) -> tuple[float, float]:
    """Strict AA pooled over the case's problems, with and without the
    repeat swap (each problem simulated once, threaded both ways)."""
    counts = {True: [0, 0], False: [0, 0]}
    for k in range(args.count):
        rng = np.random.default_rng([args.seed, k])
        trace = generate_solenoid(args.unit, args.units, rng)
        seq = repeat_sequence(args.unit, args.units, args.mutation, rng)
        traces = pack_chains([trace] * copies, rng) if copies > 1 else [trace]
        preset = realism_for(realism, sum(len(t) for t in traces))
        sim = simulate([(seq, t) for t in traces], preset,
                       np.random.default_rng([args.seed, k, 1]))
        for repeat_swap, count in counts.items():
            decoded = thread_assembly(sim.xyz, sim.aa_probs, [encode_sequence(seq)], [copies],
                                      HMMConfig(noise=preset.coord_noise),
                                      assembly=AssemblyConfig(repeat_swap=repeat_swap))
            score = score_assembly([list(sim.truth)], [[nodes for nodes, _ in decoded[0]]])
            count[0] += score["strict"]
            count[1] += score["positions"]
    return counts[True][0] / counts[True][1], counts[False][0] / counts[False][1]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=8, help="problems per case")
    parser.add_argument("--unit", type=int, default=33, help="residues per repeat unit")
    parser.add_argument("--units", type=int, default=5, help="units, the two caps included")
    parser.add_argument("--mutation", type=float, default=0.0,
                        help="chance that a residue differs from the unit's sequence")
    parser.add_argument("--realism", nargs="+", default=["realistic", "hard"])
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    start = time.perf_counter()
    print(f"{args.count} solenoids per case: {args.units} units of {args.unit} residues, "
          f"mutation {args.mutation:g}, 15 % decoys, seed {args.seed}; strict AA pooled")
    print("| realism | chains | hmm with the repeat swap | without |")
    print("|---|---|---|---|")
    for realism in args.realism:
        for copies in (1, COPIES):
            with_swap, without = run_case(args, realism, copies)
            label = "one chain" if copies == 1 else f"{copies} touching copies"
            print(f"| {realism} | {label} | {with_swap:.4f} | {without:.4f} |", flush=True)
    print(f"\n(total {time.perf_counter() - start:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
