"""Tests of tf_structgen.data.simulate."""

import dataclasses
import decimal
import json
import pathlib

import numpy as np
import pytest
from scipy.spatial import cKDTree
from typer.testing import CliRunner

from tf_structgen.cli.main import app
from tf_structgen.common.errors import InputError
from tf_structgen.common.residue_constants import encode_sequence
from tf_structgen.data.simulate import (
    REALISM_PRESETS,
    Realism,
    Simulation,
    chain_from_record,
    simulate,
)

TEST_DATA = pathlib.Path(__file__).parent / "data"
DATA = TEST_DATA / "dev_chains_small.json"


@pytest.fixture(scope="module")
def chains():
    return [chain_from_record(r) for r in json.loads(DATA.read_text())]


def _true_nodes(sim: Simulation) -> np.ndarray:
    return np.concatenate([t[t >= 0] for t in sim.truth])


def test_chain_from_record_scatters_observed_residues():
    seq, ca = chain_from_record(
        {"seqres": "MKTAY", "label_seq": [2, 3, 5], "ca": [[0, 0, 0], [3.8, 0, 0],
                                                          [7.6, 0, 0]]})
    assert seq == "MKTAY"
    assert ca.shape == (5, 3)
    np.testing.assert_array_equal(np.isnan(ca[:, 0]), [1, 0, 0, 1, 0])
    np.testing.assert_array_equal(ca[4], [7.6, 0, 0])


def test_shapes_dtypes_and_probabilities(chains):
    sim = simulate(chains, REALISM_PRESETS["realistic"], np.random.default_rng(0))
    m = sim.num_nodes
    assert m == 500
    assert sim.xyz.shape == (m, 3) and sim.xyz.dtype == np.float32
    assert sim.aa_probs.shape == (m, 20) and sim.aa_probs.dtype == np.float32
    np.testing.assert_allclose(sim.aa_probs.sum(axis=1), 1.0, atol=1e-5)
    assert (sim.aa_probs >= 0).all()
    assert [len(t) for t in sim.truth] == [len(s) for s, _ in chains]
    assert all(t.dtype == np.int32 for t in sim.truth)
    nodes = _true_nodes(sim)
    assert len(np.unique(nodes)) == len(nodes)  # one node per residue


def test_truth_points_at_the_true_ca():
    seq, ca = "ACDEFGHIK", np.cumsum(np.full((9, 3), 2.2), axis=0)
    ca[4] = np.nan
    sim = simulate([(seq, ca)], Realism(num_decoys=20),
                   np.random.default_rng(1))
    truth = sim.truth[0]
    assert truth[4] == -1
    kept = truth >= 0
    np.testing.assert_allclose(sim.xyz[truth[kept]], ca[kept], atol=1e-5)
    # Clean scores: the argmax is the true residue.
    np.testing.assert_array_equal(sim.aa_probs[truth[kept]].argmax(axis=1),
                                  encode_sequence(seq)[kept])


def test_coordinate_noise_has_the_requested_sigma(chains):
    sim = simulate(chains, Realism(coord_noise=0.4, num_decoys=0),
                   np.random.default_rng(2))
    diffs = [sim.xyz[t[t >= 0]] - ca[t >= 0] for t, (_, ca) in
             zip(sim.truth, chains)]
    assert np.std(np.concatenate(diffs)) == pytest.approx(0.4, rel=0.1)


def test_missing_fraction_and_runs_are_honoured(chains):
    realism = Realism(missing_fraction=0.2, missing_run_fraction=1.0,
                      num_decoys=0)
    sim = simulate(chains, realism, np.random.default_rng(3))
    for truth, (_, ca) in zip(sim.truth, chains):
        observed = np.isfinite(ca).all(axis=1)
        expected_drop = round(0.2 * observed.sum())
        assert observed.sum() - (truth >= 0).sum() == expected_drop
        # All dropped residues come in runs of at least two, except a
        # remainder of at most one single.
        dropped = observed & (truth < 0)
        isolated = dropped & ~np.roll(dropped, 1) & ~np.roll(dropped, -1)
        assert isolated.sum() <= 1


@pytest.mark.parametrize("num_decoys, budget, expected", [
    (None, 500, 500), (None, 10, None), (37, 500, None)])
def test_decoy_counts(chains, num_decoys, budget, expected):
    realism = Realism(num_decoys=num_decoys, node_budget=budget)
    sim = simulate(chains, realism, np.random.default_rng(4))
    num_true = len(_true_nodes(sim))
    if expected is None:
        expected = num_true + (num_decoys or 0)
    assert sim.num_nodes == expected


def test_near_decoys_are_close_to_the_chain_but_not_too_close(chains):
    realism = Realism(num_decoys=150, near_decoy_fraction=1.0,
                      min_decoy_distance=1.0)
    sim = simulate(chains, realism, np.random.default_rng(5))
    is_true = np.zeros(sim.num_nodes, dtype=bool)
    is_true[_true_nodes(sim)] = True
    decoys = sim.xyz[~is_true]
    assert len(decoys) == 150
    all_ca = np.concatenate([ca[np.isfinite(ca).all(axis=1)] for _, ca in chains])
    nearest, _ = cKDTree(all_ca).query(decoys)
    # Rounding to 3 decimals may move a decoy by up to sqrt(3) * 0.0005 Å.
    assert (nearest <= 5.0 + 1e-3).all()
    # Nothing within the minimum distance of a true node or another decoy.
    others, _ = cKDTree(sim.xyz).query(decoys, k=2)
    assert (others[:, 1] >= 1.0 - 1e-4).all()


def test_uniform_decoys_fill_the_padded_box(chains):
    sim = simulate(chains[:1], Realism(num_decoys=300),
                   np.random.default_rng(6))
    ca = chains[0][1]
    ca = ca[np.isfinite(ca).all(axis=1)]
    assert (sim.xyz >= ca.min(axis=0) - 5.0 - 1e-4).all()
    assert (sim.xyz <= ca.max(axis=0) + 5.0 + 1e-4).all()


def test_determinism_under_seed(chains):
    realism = REALISM_PRESETS["hard"]
    a = simulate(chains, realism, np.random.default_rng(7))
    b = simulate(chains, realism, np.random.default_rng(7))
    c = simulate(chains, realism, np.random.default_rng(8))
    np.testing.assert_array_equal(a.xyz, b.xyz)
    np.testing.assert_array_equal(a.aa_probs, b.aa_probs)
    for ta, tb in zip(a.truth, b.truth):
        np.testing.assert_array_equal(ta, tb)
    assert not np.array_equal(a.xyz, c.xyz)


def test_top1_accuracy_and_decoy_scores_look_alike(chains):
    realism = Realism(top1_accuracy=0.7, num_decoys=2000)
    sim = simulate(chains * 4, realism, np.random.default_rng(9))
    seqs = [encode_sequence(s) for s, _ in chains * 4]
    hits = np.concatenate([sim.aa_probs[t[t >= 0]].argmax(axis=1) == s[t >= 0]
                           for t, s in zip(sim.truth, seqs)])
    known = np.concatenate([s[t >= 0] < 20 for t, s in zip(sim.truth, seqs)])
    assert hits[known].mean() == pytest.approx(0.7, abs=0.05)
    is_true = np.zeros(sim.num_nodes, dtype=bool)
    is_true[_true_nodes(sim)] = True
    peak = sim.aa_probs.max(axis=1)
    # A decoy's peak probability does not give it away.
    assert peak[~is_true].mean() == pytest.approx(peak[is_true].mean(), abs=0.05)


def test_paper_scores_and_one_hot_scores():
    seq, ca = "ACDEFGHIKLMNPQRSTVWY", np.cumsum(np.full((20, 3), 2.2), axis=0)
    paper = simulate([(seq, ca)], REALISM_PRESETS["paper"],
                     np.random.default_rng(10))
    probs = paper.aa_probs[paper.truth[0]]
    off = probs[~np.eye(20, dtype=bool)]
    assert probs.argmax(axis=1).tolist() == list(range(20))
    assert off.mean() == pytest.approx(0.01 * np.sqrt(2 / np.pi), rel=0.2)
    hard = simulate([(seq, ca)], Realism(soft_wrong=False, num_decoys=5),
                    np.random.default_rng(11))
    assert set(np.unique(hard.aa_probs).tolist()) == {0.0, 1.0}


def test_unknown_residues_get_near_uniform_scores():
    seq, ca = "AXXXXXXXXA", np.cumsum(np.full((10, 3), 2.2), axis=0)
    sim = simulate([(seq, ca)], Realism(num_decoys=0), np.random.default_rng(12))
    assert (sim.aa_probs[sim.truth[0][1:-1]].max(axis=1) < 0.2).all()


def test_presets():
    assert set(REALISM_PRESETS) == {"paper", "realistic", "hard", "clean"}
    assert REALISM_PRESETS["paper"].paper_scores
    realistic, hard = REALISM_PRESETS["realistic"], REALISM_PRESETS["hard"]
    assert (realistic.coord_noise, realistic.top1_accuracy,
            realistic.missing_fraction, realistic.near_decoy_fraction) == (
                0.25, 0.85, 0.03, 0.3)
    assert (hard.coord_noise, hard.top1_accuracy, hard.missing_fraction,
            hard.near_decoy_fraction) == (0.4, 0.75, 0.06, 0.6)
    clean = REALISM_PRESETS["clean"]
    assert clean.coord_noise == 0 and clean.num_decoys == 0
    with pytest.raises(dataclasses.FrozenInstanceError):
        clean.coord_noise = 1.0


def test_invalid_inputs():
    with pytest.raises(ValueError, match="top1_accuracy"):
        Realism(top1_accuracy=1.5)
    with pytest.raises(ValueError, match="num_decoys"):
        Realism(num_decoys=-1)
    with pytest.raises(InputError, match="chain 0: coordinates have shape"):
        simulate([("ACD", np.zeros((2, 3)))], Realism(),
                 np.random.default_rng(0))


@pytest.mark.parametrize("option, value, message", [
    ("--noise", "-1", "--noise must be a number >= 0, got -1"),
    ("--noise", "nan", "--noise must be a number >= 0, got nan"),
    ("--top1", "1.5", "--top1 must be within [0, 1], got 1.5"),
    ("--top1", "-0.1", "--top1 must be within [0, 1], got -0.1"),
    ("--missing", "2", "--missing must be within [0, 1], got 2"),
    ("--decoys", "-3", "--decoys must be a number >= 0, got -3"),
    ("--near-decoys", "1.5", "--near-decoys must be within [0, 1], got 1.5"),
    ("--node-budget", "-1", "--node-budget must be a number >= 0, got -1"),
])
def test_cli_bad_option_names_the_option(tmp_path, option, value, message):
    """tfsg simulate names the option the user typed, not the Realism field."""
    result = CliRunner().invoke(app, [
        "simulate", str(TEST_DATA / "1A8O.pdb.gz"), "--out",
        str(tmp_path / "c.json"), option, value])
    assert result.exit_code == 2, result.output
    errors = [l for l in result.output.splitlines() if l.startswith("error:")]
    assert errors == [f"error: {message}"], result.output
    assert "Realism" not in result.output and "_" not in errors[0]
    assert list(tmp_path.iterdir()) == []


def _decimals(text: str) -> int:
    """Digits after the decimal point of a number as written in a file."""
    exponent = decimal.Decimal(text).as_tuple().exponent
    return max(0, -exponent)


def _written_xyz(path: pathlib.Path) -> list[list[str]]:
    """The node coordinates of a candidate file, as the text written."""
    if path.suffix == ".json":
        doc = json.loads(path.read_text(), parse_float=str, parse_int=str)
        return doc["nodes"]["xyz"]
    lines = path.read_text().splitlines()
    header = lines[0].split(",")
    columns = [header.index(c) for c in ("x", "y", "z")]
    return [[row.split(",")[i] for i in columns] for row in lines[1:]]


def test_coordinates_are_rounded_to_three_decimals(chains):
    sim = simulate(chains, REALISM_PRESETS["hard"], np.random.default_rng(13))
    assert sim.xyz.dtype == np.float32
    np.testing.assert_allclose(sim.xyz, np.round(sim.xyz.astype(np.float64), 3),
                               atol=1e-5)


@pytest.mark.parametrize("suffix", [".json", ".csv"])
def test_written_true_nodes_and_decoys_share_one_precision(tmp_path, suffix):
    """A reader of raw coordinates cannot tell true nodes from decoys."""
    out, truth = tmp_path / f"cands{suffix}", tmp_path / "truth.json"
    result = CliRunner().invoke(app, [
        "simulate", str(TEST_DATA / "1A8O.pdb.gz"), "--out", str(out),
        "--truth", str(truth), "--realism", "paper", "--node-budget", "300",
        "--seed", "3"])
    assert result.exit_code == 0, result.output
    xyz = _written_xyz(out)
    assert len(xyz) == 300
    true_nodes = {v for chain in json.loads(truth.read_text())["chains"]
                  for v in chain["nodes"] if v is not None}
    assert 0 < len(true_nodes) < len(xyz)
    decimals = {kind: [max(_decimals(v) for v in row)
                       for i, row in enumerate(xyz) if (i in true_nodes) == is_true]
                for kind, is_true in (("true", True), ("decoy", False))}
    assert max(decimals["true"]) <= 3
    assert max(decimals["decoy"]) <= 3
    # Not only short by luck: decoys use the 3 decimals, as true nodes do.
    assert max(decimals["decoy"]) == 3 and max(decimals["true"]) == 3


def test_simulate_shuffles_the_nodes(chains):
    realism = REALISM_PRESETS["paper"]
    a = simulate(chains, realism, np.random.default_rng(14))
    b = simulate(chains, realism, np.random.default_rng(15))
    true_a = np.sort(_true_nodes(a))
    # True nodes are not a block at the start (nor at the end) ...
    assert not np.array_equal(true_a, np.arange(len(true_a)))
    assert not np.array_equal(true_a, np.arange(a.num_nodes - len(true_a),
                                                a.num_nodes))
    # ... nor in chain order within the set.
    first = a.truth[0][a.truth[0] >= 0]
    assert not (np.diff(first) > 0).all()
    # Another seed, another order (same true coordinates at paper realism).
    assert a.num_nodes == b.num_nodes
    for ta, tb in zip(a.truth, b.truth):
        assert not np.array_equal(ta, tb)
        np.testing.assert_array_equal(a.xyz[ta[ta >= 0]], b.xyz[tb[tb >= 0]])
