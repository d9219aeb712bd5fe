"""Tests of tf_structgen.io.assignments (docs/formats.md §3)."""

import json
import os

import numpy as np
import pytest

from tf_structgen.io import read_assignments, write_assignments

from io_helpers import assert_input_error

DOCUMENTED = """{
  "model": "saved_models/structgen/1",
  "chains": [
    {
      "id": "A",
      "sequence": "MKTA",
      "nodes": [17, 402, null, 8],
      "confidence": [0.99, 0.97, 0.0, 0.88]
    }
  ]
}"""



def chain(**changes):
    return {"id": "A", "sequence": "MKTA", "nodes": [17, 402, None, 8],
            "confidence": [0.99, 0.97, 0.0, 0.88], **changes}


def test_reads_the_documented_example(tmp_path):
    path = tmp_path / "a.json"
    path.write_text(DOCUMENTED)
    assert read_assignments(path) == json.loads(DOCUMENTED)


def test_round_trip_with_extra_keys_and_numpy_values(tmp_path):
    path = tmp_path / "a.json"
    chains = [chain(score=3.5),
              chain(id="B", sequence="GX", nodes=[np.int64(0), None],
                    confidence=list(np.array([0.25, 0.0], np.float32)))]
    write_assignments(path, "saved_models/structgen/1", chains)
    doc = json.loads(path.read_text())
    assert set(doc) == {"model", "chains"}
    assert doc["chains"][1] == {"id": "B", "sequence": "GX", "nodes": [0, None],
                                "confidence": [0.25, 0.0]}
    back = read_assignments(path, num_nodes=403)
    assert back["model"] == "saved_models/structgen/1"
    assert back["chains"][0] == chain(score=3.5)
    assert os.listdir(tmp_path) == ["a.json"]


@pytest.mark.parametrize("doc, match", [
    ("{\"model\": ", "invalid JSON"),
    ("[]", "expected a JSON object with keys 'model' and 'chains'"),
    ({"chains": []}, "missing key 'model'"),
    ({"model": "m"}, "missing key 'chains'"),
    ({"model": 1, "chains": []}, "'model' must be a string"),
    ({"model": "m", "chains": {}}, "'chains' must be a list"),
    ({"model": "m", "chains": [[]]}, r"chains\[0\]: must be an object"),
    ({"model": "m", "chains": [{"id": "A"}]},
     r"chains\[0\]: missing key 'sequence'"),
    ({"model": "m", "chains": [chain(id="")]}, "'id' must be a non-empty"),
    ({"model": "m", "chains": [chain(sequence=4)]},
     "chain 'A': sequence must be a string"),
    ({"model": "m", "chains": [chain(sequence="")]}, "empty sequence"),
    ({"model": "m", "chains": [chain(sequence="MK1A")]}, "not residue letters"),
    ({"model": "m", "chains": [chain(nodes=[1, 2, 3])]},
     "'nodes' must be a list of 4 values"),
    ({"model": "m", "chains": [chain(confidence="0.1")]},
     "'confidence' must be a list of 4 values"),
    ({"model": "m", "chains": [chain(nodes=[1, -2, None, 3])]},
     r"nodes\[1\] = -2 is not null or a node index >= 0"),
    ({"model": "m", "chains": [chain(nodes=[1, 2.0, None, 3])]},
     r"nodes\[1\] = 2.0"),
    ({"model": "m", "chains": [chain(nodes=[True, 2, None, 3])]},
     r"nodes\[0\] = True"),
    ({"model": "m", "chains": [chain(confidence=[0.5, 1.5, 0, 0])]},
     r"confidence\[1\] = 1.5 is not a number in \[0, 1\]"),
    ({"model": "m", "chains": [chain(confidence=[0.5, "x", 0, 0])]},
     r"confidence\[1\] = 'x'"),
    ({"model": "m", "chains": [chain(), chain()]}, r"repeated chain id\(s\) A"),
    ({"model": "m", "chains": [chain(copy=-1)]},
     r"chain 'A': 'copy' = -1 is not an integer >= 0"),
    ({"model": "m", "chains": [chain(copy=1.0)]}, r"'copy' = 1.0 is not an integer"),
    ({"model": "m", "chains": [chain(copy="0")]}, r"'copy' = '0' is not an integer"),
    ({"model": "m", "chains": [chain(copy=False)]}, r"'copy' = False is not"),
    ({"model": "m", "chains": [chain(entity="")]},
     "chain 'A': 'entity' must be a non-empty string"),
    ({"model": "m", "chains": [chain(entity=7)]}, "'entity' must be a non-empty string"),
])
def test_read_errors(tmp_path, doc, match):
    path = tmp_path / "a.json"
    path.write_text(doc if isinstance(doc, str) else json.dumps(doc))
    assert_input_error(lambda: read_assignments(path), path, match)


def test_copies_keep_entity_copy_and_fasta_numbering(tmp_path):
    path = tmp_path / "a.json"
    copies = [chain(id="A", entity="7KJR_1", copy=0),
              chain(id="B", entity="7KJR_1", copy=np.int64(1),
                    nodes=[None, 5, 6, None]),
              chain(id="C", sequence="GS", nodes=[1, 2], confidence=[1, 1])]
    write_assignments(path, "hmm", copies)
    back = read_assignments(path)["chains"]
    assert [(c["id"], c.get("entity"), c.get("copy")) for c in back] == [
        ("A", "7KJR_1", 0), ("B", "7KJR_1", 1), ("C", None, None)]
    assert type(back[1]["copy"]) is int
    # Every copy is numbered by the FASTA position: one value per residue.
    assert back[1]["nodes"] == [None, 5, 6, None]


def test_nan_confidence_and_node_out_of_range(tmp_path):
    path = tmp_path / "a.json"
    path.write_text(DOCUMENTED.replace("0.88", "NaN"))
    assert_input_error(lambda: read_assignments(path), path,
                       r"confidence\[3\] = nan")
    path.write_text(DOCUMENTED)
    assert_input_error(lambda: read_assignments(path, num_nodes=100), path,
                       r"nodes\[1\] = 402 is not null or a node index >= 0 "
                       r"below 100")


def test_missing_file(tmp_path):
    path = tmp_path / "none.json"
    assert_input_error(lambda: read_assignments(path), path, "no such file")


def test_invalid_assignment_is_not_written(tmp_path):
    path = tmp_path / "a.json"
    assert_input_error(
        lambda: write_assignments(path, "m", [chain(nodes=[None])]), path,
        "'nodes' must be a list of 4 values")
    assert os.listdir(tmp_path) == []


def test_write_into_missing_directory(tmp_path):
    path = tmp_path / "missing" / "a.json"
    assert_input_error(lambda: write_assignments(path, "m", [chain()]), path,
                       "does not exist")
    assert not path.parent.exists()


def test_failure_while_writing_keeps_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "a.json"
    write_assignments(path, "m", [chain()])
    before = path.read_bytes()

    def fail(obj, f, *args, **kwargs):
        f.write("{\"model\": ")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("json.dump", fail)
    with pytest.raises(OSError, match="No space left"):
        write_assignments(path, "m2", [chain(id="B")])
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["a.json"]
