"""Assemblies end to end on the I/O side (docs/formats.md §2-4).

FASTA headers with copy numbers (``copies=N``, the PDB's entity headers),
mmCIF models with entities read back by gemmi and Biopython, the PDB chain
limit, and ``tfsg predict --copies``.
"""

import json
import os
import re
from pathlib import Path

import gemmi
import numpy as np
import pytest
from Bio.PDB import MMCIFParser
from Bio.PDB.MMCIF2Dict import MMCIF2Dict
from typer.testing import CliRunner

from tf_structgen.cli.main import app
from tf_structgen.inference.jobs import threaded_chains
from tf_structgen.inference.predictor import ChainAssignment
from tf_structgen.io import (CandidateSet, SequenceRecord, ThreadedChain,
                             chain_ids, parse_fasta, read_assignments, read_sequences,
                             read_structure_chains, write_threaded_model)

from io_helpers import assert_input_error

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
runner = CliRunner()

# ------------------------------------------------------------- FASTA headers

SARS = ">7KJR_1|Chains A, B|ORF3a protein|Severe acute respiratory syndrome " \
       "coronavirus 2 (2697049)"


@pytest.mark.parametrize("header, record_id, copies, chain_ids", [
    (">A", "A", 1, ()),
    (">A copies=4", "A", 4, ()),
    (">H heavy chain copies=2 of the Fab", "H", 2, ()),
    (">H\tCOPIES=3", "H", 3, ()),
    (">sp|P0DTC3|AP3A_SARS2 ORF3a copies=2", "sp|P0DTC3|AP3A_SARS2", 2, ()),
    (SARS, "7KJR_1", 2, ("A", "B")),
    (">101M_1|Chain A|MYOGLOBIN|Physeter catodon (9755)", "101M_1", 1, ("A",)),
    (">1ABC_1|Chains A[auth C], B[auth D]|x|y", "1ABC_1", 2, ("C", "D")),
    (">1ABC_1|Chains A, B[auth D]|x", "1ABC_1", 2, ("A", "D")),
    # Odd spacing, case and separators.
    (">1ABC_1 | chains  A [ auth  C ] ,B,  |x", "1ABC_1", 2, ("C", "B")),
    (">1ABC_1|Chains A  B|x", "1ABC_1", 2, ("A", "B")),
    (">1ABC_1|Chains AAA[auth A], BBB|x", "1ABC_1", 2, ("A", "BBB")),
    (">1ABC_1|Chains A, B|x copies=2", "1ABC_1", 2, ("A", "B")),
    (">1ABC_1 copies=1|Chain A|x", "1ABC_1", 1, ("A",)),
    # Not a PDB entity header: the first word stays the id.
    (">1ABC:A|PDBID|CHAIN|SEQUENCE", "1ABC:A|PDBID|CHAIN|SEQUENCE", 1, ()),
    (">|Chains A|x", "|Chains", 1, ()),
    (">A ncopies=3 copies:4", "A", 1, ()),
])
def test_fasta_header_copies(header, record_id, copies, chain_ids):
    [record] = parse_fasta(f"{header}\nmktay\n", "t.fa")
    assert record == SequenceRecord(record_id, "MKTAY", copies=copies,
                                    chain_ids=chain_ids)


def test_pdb_entity_fasta_with_two_entities(tmp_path):
    path = tmp_path / "rcsb_pdb_1ABC.fasta"
    path.write_text(f"{SARS}\nMDLF\n>7KJR_2|Chain C[auth X]|Nanobody|"
                    f"Lama glama (9844)\nQVQL\n")
    assert read_sequences(str(path)) == [
        SequenceRecord("7KJR_1", "MDLF", copies=2, chain_ids=("A", "B")),
        SequenceRecord("7KJR_2", "QVQL", copies=1, chain_ids=("X",))]


@pytest.mark.parametrize("content, match", [
    (">A copies=0\nMK\n",
     r"record 'A' \(line 1\): copies must be a positive integer, not '0'$"),
    (">A copies=-2\nMK\n", r"record 'A' \(line 1\): .* not '-2'$"),
    (">A copies=2.5\nMK\n", r"record 'A' \(line 1\): .* not '2\.5'$"),
    (">A copies=abc\nMK\n", r"record 'A' \(line 1\): .* not 'abc'$"),
    (">B\nGG\n>A copies=\nMK\n", r"record 'A' \(line 3\): .* not ''$"),
    (">A copies=2 copies=3\nMK\n", r"record 'A' \(line 1\): copies= given 2 times"),
    (">1ABC_1|Chains A, B|x copies=3\nMK\n",
     r"record '1ABC_1' \(line 1\): copies=3 disagrees with the 2 chain\(s\) "
     r"named in 'Chains A, B'"),
    (">1ABC_1|Chains|x\nMK\n", r"record '1ABC_1' \(line 1\): no chain id in 'Chains'"),
    (">1ABC_1|Chains A[auth], B|x\nMK\n",
     r"record '1ABC_1' \(line 1\): cannot read the chain ids in "
     r"'Chains A\[auth\], B' at '\[auth\], B'"),
    (">1ABC_1|Chains A, A[auth B], B|x\nMK\n",
     r"repeated chain id\(s\) B in 'Chains A, A\[auth B\], B'"),
    (">1_1|Chain A|x\nMK\n>1_2|Chain A|y\nGG\n",
     "chain id 'A' is named by records '1_1' and '1_2'"),
    (">1_1|Chain A|x\nMK\n>1_1|Chain B|y\nGG\n", "duplicated record id '1_1'"),
])
def test_fasta_header_errors(tmp_path, content, match):
    path = tmp_path / "seq.fa"
    path.write_text(content)
    assert_input_error(lambda: read_sequences(str(path)), str(path), match)


# ----------------------------------------------------------- mmCIF entities

HEAVY = "MKXGUWA"   # X and U are written as UNK
LIGHT = "GSAV"


def assembly():
    """Entity H: 3 copies (one with unmodelled ends), entity L: 2 copies."""
    rng = np.random.default_rng(0)
    chains = []
    for k, (entity, seq) in enumerate([("H", HEAVY)] * 3 + [("L", LIGHT)] * 2):
        xyz = rng.normal(size=(len(seq), 3)) * 10
        conf = rng.uniform(size=len(seq))
        if k == 1:  # positions 1, 2 and the last unassigned
            xyz[[0, 1, -1]] = np.nan
            conf[[0, 1, -1]] = 0.0
        chains.append(ThreadedChain("ABCDE"[k], seq, xyz, conf, entity=entity))
    return chains


@pytest.fixture(scope="module")
def assembly_cif(tmp_path_factory):
    path = tmp_path_factory.mktemp("asm") / "model.cif"
    write_threaded_model(assembly(), path)
    return path


def test_mmcif_categories_read_by_gemmi(assembly_cif):
    block = gemmi.cif.read(str(assembly_cif)).sole_block()
    entity = block.find("_entity.", ["id", "type", "pdbx_description",
                                     "pdbx_number_of_molecules"])
    assert [list(row) for row in entity] == [["1", "polymer", "H", "3"],
                                             ["2", "polymer", "L", "2"]]
    poly = block.find("_entity_poly.", ["entity_id", "type", "pdbx_strand_id",
                                        "pdbx_seq_one_letter_code"])
    assert [(r[0], r[1], r[2], gemmi.cif.as_string(r[3])) for r in poly] == [
        ("1", "polypeptide(L)", "A,B,C", "MKXGXWA"),
        ("2", "polypeptide(L)", "D,E", "GSAV")]
    seq = block.find("_entity_poly_seq.", ["entity_id", "num", "mon_id"])
    assert [(r[0], r[1], r[2]) for r in seq] == (
        [("1", str(i + 1), m) for i, m in enumerate(
            ["MET", "LYS", "UNK", "GLY", "UNK", "TRP", "ALA"])]
        + [("2", str(i + 1), m) for i, m in enumerate(["GLY", "SER", "ALA", "VAL"])])
    asym = block.find("_struct_asym.", ["id", "entity_id"])
    assert [(r[0], r[1]) for r in asym] == [("A", "1"), ("B", "1"), ("C", "1"),
                                            ("D", "2"), ("E", "2")]
    atoms = block.find("_atom_site.", ["label_asym_id", "label_entity_id",
                                       "label_seq_id", "auth_seq_id",
                                       "B_iso_or_equiv"])
    assert len(atoms) == 7 * 3 - 3 + 4 * 2
    for chain_id, entity_id, label_seq, auth_seq, b in atoms:
        assert entity_id == ("1" if chain_id in "ABC" else "2")
        assert label_seq == auth_seq
        assert re.fullmatch(r"\d+\.\d\d", b), b
    assert [r[2] for r in atoms if r[0] == "B"] == ["3", "4", "5", "6"]


def test_mmcif_structure_read_by_gemmi(assembly_cif):
    chains = assembly()
    st = gemmi.read_structure(str(assembly_cif))
    assert [(e.name, e.entity_type, e.polymer_type, len(e.full_sequence),
             list(e.subchains)) for e in st.entities] == [
        ("1", gemmi.EntityType.Polymer, gemmi.PolymerType.PeptideL, 7,
         ["A", "B", "C"]),
        ("2", gemmi.EntityType.Polymer, gemmi.PolymerType.PeptideL, 4,
         ["D", "E"])]
    assert gemmi.one_letter_code(st.entities[0].full_sequence) == "MKXGXWA"
    model = st[0]
    assert [ch.name for ch in model] == ["A", "B", "C", "D", "E"]
    for ch, threaded in zip(model, chains):
        assigned = np.flatnonzero(np.isfinite(threaded.xyz).all(axis=1)) + 1
        assert [r.label_seq for r in ch] == assigned.tolist()
        assert [r.seqid.num for r in ch] == assigned.tolist()
        assert {r.entity_id for r in ch} == {"1" if threaded.entity == "H" else "2"}
        assert {r.subchain for r in ch} == {ch.name}
        for r in ch:
            t = r.label_seq - 1
            assert r[0].name == "CA" and r[0].element.name == "C"
            assert r[0].b_iso == pytest.approx(100 * threaded.confidence[t], abs=0.006)
            np.testing.assert_allclose(r[0].pos.tolist(), threaded.xyz[t], atol=6e-4)
    assert st.get_entity_of(model["B"].get_polymer()).name == "1"


def test_mmcif_read_by_biopython(assembly_cif):
    model = next(iter(MMCIFParser(QUIET=True).get_structure("m", str(assembly_cif))))
    assert [c.id for c in model] == ["A", "B", "C", "D", "E"]
    assert [r.id[1] for r in model["B"]] == [3, 4, 5, 6]
    assert [r.get_resname() for r in model["B"]] == ["UNK", "GLY", "UNK", "TRP"]
    cif = MMCIF2Dict(str(assembly_cif))
    assert cif["_entity_poly.pdbx_seq_one_letter_code"] == ["MKXGXWA", "GSAV"]
    assert cif["_entity_poly.pdbx_strand_id"] == ["A,B,C", "D,E"]
    assert len(cif["_entity_poly_seq.mon_id"]) == 7 + 4
    # Our own reader gets the same chains back.
    traces = read_structure_chains(assembly_cif)
    assert [(c.id, c.sequence) for c in traces] == [
        ("A", "MKXGXWA"), ("B", "XGXW"), ("C", "MKXGXWA"), ("D", "GSAV"),
        ("E", "GSAV")]


def test_chains_without_entity_and_unassigned_copies(tmp_path):
    """No entity key: a chain is its own entity. A copy without any atom is
    left out of the file, and an entity without any written copy too."""
    helix = np.arange(9.0).reshape(3, 3)
    chains = [ThreadedChain("A", "MKT", helix, np.ones(3)),
              ThreadedChain("B", "MKT", helix + 5, np.ones(3)),
              ThreadedChain("C", "GG", np.full((2, 3), np.nan), np.zeros(2),
                            entity="x"),
              ThreadedChain("D", "MKT", np.full((3, 3), np.nan), np.zeros(3),
                            entity="it's odd"),
              ThreadedChain("E", "MKT", helix - 5, np.ones(3) / 3,
                            entity="it's odd")]
    path = tmp_path / "m.cif"
    write_threaded_model(chains, path)
    st = gemmi.read_structure(str(path))
    assert [(e.name, list(e.subchains)) for e in st.entities] == [
        ("1", ["A"]), ("2", ["B"]), ("3", ["E"])]
    block = gemmi.cif.read(str(path)).sole_block()
    assert [gemmi.cif.as_string(v) for v in
            block.find_values("_entity.pdbx_description")] == ["A", "B", "it's odd"]
    assert list(block.find_values("_atom_site.B_iso_or_equiv"))[-1] == "33.33"


def test_copies_of_one_entity_must_share_the_sequence(tmp_path):
    path = tmp_path / "m.cif"
    chains = [ThreadedChain("A", "MK", np.zeros((2, 3)), np.ones(2), entity="E1"),
              ThreadedChain("B", "MKT", np.zeros((3, 3)), np.ones(3), entity="E1")]
    assert_input_error(lambda: write_threaded_model(chains, path), path,
                       "chains 'A' and 'B' of entity 'E1' have different sequences")
    assert os.listdir(tmp_path) == []


# ------------------------------------------------------------ chain limits

def many_chains(n):
    """n copies of one entity with ids A..Z, a..z, 0..9, AA, AB, ..."""
    ids = chain_ids([SequenceRecord("", "GS")] * n)
    return [ThreadedChain(i, "GS", np.array([[k, 0, 0], [k, 3.8, 0]], float),
                          np.ones(2), entity="E") for k, i in enumerate(ids)]


def test_pdb_holds_62_chains(tmp_path):
    path = tmp_path / "m.pdb"
    write_threaded_model(many_chains(62), path)
    assert len(read_structure_chains(path)) == 62


def test_pdb_beyond_62_chains_names_mmcif(tmp_path):
    path = tmp_path / "m.pdb"
    message = assert_input_error(lambda: write_threaded_model(many_chains(63), path),
                                 path, r"63 chains do not fit the PDB format")
    assert message.endswith("write mmCIF (.cif) instead")
    assert os.listdir(tmp_path) == []
    write_threaded_model(many_chains(63), tmp_path / "m.cif")
    st = gemmi.read_structure(str(tmp_path / "m.cif"))
    assert len(st[0]) == 63 and st[0][62].name == "AA"
    assert list(st.entities[0].subchains)[-2:] == ["9", "AA"]


def test_threaded_chains_keep_entities_and_defer_the_pdb_limit(tmp_path):
    candidates = CandidateSet(xyz=np.arange(12.0).reshape(4, 3).astype(np.float32),
                              aa_probs=np.full((4, 20), 0.05, np.float32))
    nodes, conf = np.array([0, -1], np.int32), np.array([0.5, 0.0], np.float32)
    copies = [ChainAssignment(i, "GS", nodes, conf, entity="7KJR_1", copy=k)
              for k, i in enumerate(["A", "B"])]
    chains = threaded_chains(copies + [ChainAssignment("heavy", "MK", nodes, conf)],
                             candidates, tmp_path / "m.pdb")
    assert [(c.id, c.entity) for c in chains] == [("A", "7KJR_1"), ("B", "7KJR_1"),
                                                   ("C", "heavy")]
    np.testing.assert_array_equal(chains[1].xyz[0], [0, 1, 2])
    assert np.isnan(chains[1].xyz[1]).all()
    many = [ChainAssignment("", "GS", nodes, conf, entity="E", copy=k) for k in range(63)]
    path = tmp_path / "m.pdb"
    chains = threaded_chains(many, candidates, path)
    assert len({c.id for c in chains}) == 63
    assert_input_error(lambda: write_threaded_model(chains, path), path,
                       r"\(\.cif\) instead")


# ---------------------------------------------------------- tfsg predict

def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


@pytest.fixture(scope="module")
def fasta_copies(tmp_path_factory):
    """examples/5zng.fasta (records A and C) with copies=2 on both headers."""
    path = tmp_path_factory.mktemp("fasta") / "5zng_x2.fasta"
    text = (EXAMPLES / "5zng.fasta").read_text()
    path.write_text(text.replace(">A\n", ">A copies=2\n").replace(">C\n", ">C copies=2\n"))
    return path


def test_predict_threads_every_copy(tmp_path, fasta_copies):
    out, assignments = tmp_path / "m.cif", tmp_path / "a.json"
    result = invoke("predict", EXAMPLES / "5zng_realistic.json", "--sequence", fasta_copies,
                    "--decoder", "hmm", "--out", out, "--assignments", assignments)
    assert result.exit_code == 0, result.output
    records = read_sequences(str(EXAMPLES / "5zng.fasta"))
    doc = read_assignments(assignments, num_nodes=500)
    chains = doc["chains"]
    assert [(c["id"], c["entity"], c["copy"]) for c in chains] == [
        ("A", "A", 0), ("B", "A", 1), ("C", "C", 0), ("D", "C", 1)]
    for c in chains:
        assert c["sequence"] == records[0 if c["entity"] == "A" else 1].sequence
    used = [v for c in chains for v in c["nodes"] if v is not None]
    assert len(used) == len(set(used)), "a node was used twice"
    # The candidates hold one copy of each: the second copies come back
    # all null and are left out of the model.
    assert [c["id"] for c in chains if all(v is None for v in c["nodes"])] == ["B", "D"]
    st = gemmi.read_structure(str(out))
    assert [(e.name, list(e.subchains), len(e.full_sequence)) for e in st.entities] == [
        ("1", ["A"], len(records[0].sequence)),
        ("2", ["C"], len(records[1].sequence))]
    modelled = [c for c in chains if any(v is not None for v in c["nodes"])]
    for ch, c in zip(st[0], modelled):
        # Numbering: the FASTA position in every copy.
        assert [r.seqid.num for r in ch] == [
            t + 1 for t, v in enumerate(c["nodes"]) if v is not None]
        assert {r.entity_id for r in ch} == {"1" if c["entity"] == "A" else "2"}


def test_predict_copies_option_overrides_the_fasta(tmp_path, fasta_copies):
    out, assignments = tmp_path / "m.pdb", tmp_path / "a.json"
    result = invoke("predict", EXAMPLES / "5zng_realistic.json", "--sequence", fasta_copies,
                    "--decoder", "hmm", "--out", out, "-a", assignments, "--copies", "1")
    assert result.exit_code == 0, result.output
    chains = json.loads(assignments.read_text())["chains"]
    assert [(c["id"], c["entity"], c["copy"]) for c in chains] == [("A", "A", 0),
                                                                   ("C", "C", 0)]
    assert [c.id for c in read_structure_chains(out)] == ["A", "C"]


@pytest.mark.parametrize("fasta, extra, message", [
    (None, ["--copies", "0"], "--copies must be 'fasta', 'auto' or a positive integer, not '0'"),
    (None, ["--copies", "x"], "--copies must be 'fasta', 'auto' or a positive integer, not 'x'"),
    (">A copies=0\nMKT\n", [], r"record 'A' (line 1): copies must be a positive integer, not '0'"),
])
def test_bad_copies_are_one_error_line_and_write_nothing(tmp_path, fasta, extra, message):
    sequence = EXAMPLES / "5zng.fasta"
    if fasta is not None:
        sequence = tmp_path / "bad.fasta"
        sequence.write_text(fasta)
    out = tmp_path / "out"
    out.mkdir()
    result = invoke("predict", EXAMPLES / "5zng_realistic.json", "--sequence", sequence,
                    "--decoder", "hmm", "--out", out / "m.cif", "-a", out / "a.json", *extra)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.splitlines() == [result.stderr.strip()]
    assert result.stderr.startswith("error: ") and message in result.stderr
    assert os.listdir(out) == []
