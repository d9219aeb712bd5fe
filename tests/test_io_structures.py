"""Tests of tf_structgen.io.structures: reading Cα traces, writing models."""

import gzip
import os
from pathlib import Path

import numpy as np
import pytest
from Bio.PDB import MMCIFParser, PDBParser

from tf_structgen.io import (ThreadedChain, read_structure_chains,
                             write_threaded_model)

from io_helpers import assert_input_error

DATA = Path(__file__).parent / "data"



# -------------------------------------------------------------------- reading

def test_single_chain_with_selenomethionines():
    [chain] = read_structure_chains(DATA / "1A8O.pdb.gz")
    assert chain.id == "A"
    assert len(chain.sequence) == 70 and chain.sequence.startswith("MDIRQGPKEP")
    np.testing.assert_array_equal(chain.residue_numbers, np.arange(151, 221))
    assert chain.ca_xyz.shape == (70, 3) and chain.ca_xyz.dtype == np.float32


def test_three_mmcif_chains():
    chains = read_structure_chains(DATA / "1QL2.cif.gz")
    assert [c.id for c in chains] == ["A", "B", "C"]
    assert all(len(c.sequence) == 46 for c in chains)
    assert chains[0].sequence == chains[1].sequence
    assert not np.allclose(chains[0].ca_xyz, chains[1].ca_xyz)


def test_nucleic_acids_waters_and_ions_are_skipped():
    # 1d66: two protein chains (A, B) bound to DNA chains D and E, with
    # cadmium ions and waters.
    chains = read_structure_chains(DATA / "1d66.pdb.gz")
    assert [(c.id, len(c.sequence)) for c in chains] == [("A", 57), ("B", 57)]
    assert set("".join(c.sequence for c in chains)) <= set(
        "ACDEFGHIKLMNPQRSTVWY")


def test_gap_first_altloc_and_calcium_ions():
    # 2pvb: residue 5 is missing, alternate locations A/B with B the
    # more occupied one at residue 1, and calcium ions named "CA".
    [chain] = read_structure_chains(DATA / "2pvb.pdb.gz")
    numbers = chain.residue_numbers
    assert len(numbers) == 107
    assert numbers[:6].tolist() == [1, 2, 3, 4, 6, 7]
    np.testing.assert_allclose(chain.ca_xyz[0], [5.448, 18.370, 18.030],
                               atol=1e-4)


def pdb_ca(record: str, serial: int, resname: str, number: int, xyz) -> str:
    x, y, z = xyz
    return (f"{record:<6}{serial:>5}  CA  {resname:>3} A{number:>4}    "
            f"{x:8.3f}{y:8.3f}{z:8.3f}  1.00 20.00           C\n")


def test_free_amino_acid_ligands_are_not_part_of_the_chain(tmp_path):
    # ATOM ALA 1-3, a selenomethionine (HETATM, linked) at 4, ALA 5, then a
    # free glycine ligand (HETATM GLY 301) 20 Å away, as in 6r79.
    lines = [pdb_ca("ATOM", k, "ALA", k, (3.8 * (k - 1), 0, 0)) for k in (1, 2, 3)]
    lines.append(pdb_ca("HETATM", 4, "MSE", 4, (3.8 * 3, 0, 0)))
    lines.append(pdb_ca("ATOM", 5, "ALA", 5, (3.8 * 4, 0, 0)))
    lines.append(pdb_ca("HETATM", 6, "GLY", 301, (20.0, 20.0, 0)))
    path = tmp_path / "ligand.pdb"
    path.write_text("".join(lines) + "END\n")
    [chain] = read_structure_chains(path)
    assert chain.sequence == "AAAMA"
    assert chain.residue_numbers.tolist() == [1, 2, 3, 4, 5]
    # 6r79 (wwPDB, CC0; copied from ../shared/data) has 65 such glycines
    # after its chains: each chain is its polymer only (gaps: B, D 2, C 1).
    chains = read_structure_chains(DATA / "6r79.pdb.gz")
    assert [len(c.sequence) for c in chains] == [220, 218, 218, 218]
    assert all(c.residue_numbers.max() < 300 for c in chains)


def test_a_peptide_given_only_as_hetatm_is_kept(tmp_path):
    lines = [pdb_ca("HETATM", k, "GLY", k, (3.8 * (k - 1), 0, 0)) for k in (1, 2, 3)]
    path = tmp_path / "peptide.pdb"
    path.write_text("".join(lines) + "END\n")
    [chain] = read_structure_chains(path)
    assert chain.sequence == "GGG"


@pytest.mark.parametrize("name", ["1A8O.pdb", "1QL2.cif"])
def test_uncompressed_files(tmp_path, name):
    path = tmp_path / name
    path.write_bytes(gzip.decompress((DATA / f"{name}.gz").read_bytes()))
    for a, b in zip(read_structure_chains(path),
                    read_structure_chains(DATA / f"{name}.gz"), strict=True):
        assert (a.id, a.sequence) == (b.id, b.sequence)
        np.testing.assert_array_equal(a.ca_xyz, b.ca_xyz)


@pytest.mark.parametrize("name, content, match", [
    ("s.pdb", b"", "cannot parse as PDB"),
    ("s.pdb", b"just text\n", r"no atoms found \(not a PDB file\?\)"),
    ("s.cif", b"just text\n", "cannot parse as mmCIF"),
    ("s.cif", b"data_x\n_atom_site.id 1\n", "cannot parse as mmCIF"),
    ("s.pdb", b"\x00\xff\xfe binary", "not a text file"),
    ("s.pdb", b"HETATM    1  O   HOH A   1       1.000   2.000   3.000  1.00"
              b"  0.00           O\nEND\n", "no protein chain"),
    ("s.pdb.gz", (DATA / "1A8O.pdb.gz").read_bytes()[:5000], "truncated gzip"),
    ("s.xyz", b"", "unknown structure file extension"),
])
def test_read_errors(tmp_path, name, content, match):
    path = tmp_path / name
    path.write_bytes(content)
    assert_input_error(lambda: read_structure_chains(path), path, match)


def test_missing_file(tmp_path):
    path = tmp_path / "none.pdb"
    assert_input_error(lambda: read_structure_chains(path), path,
                       "no such file")


# -------------------------------------------------------------------- writing

def threaded_chains():
    xyz = np.full((6, 3), np.nan)
    xyz[[0, 2, 3, 5]] = [[1, 2, 3], [4, 5, 6], [7, 8, 9], [-1.5, 0.25, 10]]
    chain_a = ThreadedChain("A", "MKXGUW", xyz,
                            np.array([0.5, 0.0, 0.123, 1.0, 0.0, 0.987]))
    chain_b = ThreadedChain("B", "GS", np.array([[0, 0, 0], [3.8, 0, 0]]),
                            np.array([0.9, 0.8]))
    return [chain_a, chain_b]


def parse(path):
    parser = (PDBParser(QUIET=True) if path.suffix == ".pdb"
              else MMCIFParser(QUIET=True))
    return next(iter(parser.get_structure("x", str(path))))


@pytest.mark.parametrize("ext", [".pdb", ".cif", ".mmcif"])
def test_threaded_model_round_trip(tmp_path, ext):
    path = tmp_path / f"model{ext}"
    write_threaded_model(threaded_chains(), path)
    assert os.listdir(tmp_path) == [path.name]
    model = parse(path)
    assert [c.id for c in model] == ["A", "B"]
    residues = [(r.get_parent().id, r.id[1], r.get_resname())
                for r in model.get_residues()]
    assert residues == [("A", 1, "MET"), ("A", 3, "UNK"), ("A", 4, "GLY"),
                        ("A", 6, "TRP"), ("B", 1, "GLY"), ("B", 2, "SER")]
    atoms = list(model.get_atoms())
    assert {(a.get_id(), a.element) for a in atoms} == {("CA", "C")}
    np.testing.assert_allclose([a.bfactor for a in atoms],
                               [50, 12.3, 100, 98.7, 90, 80], atol=0.01)
    chains = read_structure_chains(path)
    np.testing.assert_array_equal(chains[0].residue_numbers, [1, 3, 4, 6])
    assert chains[0].sequence == "MXGW"
    np.testing.assert_allclose(chains[0].ca_xyz[3], [-1.5, 0.25, 10],
                               atol=1e-3)


def test_mmcif_b_factors_have_two_decimals(tmp_path):
    path = tmp_path / "m.cif"
    write_threaded_model(threaded_chains(), path)
    atoms = [line.split() for line in path.read_text().splitlines()
             if line.startswith("ATOM")]
    # B_iso_or_equiv is the 15th column of the _atom_site loop.
    assert [a[14] for a in atoms] == ["50.00", "12.30", "100.00", "98.70",
                                      "90.00", "80.00"]


def test_mmcif_allows_long_chain_ids(tmp_path):
    chain = ThreadedChain("HEAV", "MK", np.zeros((2, 3)) + [[0], [3.8]],
                          np.ones(2))
    write_threaded_model([chain], tmp_path / "m.cif")
    assert read_structure_chains(tmp_path / "m.cif")[0].id == "HEAV"


def test_unassigned_chain_writes_no_atoms(tmp_path):
    empty = ThreadedChain("C", "MKT", np.full((3, 3), np.nan), np.zeros(3))
    path = tmp_path / "m.pdb"
    write_threaded_model(threaded_chains() + [empty], path)
    assert [c.id for c in read_structure_chains(path)] == ["A", "B"]


def bad_chain(**changes):
    fields = dict(id="A", sequence="MK", xyz=np.zeros((2, 3)) + [[0], [3.8]],
                  confidence=np.array([0.5, 0.5]))
    return ThreadedChain(**{**fields, **changes})


@pytest.mark.parametrize("name, chains, match", [
    ("m.pdb", [bad_chain(id="AB")], "PDB chain ids must be one character"),
    ("m.cif", [bad_chain(id="")], "chain ids must be one character"),
    ("m.cif", [bad_chain(id="A B")], "chain 'A B': not a valid mmCIF chain id"),
    ("m.cif", [bad_chain(id="A,B")], "not a valid mmCIF chain id"),
    ("m.cif", [bad_chain(id="_A")], "not a valid mmCIF chain id"),
    ("m.pdb", [bad_chain(), bad_chain()], r"repeated chain id\(s\) A"),
    ("m.pdb", [bad_chain(sequence="MKT")], r"expected xyz \[3, 3\]"),
    ("m.pdb", [bad_chain(confidence=np.ones(3))], "and confidence"),
    ("m.pdb", [bad_chain(xyz=np.array([[0, 0, 0], [1, np.nan, 1]]))],
     "all finite .* or all NaN"),
    ("m.cif", [bad_chain(confidence=np.array([0.5, 1.5]))],
     r"confidence must be in \[0, 1\]"),
    ("m.pdb", [bad_chain(sequence="M" * 10_000,
                         xyz=np.arange(30_000.0).reshape(-1, 3),
                         confidence=np.ones(10_000))],
     "residue number 10000 does not fit the PDB format"),
    ("m.xyz", [bad_chain()], "unknown structure file extension"),
    ("m.pdb.gz", [bad_chain()], "unknown structure file extension"),
])
def test_write_errors_leave_no_file(tmp_path, name, chains, match):
    path = tmp_path / name
    assert_input_error(lambda: write_threaded_model(chains, path), path, match)
    assert os.listdir(tmp_path) == []


def test_write_into_missing_directory(tmp_path):
    path = tmp_path / "missing" / "m.pdb"
    assert_input_error(lambda: write_threaded_model(threaded_chains(), path),
                       path, "does not exist")


def test_failure_while_writing_keeps_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "m.pdb"
    write_threaded_model(threaded_chains(), path)
    before = path.read_bytes()

    def fail(self, f, *args, **kwargs):
        f.write("ATOM   partial")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("Bio.PDB.PDBIO.save", fail)
    with pytest.raises(OSError, match="No space left"):
        write_threaded_model(threaded_chains()[:1], path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == [path.name]
