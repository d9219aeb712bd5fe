"""Property-based fuzzing of every reader and of ``tfsg predict``.

The property, for any input at all: a reader returns a valid result (finite
coordinates, probability rows summing to 1, consistent shapes) or raises
:class:`InputError` with a one-line message; never another exception, never
a hang. ``tfsg predict`` exits 0 or 2 with one ``error:`` line, no traceback,
and leaves no output on failure.

Inputs are valid files of every format, then mutated: truncated, spliced with
random bytes, tokens replaced by junk (strings for numbers, nested lists,
NaN/inf, 1e300, wrong widths), re-encoded (UTF-16, latin-1), gzipped, or
replaced by random bytes; plus structured generators for JSON documents, NPZ
archives, CSV tables and PDB lines.
"""

from __future__ import annotations

import contextlib
import gzip
import io
import json
import math
import os
import re
import signal
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from hypothesis.extra import numpy as hnp
from typer.testing import CliRunner

from tf_structgen.cli.main import app
from tf_structgen.common.errors import InputError
from tf_structgen.common.residue_constants import ALPHABET
from tf_structgen.io import (ThreadedChain, read_assignments, read_candidates,
                             read_sequences, read_structure_chains,
                             validate_candidates, write_assignments,
                             write_candidates, write_threaded_model)

DATA = Path(__file__).parent / "data"
# TFSG_FUZZ_EXAMPLES=2000 explores further (random seeds) than the CI default.
_EXTRA = int(os.environ.get("TFSG_FUZZ_EXAMPLES", "0"))
FUZZ = settings(max_examples=_EXTRA or 60, deadline=None, derandomize=not _EXTRA,
                suppress_health_check=[HealthCheck.too_slow,
                                       HealthCheck.data_too_large])
CALL_TIMEOUT_S = 20  # a reader taking longer on these tiny inputs is a hang
CANDIDATE_SUFFIXES = [".json", ".json.gz", ".npz", ".csv", ".tsv", ".pdb", ".cif"]
STRUCTURE_SUFFIXES = [".pdb", ".cif"]


# --------------------------------------------------------------------------
# Valid seed files of every format.

def _seed_files() -> dict[str, list[bytes]]:
    """Valid files (bytes) per suffix, written by the package's own writers."""
    rng = np.random.default_rng(0)
    m = 6
    cands = validate_candidates(rng.uniform(-20, 20, (m, 3)),
                                rng.dirichlet(np.ones(20), m),
                                [f"n{i}" for i in range(m)], "seed",
                                sequence="MKTAY")
    seeds: dict[str, list[bytes]] = {}
    with tempfile.TemporaryDirectory() as d:
        for suffix in (".json", ".json.gz", ".npz", ".csv", ".tsv"):
            path = Path(d) / f"c{suffix}"
            write_candidates(cands, path)
            seeds[suffix] = [path.read_bytes()]
        xyz = np.cumsum(rng.normal(size=(5, 3)) * 2.2, axis=0)
        chain = ThreadedChain("A", "ACDXW", xyz, np.full(5, 0.5))
        for suffix in STRUCTURE_SUFFIXES:
            path = Path(d) / f"m{suffix}"
            write_threaded_model([chain], path)
            seeds[suffix] = [path.read_bytes()]
        write_assignments(Path(d) / "a.json", "hmm", [
            {"id": "A", "sequence": "ACD", "nodes": [0, None, 2],
             "confidence": [0.9, 0.0, 0.5]},
            {"id": "B", "sequence": "KX", "nodes": [1, 3],
             "confidence": [1.0, 0.25]}])
        seeds["assignments"] = [(Path(d) / "a.json").read_bytes()]
    # A real deposited entry (first 120 lines keep it small) for the PDB seeds.
    real = gzip.decompress((DATA / "1A8O.pdb.gz").read_bytes()).splitlines(True)
    atoms = [l for l in real if l.startswith((b"ATOM", b"HETATM"))][:60]
    seeds[".pdb"].append(b"".join(real[:10] + atoms + [b"END\n"]))
    seeds["fasta"] = [b">A first chain\nMKTAYIAKQR\nQISFVKSHFS\n>B\nacdxuoBZ\n",
                      b";comment\n>only\nMK\n"]
    return seeds


SEEDS = _seed_files()

JUNK_TOKENS = ["nan", "NaN", "inf", "-inf", "Infinity", "1e300", "-1e300",
               "1e-320", "1e39", "0", "-1", "abc", '"x"', "[]", "[[1,2]]",
               "{}", "null", "true", "", " ", ",", "\t", "\"", "'", "é", "\x00",
               "1_0", "\u0661", "0x10", "[1, [2, 3]]", "{\"xyz\": 1}", "?", ".",
               "ATOM", ">", ";", "\n", "\r", "loop_", "_atom_site.id", "9" * 400]

_TOKEN = re.compile(rb"[^\s,\[\]{}:\"]+")


@st.composite
def mutated(draw, seeds: list[bytes]) -> bytes:
    """One of ``seeds``, damaged in one or more random ways."""
    data = draw(st.sampled_from(seeds))
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["truncate", "splice", "insert", "tokens",
                                     "utf16", "latin1", "gzip", "gzip_truncate",
                                     "random", "empty", "duplicate_lines"]))
        if kind == "truncate":
            data = data[:draw(st.integers(0, max(len(data) - 1, 0)))]
        elif kind in ("splice", "insert"):
            i = draw(st.integers(0, len(data)))
            j = i if kind == "insert" else draw(st.integers(i, min(len(data), i + 40)))
            data = data[:i] + draw(st.binary(max_size=40)) + data[j:]
        elif kind == "tokens":
            matches = list(_TOKEN.finditer(data))
            if matches:
                for _ in range(draw(st.integers(1, 4))):
                    match = draw(st.sampled_from(matches))
                    junk = draw(st.sampled_from(JUNK_TOKENS)).encode()
                    data = data[:match.start()] + junk + data[match.end():]
                    matches = list(_TOKEN.finditer(data))
                    if not matches:
                        break
        elif kind == "utf16":
            data = data.decode("utf-8", "replace").encode(
                draw(st.sampled_from(["utf-16", "utf-16-le", "utf-32"])))
        elif kind == "latin1":
            text = data.decode("utf-8", "replace")
            i = draw(st.integers(0, len(text)))
            data = (text[:i] + "é°ß" + text[i:]).encode("latin-1", "replace")
        elif kind == "gzip":
            data = gzip.compress(data, mtime=0)
        elif kind == "gzip_truncate":
            packed = gzip.compress(data, mtime=0)
            data = packed[:draw(st.integers(0, len(packed)))]
        elif kind == "random":
            data = draw(st.binary(max_size=300))
        elif kind == "empty":
            data = draw(st.sampled_from([b"", b"\n", b" \n\t", b"\xef\xbb\xbf"]))
        else:
            lines = data.splitlines(True)
            if lines:
                k = draw(st.integers(0, len(lines) - 1))
                data = b"".join(lines[:k + 1] + lines[k:])
    return data


# --------------------------------------------------------------------------
# Structured generators.

_NUMBERS = st.one_of(
    st.floats(-100, 100),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([1e300, -1e300, 1e308, 1e-320, 0.0, -0.0, 3.5e38, 1e39]),
    st.integers(-10**30, 10**30),
)
_JSON_SCALARS = st.one_of(st.none(), st.booleans(), _NUMBERS, st.text(max_size=6))
_JSON_ANY = st.recursive(
    _JSON_SCALARS,
    lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=12)


def _matrix(width_choices, cells=_NUMBERS):
    return st.integers(0, 5).flatmap(lambda m: st.lists(
        st.sampled_from(width_choices).flatmap(
            lambda w: st.lists(st.one_of(cells, cells, cells, _JSON_ANY),
                               min_size=w, max_size=w)),
        min_size=m, max_size=m))


@st.composite
def candidate_json_docs(draw) -> bytes:
    """Candidate JSON of roughly the right shape with wrong values here and there."""
    nodes = {}
    for key, width in (("xyz", 3), ("aa_probs", 20)):
        if draw(st.integers(0, 9)):
            nodes[key] = draw(st.one_of(
                _matrix([width]), _matrix([width, width, width - 1, width + 1, 0]),
                _JSON_ANY))
    if draw(st.booleans()):
        nodes["id"] = draw(st.one_of(st.lists(st.text(max_size=3), max_size=6), _JSON_ANY))
    doc = draw(st.one_of(
        st.fixed_dictionaries({"nodes": st.just(nodes)},
                              optional={"sequence": st.one_of(st.text(max_size=8), _JSON_ANY)}),
        st.just({"nodes": nodes}),
        _JSON_ANY))
    return json.dumps(doc, allow_nan=True).encode()


_NPZ_DTYPES = st.sampled_from([np.float64, np.float32, np.float16, np.int64,
                               np.uint8, np.bool_, np.complex64, "U3", "S3",
                               "datetime64[s]", "timedelta64[s]"])


@st.composite
def npz_archives(draw) -> bytes:
    arrays = {}
    for key in draw(st.lists(st.sampled_from(["xyz", "aa_probs", "id", "sequence",
                                              "other"]), unique=True, max_size=5)):
        if draw(st.integers(0, 5)) == 0:
            arrays[key] = np.array([1, "a", None], dtype=object)
            continue
        m = draw(st.integers(0, 4))
        shape = draw(st.sampled_from([(m, 3), (m, 20), (m,), (), (m, 3, 1),
                                      (m, 19), (0, 0)]))
        arrays[key] = draw(hnp.arrays(_NPZ_DTYPES, shape))
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


_CELLS = st.one_of(st.floats(-50, 50).map(repr), st.sampled_from(JUNK_TOKENS),
                   st.text(max_size=4))


@st.composite
def tables(draw, delimiter: str) -> bytes:
    header = ["x", "y", "z", *ALPHABET]
    if draw(st.booleans()):
        header.insert(0, "id")
    if draw(st.booleans()):
        header = draw(st.permutations(header))
    if draw(st.integers(0, 3)) == 0:
        del header[draw(st.integers(0, len(header) - 1))]
    rows = [delimiter.join(header)]
    for _ in range(draw(st.integers(0, 5))):
        width = len(header) + draw(st.sampled_from([0, 0, 0, -1, 1]))
        rows.append(delimiter.join(draw(st.lists(_CELLS, min_size=width,
                                                 max_size=width))))
    return "\n".join(rows).encode("utf-8", "surrogatepass")


def _pdb_number(value, width: int, decimals: int) -> str:
    text = f"{value:{width}.{decimals}f}" if isinstance(value, float) else str(value)
    return text.rjust(width)


@st.composite
def pdb_texts(draw) -> bytes:
    """ATOM/HETATM records with random (often invalid) fields."""
    lines = []
    for serial in range(1, draw(st.integers(0, 8)) + 1):
        record = draw(st.sampled_from(["ATOM  ", "HETATM", "ATOM  ", "ANISOU"]))
        name = draw(st.sampled_from([" CA ", " CA ", " N  ", "CA  ", "    "]))
        resname = draw(st.sampled_from(["ALA", "GLY", "UNK", "MSE", "HOH", "XYZ", "  A", "   "]))
        chain = draw(st.sampled_from("AB 1"))
        resseq = draw(st.one_of(st.integers(-999, 9999), st.sampled_from(["abcd", "", "9999999"])))
        coords = [draw(st.one_of(st.floats(-999, 9999), st.sampled_from(
            [math.nan, math.inf, 1e300, "abc", ""]))) for _ in range(3)]
        altloc = draw(st.sampled_from(" AB"))
        line = (f"{record}{serial:5d} {name}{altloc}{resname} {chain}"
                f"{str(resseq)[:4].rjust(4)}    "
                + "".join(_pdb_number(c, 8, 3)[:draw(st.sampled_from([8, 8, 12]))]
                          for c in coords)
                + draw(st.sampled_from(["  1.00 20.00           C",
                                        "  1.00", "", "  nan  inf  C"])))
        lines.append(line)
        if draw(st.integers(0, 6)) == 0:
            lines.append(draw(st.sampled_from(["TER", "MODEL        2", "ENDMDL", "END"])))
    return ("\n".join(lines) + "\n").encode()


def candidate_inputs(suffix: str):
    """Fuzzed file contents for one candidate-file suffix."""
    seeds = SEEDS[suffix]
    generators = [mutated(seeds), st.binary(max_size=200)]
    if suffix in (".json", ".json.gz"):
        generators.append(candidate_json_docs())
    if suffix == ".json.gz":
        generators.append(candidate_json_docs().map(lambda b: gzip.compress(b, mtime=0)))
    if suffix == ".npz":
        generators.append(npz_archives())
        generators.append(npz_archives().flatmap(lambda b: mutated([b])))
    if suffix in (".csv", ".tsv"):
        generators.append(tables("," if suffix == ".csv" else "\t"))
    if suffix == ".pdb":
        generators.append(pdb_texts())
    return st.one_of(*generators)


ANY_CANDIDATE_FILE = st.sampled_from(CANDIDATE_SUFFIXES).flatmap(
    lambda s: st.tuples(st.just(s), candidate_inputs(s)))


# --------------------------------------------------------------------------
# The property.

class Hang(Exception):
    """A reader ran past CALL_TIMEOUT_S."""


@contextlib.contextmanager
def time_limit(seconds: float):
    def on_alarm(signum, frame):
        raise Hang(f"no answer within {seconds} s")

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def valid_or_input_error(call):
    """``call()``'s result, or None after a one-line InputError."""
    try:
        with time_limit(CALL_TIMEOUT_S):
            return call()
    except InputError as e:
        message = str(e)
        assert message.strip(), "empty error message"
        assert "\n" not in message and "\r" not in message, repr(message)
        return None


@contextlib.contextmanager
def written(suffix: str, data: bytes):
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / f"fuzz{suffix}"
        path.write_bytes(data)
        yield path


def check_candidate_set(cands):
    m = cands.num_nodes
    assert m >= 1
    assert cands.xyz.shape == (m, 3) and cands.xyz.dtype == np.float32
    assert cands.aa_probs.shape == (m, 20) and cands.aa_probs.dtype == np.float32
    assert np.isfinite(cands.xyz).all()
    assert np.isfinite(cands.aa_probs).all() and (cands.aa_probs >= 0).all()
    np.testing.assert_allclose(cands.aa_probs.sum(axis=1), 1.0, atol=1e-5)
    assert len(np.unique(cands.xyz, axis=0)) == m
    if cands.ids is not None:
        assert len(cands.ids) == m and all(isinstance(i, str) for i in cands.ids)
    if cands.sequence is not None:
        assert isinstance(cands.sequence, str) and cands.sequence


def check_sequences(records):
    assert records
    assert len({r.id for r in records}) == len(records)
    for r in records:
        assert isinstance(r.id, str) and r.id
        assert r.sequence and r.sequence == r.sequence.upper() and r.sequence.isalpha()


def check_chains(chains):
    assert chains
    for c in chains:
        n = len(c.sequence)
        assert n >= 1
        assert c.ca_xyz.shape == (n, 3) and np.isfinite(c.ca_xyz).all()
        assert c.residue_numbers.shape == (n,)


def check_assignments(doc, num_nodes):
    assert isinstance(doc["model"], str)
    ids = [c["id"] for c in doc["chains"]]
    assert len(set(ids)) == len(ids)
    for chain in doc["chains"]:
        n = len(chain["sequence"])
        assert len(chain["nodes"]) == len(chain["confidence"]) == n
        for node in chain["nodes"]:
            assert node is None or (type(node) is int and node >= 0)
            assert node is None or num_nodes is None or node < num_nodes
        assert all(type(c) is float and 0.0 <= c <= 1.0 for c in chain["confidence"])


# --------------------------------------------------------------------------
# Readers.

@pytest.mark.parametrize("suffix", CANDIDATE_SUFFIXES)
def test_valid_seed_files_read(suffix):
    for data in SEEDS[suffix]:
        with written(suffix, data) as path:
            check_candidate_set(read_candidates(path))


@pytest.mark.parametrize("suffix", CANDIDATE_SUFFIXES)
@FUZZ
@given(data=st.data())
def test_read_candidates_fuzzed(suffix, data):
    content = data.draw(candidate_inputs(suffix))
    with written(suffix, content) as path:
        result = valid_or_input_error(lambda: read_candidates(path))
    if result is not None:
        check_candidate_set(result)


@FUZZ
@given(xyz=_JSON_ANY | _matrix([3, 2, 4]), probs=_JSON_ANY | _matrix([20, 19, 21]),
       ids=st.none() | _JSON_ANY, sequence=st.none() | _JSON_ANY)
def test_validate_candidates_fuzzed(xyz, probs, ids, sequence):
    result = valid_or_input_error(lambda: validate_candidates(
        xyz, probs, ids, "fuzz", sequence=sequence))
    if result is not None:
        check_candidate_set(result)


@pytest.mark.parametrize("value", [1e300, 1e308, 3.0e38, 1e-320])
def test_extreme_probabilities_are_normalised_or_rejected(value):
    """Huge (or subnormal) scores must still give rows that sum to 1."""
    xyz = [[0.0, 0.0, 0.0], [4.0, 0.0, 0.0]]
    probs = [[value] * 20, [value] + [0.0] * 19]
    result = valid_or_input_error(lambda: validate_candidates(xyz, probs, source="t"))
    if result is not None:
        check_candidate_set(result)


@FUZZ
@given(content=mutated(SEEDS["fasta"]) | st.binary(max_size=200)
       | st.text(max_size=200).map(lambda t: t.encode("utf-8", "surrogatepass")))
def test_read_sequences_file_fuzzed(content):
    with written(".fasta", content) as path:
        result = valid_or_input_error(lambda: read_sequences(path))
    if result is not None:
        check_sequences(result)


@FUZZ
@given(text=st.text(max_size=60) | st.sampled_from(
    ["", " ", ">", ">A", ">A\n", ">A\nMK\n>A\nMK", "a/b", "x.fasta", "\x00",
     "MK\x00T", "M" * 5000, "acdxuobz", ">A B\n;c\nMK", "\udcff", "/", "."]))
def test_read_sequences_literal_fuzzed(text):
    result = valid_or_input_error(lambda: read_sequences(text))
    if result is not None:
        check_sequences(result)


@pytest.mark.parametrize("suffix", STRUCTURE_SUFFIXES)
@FUZZ
@given(data=st.data())
def test_read_structure_chains_fuzzed(suffix, data):
    generators = [mutated(SEEDS[suffix]), st.binary(max_size=200)]
    if suffix == ".pdb":
        generators.append(pdb_texts())
    content = data.draw(st.one_of(*generators))
    with written(suffix, content) as path:
        result = valid_or_input_error(lambda: read_structure_chains(path))
    if result is not None:
        check_chains(result)


@st.composite
def assignment_docs(draw) -> bytes:
    chains = []
    for k in range(draw(st.integers(0, 3))):
        n = draw(st.integers(0, 4))
        chain = {
            "id": draw(st.sampled_from([f"C{k}", "A", "", 3, None])),
            "sequence": draw(st.one_of(st.text(alphabet="ACDXZ1 ", min_size=n, max_size=n),
                                       _JSON_SCALARS)),
            # Often one element more or fewer than the sequence: a count mismatch.
            "nodes": draw(st.one_of(st.lists(
                st.one_of(st.none(), st.integers(-2, 12), _JSON_SCALARS),
                min_size=max(n + draw(st.sampled_from([0, 0, -1, 1])), 0),
                max_size=max(n + 1, 0)), _JSON_ANY)),
            "confidence": draw(st.one_of(st.lists(
                st.one_of(st.floats(0, 1), _NUMBERS, _JSON_SCALARS),
                min_size=n, max_size=n), _JSON_ANY)),
        }
        for key in draw(st.lists(st.sampled_from(list(chain)), max_size=1)):
            del chain[key]
        chains.append(chain)
    doc = draw(st.one_of(
        st.just({"model": "m", "chains": chains}),
        st.fixed_dictionaries({"model": _JSON_ANY, "chains": st.just(chains)}),
        st.just({"chains": chains}), _JSON_ANY))
    return json.dumps(doc, allow_nan=True).encode()


@FUZZ
@given(content=assignment_docs() | mutated(SEEDS["assignments"]),
       num_nodes=st.none() | st.integers(0, 5))
def test_read_assignments_fuzzed(content, num_nodes):
    with written(".json", content) as path:
        result = valid_or_input_error(lambda: read_assignments(path, num_nodes))
    if result is not None:
        check_assignments(result, num_nodes)


@pytest.mark.parametrize("change, match", [
    ({"nodes": [0, 1]}, "'nodes' must be a list of 3 values"),
    ({"nodes": [0, 1, 2, 3]}, "'nodes' must be a list of 3 values"),
    ({"confidence": [0.5]}, "'confidence' must be a list of 3 values"),
    ({"sequence": "ACDE"}, "'nodes' must be a list of 4 values"),
    ({"nodes": [0, 1, 9]}, r"nodes\[2\] = 9 is not null or a node index >= 0 below 5"),
])
def test_assignment_lengths_must_match_the_sequence(tmp_path, change, match):
    chain = {"id": "A", "sequence": "ACD", "nodes": [0, None, 2],
             "confidence": [0.9, 0.0, 0.5], **change}
    path = tmp_path / "a.json"
    path.write_text(json.dumps({"model": "m", "chains": [chain]}))
    with pytest.raises(InputError, match=match) as info:
        read_assignments(path, num_nodes=5)
    assert "\n" not in str(info.value)


# --------------------------------------------------------------------------
# The CLI.

runner = CliRunner()


def _predict(path: Path, out_dir: Path, sequence: str = "AC"):
    out, assignments = out_dir / "m.pdb", out_dir / "a.json"
    result = runner.invoke(app, ["predict", str(path), "--sequence", sequence,
                                 "--out", str(out), "-a", str(assignments),
                                 "--decoder", "hmm"])
    return result, out, assignments


def check_cli_result(result, out: Path, assignments: Path):
    stderr = result.stderr
    assert "Traceback" not in result.output, result.output
    assert result.exit_code in (0, 2), (result.exit_code, result.output,
                                        repr(result.exception))
    errors = [l for l in stderr.splitlines() if l.startswith("error:")]
    if result.exit_code == 0:
        assert not errors, stderr
        assert out.is_file() and assignments.is_file()
        check_assignments(json.loads(assignments.read_text()), None)
    else:
        assert len(errors) == 1, stderr
        assert not out.exists() and not assignments.exists()
    leftovers = [p.name for p in out.parent.iterdir() if p.name.startswith(".")]
    assert not leftovers, leftovers  # no temporary files of atomic writes


@settings(FUZZ, max_examples=_EXTRA or 80)
@given(case=ANY_CANDIDATE_FILE)
def test_predict_cli_fuzzed(case):
    suffix, content = case
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "in" / f"fuzz{suffix}"
        path.parent.mkdir()
        path.write_bytes(content)
        out_dir = Path(d) / "out"
        out_dir.mkdir()
        with time_limit(60):
            result, out, assignments = _predict(path, out_dir)
        check_cli_result(result, out, assignments)


@pytest.mark.parametrize("suffix", CANDIDATE_SUFFIXES)
def test_predict_cli_valid_seed(suffix, tmp_path):
    path = tmp_path / f"c{suffix}"
    path.write_bytes(SEEDS[suffix][0])
    (tmp_path / "out").mkdir()
    result, out, assignments = _predict(path, tmp_path / "out")
    assert result.exit_code == 0, result.output
    check_cli_result(result, out, assignments)


@FUZZ
@given(sequence=st.text(min_size=1, max_size=30).filter(
    lambda s: not s.startswith("-") and "\x00" not in s))
def test_predict_cli_fuzzed_sequence(sequence):
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "c.json"
        path.write_bytes(SEEDS[".json"][0])
        out_dir = Path(d) / "out"
        out_dir.mkdir()
        result, out, assignments = _predict(path, out_dir, sequence)
        check_cli_result(result, out, assignments)
