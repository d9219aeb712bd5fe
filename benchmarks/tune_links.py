"""Chooses the links decoder's link weight on generated data, and reports
how well the link head separates backbone links from other contacts.

The ``links`` decoder adds ``w x log P(link)`` (the link head's probability
that a contact joins consecutive residues) to the HMM's transition of each
contact (w = 0 is the classical HMM). w is tuned here on held-out *generated*
problems (protein-like folds from :mod:`tf_structgen.data.backbone`, random
sequences, a seed stream never used in training), never on real entries:

* ``single``: one chain of 100-300 residues at the preset's realism (decoys up
  to 500 nodes);
* ``copies``: three touching copies of one 60-150-residue chain (one entity
  of three copies), 15 % decoys.

``--real`` adds the link metrics (no decoding, nothing tuned) of the chains
of ``dev_chains_ca.json.gz``, each simulated alone at each realism as
``benchmarks/hmm_baseline.py`` simulates them, tuning and held-out entries
(tf_structgen.evaluation.dev_split) apart.

Each problem is threaded as ``tfsg predict --decoder links --link-model M
--link-weight w --coord-noise <the preset's noise>`` does; with ``--base
constrained``, as ``tfsg predict --decoder constrained --link-model M
--link-weight w ...`` does (the emission correction and the link scores
together; w = 0: ``constrained`` alone). Link metrics are
over contacts shorter than 4.6 Å (AUC; precision at 95 % recall; precision
and recall at P(link) = 0.5).

Usage (from the repository root):

    python benchmarks/tune_links.py [--link-model saved_models/links] \\
        [--weights 0 0.25 0.5 1] [--kinds single copies] \\
        [--realism realistic hard] [--count 12] [--real]
"""

from __future__ import annotations

import argparse
import dataclasses
import pathlib
import sys

import numpy as np

REPO_ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

import tf_structgen  # noqa: E402,F401  (Keras 2 before TensorFlow loads)
from tf_structgen.data import backbone, realistic  # noqa: E402
from tf_structgen.data.links import link_labels  # noqa: E402
from tf_structgen.data.simulate import REALISM_PRESETS, simulate  # noqa: E402
from tf_structgen.evaluation.assemblies import score_assembly  # noqa: E402
from tf_structgen.evaluation.links import link_metrics  # noqa: E402
from tf_structgen.inference.links import LinkModel  # noqa: E402
from tf_structgen.inference.model_store import resolve_link_model_dir, resolve_model_dir  # noqa: E402
from tf_structgen.inference.predictor import Predictor  # noqa: E402
from tf_structgen.io import CandidateSet, SequenceRecord  # noqa: E402

TUNING_SEED = 3_000_017  # neither a training nor a table seed
COPIES = 3


def problem(kind: str, realism_name: str, k: int):
    """``(simulation, sequence, copies)`` of problem k."""
    rng = np.random.default_rng([TUNING_SEED, ["single", "copies"].index(kind), k])
    realism = REALISM_PRESETS[realism_name]
    if kind == "single":
        traces = [backbone.generate_chain(int(rng.integers(100, 301)), rng)]
    else:
        n = int(rng.integers(60, 151))
        traces = backbone.pack_chains([backbone.generate_chain(n, rng)] * COPIES, rng)
        realism = dataclasses.replace(realism, num_decoys=int(0.15 * n * COPIES))
    sequence = realistic.random_chains(traces[:1], rng)[0][0]
    sim = simulate([(sequence, t) for t in traces], realism, rng)
    return sim, sequence, len(traces)


class Collected:
    """Labels, logits and lengths of every contact of the problems added."""

    def __init__(self, links):
        self.links = links
        self.labels, self.logits, self.distances = [], [], []

    def add(self, sim) -> None:
        src, dst, logits = self.links.logits(sim.xyz, sim.aa_probs)
        self.labels.append(link_labels(sim.truth, src, dst, sim.num_nodes))
        self.logits.append(logits)
        self.distances.append(np.linalg.norm(sim.xyz[src] - sim.xyz[dst], axis=1))

    def metrics(self) -> dict:
        return link_metrics(np.concatenate(self.labels), np.concatenate(self.logits),
                            np.concatenate(self.distances))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--link-model", type=pathlib.Path, default=None,
                        help="link SavedModel (default: the bundled one)")
    parser.add_argument("--weights", type=float, nargs="+", default=[0, 0.25, 0.5, 1])
    parser.add_argument("--kinds", nargs="+", default=["single", "copies"],
                        choices=["single", "copies"])
    parser.add_argument("--realism", nargs="+", default=["realistic", "hard"],
                        choices=sorted(REALISM_PRESETS))
    parser.add_argument("--count", type=int, default=12)
    parser.add_argument("--real", action="store_true",
                        help="also the link metrics of the real dev chains")
    parser.add_argument("--mode", default=None, choices=["relative", "absolute"],
                        help="link score mode (default: the one stored with the model)")
    parser.add_argument("--base", default="hmm", choices=["hmm", "constrained"],
                        help="the decoder the link scores are added to: hmm (the links "
                             "decoder, default) or constrained (with --model's emission "
                             "correction; w = 0 is then the constrained decoder alone)")
    parser.add_argument("--model", type=pathlib.Path, default=None,
                        help="pointer SavedModel for --base constrained (default: the "
                             "bundled one)")
    args = parser.parse_args(argv)
    model_dir = resolve_link_model_dir(args.link_model)
    # Loaded once for the link metrics: the logits do not depend on the weight.
    scorer = LinkModel(model_dir, mode=args.mode)
    mode = scorer.mode
    pointer = resolve_model_dir(args.model) if args.base == "constrained" else None
    print(f"link model {model_dir}, {mode} scores; problems per row {args.count} "
          f"(seed {TUNING_SEED})")
    print(f"{'kind':<8} {'realism':<10} " + " ".join(f"w={w:<6g}" for w in args.weights)
          + "  link AUC  P@95%R  P     R")
    for kind in args.kinds:
        for realism_name in args.realism:
            noise = max(REALISM_PRESETS[realism_name].coord_noise, 0.1)
            predictors = [Predictor(pointer, decoder="constrained" if args.base == "constrained"
                                    else "links" if w else "hmm",
                                    link_model=model_dir if w else None,
                                    link_weight=w or None, link_mode=args.mode,
                                    coord_noise=noise)
                          for w in args.weights]
            correct = np.zeros(len(args.weights))
            positions = 0
            collected = Collected(scorer)
            for k in range(args.count):
                sim, sequence, copies = problem(kind, realism_name, k)
                cands = CandidateSet(xyz=sim.xyz, aa_probs=sim.aa_probs)
                record = SequenceRecord("A", sequence, copies=copies)
                for i, p in enumerate(predictors):
                    chains = p.thread(cands, [record])
                    s = score_assembly([sim.truth], [[c.nodes for c in chains]])
                    correct[i] += s["strict"]
                positions += s["positions"]
                collected.add(sim)
            m = collected.metrics()
            print(f"{kind:<8} {realism_name:<10} "
                  + " ".join(f"{c / positions:<8.4f}" for c in correct)
                  + f"  {m['auc']:.3f}     {m['precision_at_95_recall']:.3f}   "
                  f"{m['precision']:.3f} {m['recall']:.3f}", flush=True)
    if args.real:
        real_link_metrics(scorer, args.realism)
    return 0


def real_link_metrics(links, realism_names) -> None:
    """Link metrics of the real dev chains with the loaded link model ``links``."""
    from benchmarks.hmm_baseline import DEFAULT_DATA, load_chains

    print("\nreal dev chains (each simulated alone; link metrics only)")
    print(f"{'split':<8} {'realism':<10} {'chains':>6}  link AUC  P@95%R  P     R")
    for split in ("tune", "heldout"):
        chains = load_chains(DEFAULT_DATA, split)
        for realism_name in realism_names:
            collected = Collected(links)
            for index, seq, ca in chains:
                collected.add(simulate([(seq, ca)], REALISM_PRESETS[realism_name],
                                       np.random.default_rng([0, index])))  # hmm_baseline's seed
            m = collected.metrics()
            print(f"{split:<8} {realism_name:<10} {len(chains):>6}  {m['auc']:.3f}     "
                  f"{m['precision_at_95_recall']:.3f}   {m['precision']:.3f} "
                  f"{m['recall']:.3f}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
