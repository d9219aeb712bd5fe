"""Assemblies: real multi-chain entries, packed assemblies and the 20k-node run.

Prints, for every decoder side by side (the user's paths: ``hmm``,
``links`` and ``constrained`` are ``tfsg predict --decoder ...`` with the
bundled models; ``default`` is ``tfsg predict`` without ``--decoder``, i.e.
``hmm`` since 2026-12-02 (``auto`` = ``constrained`` with the bundled model
before); ``constrained+links`` is ``--decoder constrained --link-model
saved_models/links/1`` (the emission correction and the link head
together); ``sequential`` is the previous release's HMM, copies threaded one
after another and tails re-paired, for reference):

1. ``real``: the multi-chain entries of ../shared/data (one FASTA record per
   entity with its copy number, as the PDB's entity FASTA gives them; the
   deposited sequences, unobserved residues included) simulated at
   ``paper`` and ``realistic`` realism (``--realism``) with 15 % decoys; strict AA (copies
   matched by the Hungarian algorithm) and register AA (right position of
   the right entity, any copy), tuning and held-out entries
   (tf_structgen.evaluation.dev_split) reported apart.
2. ``packed``: real chains (one per entry, distinct sequences) packed into
   compact assemblies whose chains touch, 4 entities x 3 copies and 10 x 4,
   realistic realism (``--realism``) with 15 % decoys; beside it the same chains threaded
   one per file (each simulated alone, same realism).
3. ``scale``: packed assemblies of 2k / 5k / 10k / 20k candidate nodes
   (4 copies per entity, 15 % decoys), each decoder in a fresh process:
   threading time, time with start-up and model load, peak memory (the
   larger of the process's own peak RSS and the sampled proportional set
   size of the process and its workers, which share the parent's pages),
   AA.

Usage (from the repository root):

    python benchmarks/assemblies.py [--sections real packed scale]
        [--decoders hmm links constrained sequential] [--model saved_models/structgen]
        [--seeds 0] [--realism paper realistic hard]
        [--scale-nodes 2000 5000 10000 20000] [--records entities|chains] [--json out.json]
"""

from __future__ import annotations

import argparse
import dataclasses
import gzip
import json
import os
import pathlib
import subprocess
import sys
import time

import numpy as np

REPO_ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # TensorFlow's C++ log lines

from tf_structgen.common.residue_constants import encode_sequence  # noqa: E402
from tf_structgen.data.simulate import REALISM_PRESETS, simulate  # noqa: E402
from tf_structgen.evaluation.assemblies import (  # noqa: E402
    Entity, assembly_chains, entities_of_entry, packed_assembly, score_assembly)
from tf_structgen.evaluation.dev_split import split_name  # noqa: E402

DEFAULT_DATA = REPO_ROOT.parent / "shared" / "data" / "dev_chains_ca.json.gz"
DECOY_FRACTION = 0.15


def realism_for(name: str, num_true: int):
    return dataclasses.replace(REALISM_PRESETS[name],
                               num_decoys=int(round(DECOY_FRACTION * num_true)))


def simulated(entities: list[Entity], realism_name: str, rng):
    chains = assembly_chains(entities)
    num_true = sum(int(np.isfinite(ca).all(axis=1).sum()) for _, ca in chains)
    sim = simulate(chains, realism_for(realism_name, num_true), rng)
    truth, k = [], 0
    for e in entities:
        truth.append(sim.truth[k:k + len(e.copies)])
        k += len(e.copies)
    return sim, truth


def simulated_alone(entity: Entity, copy: int, realism_name: str, rng):
    """One copy of ``entity`` as an assembly of its own (one chain per
    file), simulated: ``(entities, sim, truth)``."""
    one = [Entity(entity.sequence, entity.copies[copy:copy + 1], entity.name)]
    return (one, *simulated(one, realism_name, rng))


# The decoder names of --decoders and --scale-decoders (what Threader runs).
# ``constrained+links``: the emission correction and the link head together.
THREADERS = ("default", "hmm", "constrained", "links", "constrained+links", "sequential")


class Threader:
    """One decoder as a user runs it (through Predictor), or the previous
    release's sequential HMM."""

    def __init__(self, name: str, model: str | None):
        self.name = name
        if name == "sequential":
            return
        from benchmarks.decoder_options import make_predictor
        from tf_structgen.inference.predictor import DEFAULT_DECODER

        decoder = DEFAULT_DECODER if name == "default" else name
        self.predictor = make_predictor(decoder, pathlib.Path(model) if model else None)

    def __call__(self, sim, entities: list[Entity]) -> list[list[np.ndarray]]:
        if self.name == "sequential":
            from tf_structgen.decoding.hmm import HMMConfig, hmm_thread

            seqs = [encode_sequence(e.sequence) for e in entities for _ in e.copies]
            flat = hmm_thread(sim.xyz, sim.aa_probs, seqs, HMMConfig(noise=0.3))
            out, k = [], 0
            for e in entities:
                out.append([nodes for nodes, _ in flat[k:k + len(e.copies)]])
                k += len(e.copies)
            return out
        from tf_structgen.io import CandidateSet, SequenceRecord

        records = [SequenceRecord(f"E{k}", e.sequence, copies=len(e.copies))
                   for k, e in enumerate(entities)]
        result = self.predictor.thread(CandidateSet(xyz=sim.xyz, aa_probs=sim.aa_probs),
                                       records)
        out: list[list[np.ndarray]] = [[] for _ in entities]
        for chain in result:
            out[int(chain.entity[1:])].append(chain.nodes)
        return out


def add(total: dict, score: dict) -> None:
    for key, value in score.items():
        total[key] = total.get(key, 0) + value


def fmt(total: dict) -> str:
    if not total.get("positions"):
        return "   -   /   -  "
    return (f"{total['strict'] / total['positions']:.4f} / "
            f"{total['register'] / total['positions']:.4f}")


def per_chain(threader, sim, entities):
    """``threader`` given one record per chain (every copy its own record,
    as a FASTA with one record per chain gives them), its chains grouped
    back by entity for scoring (copies matched across the records)."""
    split = [Entity(e.sequence, [copy], e.name) for e in entities for copy in e.copies]
    predicted = threader(sim, split)
    grouped, k = [], 0
    for e in entities:
        grouped.append([predicted[k + j][0] for j in range(len(e.copies))])
        k += len(e.copies)
    return grouped


def section_real(records, threaders, seeds, out, realisms, chains=False):
    by_entry: dict[str, list[dict]] = {}
    for r in records:
        by_entry.setdefault(r["pdb_id"], []).append(r)
    entries = sorted(k for k, v in by_entry.items() if len(v) > 1)
    print("\n## Real multi-chain entries (strict / register AA, pooled over positions; "
          "one per file: strict AA of each chain simulated and threaded alone)"
          + ("; one sequence record per chain" if chains else ""))
    for realism in realisms:
        print(f"\n### realism {realism}, {DECOY_FRACTION:.0%} decoys, seeds {seeds}\n")
        print("| entry | split | entities x copies | " + " | ".join(
            f"{t.name} | {t.name} one per file" for t in threaders) + " |")
        print("|" + "---|" * (3 + 2 * len(threaders)))
        totals = {(split, t.name): {} for split in ("tuning", "held-out") for t in threaders}
        singles = {(split, t.name): {} for split in ("tuning", "held-out") for t in threaders}
        for i, entry in enumerate(entries):
            entities = entities_of_entry(by_entry[entry])
            shape = "+".join(str(len(e.copies)) for e in entities)
            split = split_name(entry)
            # Simulated once per seed, threaded by every decoder.
            cases = []
            for seed in seeds:
                sim, truth = simulated(entities, realism, np.random.default_rng([seed, i]))
                alone = [simulated_alone(e, c, realism, np.random.default_rng([seed, i, k, c, 7]))
                         for k, e in enumerate(entities) for c in range(len(e.copies))]
                cases.append((sim, truth, alone))
            cells = []
            for t in threaders:
                total, single = {}, {}
                for sim, truth, alone in cases:
                    threaded = per_chain(t, sim, entities) if chains else t(sim, entities)
                    add(total, score_assembly(truth, threaded))
                    for one, s1, t1 in alone:
                        add(single, score_assembly(t1, t(s1, one)))
                add(totals[(split, t.name)], total)
                add(singles[(split, t.name)], single)
                cells += [fmt(total), fmt(single).split(" / ")[0]]
            print(f"| {entry} | {split} | {shape} | " + " | ".join(cells) + " |", flush=True)
        for split in ("tuning", "held-out"):
            print(f"| **all {split}** | | | " + " | ".join(
                f"{fmt(totals[(split, t.name)])} | "
                f"{fmt(singles[(split, t.name)]).split(' / ')[0]}" for t in threaders) + " |")
        out.setdefault("real_per_chain" if chains else "real", {})[realism] = {
            f"{split}/{name}": v for (split, name), v in totals.items()}
        out.setdefault("real_one_per_file", {})[realism + ("/per-chain" if chains else "")] = {
            f"{split}/{name}": v for (split, name), v in singles.items()}


def distinct_chains(records, min_len=80, max_len=400):
    """One chain per entry, sequences sharing < 30 % of their 5-mers."""
    def kmers(q):
        return {q[i:i + 5] for i in range(len(q) - 4)}

    picked = []
    for r in records:
        if not (r["is_entity_rep"] and min_len <= len(r["seqres"]) <= max_len):
            continue
        words = kmers(r["seqres"])
        if all(len(words & kmers(o["seqres"])) < 0.3 * len(words) for o in picked):
            picked.append(r)
    return picked


def packed_case(pool, num_entities, copies, rng):
    pick = rng.choice(len(pool), num_entities, replace=False)
    entities = [entities_of_entry([pool[j]])[0] for j in pick]
    return packed_assembly(entities, copies, rng)


def section_packed(records, threaders, seeds, out, realisms):
    for realism in realisms:
        packed_realism(records, threaders, seeds, out, realism)


def packed_realism(records, threaders, seeds, out, realism: str):
    chains = distinct_chains(records)
    print(f"\n## Packed assemblies, {realism}, 15 % decoys (strict / register AA; "
          "one per file: each chain simulated and threaded alone)")
    for split in ("tuning", "held-out"):
        pool = [r for r in chains if split_name(r["pdb_id"]) == split]
        print(f"\n### chains of {split} entries ({len(pool)} distinct)\n")
        print("| assembly | nodes | " + " | ".join(
            f"{t.name} | {t.name} one per file" for t in threaders) + " |")
        print("|" + "---|" * (2 + 2 * len(threaders)))
        for ne, nc in ((4, 3), (10, 4)):
            if ne > len(pool):
                continue
            totals = {t.name: {} for t in threaders}
            singles = {t.name: {} for t in threaders}
            nodes = []
            for seed in seeds:
                rng = np.random.default_rng([seed, ne, nc])
                entities = packed_case(pool, ne, nc, rng)
                sim, truth = simulated(entities, realism, rng)
                nodes.append(sim.num_nodes)
                alone = [simulated_alone(e, 0, realism, np.random.default_rng([seed, k, 7]))
                         for k, e in enumerate(entities)]
                for t in threaders:
                    add(totals[t.name], score_assembly(truth, t(sim, entities)))
                    for one, s1, t1 in alone:
                        add(singles[t.name], score_assembly(t1, t(s1, one)))
            cells = []
            for t in threaders:
                cells += [fmt(totals[t.name]), fmt(singles[t.name]).split(" / ")[0]]
            print(f"| {ne} x {nc} copies | {int(np.mean(nodes))} | " + " | ".join(cells) + " |",
                  flush=True)
            key = f"{split}/{ne}x{nc}" if realism == "realistic" else f"{realism}/{split}/{ne}x{nc}"
            out.setdefault("packed", {})[key] = {
                "assembly": totals, "one_per_file": singles}


CHILD = r"""
import json, os, resource, sys, threading, time
t0 = time.perf_counter()
peak = [0]
def rss_tree():
    # Proportional set size of this process and its workers: forked workers
    # share the parent's pages, which plain RSS would count once per process.
    pid = os.getpid()
    total = 0
    for p in os.listdir('/proc'):
        if not p.isdigit():
            continue
        try:
            stat = open(f'/proc/{p}/stat').read().rsplit(')', 1)[1].split()
            if int(p) != pid and int(stat[1]) != pid:
                continue
            for line in open(f'/proc/{p}/smaps_rollup'):
                if line.startswith('Pss:'):
                    total += int(line.split()[1]) * 1024
        except OSError:
            pass
    return total
def watch():
    while True:
        peak[0] = max(peak[0], rss_tree())
        time.sleep(0.1)
threading.Thread(target=watch, daemon=True).start()
sys.path.insert(0, sys.argv[1])
import numpy as np
sys.argv = sys.argv[1:]
from benchmarks.assemblies import Threader
from tf_structgen.evaluation.assemblies import Entity, score_assembly
from tf_structgen.data.simulate import Simulation
data = np.load(sys.argv[1], allow_pickle=True)
entities = [Entity(s, tuple(range(int(c)))) for s, c in zip(data['seqs'], data['copies'])]
truth = json.load(open(sys.argv[1][:-len('.npz')] + '.truth.json'))
truth = [[np.array(t) for t in copies] for copies in truth]
sim = Simulation(xyz=data['xyz'], aa_probs=data['aa_probs'], truth=[])
threader = Threader(sys.argv[2], sys.argv[3] or None)
t1 = time.perf_counter()
pred = threader(sim, entities)
t2 = time.perf_counter()
score = score_assembly(truth, pred)
peak[0] = max(peak[0], rss_tree())
peak[0] = max(peak[0], resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)
print(json.dumps({"thread_s": t2 - t1, "total_s": t2 - t0,
                  "aa": score['strict'] / score['positions'],
                  "register": score['register'] / score['positions'],
                  "peak_rss_mb": peak[0] / 2 ** 20}))
"""


def scale_case(pool, target_nodes, rng):
    """Entities x 4 copies until the true nodes reach 85 % of the target;
    decoys fill up to it."""
    entities, true_nodes = [], 0
    order = rng.permutation(len(pool))
    k = 0
    while true_nodes < 0.85 * target_nodes:
        e = entities_of_entry([pool[order[k % len(pool)]]])[0]
        if k >= len(pool):  # a chain reused: same fold, its residues shuffled
            letters = np.array(list(e.sequence))
            e = Entity("".join(rng.permutation(letters)), e.copies, f"{e.name}#{k}")
        entities.append(e)
        true_nodes += 4 * int(np.isfinite(e.copies[0]).all(axis=1).sum())
        k += 1
    entities = packed_assembly(entities, 4, rng)
    realism = dataclasses.replace(REALISM_PRESETS["realistic"],
                                  num_decoys=max(0, target_nodes - true_nodes))
    sim = simulate(assembly_chains(entities), realism, rng)
    truth, k = [], 0
    for e in entities:
        truth.append(sim.truth[k:k + len(e.copies)])
        k += len(e.copies)
    return entities, sim, truth


def section_scale(records, decoders, model, nodes_list, out, tmp):
    pool = distinct_chains(records)
    print("\n## Scale: packed assemblies x 4 copies, realistic (fresh process per run; "
          "peak memory: process and workers, shared pages counted once)\n")
    print("| nodes | chains | decoder | thread s | total s | peak memory MB | AA | register |")
    print("|---|---|---|---|---|---|---|---|")
    for target in nodes_list:
        entities, sim, truth = scale_case(pool, target, np.random.default_rng(target))
        path = pathlib.Path(tmp) / f"scale_{target}.npz"
        np.savez(path, xyz=sim.xyz, aa_probs=sim.aa_probs,
                 seqs=np.array([e.sequence for e in entities], dtype=object),
                 copies=np.array([len(e.copies) for e in entities]))
        path.with_suffix(".truth.json").write_text(json.dumps(
            [[np.asarray(t).tolist() for t in copies] for copies in truth]))
        for decoder in decoders:
            run = subprocess.run([sys.executable, "-c", CHILD, str(REPO_ROOT), str(path),
                                  decoder, model or ""], capture_output=True, text=True)
            if run.returncode != 0:
                print(f"| {sim.num_nodes} | | {decoder} | failed: "
                      f"{run.stderr.strip().splitlines()[-1][:200]} |")
                continue
            r = json.loads(run.stdout.strip().splitlines()[-1])
            print(f"| {sim.num_nodes} | {4 * len(entities)} | {decoder} | {r['thread_s']:.1f} | "
                  f"{r['total_s']:.1f} | {r['peak_rss_mb']:.0f} | {r['aa']:.4f} | "
                  f"{r['register']:.4f} |", flush=True)
            out.setdefault("scale", []).append({"nodes": sim.num_nodes, "decoder": decoder, **r})


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", default=str(DEFAULT_DATA))
    parser.add_argument("--sections", nargs="+", default=["real", "packed", "scale"],
                        choices=["real", "packed", "scale"])
    parser.add_argument("--decoders", nargs="+", default=["hmm", "links", "constrained"],
                        choices=THREADERS)
    parser.add_argument("--scale-decoders", nargs="+", default=["hmm", "links"],
                        choices=THREADERS)
    parser.add_argument("--model", default="", help="SavedModel (default: the bundled one)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--realism", nargs="+", default=None, choices=sorted(REALISM_PRESETS),
                        help="realism presets of the real and packed sections (default: "
                             "paper and realistic for real, realistic for packed)")
    parser.add_argument("--scale-nodes", type=int, nargs="+", default=[2000, 5000, 10000, 20000])
    parser.add_argument("--records", choices=("entities", "chains"), default="entities",
                        help="real: one sequence record per entity with its copies (the "
                             "PDB's entity FASTA), or one per chain (every copy its own "
                             "record, copies matched across records when scored)")
    parser.add_argument("--json", default="", help="Also write the figures here.")
    args = parser.parse_args()
    records = json.load(gzip.open(args.data))
    out: dict = {"args": vars(args)}
    start = time.time()
    threaders = [Threader(name, args.model) for name in args.decoders] if (
        {"real", "packed"} & set(args.sections)) else []
    if "real" in args.sections:
        section_real(records, threaders, args.seeds, out,
                     args.realism or ("paper", "realistic"), chains=args.records == "chains")
    if "packed" in args.sections:
        section_packed(records, threaders, args.seeds, out, args.realism or ("realistic",))
    if "scale" in args.sections:
        import tempfile

        with tempfile.TemporaryDirectory() as tmp:
            section_scale(records, args.scale_decoders, args.model, args.scale_nodes, out, tmp)
    print(f"\n(total {time.time() - start:.0f} s)")
    if args.json:
        pathlib.Path(args.json).write_text(json.dumps(out, indent=1, default=str))


if __name__ == "__main__":
    main()
