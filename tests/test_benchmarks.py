"""The benchmark scripts' command lines (benchmarks/ is not a package: the
scripts are loaded from their files, or run as a user runs them)."""

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import numpy as np

from tf_structgen.evaluation.dev_split import TUNING_ENTRIES

REPO = Path(__file__).resolve().parents[1]
DATA = Path(__file__).parent / "data"


def load_script(name):
    spec = importlib.util.spec_from_file_location(
        f"benchmark_{name}", REPO / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_hmm_baseline_split_is_the_dev_split(tmp_path):
    """--split tune / heldout follow dev_split.TUNING_ENTRIES, and the file
    position still seeds each chain."""
    hmm_baseline = load_script("hmm_baseline")
    record = json.loads((DATA / "dev_chains_small.json").read_text())[0]
    # 1aku and 6r79 are tuning entries, 5zng and 1orc are not.
    ids = ["5zng", "1aku", "1orc", "6r79"]
    assert [i in TUNING_ENTRIES for i in ids] == [False, True, False, True]
    path = tmp_path / "chains.json"
    path.write_text(json.dumps([{**record, "pdb_id": i} for i in ids]))
    index = {split: [k for k, _, _ in hmm_baseline.load_chains(path, split)]
             for split in ("all", "tune", "heldout")}
    assert index == {"all": [0, 1, 2, 3], "tune": [1, 3], "heldout": [0, 2]}


def test_assemblies_rejects_an_unknown_scale_decoder():
    """An unknown --scale-decoders name fails at argument parsing, as an
    unknown --decoders name does (before any data is read)."""
    for option in ("--decoders", "--scale-decoders"):
        run = subprocess.run(
            [sys.executable, str(REPO / "benchmarks" / "assemblies.py"),
             "--data", str(REPO / "no-such-file.json.gz"), "--sections", "scale",
             option, "hmm", "bogus"],
            capture_output=True, text=True, timeout=300)
        assert run.returncode == 2, run.stderr
        assert (f"argument {option}: invalid choice: 'bogus'"
                in run.stderr), run.stderr
        assert "Traceback" not in run.stderr


def test_constrained_plus_links_is_its_own_column():
    """``constrained+links`` (the ablation with both the emission correction
    and the link head) runs tfsg predict's constrained decoder with the
    bundled link model, and the accuracy table keeps it apart from
    ``constrained`` alone instead of merging the two as one predictor."""
    sys.path.insert(0, str(REPO))
    from benchmarks.decoder_options import make_predictor
    from tf_structgen.inference.model_store import bundled_link_model_dir

    both = make_predictor("constrained+links", None)
    assert both.decoder == "constrained" and both.correction_weight is not None
    assert both.links is not None and both.links.model_dir == bundled_link_model_dir()
    table = load_script("accuracy_table")
    threaders = table.predictors(None, ["constrained", "constrained+links", "hmm"], 0.3)
    assert threaders["constrained"].links is None
    assert threaders["constrained+links"] is not threaders["constrained"]
    assert len(table.unique_threaders(threaders)) == 3


def test_gap_errors_bins_positions_by_distance_to_a_missing_residue():
    import numpy as np

    gap_errors = load_script("gap_errors")
    truth = np.array([10, 11, -1, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25])
    np.testing.assert_array_equal(gap_errors.gap_distance(truth)[:5], [2, 1, 0, 1, 2])
    assert gap_errors.gap_distance(truth)[-1] == 13
    nodes = truth.copy()
    nodes[0], nodes[1], nodes[15] = -1, 99, 0      # null, wrong, wrong
    counts = {}
    gap_errors.tally(truth, nodes, counts)
    # [positions, right, null] per bin; the missing residue itself is no position.
    assert {k: v.tolist() for k, v in counts.items()} == {
        "1-3": [5, 3, 1], "4-10": [7, 7, 0], "> 10": [3, 2, 0]}
    assert gap_errors.gap_distance(np.arange(4)).min() > 10 ** 5


def test_gap_errors_sources_are_exclusive():
    result = subprocess.run([sys.executable, str(REPO / "benchmarks" / "gap_errors.py"),
                             "--real", "--unresolved"], capture_output=True, text=True)
    assert result.returncode == 2 and "not allowed with argument" in result.stderr


def test_unresolved_problems_hide_residues_from_the_candidates():
    """tune_correction --unresolved: the same chains with residues in the
    sequence but without a node; the problems without it are unchanged."""
    import numpy as np

    tune = load_script("tune_correction")
    (sim, seqs), = tune.problems(1, "realistic")
    (sim_u, seqs_u), = tune.problems(1, "realistic", unresolved=True)
    assert [len(s) for s in seqs] == [len(s) for s in seqs_u]
    missing = sum(int((np.asarray(t) < 0).sum()) for t in sim.truth)
    missing_u = sum(int((np.asarray(t) < 0).sum()) for t in sim_u.truth)
    assert missing_u > missing
    (again, _), = tune.problems(1, "realistic")
    np.testing.assert_array_equal(again.xyz, sim.xyz)


def test_clashes_script_counts_true_and_decoded_clashes(capsys):
    """benchmarks/clashes.py on the three small chains at hard realism: the
    true paths have no clash, the paths decoded without the exclusion do,
    and the exclusion leaves fewer."""
    clashes = load_script("clashes")
    clashes.main(["--data", str(DATA / "dev_chains_small.json"), "--split", "all",
                  "--seed", "1"])
    out = capsys.readouterr().out
    rows = {line.rsplit(None, 2)[0]: line.split() for line in out.splitlines()
            if line.startswith(("true ", "{"))}
    assert int(rows["true"][-1]) == 0
    assert int(rows['{"clash_distance": 0}'][-1]) > int(rows["{}"][-1])
    assert "where exactly one member is right" in out


def test_backbones_script_compares_generated_and_real_chains(capsys):
    """benchmarks/backbones.py: generated chains of 200 residues have no Cα
    pair closer than 3.3 Å (the generator is self-avoiding) and the real
    chains get their own row."""
    backbones = load_script("backbones")
    backbones.main(["--lengths", "200", "--count", "3",
                    "--data", str(DATA / "dev_chains_small.json")])
    rows = [line.split("|") for line in capsys.readouterr().out.splitlines()
            if line.startswith(("| generated", "| real"))]
    assert [r[1].split(",")[0].strip() for r in rows] == ["generated", "real (dev_chains_small.json"]
    generated = rows[0]
    assert int(generated[2]) == 3 and int(generated[4]) == 0
    assert float(generated[3]) >= 3.99


def test_repeats_script_measures_the_repeat_swap(capsys):
    """benchmarks/repeats.py on two generated solenoids at hard realism: a
    row per case with both columns. (Whether the move helps is a figure of
    the full run, docs/benchmarks.md; on two problems it may lose a few
    positions, so no order between the columns is asserted here.)"""
    repeats = load_script("repeats")
    repeats.main(["--count", "2", "--realism", "hard"])
    rows = [line.split("|") for line in capsys.readouterr().out.splitlines()
            if line.startswith("| hard")]
    assert [r[2].strip() for r in rows] == ["one chain", "3 touching copies"]
    for row in rows:
        assert 0.0 < float(row[3]) <= 1.0 and 0.0 < float(row[4]) <= 1.0


def test_backbone_fragments_come_from_tuning_entries_only(tmp_path):
    """benchmarks/backbone_fragments.py keeps the tuning entries' chains and
    writes fragments the prior module reads back."""
    import numpy as np

    script = load_script("backbone_fragments")
    record = json.loads((DATA / "dev_chains_small.json").read_text())[0]
    path = tmp_path / "chains.json"
    path.write_text(json.dumps([{**record, "pdb_id": "1aku"}, {**record, "pdb_id": "1orc"}]))
    out = tmp_path / "fragments.npz"
    script.main([str(path), "--out", str(out)])
    frags = np.load(out)["fragments"]
    alone = script.backbone_prior.fragments_from_records([record])
    assert frags.shape == alone.shape and len(frags) > 0   # one record's, not two
    assert np.allclose(frags / script.backbone_prior.FRAGMENT_SCALE, alone, atol=0.006)


def test_assemblies_per_chain_records_are_grouped_back_by_entity():
    """--records chains: every copy is its own record, and the threaded
    chains come back grouped by entity, in record order, for scoring."""
    assemblies = load_script("assemblies")
    from tf_structgen.evaluation.assemblies import Entity

    seen = []

    def threader(sim, entities):
        seen.append([(e.sequence, len(e.copies)) for e in entities])
        return [[np.full(len(e.sequence), k)] for k, e in enumerate(entities)]

    entities = [Entity("ACDEF", [None, None, None], "A"), Entity("GHIK", [None], "B")]
    grouped = assemblies.per_chain(threader, None, entities)
    assert seen == [[("ACDEF", 1)] * 3 + [("GHIK", 1)]]
    assert [[int(p[0]) for p in copies] for copies in grouped] == [[0, 1, 2], [3]]
