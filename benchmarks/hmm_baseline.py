"""Benchmark of the classical HMM threading baseline on simulated detector output.

Every chain of ``dev_chains_ca.json.gz`` (its SEQRES, NaN coordinates for the
residues unobserved in the structure) is simulated under each realism preset
with a fixed seed, threaded by each ``--decoder`` with the preset's
coordinate noise as the noise hint, and scored by AA: the fraction of the
positions that have a true node whose assigned node is that node, averaged
over chains.

Decoders: ``hmm`` (default) is the baseline as a user runs it,
``tfsg predict --decoder hmm`` (the assembly decoder, no network);
``sequential`` is the previous release's :func:`hmm_thread` (``HMMConfig``
defaults), which this script measured before; ``auto`` (tfsg predict's
default), ``constrained``, ``unique`` and ``greedy`` run with ``--model``
(default: the bundled model), for comparison.

Usage (from the repository root):

    python benchmarks/hmm_baseline.py [--data PATH] [--presets paper hard]
        [--decoder hmm sequential auto] [--model saved_models/structgen]
        [--link-model saved_models/links] [--split all|tune|heldout] [--limit N]
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

from benchmarks.decoder_options import (  # noqa: E402
    BOTH,
    DECODERS,
    add_decoder_option,
    add_model_option,
    make_predictor,
)
from tf_structgen.common.residue_constants import encode_sequence  # noqa: E402
from tf_structgen.data.simulate import (  # noqa: E402
    REALISM_PRESETS,
    chain_from_record,
    simulate,
)
from tf_structgen.decoding.hmm import HMMConfig, hmm_thread  # noqa: E402
from tf_structgen.evaluation.dev_split import is_tuning  # noqa: E402
from tf_structgen.io import CandidateSet, SequenceRecord  # noqa: E402

DEFAULT_DATA = REPO_ROOT.parent / "shared" / "data" / "dev_chains_ca.json.gz"


def load_chains(path: pathlib.Path,
                split: str = "all") -> list[tuple[int, str, np.ndarray]]:
    """``(index, seqres, ca)`` per chain of a ``dev_chains_ca.json[.gz]`` file.

    ``split``: ``"all"``, ``"tune"`` (the entries of
    :data:`tf_structgen.evaluation.dev_split.TUNING_ENTRIES`) or
    ``"heldout"`` (the others). The index (position in the file) seeds the
    chain's simulation, so a chain is simulated identically whatever the
    split.
    """
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt") as f:
        records = json.load(f)
    return [(k, *chain_from_record(r)) for k, r in enumerate(records)
            if split == "all" or is_tuning(r["pdb_id"]) == (split == "tune")]


def threader(decoder: str, model, noise: float, link_model=None):
    """(sim, seq) -> nodes of the one chain, as ``decoder`` threads it
    (``link_model``: the link head of ``links`` and ``constrained+links``;
    None for the bundled one)."""
    if decoder == "sequential":
        config = HMMConfig(noise=noise)

        def thread(sim, seq):
            [(nodes, _)] = hmm_thread(sim.xyz, sim.aa_probs, [encode_sequence(seq)],
                                      config)
            return nodes
        return thread
    links = {"link_model": link_model} if link_model is not None and decoder in (
        "links", BOTH) else {}
    predictor = make_predictor(decoder, model, coord_noise=noise, **links)

    def thread(sim, seq):
        [chain] = predictor.thread(CandidateSet(xyz=sim.xyz, aa_probs=sim.aa_probs),
                                   [SequenceRecord("A", seq)])
        return chain.nodes
    return thread


def run_preset(chains, preset: str, seed: int, decoder: str = "hmm",
               model=None, link_model=None) -> tuple[float, float, float]:
    """Returns (AA mean over chains, wall and CPU ms of threading per chain)."""
    realism = REALISM_PRESETS[preset]
    thread = threader(decoder, model, realism.coord_noise, link_model)
    accuracies, wall, cpu = [], 0.0, 0.0
    for k, seq, ca in chains[:1]:  # warm-up: the first network call builds the graph
        thread(simulate([(seq, ca)], realism, np.random.default_rng([seed, k])), seq)
    for k, seq, ca in chains:
        sim = simulate([(seq, ca)], realism, np.random.default_rng([seed, k]))
        start, start_cpu = time.perf_counter(), time.process_time()
        nodes = thread(sim, seq)
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
    add_decoder_option(parser, several=True, default=["hmm"],
                       choices=("sequential",) + DECODERS,
                       help="hmm (default: tfsg predict --decoder hmm), sequential (the "
                            "previous release's hmm_thread), auto, unique, greedy, "
                            "constrained (tfsg predict's network decoders, with --model)")
    add_model_option(parser, help="SavedModel for auto, unique, greedy and constrained "
                                  "(default: the bundled model); not used by hmm and "
                                  "sequential")
    parser.add_argument("--link-model", type=pathlib.Path, default=None,
                        help="link head SavedModel (version folder) for links and "
                             "constrained+links (default: the bundled one)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--split", default="all",
                        choices=["all", "tune", "heldout"],
                        help="the tuning entries of tf_structgen/evaluation/"
                             "dev_split.py, the held-out others, or all (default)")
    parser.add_argument("--limit", type=int, default=None,
                        help="use only the first N chains")
    args = parser.parse_args(argv)

    chains = load_chains(args.data, args.split)[:args.limit]
    residues = np.mean([len(seq) for _, seq, _ in chains])
    print(f"{len(chains)} chains, {residues:.0f} residues per chain on average")
    print(f"{'preset':<10} {'decoder':<11} {'chains':>6} {'AA mean':>8} {'ms/chain':>9} "
          f"{'cpu ms/chain':>12}")
    for preset in args.presets:
        for decoder in args.decoders:
            accuracy, wall, cpu = run_preset(chains, preset, args.seed, decoder, args.model,
                                             args.link_model)
            print(f"{preset:<10} {decoder:<11} {len(chains):>6} {accuracy:>8.4f} "
                  f"{wall:>9.1f} {cpu:>12.1f}", flush=True)


if __name__ == "__main__":
    main()
