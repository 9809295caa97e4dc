"""evaluate / ensemble / prediction files on a tiny synthetic store (two chromosomes, 58 bins)."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from fnstore.cli import main
from fnstore.errors import InputError
from fnstore.evaluate.score import evaluate, format_table, plot_curves
from fnstore.io.predictions import (
    read_predictions,
    read_regions,
    write_predictions,
    write_predictions_zarr,
    write_regions,
)
from fnstore.predict.ensemble import ensemble, scaled_ranks
from fnstore.store.labels import AMBIGUOUS, BOUND, MISSING, UNBOUND
from fnstore.store.layout import Layout
from fnstore.store.read import Store, open_store
from fnstore.store.write import create_store, mark_complete

sklearn_metrics = pytest.importorskip("sklearn.metrics")

LAYOUT = Layout(
    chroms=["chr1", "chr2"],
    lengths=[2000, 1200],
    bin_size=200,
    stride=50,
    cells=["K562", "GM12878"],
    tracks=["DNase"],
    tasks=[("CTCF", "K562"), ("CTCF", "GM12878")],
    annotations=[],
    meta_features=[],
    position_chunk=1024,
    bin_chunk=16,
)
N_BINS = 37 + 21  # (2000 - 200) / 50 + 1 and (1200 - 200) / 50 + 1


def base_labels() -> tuple[np.ndarray, np.ndarray]:
    """Task 0 (CTCF/K562): a mix of U/B/A and a few unlabelled bins; task 1 all unbound."""
    rng = np.random.default_rng(0)
    labels = np.zeros((N_BINS, 2), dtype=np.int8)
    labels[:, 0] = rng.choice([UNBOUND, BOUND], size=N_BINS, p=[0.7, 0.3])
    labels[[3, 4, 40], 0] = AMBIGUOUS
    labels[[10, 50], 0] = MISSING
    labels[[0, 1], 0] = [UNBOUND, BOUND]
    blacklist = np.zeros(N_BINS, dtype=bool)
    blacklist[[20, 21, 45]] = True
    return labels, blacklist


def make_store(path: Path, labels: np.ndarray, blacklist: np.ndarray) -> Store:
    root = create_store(path, LAYOUT, {})
    assert root["labels"].shape == (N_BINS, 2)
    root["labels"][:] = labels
    root["blacklist"][:] = blacklist
    mark_complete(root)
    return open_store(path)


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return make_store(tmp_path / "s.zarr", *base_labels())


def scores_for(labels: np.ndarray, seed: int = 1) -> np.ndarray:
    """Informative, rounded (so tied) scores for every bin."""
    rng = np.random.default_rng(seed)
    return np.round(rng.random(N_BINS) * 0.7 + 0.3 * (labels == BOUND), 2).astype(np.float32)


@pytest.fixture
def pred(tmp_path: Path, store: Store) -> Path:
    labels, _ = base_labels()
    path = tmp_path / "F.CTCF.K562.tab.gz"
    write_predictions(path, store, np.arange(N_BINS), scores_for(labels[:, 0]))
    return path


# --------------------------------------------------------------------------- prediction files


def test_tab_file_is_the_challenge_format(pred: Path) -> None:
    lines = gzip.open(pred, "rt").read().splitlines()
    assert len(lines) == N_BINS
    assert lines[0].split("\t")[:3] == ["chr1", "0", "200"]
    assert lines[37].split("\t")[:3] == ["chr2", "0", "200"]
    assert lines[-1].split("\t")[:3] == ["chr2", "1000", "1200"]


@pytest.mark.parametrize("name", ["p.tab.gz", "p.tsv", "p.bedGraph", "p.bedgraph.gz", "p.zarr"])
def test_round_trip_every_format(tmp_path: Path, store: Store, name: str) -> None:
    rng = np.random.default_rng(2)
    bins = rng.permutation(N_BINS)[:30]
    scores = rng.random(30).astype(np.float32)
    write_predictions(tmp_path / name, store, bins, scores, tf="CTCF", cell="K562")
    got_bins, got_scores = read_predictions(tmp_path / name, store)
    np.testing.assert_array_equal(got_bins, bins)
    np.testing.assert_array_equal(got_scores, scores)


def test_bedgraph_rows_do_not_overlap_and_whole_bins_are_accepted(
    tmp_path: Path, store: Store
) -> None:
    write_predictions(tmp_path / "p.bedGraph", store, np.arange(3), np.array([0.1, 0.2, 0.3]))
    rows = [line.split("\t") for line in (tmp_path / "p.bedGraph").read_text().splitlines()]
    assert [r[:3] for r in rows] == [
        ["chr1", "75", "125"],
        ["chr1", "125", "175"],
        ["chr1", "175", "225"],
    ]
    (tmp_path / "q.bedGraph").write_text(
        "track type=bedGraph\nchr1\t0\t200\t0.5\nchr1\t50\t250\t1e-3\n"
    )
    bins, scores = read_predictions(tmp_path / "q.bedGraph", store)
    assert bins.tolist() == [0, 1] and scores.tolist() == pytest.approx([0.5, 1e-3])


def test_header_line_is_skipped(tmp_path: Path, store: Store) -> None:
    path = tmp_path / "h.tsv"
    path.write_text("chr\tstart\tstop\tscore\nchr2\t50\t250\t0.25\n")
    bins, _ = read_predictions(path, store)
    assert bins.tolist() == [38]


@pytest.mark.parametrize(
    ("body", "match"),
    [
        (
            "chr1\t0\t200\t0.5\nchr1\t25\t225\t0.1\n",
            r"line 2 \(chr1:25-225\): not on the store's bin grid",
        ),
        ("chr1\t0\t200\t0.5\nchr1\t50\t300\t0.1\n", r"line 2 .*region is 250 bp"),
        (
            "chr1\t0\t200\t0.5\nchrX\t0\t200\t0.1\n",
            r"line 2 .*chromosome 'chrX' is not in the store",
        ),
        (
            "chr1\t0\t200\t0.5\nchr1\t1800\t2000\t0.1\nchr1\t1850\t2050\t0.1\n",
            r"line 3 .*past the end",
        ),
        ("chr1\t0\t200\t0.5\nchr1\t50\t250\tnan\n", r"line 2 .*not a finite number"),
        ("chr1\t0\t200\t0.5\nchr1\t50\t250\tabc\n", r"line 2: score 'abc' is not a number"),
        ("chr1\t0\t200\t0.5\nchr1\t50\t250\n", r"line 2: expected 4 tab-separated columns"),
        (
            "chr1\t0\t200\t0.5\nchr1\t50\t250\t0.2\nchr1\t0\t200\t0.3\n",
            r"line 3 .*same bin as line 1",
        ),
        ("", r"no prediction rows"),
    ],
)
def test_bad_prediction_files_name_file_and_line(
    tmp_path: Path, store: Store, body: str, match: str
) -> None:
    path = tmp_path / "bad.tab.gz"
    with gzip.open(path, "wt") as fh:
        fh.write(body)
    with pytest.raises(InputError, match=match) as info:
        read_predictions(path, store)
    assert str(info.value).startswith(str(path))


def test_zarr_predictions_for_another_grid_are_refused(tmp_path: Path, store: Store) -> None:
    write_predictions_zarr(
        tmp_path / "p.zarr",
        np.arange(3),
        np.ones(3),
        {"store_id": "elsewhere", "tf": "CTCF", "cell": "K562", "chroms": ["chr9"]},
    )
    with pytest.raises(InputError, match="another store"):
        read_predictions(tmp_path / "p.zarr", store)
    with pytest.raises(InputError, match="give it with --store"):
        read_predictions(store.path, store)


# --------------------------------------------------------------------------- evaluate


def expected_subset(labels: np.ndarray, blacklist: np.ndarray) -> np.ndarray:
    return ((labels == UNBOUND) | (labels == BOUND)) & ~blacklist


def test_evaluate_matches_sklearn_on_the_scored_subset(store: Store, pred: Path) -> None:
    labels, blacklist = base_labels()
    (res,) = evaluate([pred], store, "CTCF", "K562")
    use = expected_subset(labels[:, 0], blacklist)
    y = labels[use, 0] == BOUND
    s = scores_for(labels[:, 0])[use]
    assert (
        res["n"] == int(use.sum()) == N_BINS - 3 - 3 - 2
    )  # 3 blacklisted, 3 ambiguous, 2 unlabelled
    assert res["n_positive"] == int(y.sum())
    assert res["excluded"] == {"blacklisted": 3, "ambiguous": 3, "unlabelled": 2}
    assert res["n_rows"] == N_BINS and res["n_unpredicted"] == 0
    assert res["auroc"] == pytest.approx(sklearn_metrics.roc_auc_score(y, s))
    assert res["average_precision"] == pytest.approx(sklearn_metrics.average_precision_score(y, s))


def test_ambiguous_and_blacklisted_bins_change_counts(
    tmp_path: Path, store: Store, pred: Path
) -> None:
    (before,) = evaluate([pred], store, "CTCF", "K562")
    labels, blacklist = base_labels()
    bound = np.flatnonzero((labels[:, 0] == BOUND) & ~blacklist)
    unbound = np.flatnonzero((labels[:, 0] == UNBOUND) & ~blacklist)
    blacklist[bound[0]] = True  # one bound bin blacklisted
    labels[unbound[:2], 0] = AMBIGUOUS  # two unbound bins now ambiguous
    labels[3, 0] = BOUND  # an ambiguous bin becomes bound (and counts again)
    other = make_store(tmp_path / "other.zarr", labels, blacklist)
    (after,) = evaluate([pred], other, "CTCF", "K562")
    assert after["n_positive"] == before["n_positive"] - 1 + 1
    assert after["n_negative"] == before["n_negative"] - 2
    assert after["n"] == before["n"] - 2
    assert after["excluded"] == {"blacklisted": 4, "ambiguous": 4, "unlabelled": 2}


def test_missing_predictions_fail_unless_partial(tmp_path: Path, store: Store) -> None:
    labels, blacklist = base_labels()
    chr1 = np.arange(37)
    path = tmp_path / "chr1.tab.gz"
    write_predictions(path, store, chr1, scores_for(labels[:, 0])[chr1])
    with pytest.raises(
        InputError, match=r"have no prediction \(first: chr2:0-200\).*--allow-partial"
    ):
        evaluate([path], store, "CTCF", "K562")
    (res,) = evaluate([path], store, "CTCF", "K562", allow_partial=True)
    use = expected_subset(labels[:, 0], blacklist)
    assert res["n"] == int(use[:37].sum())
    assert res["n_unpredicted"] == int(use[37:].sum())


def test_unknown_task_and_all_negative_task(store: Store, pred: Path) -> None:
    from fnstore.errors import StoreError

    with pytest.raises(StoreError, match="no labels for CTCF in cell 'HepG2'"):
        evaluate([pred], store, "CTCF", "HepG2")
    with pytest.raises(
        InputError, match=r"F.CTCF.K562.tab.gz: cannot score against CTCF.GM12878.*no bound bins"
    ):
        evaluate([pred], store, "CTCF", "GM12878")


def test_table_and_plots(tmp_path: Path, store: Store, pred: Path) -> None:
    results = evaluate([pred, pred], store, "CTCF", "K562", curves=True)
    table = format_table(results)
    lines = table.splitlines()
    header = next(line for line in lines if line.startswith("prediction"))
    assert "auROC" in header and "R@10%FDR" in header
    rows = [line for line in lines if line.startswith(str(pred)[:10]) or "F.CTCF" in line]
    assert len(rows) == 2 and len({len(r) for r in rows}) == 1  # aligned
    pngs = plot_curves(results, tmp_path / "plots" / "ctcf")
    assert [p.name for p in pngs] == ["ctcf.roc.png", "ctcf.pr.png"]
    for png in pngs:
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# --------------------------------------------------------------------------- CLI


def test_cli_evaluate_table_json_and_plots(tmp_path: Path, store: Store, pred: Path) -> None:
    runner = CliRunner()
    res = runner.invoke(main, ["evaluate", str(pred), store.path, "--tf", "CTCF", "--cell", "K562"])
    assert res.exit_code == 0, res.output
    assert "auPRC" in res.output and "F.CTCF.K562.tab.gz" in res.output

    prefix = tmp_path / "out" / "cmp"
    res = runner.invoke(
        main,
        [
            "evaluate",
            str(pred),
            str(pred),
            "--store",
            store.path,
            "--tf",
            "CTCF",
            "--cell",
            "K562",
            "--json",
            "--fdr",
            "0.1,0.5",
            "--plots",
            str(prefix),
        ],
    )
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert len(data) == 2 and "curves" not in data[0]
    assert set(data[0]) >= {"auroc", "auprc", "recall_at_10_fdr", "recall_at_50_fdr", "excluded"}
    assert "recall_at_5_fdr" not in data[0]
    assert (tmp_path / "out" / "cmp.roc.png").stat().st_size > 1000
    assert (tmp_path / "out" / "cmp.pr.png").stat().st_size > 1000


def test_cli_evaluate_report(tmp_path: Path, store: Store, pred: Path) -> None:
    import csv

    rep = tmp_path / "rep"
    args = [
        "evaluate",
        str(pred),
        store.path,
        "--tf",
        "CTCF",
        "--cell",
        "K562",
        "--report",
        str(rep),
    ]
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 0, res.output
    text = (rep / "report.md").read_text()
    assert "# CTCF in K562" in text and "| F.CTCF.K562.tab.gz |" in text and "](roc.png)" in text
    [row] = list(csv.DictReader((rep / "metrics.csv").open()))
    (direct,) = evaluate([pred], store, "CTCF", "K562")
    assert float(row["auprc"]) == pytest.approx(direct["auprc"], abs=1e-12)
    curves = list(csv.DictReader((rep / "curves.csv").open()))
    assert {r["curve"] for r in curves} == {"roc", "pr"} and len(curves) > 10
    assert (rep / "roc.png").read_bytes()[:4] == b"\x89PNG" and (rep / "pr.png").exists()


def test_cli_evaluate_errors_are_one_line(tmp_path: Path, store: Store, pred: Path) -> None:
    runner = CliRunner()
    res = runner.invoke(main, ["evaluate", str(pred), "--tf", "CTCF", "--cell", "K562"])
    assert res.exit_code == 2 and "--store" in res.output
    res = runner.invoke(
        main, ["evaluate", str(pred), store.path, "--tf", "CTCF", "--cell", "K562", "--fdr", "10"]
    )
    assert res.exit_code == 2
    res = runner.invoke(
        main,
        ["evaluate", str(tmp_path / "nope.tab.gz"), store.path, "--tf", "CTCF", "--cell", "K562"],
    )
    assert res.exit_code == 1
    assert res.output.strip().splitlines() == [
        f"Error: {tmp_path / 'nope.tab.gz'}: no such prediction file"
    ]


# --------------------------------------------------------------------------- ensemble


def write_hand_file(path: Path, scores: list[float]) -> None:
    write_regions(
        path,
        ["chr1", "chr2"],
        np.array([0, 0, 1, 1]),
        np.array([0, 50, 0, 50]),
        np.array([200, 250, 200, 250]),
        np.array(scores),
    )


def test_scaled_ranks_average_ties() -> None:
    assert scaled_ranks(np.array([0.1, 0.5, 0.5, 0.9])).tolist() == [0.0, 0.5, 0.5, 1.0]
    assert scaled_ranks(np.array([3.0])).tolist() == [0.5]
    from scipy.stats import rankdata

    x = np.round(np.random.default_rng(0).random(500), 2)
    np.testing.assert_allclose(scaled_ranks(x), (rankdata(x) - 1) / 499)


def test_ensemble_rank_and_mean_by_hand(tmp_path: Path) -> None:
    write_hand_file(tmp_path / "a.tab.gz", [0.1, 0.5, 0.5, 0.9])  # ranks 0, .5, .5, 1
    write_hand_file(tmp_path / "b.tab.gz", [3.0, 1.0, 2.0, 2.0])  # ranks 1, 0, .5, .5
    ensemble(tmp_path / "r.tab.gz", [tmp_path / "a.tab.gz", tmp_path / "b.tab.gz"])
    out = read_regions(tmp_path / "r.tab.gz")
    assert out.scores.tolist() == [0.5, 0.25, 0.5, 0.75]
    assert out.starts.tolist() == [0, 50, 0, 50] and out.chrom_names == ["chr1", "chr2"]
    ensemble(tmp_path / "m.bedGraph", [tmp_path / "a.tab.gz", tmp_path / "b.tab.gz"], method="mean")
    assert read_regions(tmp_path / "m.bedGraph").scores.tolist() == pytest.approx(
        [1.55, 0.75, 1.25, 1.45]
    )


def test_ensemble_refuses_different_regions(tmp_path: Path) -> None:
    write_hand_file(tmp_path / "a.tab.gz", [0.1, 0.5, 0.5, 0.9])
    write_regions(
        tmp_path / "b.tab.gz",
        ["chr1", "chr2"],
        np.array([0, 0, 1, 1]),
        np.array([0, 50, 50, 0]),
        np.array([200, 250, 250, 200]),
        np.ones(4),
    )
    with pytest.raises(
        InputError, match=r"b.tab.gz: line 3 \(chr2:50-250\) differs from .*a.tab.gz line 3"
    ):
        ensemble(tmp_path / "r.tab.gz", [tmp_path / "a.tab.gz", tmp_path / "b.tab.gz"])
    write_regions(
        tmp_path / "c.tab.gz", ["chr1"], np.array([0]), np.array([0]), np.array([200]), np.ones(1)
    )
    with pytest.raises(InputError, match="1 rows but"):
        ensemble(tmp_path / "r.tab.gz", [tmp_path / "a.tab.gz", tmp_path / "c.tab.gz"])
    assert not (tmp_path / "r.tab.gz").exists()


def test_ensemble_zarr(tmp_path: Path, store: Store) -> None:
    bins = np.array([5, 1, 9])
    write_predictions(
        tmp_path / "a.zarr", store, bins, np.array([0.2, 0.1, 0.3]), tf="CTCF", cell="K562"
    )
    write_predictions(
        tmp_path / "b.zarr", store, bins, np.array([0.9, 0.8, 0.1]), tf="CTCF", cell="K562"
    )
    ensemble(tmp_path / "e.zarr", [tmp_path / "a.zarr", tmp_path / "b.zarr"])
    got_bins, got = read_predictions(tmp_path / "e.zarr", store)
    assert got_bins.tolist() == bins.tolist()
    assert got.tolist() == pytest.approx([0.75, 0.25, 0.5])


def test_cli_ensemble(tmp_path: Path) -> None:
    write_hand_file(tmp_path / "a.tab.gz", [0.1, 0.5, 0.5, 0.9])
    write_hand_file(tmp_path / "b.tab.gz", [3.0, 1.0, 2.0, 2.0])
    runner = CliRunner()
    args = [
        "ensemble",
        str(tmp_path / "r.tab.gz"),
        str(tmp_path / "a.tab.gz"),
        str(tmp_path / "b.tab.gz"),
    ]
    res = runner.invoke(main, args)
    assert res.exit_code == 0, res.output
    assert "rank average of 2 files, 4 rows" in res.output
    res = runner.invoke(main, args)  # OUT exists now
    assert res.exit_code == 1 and "--overwrite" in res.output
    res = runner.invoke(main, [*args, "--overwrite", "--method", "mean"])
    assert res.exit_code == 0, res.output
    # forgetting OUT must not clobber an input
    res = runner.invoke(main, ["ensemble", str(tmp_path / "a.tab.gz"), str(tmp_path / "b.tab.gz")])
    assert res.exit_code == 1
    assert read_regions(tmp_path / "a.tab.gz").scores.tolist() == pytest.approx(
        [0.1, 0.5, 0.5, 0.9]
    )


# --------------------------------------------------------------------------- real stores


@pytest.fixture(
    params=[
        pytest.param(("example_store", "YY1", "HepG2"), id="example"),
        pytest.param(("chr20_store", "EGR1", "GM12878"), id="chr20", marks=pytest.mark.shared_data),
    ]
)
def real_task(request) -> tuple[Store, str, str]:
    """A real store (the bundled example, or all of chr20) and a task with a relaxed peak set."""
    fixture, tf, cell = request.param
    return request.getfixturevalue(fixture), tf, cell


def test_evaluate_on_a_real_store(tmp_path: Path, real_task: tuple[Store, str, str]) -> None:
    """Every bin of a real store, real peaks (with a relaxed set, so ambiguous bins) and blacklist."""
    store, tf, cell = real_task
    task = store.task_index(tf, cell)
    labels = store.labels(tasks=[task])[:, 0]
    blacklist = store.blacklist()
    rng = np.random.default_rng(0)
    scores = (rng.random(labels.size) + 0.8 * (labels == BOUND)).astype(np.float32)
    path = tmp_path / f"F.{tf}.{cell}.tab.gz"
    write_predictions(path, store, np.arange(store.n_bins), scores)
    (res,) = evaluate([path], store, tf, cell)
    n_bound, n_unbound = int(np.sum(labels == BOUND)), int(np.sum(labels == UNBOUND))
    assert np.any(labels == AMBIGUOUS) and blacklist.any() and n_bound > 100
    assert res["n"] == n_bound + n_unbound - int(
        np.sum(blacklist & ((labels == BOUND) | (labels == UNBOUND)))
    )
    assert res["excluded"]["ambiguous"] == int(np.sum(~blacklist & (labels == AMBIGUOUS)))
    assert res["excluded"]["blacklisted"] == int(blacklist.sum())
    use = expected_subset(labels, blacklist)
    assert res["auroc"] == pytest.approx(
        sklearn_metrics.roc_auc_score(labels[use] == BOUND, scores[use])
    )


# --------------------------------------------------------------------------- result objects


def test_evaluate_result_is_a_sequence_with_to_dict(store: Store, pred: Path) -> None:
    from fnstore.evaluate.score import EvaluateResult, results_for_json

    result = evaluate([pred, pred], store, "CTCF", "K562", curves=True)
    assert isinstance(result, EvaluateResult)
    assert len(result) == 2 and result[0] is result.results[0] and list(result) == result.results
    d = result.to_dict()
    json.dumps(d)
    assert d["fdrs"] == [0.05, 0.1, 0.25, 0.5]
    assert d["results"] == results_for_json(result.results)
    assert all("curves" not in r for r in d["results"]) and "curves" in result[0]
    assert result.summary() == format_table(result.results)


def test_ensemble_result_to_dict_and_summary(tmp_path: Path) -> None:
    from fnstore.predict.ensemble_result import EnsembleResult

    write_hand_file(tmp_path / "a.tab.gz", [0.1, 0.5, 0.5, 0.9])
    write_hand_file(tmp_path / "b.tab.gz", [3.0, 1.0, 2.0, 2.0])
    inputs = [str(tmp_path / "a.tab.gz"), str(tmp_path / "b.tab.gz")]
    result = ensemble(tmp_path / "r.tab.gz", inputs, method="mean")
    assert isinstance(result, EnsembleResult)
    expected = {"out": str(tmp_path / "r.tab.gz"), "method": "mean", "inputs": inputs, "n_rows": 4}
    assert result.to_dict() == expected
    assert result["n_rows"] == 4 and result["out"] == expected["out"]  # the old dict's keys
    assert result.summary() == f"{tmp_path / 'r.tab.gz'}: mean average of 2 files, 4 rows"
