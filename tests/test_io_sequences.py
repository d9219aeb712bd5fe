"""Tests of tf_structgen.io.sequences: FASTA files, literal sequences, chain ids."""

import gzip

import pytest

from tf_structgen.common.errors import InputError
from tf_structgen.io import SequenceRecord, chain_ids, read_sequences

from io_helpers import assert_input_error


def records(*pairs):
    return [SequenceRecord(i, s) for i, s in pairs]


def test_literal_sequence_becomes_chain_a():
    assert read_sequences("mkt ay*") == records(("A", "MKTAY"))


def test_non_standard_letters_are_kept():
    assert read_sequences("MXUOBZ") == records(("A", "MXUOBZ"))


def test_long_literal_is_not_taken_for_a_path():
    assert read_sequences("M" * 10_000)[0].sequence == "M" * 10_000


def test_fasta_file_with_several_records(tmp_path):
    path = tmp_path / "target.fasta"
    path.write_text(";comment\n\n>H heavy chain\nevqlv\nESGG\n\n"
                    ">L  light chain\nDIQMT*\n")
    assert read_sequences(str(path)) == records(("H", "EVQLVESGG"),
                                                ("L", "DIQMT"))


def test_records_have_one_copy_unless_the_header_says_so(tmp_path):
    path = tmp_path / "t.fasta"
    path.write_text(">H heavy\nEVQL\n>L light copies=2\nDIQM\n"
                    ">1ABC_3|Chains C, D[auth E]|Fab|Mus musculus (10090)\nGS\n")
    assert read_sequences(str(path)) == [
        SequenceRecord("H", "EVQL"),
        SequenceRecord("L", "DIQM", copies=2),
        SequenceRecord("1ABC_3", "GS", copies=2, chain_ids=("C", "E"))]
    assert read_sequences("MKT")[0].copies == 1


def test_bad_copies_name_file_record_and_value(tmp_path):
    path = tmp_path / "t.fasta"
    path.write_text(">H\nEVQL\n>L light copies=2.5\nDIQM\n")
    assert_input_error(lambda: read_sequences(str(path)), str(path),
                       r"^\S+: record 'L' \(line 3\): copies must be a "
                       r"positive integer, not '2\.5'$")


def test_gzipped_fasta_and_pathlike(tmp_path):
    path = tmp_path / "t.fa.gz"
    path.write_bytes(gzip.compress(b">A\nMKT\n"))
    assert read_sequences(path) == records(("A", "MKT"))


def test_fasta_text_on_the_command_line():
    assert read_sequences(">X1\nMK\n>X2\nGG") == records(("X1", "MK"),
                                                         ("X2", "GG"))


@pytest.mark.parametrize("content, match", [
    ("", "empty file, no FASTA record"),
    ("\n   \n", "empty file, no FASTA record"),
    (">A\nMKT\n>B\n", r"record 'B' \(line 3\): empty sequence"),
    (">A\nMK7T\n", "record 'A' .*not residue letters: '7'"),
    ("HEADER    PROTEIN\nATOM      1  CA\n",
     "not a FASTA file \\(line 1 is not a '>' header\\)"),
    (">A\nMK\n>A second\nGG\n", "duplicated record id 'A'"),
    (">\nMK\n", "line 1: FASTA header has no id"),
])
def test_fasta_errors(tmp_path, content, match):
    path = tmp_path / "seq.fa"
    path.write_text(content)
    assert_input_error(lambda: read_sequences(str(path)), str(path), match)


def test_binary_file(tmp_path):
    path = tmp_path / "seq.fa"
    path.write_bytes(b">A\n\xff\xfe\n")
    assert_input_error(lambda: read_sequences(str(path)), str(path),
                       "not a text file")


@pytest.mark.parametrize("arg", ["missing/seq", "seq.fasta", "SEQ.FA",
                                 "x.faa", "notes.txt"])
def test_missing_file_that_looks_like_a_path(arg):
    assert_input_error(lambda: read_sequences(arg), arg, "no such file")


def test_directory(tmp_path):
    assert_input_error(lambda: read_sequences(str(tmp_path)), str(tmp_path),
                       "is a directory")


@pytest.mark.parametrize("arg, match", [
    ("MKT1", r"^sequence 'MKT1': .*not residue letters: '1'"),
    ("MKTAYIAKQRQISFVKSHFS-RQ",
     r"^sequence 'MKTAYIAKQRQISFVKS\.\.\.': .*not residue letters: '-'"),
    ("   ", r"^sequence '   ': empty sequence"),
])
def test_literal_errors(arg, match):
    with pytest.raises(InputError, match=match):
        read_sequences(arg)


def test_chain_ids_keep_short_unique_ids():
    assert chain_ids(records(("H", "M"), ("L", "M"), ("ab12", "M"))) == [
        "H", "L", "ab12"]


def test_chain_ids_replace_long_invalid_and_repeated_ids():
    recs = records(("sp|P1|X", "M"), ("heavy_chain", "M"), ("A", "M"),
                   ("B", "M"), ("B", "M"), ("", "M"))
    # "A" and "B" are kept, so the fresh ids skip them.
    assert chain_ids(recs) == ["C", "D", "A", "B", "E", "F"]


def test_chain_ids_for_the_pdb_format():
    recs = records(("AB", "M"), ("Z", "M"))
    assert chain_ids(recs, max_length=1) == ["A", "Z"]
    ids = chain_ids(records(*[(f"c{i}", "M") for i in range(70)]),
                    max_length=2)
    assert ids[:11] == [f"c{i}" for i in range(10)] + ["A"]
    assert len(set(ids)) == 70 and max(map(len, ids)) <= 2
    with pytest.raises(InputError, match="too many chains"):
        chain_ids(records(*[(f"long{i}", "M") for i in range(63)]),
                  max_length=1)
