"""Honest validation: every countable bin of the validation regions, equal to what
``fnstore predict --regions`` + ``fnstore evaluate`` report for the same model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from planted import TINY

from fnstore.store.labels import AMBIGUOUS, BOUND, UNBOUND
from fnstore.store.regions import Region
from fnstore.training.honest import mean_metrics, region_bins, score_task

pytest.importorskip("keras")

QUICK = {
    "hyperparameters": TINY,
    "epochs": 2,
    "patience": 2,
    "batch_size": 32,
    "learning_rate": 0.01,
    "seed": 3,
    "max_shift": 20,
    "annotations": False,
    "metadata": False,
    "verbose": 0,
}


#: a one-epoch YY1 model of the example on GM12878 (honest validation is what is tested)
TINY_YY1 = {
    "hyperparameters": {"window": 400, "lstm_units": 0},
    "epochs": 1,
    "steps_per_epoch": 1,
    "valid_steps": 1,
    "verbose": 0,
}


def _train_yy1(store: Path, out: Path, **options):
    import fnstore

    return fnstore.train(store, out, "YY1", ["GM12878"], **{**TINY_YY1, **options})


def test_region_bins_are_the_bins_wholly_inside(example_store) -> None:
    st = example_store
    chrom = st.chroms[0]
    region = Region(chrom, 1_030, 5_175)
    lo, hi = st.bin_range(chrom)
    brute = [
        lo + i
        for i in range(hi - lo)
        if i * st.stride >= region.start and i * st.stride + st.bin_size <= region.end
    ]
    assert region_bins(st, [region, region]).tolist() == brute
    assert region_bins(st, []).size == 0


def test_score_task_excludes_ambiguous_and_blacklisted() -> None:
    labels = np.array([BOUND, UNBOUND, AMBIGUOUS, BOUND, UNBOUND, -1], dtype=np.int8)
    black = np.array([False, False, False, True, False, False])
    scores = np.array([0.9, 0.1, 0.0, 0.0, 0.95, 0.5], dtype=np.float32)
    row = score_task(labels, black, scores, [0.1])
    assert (row["n"], row["n_positive"], row["n_negative"]) == (3, 1, 2)
    assert row["auroc"] == pytest.approx(0.5)
    one_class = score_task(np.array([UNBOUND] * 3, np.int8), np.zeros(3, bool), scores[:3], [0.1])
    assert "auprc" not in one_class and one_class["note"]
    means = mean_metrics([row, one_class, {"auprc": 0.25, "auroc": 1.0}], [0.1])
    assert means["auprc"] == pytest.approx((row["auprc"] + 0.25) / 2)


def test_train_scores_every_validation_bin_like_predict_and_evaluate(
    planted_store: Path, tmp_path: Path
) -> None:
    import fnstore
    from fnstore.evaluate import evaluate
    from fnstore.model.card import read_card
    from fnstore.predict import predict

    # barely trained: scores far from perfect, so the comparison below means something
    weak = {**QUICK, "epochs": 1, "steps_per_epoch": 2, "valid_steps": 2, "learning_rate": 1e-4}
    result = fnstore.train(planted_store, tmp_path / "m", "PLANT", ["C1"], **weak)
    honest = result.honest
    assert honest is not None and read_card(tmp_path / "m")["honest_validation"] == honest
    [row] = honest["results"]
    assert (row["tf"], row["cell"], row["role"]) == ("PLANT", "C1", "train-cell")
    # far more bins than the balanced sample: the true distribution, mostly unbound
    assert row["n"] > 2 * result.validation["n_examples"] and row["n_negative"] > row["n_positive"]
    assert 0.05 < row["auprc"] < 0.95
    assert "honest auROC" in result.summary() and "balanced validation" in result.summary()

    st = fnstore.open_store(planted_store)
    chrom, span = honest["regions"][0].split(":")
    start, end = (int(x) for x in span.split("-"))
    bins = region_bins(st, [Region(chrom, start, end)])
    assert bins.size == honest["n_bins"]
    _, starts = st.bin_coords(bins)
    bed = tmp_path / "valid_bins.bed"
    bed.write_text("".join(f"{chrom}\t{s}\t{s + st.bin_size}\n" for s in starts.tolist()))
    predict(tmp_path / "m", planted_store, tmp_path / "pred", "C1", regions=bed, progress=False)
    [zarr_path] = sorted((tmp_path / "pred").glob("*.zarr"))
    [scored] = evaluate([zarr_path], st, "PLANT", "C1", allow_partial=True)
    for key in ("n", "n_positive", "auroc", "auprc", "recall_at_10_fdr", "recall_at_50_fdr"):
        assert scored[key] == pytest.approx(row[key], abs=1e-6), key


def test_no_honest_skips_it(planted_store: Path, tmp_path: Path) -> None:
    import fnstore
    from fnstore.model.card import read_card

    options = {**QUICK, "epochs": 1, "steps_per_epoch": 2, "valid_steps": 1}
    result = fnstore.train(planted_store, tmp_path / "m", "PLANT", ["C1"], honest=False, **options)
    assert result.honest is None and read_card(tmp_path / "m")["honest_validation"] is None


def test_held_out_cell_is_scored_the_same_way(example_store_path: Path, tmp_path: Path) -> None:
    result = _train_yy1(
        example_store_path, tmp_path / "m", valid_cell="H1-hESC", tracks=[], steps_per_epoch=2
    )
    rows = {(r["cell"], r["role"]): r for r in result.honest["results"]}
    # HepG2 has YY1 labels too: scored as a cell the model never saw
    expected = {("GM12878", "train-cell"), ("H1-hESC", "valid-cell"), ("HepG2", "unseen-cell")}
    assert set(rows) == expected and result.honest["skipped"] == {}
    assert all(r["n_positive"] > 0 and "auprc" in r for r in rows.values())
    assert result.honest["mean"]["auprc"] == pytest.approx(
        np.mean([r["auprc"] for r in rows.values()])
    )
    assert "HepG2 (unseen-cell)" in result.summary()


def test_unseen_cells_without_the_models_tracks_are_skipped_with_the_reason(
    example_store_path: Path, tmp_path: Path
) -> None:
    import fnstore
    from fnstore.training.honest import unseen_cells

    st = fnstore.open_store(example_store_path)
    assert unseen_cells(st, ["YY1"], ["GM12878"]) == ["H1-hESC", "HepG2"]
    assert unseen_cells(st, ["YY1"], ["GM12878"], limit=1) == ["H1-hESC"]
    assert unseen_cells(st, ["YY1"], st.cells) == []
    # only GM12878 has ATAC: a model reading it cannot be scored in the other cells
    result = _train_yy1(example_store_path, tmp_path / "m", tracks=["ATAC"])
    assert [r["cell"] for r in result.honest["results"]] == ["GM12878"]
    assert set(result.honest["skipped"]) == {"HepG2", "H1-hESC"}
    assert all("ATAC" in why for why in result.honest["skipped"].values())
    assert "not scored, lacking an input the model reads: H1-hESC, HepG2" in result.summary()


def test_baseline_warnings_name_tfs_that_do_not_clearly_beat_their_motif() -> None:
    from fnstore.training.honest import CLEAR_DIFFERENCE, CLEAR_MARGIN, baseline_warnings

    def row(tf: str, auprc: float, motif: float) -> dict:
        base = {"motif": "MA1", "auprc": motif}
        return {"tf": tf, "role": "valid-cell", "auprc": auprc, "motif_baseline": base}

    lines = baseline_warnings([row("A", 0.2, 0.3), row("A", 0.6, 0.2), row("B", 0.1, 0.5)])
    assert len(lines) == 1 and lines[0].startswith("B: ") and "MA1" in lines[0]
    assert baseline_warnings([{"tf": "C", "auprc": 0.1}]) == []
    # better than the scan, but not by the margin: a training-cell figure overstates a model
    assert CLEAR_MARGIN > 1
    barely = 0.2 * (1 + CLEAR_MARGIN) / 2
    [line] = baseline_warnings([row("D", barely, 0.2)])
    assert line.startswith("D: ") and "not clearly better" in line
    assert baseline_warnings([row("D", barely, 0.2)], margin=1.0) == []
    assert baseline_warnings([row("D", 0.2 * CLEAR_MARGIN, 0.2)]) == []
    # a weak scan: 1.25x of 0.006 is still within noise of it
    assert baseline_warnings([row("J", 0.006 * CLEAR_MARGIN, 0.006)])
    assert baseline_warnings([row("J", 0.006 + CLEAR_DIFFERENCE, 0.006)]) == []


def test_a_held_out_cell_alone_decides_the_warning() -> None:
    from fnstore.training.honest import (
        CLEAR_MARGIN,
        TRAINING_CELLS_MARGIN,
        baseline_warnings,
        required_margin,
    )

    def row(role: str, auprc: float, motif: float) -> dict:
        base = {"motif": "MA1", "auprc": motif}
        return {"tf": "R", "role": role, "auprc": auprc, "motif_baseline": base}

    # clears the scan in its training cells, ties it in the held-out cell
    rows = [
        row("train-cell", 0.16, 0.07),
        row("train-cell", 0.15, 0.07),
        row("valid-cell", 0.26, 0.25),
    ]
    [line] = baseline_warnings(rows)
    assert line.startswith("R: ") and "0.260" in line and "0.250" in line
    # without a held-out cell the training cells decide, by the higher bar: 2.2x is not enough
    assert 0.155 / 0.07 < TRAINING_CELLS_MARGIN
    [line] = baseline_warnings(rows[:2])
    assert "in its training cells" in line and f"needs {TRAINING_CELLS_MARGIN:g}x" in line
    assert "no labelled cell outside training" in line
    clear = [row("train-cell", 0.2, 0.07), row("train-cell", 0.19, 0.07)]
    assert baseline_warnings(clear) == []
    assert required_margin(clear) == TRAINING_CELLS_MARGIN
    assert required_margin(rows) == CLEAR_MARGIN < TRAINING_CELLS_MARGIN
    # a cell the store labels but training never used judges the same way
    unseen = [*rows[:2], {**row("unseen-cell", 0.26, 0.25), "cell": "MCF-7"}]
    [line] = baseline_warnings(unseen)
    assert "in MCF-7, never trained on" in line
    both = [*rows, {**row("unseen-cell", 0.40, 0.05), "cell": "MCF-7"}]
    # the new cells' means decide: (0.26 + 0.40) / 2 = 0.33 vs (0.25 + 0.05) / 2 = 0.15
    assert baseline_warnings(both) == []


def test_deciding_rows_prefer_cells_never_trained_on() -> None:
    from fnstore.training.honest import deciding_rows

    rows = [
        {"tf": "A", "role": "train-cell", "auprc": 0.5},
        {"tf": "A", "role": "unseen-cell", "auprc": 0.2},
        {"tf": "A", "role": "unseen-cell", "note": "one class"},
        {"tf": "B", "role": "train-cell", "auprc": 0.3},
    ]
    assert deciding_rows(rows, "A") == [rows[1]]
    assert deciding_rows(rows, "B") == [rows[3]]
    assert deciding_rows(rows, "C") == []


def test_a_tf_without_a_motif_is_reported_unchecked() -> None:
    from fnstore.training.honest import baseline_warnings

    rows = [{"tf": "E", "auprc": 0.3}, {"tf": "F", "auprc": 0.3}]
    [line] = baseline_warnings(rows, {"E": None})
    assert line.startswith("E: no motif for E") and "--motif-file" in line
    assert baseline_warnings(rows) == []


def test_motif_auto_initialises_and_the_card_carries_the_baseline(
    example_store_path: Path, tmp_path: Path
) -> None:
    from fnstore.model.card import read_card
    from fnstore.training.honest import TRAINING_CELLS_MARGIN, clearly_better

    result = _train_yy1(
        example_store_path, tmp_path / "m", motifs=["auto"], steps_per_epoch=2, unseen_cells=[]
    )
    card = read_card(tmp_path / "m")
    assert card["training"]["motifs"] == [
        card["honest_validation"]["motif_baseline"]["motifs"]["YY1"]
    ]
    [row] = result.honest["results"]
    assert 0 < row["motif_baseline"]["auprc"] <= 1
    # judged on its training cell alone: the higher bar
    need = TRAINING_CELLS_MARGIN
    warned = not clearly_better(row["auprc"], row["motif_baseline"]["auprc"], need)
    assert bool(result.honest["warnings"]) == warned
    assert ("Warning: YY1" in result.summary()) == warned


def test_kernels_start_from_the_motif_by_default(example_store_path: Path, tmp_path: Path) -> None:
    from fnstore.io.motif_db import find_tf_motif
    from fnstore.model.card import read_card

    _train_yy1(example_store_path, tmp_path / "a", honest=False)
    _train_yy1(example_store_path, tmp_path / "b", motifs=["none"], honest=False)
    assert read_card(tmp_path / "a")["training"]["motifs"] == [find_tf_motif("YY1").name]
    assert read_card(tmp_path / "b")["training"]["motifs"] == []


@pytest.mark.parametrize(
    ("chosen", "expected"),
    [(["HepG2"], ["GM12878", "HepG2"]), (["none"], ["GM12878"]), ((), ["GM12878"])],
)
def test_named_unseen_cells_replace_the_automatic_choice(
    example_store_path: Path, tmp_path: Path, chosen: list[str], expected: list[str]
) -> None:
    result = _train_yy1(example_store_path, tmp_path / "m", tracks=[], unseen_cells=chosen)
    assert [r["cell"] for r in result.honest["results"]] == expected


@pytest.mark.parametrize(
    ("chosen", "problem"),
    [(["K562"], "no labels for YY1 in cell 'K562'"), (["auto", "HepG2"], "cannot be combined")],
)
def test_a_bad_unseen_cell_fails_before_training(
    example_store_path: Path, tmp_path: Path, chosen: list[str], problem: str
) -> None:
    from fnstore.errors import InputError

    with pytest.raises(InputError, match=problem) as info:
        _train_yy1(example_store_path, tmp_path / "m", unseen_cells=chosen)
    assert "--unseen-cell" in str(info.value)
    assert not (tmp_path / "m").exists()


def test_auto_scores_at_most_max_unseen_cells(
    example_store_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fnstore.training import honest

    monkeypatch.setattr(honest, "MAX_UNSEEN_CELLS", 1)
    result = _train_yy1(example_store_path, tmp_path / "m", tracks=[])
    assert [(r["cell"], r["role"]) for r in result.honest["results"]] == [
        ("GM12878", "train-cell"),
        ("H1-hESC", "unseen-cell"),
    ]
