"""Tests of tf_structgen.io.candidates: every format and every error message."""

import gzip
import json
import os
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from tf_structgen.common.residue_constants import ALPHABET
from tf_structgen.io import (CandidateSet, read_candidates, validate_candidates,
                             write_candidates)

from io_helpers import assert_input_error, deny_reading, deny_writing

DATA = Path(__file__).parent / "data"
WRITABLE = [".json", ".json.gz", ".npz", ".csv", ".tsv"]
HEADER = "x,y,z," + ",".join(ALPHABET)



def make_candidates(m=7, seed=0, ids=True, sequence="MKTAYX"):
    rng = np.random.default_rng(seed)
    return validate_candidates(
        rng.uniform(-50, 50, (m, 3)), rng.dirichlet(np.ones(20), m),
        [f"n{i}" for i in range(m)] if ids else None, "test",
        sequence=sequence)


def assert_same(a: CandidateSet, b: CandidateSet):
    np.testing.assert_array_equal(a.xyz, b.xyz)
    np.testing.assert_allclose(a.aa_probs, b.aa_probs, rtol=1e-6, atol=1e-9)
    assert a.ids == b.ids


def write_json(path, doc):
    path.write_text(json.dumps(doc))
    return path


def nodes_doc(xyz, probs, **extra):
    return {"nodes": {"xyz": xyz, "aa_probs": probs, **extra}}


# ---------------------------------------------------------------- round trips

@pytest.mark.parametrize("ext", WRITABLE)
@pytest.mark.parametrize("with_ids", [True, False])
def test_round_trip(tmp_path, ext, with_ids):
    cands = make_candidates(ids=with_ids)
    path = tmp_path / f"cands{ext}"
    write_candidates(cands, path)
    back = read_candidates(path)
    assert_same(cands, back)
    assert back.xyz.dtype == back.aa_probs.dtype == np.float32
    keeps_sequence = ext not in (".csv", ".tsv")
    assert back.sequence == (cands.sequence if keeps_sequence else None)
    assert sorted(os.listdir(tmp_path)) == [path.name]  # no temporary files


def test_json_gz_is_gzipped_and_plain_json_is_not(tmp_path):
    cands = make_candidates()
    write_candidates(cands, tmp_path / "a.json.gz")
    write_candidates(cands, tmp_path / "a.json")
    assert (tmp_path / "a.json.gz").read_bytes()[:2] == b"\x1f\x8b"
    doc = json.loads(gzip.decompress((tmp_path / "a.json.gz").read_bytes()))
    assert doc == json.loads((tmp_path / "a.json").read_text())
    assert set(doc) == {"nodes", "sequence"}
    assert set(doc["nodes"]) == {"xyz", "aa_probs", "id"}


def test_csv_header_follows_the_contract(tmp_path):
    write_candidates(make_candidates(ids=False), tmp_path / "a.csv")
    write_candidates(make_candidates(ids=True), tmp_path / "b.tsv")
    assert (tmp_path / "a.csv").read_text().splitlines()[0] == HEADER
    assert ((tmp_path / "b.tsv").read_text().splitlines()[0]
            == "id\t" + HEADER.replace(",", "\t"))


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(*[st.floats(-1e4, 1e4, width=32)] * 3),
                min_size=1, max_size=12, unique=True),
       st.sampled_from([".json", ".csv", ".npz"]))
def test_round_trip_keeps_float32_coordinates_exactly(tmp_path_factory, rows,
                                                      ext):
    xyz = np.array(rows, dtype=np.float32)
    if len(np.unique(xyz + 0.0, axis=0)) < len(xyz):  # -0.0 == 0.0
        return
    cands = validate_candidates(xyz, np.ones((len(xyz), 20)), None, "test")
    path = tmp_path_factory.mktemp("rt") / f"c{ext}"
    write_candidates(cands, path)
    assert_same(cands, read_candidates(path))


def test_reads_the_documented_json_and_renormalises(tmp_path):
    probs = [[1.0] * 20, [0.0] * 19 + [3.0]]
    path = write_json(tmp_path / "c.json", {
        **nodes_doc([[12.1, 3.4, -7.0], [15.8, 3.9, -6.5]], probs,
                    id=["a", "b"]),
        "sequence": "mkt ay", "detector": "unet"})
    cands = read_candidates(path)
    assert cands.num_nodes == 2
    np.testing.assert_allclose(cands.aa_probs[0], np.full(20, 0.05))
    np.testing.assert_allclose(cands.aa_probs[1, -1], 1.0)
    assert cands.ids == ("a", "b")
    assert cands.sequence == "MKTAY"


def test_csv_column_order_blank_lines_and_spaces(tmp_path):
    columns = ["id"] + list(reversed(ALPHABET)) + ["z", "y", "x"]
    row = ["n0"] + ["1"] * 19 + ["3"] + [" 3.0", "2.0 ", "1"]
    path = tmp_path / "c.csv"
    path.write_text(",".join(columns) + "\n\n" + ",".join(row) + "\n\n")
    cands = read_candidates(path)
    np.testing.assert_array_equal(cands.xyz, [[1, 2, 3]])
    assert cands.aa_probs[0, 0] == pytest.approx(3 / 22)
    assert cands.ids == ("n0",)


# ------------------------------------------------------------- PDB and mmCIF

def test_reads_pdb_candidates_one_hot():
    cands = read_candidates(DATA / "1A8O.pdb.gz")
    assert cands.num_nodes == 70
    np.testing.assert_array_equal(cands.aa_probs.max(axis=1), 1.0)
    # Residue 151 is a selenomethionine (MSE), read as M.
    assert ALPHABET[int(cands.aa_probs[0].argmax())] == "M"
    assert cands.ids[:2] == ("A:151", "A:152")


def test_reads_mmcif_candidates_from_all_chains():
    cands = read_candidates(DATA / "1QL2.cif.gz")
    assert cands.num_nodes == 3 * 46
    assert [cands.ids[i] for i in (0, 46, 92)] == ["A:1", "B:1", "C:1"]


@pytest.mark.parametrize("name", ["1A8O.pdb", "1QL2.cif", "1QL2.mmcif"])
def test_reads_uncompressed_structures(tmp_path, name):
    source = DATA / (name.replace(".mmcif", ".cif") + ".gz")
    path = tmp_path / name
    path.write_bytes(gzip.decompress(source.read_bytes()))
    assert_same(read_candidates(path), read_candidates(source))


def test_unknown_residue_gets_uniform_probabilities(tmp_path):
    path = tmp_path / "c.pdb"
    path.write_text(
        "ATOM      1  CA  GLY A   1       0.000   0.000   0.000  1.00  0.00"
        "           C\n"
        "ATOM      2  CA  UNK A   2       3.800   0.000   0.000  1.00  0.00"
        "           C\n"
        "HETATM    3 CA    CA A 101       9.000   0.000   0.000  1.00  0.00"
        "          CA\n"
        "HETATM    4  O   HOH A 201       5.000   5.000   5.000  1.00  0.00"
        "           O\nEND\n")
    cands = read_candidates(path)
    assert cands.num_nodes == 2  # the calcium ion and the water are skipped
    assert cands.aa_probs[0, ALPHABET.index("G")] == 1.0
    np.testing.assert_allclose(cands.aa_probs[1], np.full(20, 0.05))


# --------------------------------------------------------------- read errors

def truncated(data: bytes) -> bytes:
    return data[: len(data) // 2]


GOOD_JSON = json.dumps(nodes_doc([[0, 0, 0]], [[1] * 20])).encode()
GOOD_CSV = (HEADER + "\n" + "0,0,0," + ",".join(["1"] * 20) + "\n").encode()

FILE_ERRORS = [
    ("c.json", b"{\"nodes\": ", "invalid JSON"),
    ("c.json", truncated(GOOD_JSON), "invalid JSON"),
    ("c.json", b"\xff\xfe\x00garbage", "not a text file"),
    ("c.json", b"[1, 2]", "missing key 'nodes'"),
    ("c.json", b"{\"nodes\": []}", "'nodes' must be an object"),
    ("c.json", b"{\"nodes\": {\"xyz\": [[0, 0, 0]]}}",
     "missing key 'nodes.aa_probs'"),
    ("c.json", b"{\"nodes\": {\"aa_probs\": [[1]]}}", "missing key 'nodes.xyz'"),
    ("c.json.gz", truncated(gzip.compress(GOOD_JSON * 50)), "truncated gzip"),
    ("c.json.gz", b"\x1f\x8b" + b"not really gzip" * 10, "corrupt gzip"),
    ("c.npz", b"PK\x03\x04 this is no zip", "not a valid NPZ file"),
    ("c.npz", b"plain text", "not a valid NPZ file"),
    ("c.csv", b"", "empty file"),
    ("c.csv", b"x,y,z,A\n1,2,3,1\n", r"missing column\(s\) C, D, E"),
    ("c.csv", b"x,x,y,z\n", r"repeated column\(s\) x"),
    ("c.csv", GOOD_CSV + b"1,2,3,4\n", "line 3: expected 23 fields, found 4"),
    ("c.csv", GOOD_CSV.replace(b"0,0,0,", b"0,zero,0,"),
     "line 2, column y: not a number: 'zero'"),
    ("c.csv", GOOD_CSV.replace(b"0,0,0,", b"0,\"0\"x,0,"), "line 2: malformed"),
    ("c.csv", HEADER.encode() + b"\n", r"empty \(no nodes\)"),
    ("c.tsv", GOOD_CSV, r"missing column\(s\) x, y, z"),
    ("c.pdb", b"", "cannot parse as PDB"),
    ("c.pdb", b"hello\n", "no atoms found"),
    ("c.cif", b"hello\n", "cannot parse as mmCIF"),
    ("c.pdb", b"HETATM    1  O   HOH A   1       1.000   2.000   3.000  1.00"
              b"  0.00           O\n", "no protein chain"),
]


@pytest.mark.parametrize("name, content, match", FILE_ERRORS)
def test_malformed_files(tmp_path, name, content, match):
    path = tmp_path / name
    path.write_bytes(content)
    assert_input_error(lambda: read_candidates(path), path, match)


def test_truncated_npz(tmp_path):
    good = tmp_path / "good.npz"
    write_candidates(make_candidates(m=300), good)
    path = tmp_path / "c.npz"
    path.write_bytes(truncated(good.read_bytes()))
    assert_input_error(lambda: read_candidates(path), path,
                       "not a valid NPZ file")


def test_truncated_gzipped_pdb(tmp_path):
    path = tmp_path / "c.pdb.gz"
    path.write_bytes(truncated((DATA / "1A8O.pdb.gz").read_bytes()))
    assert_input_error(lambda: read_candidates(path), path, "truncated gzip")


@pytest.mark.parametrize("arrays, match", [
    ({"xyz": np.zeros((1, 3))}, r"missing array\(s\) aa_probs"),
    ({"xyz": np.zeros((1, 3)), "aa_probs": np.array([[{}] * 20], dtype=object)},
     "not a valid NPZ file"),
])
def test_bad_npz_content(tmp_path, arrays, match):
    path = tmp_path / "c.npz"
    np.savez(path, **arrays)
    assert_input_error(lambda: read_candidates(path), path, match)


def test_missing_path_directory_and_extension(tmp_path):
    missing = tmp_path / "nope.json"
    assert_input_error(lambda: read_candidates(missing), missing,
                       "no such file")
    folder = tmp_path / "dir.json"
    folder.mkdir()
    assert_input_error(lambda: read_candidates(folder), folder,
                       "is a directory")
    odd = tmp_path / "c.xlsx"
    odd.write_text("whatever")
    assert_input_error(lambda: read_candidates(odd), odd,
                       r"unsupported candidate file extension; expected one "
                       r"of .*\.json\.gz")


def test_unreadable_file(tmp_path, monkeypatch):
    # Not chmod 0: root (CI) reads it anyway. See io_helpers.deny_reading.
    path = write_json(tmp_path / "c.json", json.loads(GOOD_JSON))
    deny_reading(monkeypatch, path)
    assert_input_error(lambda: read_candidates(path), path,
                       r"^\S+: cannot read file \(permission denied\)$")


@pytest.mark.parametrize("name, content, match", [
    ("c.json", b"\xff\xfe\x00garbage", r"not a text file \(invalid UTF-8"),
    ("c.json.gz", truncated(gzip.compress(GOOD_JSON * 50)), "truncated gzip file"),
    ("c.json.gz", b"\x1f\x8b" + b"not really gzip" * 10, "corrupt gzip file"),
], ids=["not-utf8", "truncated-gzip", "corrupt-gzip"])
def test_json_file_errors_are_not_wrapped(tmp_path, name, content, match):
    """A JSON file that cannot be read as text names the path once and the
    real problem, not "invalid JSON (<path>: ...)"."""
    path = tmp_path / name
    path.write_bytes(content)
    message = assert_input_error(lambda: read_candidates(path), path, match)
    assert message.count(str(path)) == 1, message
    assert "invalid JSON" not in message, message


@pytest.mark.parametrize("ext", [".json", ".json.gz", ".npz", ".csv", ".tsv",
                                 ".pdb.gz"])
def test_file_that_fails_to_open_after_the_check(tmp_path, monkeypatch, ext):
    """os.access says readable (a race, NFS root squash) but open() fails:
    still one line, from the read itself."""
    path = tmp_path / f"c{ext}"
    if ext == ".pdb.gz":
        path.write_bytes((DATA / "1A8O.pdb.gz").read_bytes())
    else:
        write_candidates(make_candidates(), path)
    deny_reading(monkeypatch, path)
    monkeypatch.setattr(os, "access", lambda *args, **kwargs: True)
    assert_input_error(lambda: read_candidates(path), path,
                       r"^\S+: cannot read file \(Permission denied\)$")


ONE = [[0.0, 0.0, 0.0]]
UNIFORM = [[1.0] * 20]

CONTENT_ERRORS = [
    (ONE, [[1.0] * 19], r"aa_probs must have 20 columns .* shape \(1, 19\)"),
    ([[0.0, 0.0]], UNIFORM, r"xyz must have 3 columns .* shape \(1, 2\)"),
    ([[0, 0, 0], [1, 1, 1]], UNIFORM, "xyz has 2 rows but aa_probs has 1"),
    ([], [], r"the candidate set is empty \(no nodes\)"),
    ([[0, 0, 0], [1, 1]], UNIFORM * 2, "xyz is not a rectangular array"),
    ([[0, 0, "a"]], UNIFORM, "xyz is not a rectangular array"),
    ([[0, 0, 0], [1, float("nan"), 0]], UNIFORM * 2,
     "xyz has a NaN, infinite or too large value at node 1"),
    ([[0, 0, 1e300]], UNIFORM, "xyz has a NaN, infinite or too large value"),
    (ONE, [[float("inf")] + [1.0] * 19], "aa_probs has a NaN or infinite"),
    (ONE, [[-0.1] + [1.0] * 19], "aa_probs has a negative value at node 0"),
    ([[0, 0, 0], [1, 1, 1]], UNIFORM + [[0.0] * 20],
     "aa_probs row of node 1 is all zeros"),
    ([[0, 0, 0], [1, 1, 1], [2, 2, 2], [1, 1, 1]], UNIFORM * 4,
     r"duplicated nodes: nodes 1 and 3 are both at \(1, 1, 1\)"),
]


@pytest.mark.parametrize("xyz, probs, match", CONTENT_ERRORS)
def test_invalid_json_content(tmp_path, xyz, probs, match):
    path = write_json(tmp_path / "c.json", nodes_doc(xyz, probs))
    assert_input_error(lambda: read_candidates(path), path, match)


@pytest.mark.parametrize("xyz, probs, match", CONTENT_ERRORS[:4]
                         + CONTENT_ERRORS[6:])
def test_invalid_npz_content(tmp_path, xyz, probs, match):
    path = tmp_path / "c.npz"
    np.savez(path, xyz=np.array(xyz, dtype=float),
             aa_probs=np.array(probs, dtype=float))
    assert_input_error(lambda: read_candidates(path), path, match)


def test_ids_and_sequence_errors(tmp_path):
    path = write_json(tmp_path / "c.json", nodes_doc(ONE, UNIFORM, id=["a", "b"]))
    assert_input_error(lambda: read_candidates(path), path,
                       "2 ids given for 1 nodes")
    path = write_json(tmp_path / "d.json",
                      {**nodes_doc(ONE, UNIFORM), "sequence": "MK3T"})
    assert_input_error(lambda: read_candidates(path), path,
                       "not residue letters: '3'")
    path = write_json(tmp_path / "e.json",
                      {**nodes_doc(ONE, UNIFORM), "sequence": 42})
    assert_input_error(lambda: read_candidates(path), path,
                       "sequence must be a string")


def test_validate_candidates_uses_source_as_prefix():
    assert_input_error(
        lambda: validate_candidates(ONE, [[0.0] * 20], None, "mine.csv"),
        "mine.csv", "all zeros")


# -------------------------------------------------------------- write errors

def test_write_rejects_structure_formats(tmp_path):
    path = tmp_path / "c.pdb"
    assert_input_error(lambda: write_candidates(make_candidates(), path), path,
                       "unsupported candidate file extension")
    assert not path.exists()


def test_write_into_missing_directory_leaves_nothing(tmp_path):
    path = tmp_path / "missing" / "c.json"
    assert_input_error(lambda: write_candidates(make_candidates(), path), path,
                       "does not exist")
    assert not path.parent.exists()


@pytest.mark.parametrize("ext", WRITABLE)
def test_write_into_read_only_directory_leaves_nothing(tmp_path, monkeypatch,
                                                       ext):
    # Not chmod 500: root (CI) writes anyway. See io_helpers.deny_writing.
    deny_writing(monkeypatch, tmp_path)
    path = tmp_path / f"c{ext}"
    assert_input_error(lambda: write_candidates(make_candidates(), path),
                       path, r"cannot write here \(Permission denied\)$")
    assert os.listdir(tmp_path) == []


def test_write_into_a_path_under_a_file_leaves_nothing(tmp_path):
    """A real error that root meets too: the 'directory' is a regular file."""
    (tmp_path / "file").write_text("x")
    path = tmp_path / "file" / "c.json"
    assert_input_error(lambda: write_candidates(make_candidates(), path), path,
                       "does not exist")
    assert os.listdir(tmp_path) == ["file"]
    assert (tmp_path / "file").read_text() == "x"


def test_invalid_candidates_are_not_written(tmp_path):
    bad = CandidateSet(xyz=np.array([[0, 0, np.nan]]), aa_probs=np.ones((1, 20)))
    path = tmp_path / "c.csv"
    assert_input_error(lambda: write_candidates(bad, path), path, "NaN")
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("ext, target", [
    (".npz", "numpy.savez_compressed"),
    (".csv", "csv.writer"),
    (".json.gz", "gzip.GzipFile.write"),
])
def test_failure_while_writing_keeps_the_old_file(tmp_path, monkeypatch, ext,
                                                  target):
    path = tmp_path / f"c{ext}"
    write_candidates(make_candidates(m=3), path)
    before = path.read_bytes()

    def fail(target, *args, **kwargs):
        if isinstance(getattr(target, "mode", None), str):  # a partial file
            target.write(b"partial" if "b" in target.mode else "partial")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(target, fail)
    with pytest.raises(OSError, match="No space left"):
        write_candidates(make_candidates(m=5, seed=1), path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == [path.name]


def test_shipped_test_data_is_small():
    assert sum(p.stat().st_size for p in DATA.iterdir()) < 400_000
