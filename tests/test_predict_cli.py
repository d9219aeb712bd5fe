"""tfsg predict / simulate end to end, formats.md outputs, and user errors."""

import json
import re
from pathlib import Path

import numpy as np
import pytest
from Bio.PDB import MMCIFParser, PDBParser
from typer.testing import CliRunner

from tf_structgen.cli.main import app
from tf_structgen.io import read_assignments, read_candidates

DATA = Path(__file__).parent / "data"
EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
runner = CliRunner()


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


@pytest.fixture(scope="module")
def simulated(tmp_path_factory):
    """1QL2 (3 chains) simulated at the realistic preset, with truth and FASTA."""
    d = tmp_path_factory.mktemp("sim")
    result = invoke("simulate", DATA / "1QL2.cif.gz", "--out", d / "cands.json",
                    "--truth", d / "truth.json", "--fasta", d / "seq.fasta",
                    "--realism", "realistic", "--node-budget", 300, "--seed", 1)
    assert result.exit_code == 0, result.output
    return d


def read_model(path):
    parser = PDBParser(QUIET=True) if path.suffix == ".pdb" else MMCIFParser(QUIET=True)
    return parser.get_structure("m", str(path))[0]


def test_simulate_outputs(simulated):
    cands = read_candidates(simulated / "cands.json")
    assert cands.num_nodes == 300
    truth = read_assignments(simulated / "truth.json")
    assert [c["id"] for c in truth["chains"]] == ["A", "B", "C"]
    assert (simulated / "seq.fasta").read_text().count(">") == 3


@pytest.mark.parametrize("suffix", [".pdb", ".cif"])
def test_hmm_predict_writes_formats_md_outputs(simulated, tmp_path, suffix):
    out, assignments = tmp_path / f"model{suffix}", tmp_path / "a.json"
    result = invoke("predict", simulated / "cands.json", "--sequence", simulated / "seq.fasta",
                    "--out", out, "--assignments", assignments, "--decoder", "hmm")
    assert result.exit_code == 0, result.output
    data = json.loads(assignments.read_text())
    assert data["model"] == "hmm"
    truth = read_assignments(simulated / "truth.json")
    used = []
    model = read_model(out)
    for chain in data["chains"]:
        assert set(chain) >= {"id", "sequence", "nodes", "confidence", "entity", "copy"}
        assert (chain["entity"], chain["copy"]) == (chain["id"], 0)  # one copy per record
        assert len(chain["nodes"]) == len(chain["sequence"]) == len(chain["confidence"])
        assigned = [v for v in chain["nodes"] if v is not None]
        used += assigned
        # One CA per assigned position, numbered by sequence position, B = 100 x conf.
        residues = list(model[chain["id"]])
        numbers = [r.id[1] for r in residues]
        expected = [i + 1 for i, v in enumerate(chain["nodes"]) if v is not None]
        assert numbers == expected
        for r in residues:
            i = r.id[1] - 1
            assert r["CA"].get_bfactor() == pytest.approx(100 * chain["confidence"][i], abs=0.01)
    assert len(used) == len(set(used)), "a node was used twice"
    # 1QL2's three chains are copies: score them up to a permutation.
    from tf_structgen.evaluation.structures import count_correct

    as_array = lambda c: np.array([-1 if v is None else v for v in c["nodes"]])
    correct, total = count_correct([as_array(c) for c in truth["chains"]],
                                   [as_array(c) for c in data["chains"]])
    assert correct / total > 0.8


def test_neural_predict_with_exported_model(simulated, exported_model, tmp_path):
    out = tmp_path / "m.cif"
    for decoder in ("unique", "greedy"):
        for direction in ("forward", "backward", "ensemble"):
            result = invoke("predict", simulated / "cands.json", "-s", simulated / "seq.fasta",
                            "--out", out, "-a", tmp_path / "a.json", "--model", exported_model,
                            "--decoder", decoder, "--direction", direction,
                            "--min-confidence", 0.0)
            assert result.exit_code == 0, result.output
            chains = json.loads((tmp_path / "a.json").read_text())["chains"]
            assert len(chains) == 3
            nodes = [v for c in chains for v in c["nodes"] if v is not None]
            assert all(0 <= v < 300 for v in nodes)
            if decoder == "unique":
                assert len(nodes) == len(set(nodes))
    assert read_model(out)


def test_fewer_candidates_than_residues_gives_nulls(tmp_path, exported_model):
    rng = np.random.default_rng(0)
    xyz = np.cumsum(rng.normal(size=(5, 3)), 0) * 3
    cands = {"nodes": {"xyz": xyz.tolist(),
                       "aa_probs": rng.dirichlet(np.ones(20), size=5).tolist()}}
    path = tmp_path / "few.json"
    path.write_text(json.dumps(cands))
    for extra in (["--decoder", "hmm"], ["--model", exported_model, "--min-confidence", 0]):
        result = invoke("predict", path, "--sequence", "mkvlaXgsteqw", "--out",
                        tmp_path / "o.pdb", "-a", tmp_path / "o.json", *extra)
        assert result.exit_code == 0, result.output
        chain = json.loads((tmp_path / "o.json").read_text())["chains"][0]
        assert chain["sequence"] == "MKVLAXGSTEQW"
        assert sum(v is not None for v in chain["nodes"]) <= 5
        assert None in chain["nodes"]


def test_sequence_from_candidate_file_and_batch_mode(tmp_path, simulated):
    single = tmp_path / "in"
    single.mkdir()
    for k in range(3):
        result = invoke("simulate", DATA / "1A8O.pdb.gz", "--out", single / f"c{k}.npz",
                        "--realism", "paper", "--node-budget", 150, "--seed", k)
        assert result.exit_code == 0, result.output
    (single / "broken.json").write_text("{not json")
    result = invoke("predict", single, "--out", tmp_path / "out", "--decoder", "hmm",
                    "--format", "pdb")
    assert result.exit_code == 1
    assert "3/4 files threaded" in result.output
    assert "broken.json" in result.output
    for k in range(3):
        assert (tmp_path / "out" / f"c{k}.pdb").exists()
        chain = read_assignments(tmp_path / "out" / f"c{k}.assignments.json")["chains"][0]
        assert len(chain["nodes"]) == 70
    assert not (tmp_path / "out" / "broken.pdb").exists()
    result = invoke("predict", str(single / "c*.npz"), "--out", tmp_path / "out2",
                    "--decoder", "hmm")
    assert result.exit_code == 0 and "3/3 files" in result.output


@pytest.mark.parametrize("setup,args,message", [
    (None, [], "missing.json"),
    ("cands.xyz", [], "cands.xyz"),
    ("bad_width.json", [], "20"),
    ("nan.json", [], "NaN"),
    ("empty.json", [], "empty"),
    ("ok.json", ["--sequence", "MK1V"], "not residue letters"),
    ("ok.json", ["--out", "/nonexistent/dir/m.pdb"], "does not exist"),
    ("ok.json", ["--out", "m.xyz"], "must end in .pdb"),
    ("ok.json", ["--direction", "sideways"], "unknown direction"),
    ("ok.json", ["--model", "/nonexistent/model", "--decoder", "unique"], "no such model"),
    ("noseq.json", ["--sequence", None], "no sequence given"),
    ("ok.json", ["--copies", "0"], "--copies must be 'fasta', 'auto' or a positive integer"),
    ("ok.json", ["--copies", "two"], "not 'two'"),
    ("ok.json", ["--sequence", ">A copies=0\nAC"], "record 'A' (line 1): copies must be"),
])
def test_bad_input_is_one_line_and_leaves_nothing(tmp_path, monkeypatch, setup, args, message):
    monkeypatch.chdir(tmp_path)
    rows = {"xyz": [[0, 0, 0], [3.8, 0, 0]], "aa_probs": [[1] + [0] * 19, [0, 1] + [0] * 18]}
    contents = {
        "cands.xyz": "whatever",
        "bad_width.json": {"nodes": {"xyz": rows["xyz"], "aa_probs": [[1] * 19, [1] * 19]}},
        "nan.json": {"nodes": {"xyz": [[0, 0, float("nan")], [1, 2, 3]], "aa_probs": rows["aa_probs"]}},
        "empty.json": {"nodes": {"xyz": [], "aa_probs": []}},
        "ok.json": {"nodes": rows},
        "noseq.json": {"nodes": rows},
    }
    path = Path(setup or "missing.json")
    if setup:
        value = contents[setup]
        path.write_text(value if isinstance(value, str) else json.dumps(value))
    cli = ["predict", path, "--sequence", "AC", "--out", "m.pdb", "-a", "a.json", "--decoder", "hmm"]
    i = 0
    while i < len(args):  # override options given by the case
        flag, value = args[i], args[i + 1] if i + 1 < len(args) else None
        if flag in cli:
            j = cli.index(flag)
            if value is None:
                del cli[j:j + 2]
            else:
                cli[j + 1] = value
        else:
            cli += [flag, value]
        i += 2
    result = invoke(*cli)
    assert result.exit_code != 0
    assert message in result.output
    assert "Traceback" not in result.output
    assert len([l for l in result.output.splitlines() if l.startswith("error:")]) == 1
    assert not Path("m.pdb").exists() and not Path("a.json").exists()


def test_count_correct_matches_copies_by_permutation():
    from tf_structgen.evaluation.structures import count_correct

    truth = [np.array([0, 1, -1]), np.array([3, 4, 5]), np.array([7, 8])]
    predicted = [np.array([3, 4, 5]), np.array([0, 1, 2]), np.array([7, -1])]
    # Chains 0 and 1 swapped (copies of a homo-oligomer): not an error.
    assert count_correct(truth, predicted) == (6, 7)
    # Residue numbers align copies that start at different residues.
    numbers = [np.array([10, 11, 12]), np.array([11, 12, 13]), np.array([1, 2])]
    # Predicted chain 0 sits on copy 1 (residues 11, 12 -> nodes 3, 4) and
    # predicted chain 1 on copy 0 (residue 11 -> node 1).
    shifted = [np.array([9, 3, 4]), np.array([1, -1, -1]), np.array([7, 8])]
    assert count_correct(truth, shifted, numbers) == (5, 7)
    assert count_correct(truth, [np.array([9, 9, 9]), np.array([-1] * 3), np.array([8, 7])]) == (0, 7)


def test_numbering_gaps_become_unknown_residues_without_nodes():
    from tf_structgen.evaluation.structures import with_numbering_gaps
    from tf_structgen.io import ChainRecord

    chain = ChainRecord(id="A", sequence="MKG", ca_xyz=np.arange(9.0).reshape(3, 3),
                        residue_numbers=np.array([5, 6, 9]))
    filled = with_numbering_gaps(chain)
    assert filled.sequence == "MKXXG"
    assert filled.residue_numbers.tolist() == [5, 6, 7, 8, 9]
    assert np.isnan(filled.ca_xyz[2:4]).all()
    np.testing.assert_array_equal(filled.ca_xyz[4], [6.0, 7.0, 8.0])


def test_limits_are_clear_errors(tmp_path, monkeypatch):
    from tf_structgen.inference import predictor

    rng = np.random.default_rng(0)
    cands = {"nodes": {"xyz": (rng.random((30, 3)) * 50).tolist(),
                       "aa_probs": rng.dirichlet(np.ones(20), size=30).tolist()}}
    path = tmp_path / "c.json"
    path.write_text(json.dumps(cands))
    monkeypatch.setattr(predictor, "MAX_CHAIN_ENTRIES", 30 * 9)
    result = invoke("predict", path, "--sequence", "ACDEFGHIKL", "--out", tmp_path / "m.pdb",
                    "--decoder", "hmm")
    assert result.exit_code == 2
    assert "10-residue chain against 30 candidates" in result.output
    monkeypatch.setattr(predictor, "MAX_NODES", 29)
    result = invoke("predict", path, "--sequence", "AC", "--out", tmp_path / "m.pdb",
                    "--decoder", "hmm")
    assert result.exit_code == 2 and "30 candidates exceed the limit of 29" in result.output
    assert not (tmp_path / "m.pdb").exists()


def test_batch_error_lines_name_the_file(tmp_path, monkeypatch):
    """In-process batch: every failed file's error line starts with its path,
    once (a reader's message names it already, the predictor's does not)."""
    from tf_structgen.inference import predictor

    monkeypatch.chdir(tmp_path)
    Path("in").mkdir()
    rng = np.random.default_rng(0)
    Path("in/big.json").write_text(json.dumps(
        {"nodes": {"xyz": (rng.random((30, 3)) * 50).tolist(),
                   "aa_probs": rng.dirichlet(np.ones(20), size=30).tolist()}}))
    Path("in/broken.json").write_text("{not json")
    monkeypatch.setattr(predictor, "MAX_CHAIN_ENTRIES", 30 * 9)
    result = invoke("predict", "in", "--sequence", "ACDEFGHIKL", "--out", "out",
                    "--decoder", "hmm")
    assert result.exit_code == 1, result.output
    assert "0/2 files threaded into out" in result.output
    errors = sorted(l for l in result.output.splitlines() if l.startswith("error:"))
    assert len(errors) == 2, result.output
    assert errors[0].startswith(
        "error: in/big.json: a 10-residue chain against 30 candidates"), errors[0]
    assert errors[1].startswith("error: in/broken.json: invalid JSON ("), errors[1]
    assert all(l.count("in/") == 1 for l in errors), errors
    assert "Traceback" not in result.output
    assert list(Path("out").iterdir()) == []


# Permission errors, provoked without chmod so that they also happen as root
# (CI runs as root; see io_helpers.deny_reading / deny_writing).

@pytest.mark.parametrize("case, message", [
    ("unreadable input", r"in/c\.json: cannot read file \(permission denied\)$"),
    ("read-only output folder", r"ro/m\.pdb: output directory ro is not writable$"),
    ("output folder read-only at the write", r"ro/m\.pdb: cannot write here \(Permission denied\)$"),
    ("assignments folder read-only at the write",
     r"ro/a\.json: cannot write here \(Permission denied\)$"),
])
def test_permission_errors_are_one_line_and_leave_nothing(tmp_path, monkeypatch, case, message):
    from io_helpers import deny_reading, deny_writing

    monkeypatch.chdir(tmp_path)
    for folder in ("in", "out", "ro"):
        Path(folder).mkdir()
    rows = {"xyz": [[0, 0, 0], [3.8, 0, 0]], "aa_probs": [[1] + [0] * 19, [0, 1] + [0] * 18]}
    Path("in/c.json").write_text(json.dumps({"nodes": rows}))
    model, assignments = Path("out/m.pdb"), Path("out/a.json")
    if case == "unreadable input":
        deny_reading(monkeypatch, "in/c.json")
    elif case == "read-only output folder":
        model = Path("ro/m.pdb")
        deny_writing(monkeypatch, "ro")
    elif case == "output folder read-only at the write":
        model = Path("ro/m.pdb")
        deny_writing(monkeypatch, "ro", access_knows=False)
    else:  # the model is written first, then must go again
        assignments = Path("ro/a.json")
        deny_writing(monkeypatch, "ro", access_knows=False)
    result = invoke("predict", "in/c.json", "--sequence", "AC", "--out", model,
                    "-a", assignments, "--decoder", "hmm")
    assert result.exit_code == 2, result.output
    errors = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, result.output
    assert re.search(message, errors[0]), errors[0]
    assert "Traceback" not in result.output
    assert sorted(str(p) for p in Path().rglob("*")) == ["in", "in/c.json", "out", "ro"]


# tfsg simulate --noise and tfsg predict --coord-noise ----------------------

def true_node_offsets(candidates_path, truth_path, structure):
    """Candidate position minus the structure's Cα, for every residue with a
    true node: [residues, 3]."""
    from tf_structgen.evaluation.structures import with_numbering_gaps
    from tf_structgen.io import read_structure_chains

    xyz = read_candidates(candidates_path).xyz.astype(np.float64)
    chains = [with_numbering_gaps(c) for c in read_structure_chains(structure)]
    offsets = []
    for chain, truth in zip(chains, read_assignments(truth_path)["chains"]):
        nodes = np.array([-1 if v is None else v for v in truth["nodes"]])
        known = nodes >= 0
        offsets.append(xyz[nodes[known]] - chain.ca_xyz[known])
    return np.concatenate(offsets)


def test_simulate_noise_moves_true_nodes_by_about_sigma(tmp_path):
    offsets = {}
    for noise in (0, 1):
        cands, truth = tmp_path / f"c{noise}.json", tmp_path / f"t{noise}.json"
        result = invoke("simulate", DATA / "1QL2.cif.gz", "--out", cands, "--truth", truth,
                        "--realism", "clean", "--noise", noise, "--seed", 3)
        assert result.exit_code == 0, result.output
        offsets[noise] = true_node_offsets(cands, truth, DATA / "1QL2.cif.gz")
    assert len(offsets[0]) == 138
    assert np.abs(offsets[0]).max() <= 0.0005 + 1e-6  # rounded to 3 decimals only
    # sigma 1 Å per axis: 414 draws, std within ~4 standard errors.
    assert abs(offsets[1].std() - 1.0) < 0.15, offsets[1].std()
    assert abs(offsets[1].mean()) < 0.15


@pytest.mark.parametrize("command, value, message", [
    ("simulate", "-1", "--noise must be a number >= 0, got -1"),
    ("predict", "-0.1", "coord-noise must be within [0, 5] Å"),
    ("predict", "5.5", "coord-noise must be within [0, 5] Å"),
    ("predict-dihedral", "-1", "dihedral-weight must be within [0, 10]"),
])
def test_bad_noise_is_one_line_and_writes_nothing(simulated, tmp_path, command, value,
                                                   message):
    if command == "simulate":
        args = ["simulate", DATA / "1A8O.pdb.gz", "--out", tmp_path / "c.json", "--noise", value]
    else:
        args = ["predict", simulated / "cands.json", "-s", simulated / "seq.fasta",
                "--out", tmp_path / "m.pdb", "-a", tmp_path / "a.json", "--decoder", "hmm",
                "--dihedral-weight" if command == "predict-dihedral" else "--coord-noise",
                value]
    result = invoke(*args)
    assert result.exit_code == 2, result.output
    errors = [l for l in result.output.splitlines() if l.startswith("error:")]
    assert len(errors) == 1 and message in errors[0], result.output
    assert "Traceback" not in result.output
    assert list(tmp_path.iterdir()) == []


def test_predict_coord_noise_matches_noisy_candidates(tmp_path):
    """Candidates 1 Å off (per axis): --coord-noise 1 threads them, a decoder
    told the positions are exact (0) does not (measured 124/135 vs 0/135)."""
    from tf_structgen.evaluation.structures import count_correct

    result = invoke("simulate", DATA / "1QL2.cif.gz", "--out", tmp_path / "c.json",
                    "--truth", tmp_path / "t.json", "--fasta", tmp_path / "s.fasta",
                    "--realism", "realistic", "--noise", 1, "--node-budget", 300,
                    "--seed", 1)
    assert result.exit_code == 0, result.output
    as_array = lambda c: np.array([-1 if v is None else v for v in c["nodes"]])
    truth = [as_array(c) for c in read_assignments(tmp_path / "t.json")["chains"]]
    accuracy = {}
    for noise in (0, 1):
        out = tmp_path / f"a{noise}.json"
        result = invoke("predict", tmp_path / "c.json", "-s", tmp_path / "s.fasta",
                        "--out", tmp_path / f"m{noise}.pdb", "-a", out, "--decoder", "hmm",
                        "--coord-noise", noise)
        assert result.exit_code == 0, result.output
        predicted = [as_array(c) for c in read_assignments(out)["chains"]]
        correct, total = count_correct(truth, predicted)
        accuracy[noise] = correct / total
    assert accuracy[1] >= 0.85, accuracy
    assert accuracy[0] <= accuracy[1] - 0.3, accuracy


def test_predict_dihedral_weight_reaches_the_hmm(simulated, tmp_path, monkeypatch):
    """--dihedral-weight sets HMMConfig.dihedral_weight (default 1; 0 is the
    second-order HMM)."""
    import tf_structgen.decoding.assembly as assembly

    seen = []
    real = assembly.thread_assembly

    def spy(*args, **kwargs):
        seen.append(args[4].dihedral_weight)
        return real(*args, **kwargs)

    monkeypatch.setattr(assembly, "thread_assembly", spy)
    for extra in ([], ["--dihedral-weight", "0"], ["--dihedral-weight", "2.5"]):
        result = invoke("predict", simulated / "cands.json", "-s", simulated / "seq.fasta",
                        "--out", tmp_path / "m.pdb", "--decoder", "hmm", *extra)
        assert result.exit_code == 0, result.output
    assert seen == [1.0, 0.0, 2.5]


def test_decoder_follows_the_models_given():
    """Without --decoder: constrained (the bundled model); --model alone means that model's own decoder
    (auto), --link-model alone the links decoder, both with constrained; a
    model a decoder would not use is an error, not silently ignored."""
    from tf_structgen.common.errors import InputError
    from tf_structgen.inference.predictor import DEFAULT_DECODER, choose_decoder

    assert choose_decoder(None) == DEFAULT_DECODER == "constrained"
    assert choose_decoder(None, model="m") == "auto"
    assert choose_decoder(None, link_model="l") == "links"
    assert choose_decoder("constrained", model="m") == "constrained"
    assert choose_decoder("links", link_model="l") == "links"
    assert choose_decoder("constrained", "m", "l") == "constrained"
    for args, message in [(("hmm", "m", None), "--model is not used by --decoder hmm"),
                          (("links", "m", None), "--model is not used"),
                          (("hmm", None, "l"), "--link-model is only used"),
                          (("unique", None, "l"), "--link-model is only used"),
                          ((None, "m", "l"), "say which")]:
        with pytest.raises(InputError, match=message):
            choose_decoder(*args)


def test_model_with_the_hmm_decoder_is_one_error_line(tmp_path, exported_model):
    out = tmp_path / "m.pdb"
    result = invoke("predict", EXAMPLES / "1aku_realistic.json", "--sequence",
                    EXAMPLES / "1aku.fasta", "--out", out, "--model", exported_model,
                    "--decoder", "hmm")
    assert result.exit_code == 2
    assert "--model is not used by --decoder hmm" in result.output
    assert not out.exists()
