"""``fnstore predict``: fast == naive, the four outputs agree bin for bin, blacklist, resume,
region files, other stores and cells, and one-line errors."""

from __future__ import annotations

import copy
import gzip
import os
from pathlib import Path

import numpy as np
import pyBigWig
import pytest
from click.testing import CliRunner
from synthetic import write_bigwig, write_fasta, write_gz
from tiny_models import TINY

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
keras = pytest.importorskip("keras")

from fnstore.build import build_store  # noqa: E402
from fnstore.cli import main  # noqa: E402
from fnstore.errors import InputError  # noqa: E402
from fnstore.io.predictions import read_predictions  # noqa: E402
from fnstore.model.architecture import build_model  # noqa: E402
from fnstore.model.card import make_card  # noqa: E402
from fnstore.model.folder import save_model_dir  # noqa: E402
from fnstore.predict.run import predict  # noqa: E402
from fnstore.store.read import open_store  # noqa: E402

#: the toy genome: random ACGT with an N run at 3000-3500 inside each chromosome
LENGTHS = {"chrA": 24_000, "chrB": 9_000}
#: the toy signal: accessibility-like (gamma) values every 25 bp
BIGWIG = {"span": 25, "step": 25, "values": "gamma"}


# ----------------------------------------------------------------- fixtures


def toy_spec(d: Path, cells: tuple[str, ...] = ("X", "Y"), track: str = "DNase") -> dict:
    d.mkdir(parents=True, exist_ok=True)
    spec_cells = {}
    for i, cell in enumerate(cells):
        (d / f"{cell}.meta.txt").write_text(f"{0.5 - i}\tGEPC1\n{0.25 * i}\tGEPC2\n")
        spec_cells[cell] = {
            "tracks": {track: str(write_bigwig(d / f"{cell}.bw", LENGTHS, 10 + i, **BIGWIG))},
            "metadata": str(d / f"{cell}.meta.txt"),
        }
    return {
        "genome": {"fasta": str(write_fasta(d / "g.fa", LENGTHS, 1, n_run=(3000, 3500)))},
        "blacklist": [str(write_gz(d / "bl.bed.gz", "chrA\t9000\t10000\n"))],
        "cells": spec_cells,
        "annotations": {
            "cpg": str(write_gz(d / "cpg.bed.gz", "chrA\t900\t1300\nchrB\t100\t4000\n"))
        },
        "chunks": {"positions": 8192, "bins": 128},
    }


@pytest.fixture(scope="module")
def toy_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("toy")
    build_store(toy_spec(d / "in"), d / "toy.zarr")
    return d / "toy.zarr"


def save_tiny_model(
    path: Path,
    tracks=("DNase",),
    annotations=("cpg",),
    meta=("GEPC1", "GEPC2"),
    tfs=("CTCF", "REST"),
    seed: int = 0,
) -> Path:
    keras.utils.set_random_seed(seed)
    model = build_model(len(tracks), len(tfs), len(meta) + len(annotations), **TINY)
    card = make_card(
        tasks=[{"tf": t} for t in tfs],
        window=TINY["window"],
        tracks=list(tracks),
        annotations=list(annotations),
        meta_features=list(meta),
        hyperparameters=TINY,
    )
    return save_model_dir(path, model, card)


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_tiny_model(tmp_path_factory.mktemp("model") / "tiny")


@pytest.fixture(scope="module")
def toy_fast(toy_store: Path, tiny_model: Path, tmp_path_factory: pytest.TempPathFactory):
    """One fast prediction of every toy bin for cell Y (shared by read-only tests)."""
    out = tmp_path_factory.mktemp("pred") / "fast"
    return predict(tiny_model, toy_store, out, "Y", chunk_bins=200, progress=False)


def zarr_scores(path: Path, store) -> tuple[np.ndarray, np.ndarray]:
    return read_predictions(path, store)


# ----------------------------------------------------------------- exactness and outputs


def test_fast_equals_naive(toy_store, tiny_model, toy_fast, tmp_path):
    store = open_store(toy_store)
    naive = predict(
        tiny_model,
        store,
        tmp_path,
        "Y",
        method="naive",
        chunk_bins=200,
        batch_size=64,
        progress=False,
    )
    assert toy_fast.method == "fast" and naive.method == "naive"
    for tf in ("CTCF", "REST"):
        b1, s1 = zarr_scores(toy_fast.files[tf]["zarr"], store)
        b2, s2 = zarr_scores(naive.files[tf]["zarr"], store)
        assert np.array_equal(b1, b2) and b1.size == store.n_bins
        assert np.abs(s1 - s2).max() <= 1e-5
        assert np.unique(s1).size > store.n_bins // 2  # really per-bin scores


def test_outputs_agree_bin_for_bin(toy_store, toy_fast):
    store = open_store(toy_store)
    files = toy_fast.files["CTCF"]
    bins, scores = zarr_scores(files["zarr"], store)
    assert np.array_equal(bins, np.arange(store.n_bins))
    # the DREAM file, independently parsed: chrom start stop score, one 200 bp bin per row
    with gzip.open(files["table"], "rt") as fh:
        rows = [line.rstrip("\n").split("\t") for line in fh]
    assert all(len(r) == 4 and int(r[2]) - int(r[1]) == 200 for r in rows)
    table_bins = np.array([store.bin_index(c, int(s)) for c, s, _, _ in rows])
    assert np.array_equal(table_bins, bins)
    assert np.array_equal(np.array([np.float32(r[3]) for r in rows]), scores)
    # bigWig: each bin's score on its central 50 bp
    bw = pyBigWig.open(str(files["bigwig"]))
    got = {}
    for chrom in store.chroms:
        for s, e, v in bw.intervals(chrom):
            assert e - s == 50
            got[int(store.bin_index(chrom, s - 75))] = np.float32(v)
    bw.close()
    assert sorted(got) == list(bins)
    assert np.array_equal(np.array([got[b] for b in bins]), scores)
    # bedGraph, through the shared reader
    bg_bins, bg_scores = read_predictions(files["bedgraph"], store)
    assert np.array_equal(bg_bins, bins) and np.array_equal(bg_scores, scores)
    assert files["table"].name == "F.CTCF.Y.tab.gz"
    assert toy_fast.files["REST"]["table"].name == "F.REST.Y.tab.gz"


def test_blacklisted_bins_score_zero(toy_store, toy_fast):
    store = open_store(toy_store)
    bins, scores = zarr_scores(toy_fast.files["REST"]["zarr"], store)
    black = store.blacklist(bins)
    assert 15 < black.sum() < 50
    assert np.all(scores[black] == 0)
    assert np.all(scores[~black] > 0)


def test_chromosome_ends_are_padded(toy_store, toy_fast):
    """Bins at both ends of each chromosome get scores (windows padded with N/zeros)."""
    store = open_store(toy_store)
    bins, scores = zarr_scores(toy_fast.files["CTCF"]["zarr"], store)
    for chrom in store.chroms:
        lo, hi = store.bin_range(chrom)
        assert scores[lo] > 0 and scores[hi - 1] > 0


def write_regions(path: Path, rows: list[tuple[str, int]], size: int = 200) -> Path:
    return write_gz(path, "".join(f"{c}\t{s}\t{s + size}\n" for c, s in rows))


def test_regions_same_twice_and_match_chromosome_run(toy_store, tiny_model, toy_fast, tmp_path):
    store = open_store(toy_store)
    # unsorted, gappy, both chromosomes, including blacklisted bins (region order is kept)
    rows = [("chrB", s) for s in range(4000, 6000, 50)] + [
        ("chrA", s) for s in range(8000, 11000, 50)
    ]
    rows += [("chrA", 0), ("chrA", 23_800), ("chrB", 100)]
    regions = write_regions(tmp_path / "regions.bed.gz", rows)
    first = predict(
        tiny_model, store, tmp_path / "a", "Y", regions=regions, tfs=["CTCF"], progress=False
    )
    second = predict(
        tiny_model, store, tmp_path / "b", "Y", regions=regions, tfs=["CTCF"], progress=False
    )
    assert list(first.files) == ["CTCF"]
    b1, s1 = zarr_scores(first.files["CTCF"]["zarr"], store)
    b2, s2 = zarr_scores(second.files["CTCF"]["zarr"], store)
    want = np.array([store.bin_index(c, s) for c, s in rows])
    assert np.array_equal(b1, want) and np.array_equal(b2, want)
    assert np.array_equal(s1, s2)
    assert first.files["CTCF"]["table"].read_bytes() == second.files["CTCF"]["table"].read_bytes()
    # same scores as when the whole chromosomes were predicted
    all_bins, all_scores = zarr_scores(toy_fast.files["CTCF"]["zarr"], store)
    assert np.abs(s1 - all_scores[want]).max() <= 1e-6
    # the DREAM file keeps region order; bigWig/bedGraph are in genome order
    with gzip.open(first.files["CTCF"]["table"], "rt") as fh:
        assert [(r.split("\t")[0], int(r.split("\t")[1])) for r in fh] == rows
    bg_bins, bg_scores = read_predictions(first.files["CTCF"]["bedgraph"], store)
    order = np.argsort(want)
    assert np.array_equal(bg_bins, want[order]) and np.array_equal(bg_scores, s1[order])


def test_ladder_style_file_with_header(toy_store, tiny_model, tmp_path):
    text = "track name=ladder\nchrA\t600\t800\textra\nchrA\t650\t850\textra\n"
    path = tmp_path / "ladder.bed"
    path.write_text(text)
    res = predict(
        tiny_model, toy_store, tmp_path / "o", "X", regions=path, tfs=["REST"], progress=False
    )
    assert res.n_rows == 2


# ----------------------------------------------------------------- resume


def test_resume_after_interruption_is_identical(toy_store, tiny_model, toy_fast, tmp_path):
    out = tmp_path / "run"
    calls = []

    def stop(i: int) -> None:
        calls.append(i)
        if len(calls) == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        predict(tiny_model, toy_store, out, "Y", chunk_bins=200, progress=False, on_chunk=stop)
    assert not (out / "F.CTCF.Y.tab.gz").exists()  # text files only once everything is done
    with pytest.raises(InputError, match="--resume"):
        predict(tiny_model, toy_store, out, "Y", chunk_bins=200, progress=False)
    with pytest.raises(InputError, match="chunk_bins"):
        predict(tiny_model, toy_store, out, "Y", chunk_bins=100, progress=False, resume=True)
    res = predict(tiny_model, toy_store, out, "Y", chunk_bins=200, progress=False, resume=True)
    assert res.chunks_computed == res.chunks_total - 2
    for tf in ("CTCF", "REST"):
        for kind in ("table", "bedgraph"):
            assert gzip.decompress(res.files[tf][kind].read_bytes()) == gzip.decompress(
                toy_fast.files[tf][kind].read_bytes()
            )
        store = open_store(toy_store)
        assert np.array_equal(
            zarr_scores(res.files[tf]["zarr"], store)[1],
            zarr_scores(toy_fast.files[tf]["zarr"], store)[1],
        )


# ----------------------------------------------------------------- errors (one line, via the CLI)


def one_line_error(args: list[str], *fragments: str) -> str:
    result = CliRunner().invoke(main, ["predict", *args, "--quiet"])
    assert result.exit_code == 1, result.output
    lines = [ln for ln in result.output.strip().splitlines() if ln]
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.output
    for f in fragments:
        assert f in lines[0], (f, lines[0])
    return lines[0]


def test_mismatched_track_is_one_clear_error(toy_store, tmp_path):
    model = save_tiny_model(tmp_path / "atac", tracks=("ATAC",), annotations=("tss",))
    line = one_line_error(
        [str(model), str(toy_store), str(tmp_path / "o"), "--cell", "Y"], "'ATAC'", "'tss'", "DNase"
    )
    assert "GEPC" not in line  # only what differs is named
    # an alias makes the track match (the annotation still differs)
    one_line_error(
        [
            str(model),
            str(toy_store),
            str(tmp_path / "o"),
            "--cell",
            "Y",
            "--track-alias",
            "ATAC=DNase",
        ],
        "'tss'",
    )
    # an alias to a track the store lacks is refused, not silently ignored
    one_line_error(
        [
            str(model),
            str(toy_store),
            str(tmp_path / "o"),
            "--cell",
            "Y",
            "--track-alias",
            "ATAC=NOPE",
        ],
        "--track-alias",
        "ATAC=NOPE",
    )


def test_unknown_cell_and_tf(toy_store, tiny_model, tmp_path):
    one_line_error([str(tiny_model), str(toy_store), str(tmp_path), "--cell", "K562"], "K562")
    one_line_error(
        [str(tiny_model), str(toy_store), str(tmp_path), "--cell", "Y", "--tf", "MAX"],
        "MAX",
        "CTCF",
    )


@pytest.mark.parametrize(
    ("rows", "size", "expected"),
    [
        ([("chrA", 600), ("chrA", 625)], 200, ("line 2", "grid")),  # off the 50 bp grid
        ([("chrA", 600)], 250, ("line 1", "200 bp")),  # not one bin wide
        ([("chr1", 600)], 200, ("chr1",)),  # not a store chromosome
    ],
)
def test_bad_region_files_are_refused(toy_store, tiny_model, tmp_path, rows, size, expected):
    bed = write_regions(tmp_path / "bad.bed.gz", rows, size=size)
    args = [str(tiny_model), str(toy_store), str(tmp_path / "o"), "--cell", "Y"]
    one_line_error([*args, "--regions", str(bed)], *expected)


def test_cli_writes_files(toy_store, tiny_model, tmp_path):
    out = tmp_path / "cli"
    result = CliRunner().invoke(
        main,
        [
            "predict",
            str(tiny_model),
            str(toy_store),
            str(out),
            "--cell",
            "X",
            "--chroms",
            "chrB",
            "--tf",
            "REST",
            "--quiet",
        ],
    )
    assert result.exit_code == 0, result.output
    names = sorted(p.name for p in out.iterdir())
    files = ["F.REST.X.bedGraph.gz", "F.REST.X.bw", "F.REST.X.tab.gz"]
    assert names == sorted([*files, *(f + ".sha256" for f in files), "F.REST.X.zarr"])
    assert "chrB" in result.output


# ----------------------------------------------------------------- real data: another store and cell

#: per real store: spec fixture, store fixture, TF, training cells, the other store's cell,
#: and the start of a 30 kb stretch to predict
REAL = {
    "example": (
        "example_dnase_spec",
        "example_dnase_store_path",
        "YY1",
        ["GM12878"],
        "HepG2",
        1_000_000,
    ),
    "chr20": ("chr20_spec", "chr20_store_path", "CTCF", ["K562", "A549"], "HepG2", 30_000_000),
}


@pytest.fixture(
    scope="module",
    params=["example", pytest.param("chr20", marks=pytest.mark.shared_data)],
)
def two_stores(request, tmp_path_factory: pytest.TempPathFactory) -> tuple:
    """A real store and a second one built for one other cell only (its own store_id and
    labels); returns (store path, other store path, tf, training cells, other cell, stretch)."""
    spec_fixture, store_fixture, tf, cells, other, stretch = REAL[request.param]
    spec = copy.deepcopy(request.getfixturevalue(spec_fixture))
    spec["cells"] = {other: spec["cells"][other]}
    spec["labels"] = [{**spec["labels"][0], "tfs": [tf], "cells": [other]}]
    spec["name"] = f"{request.param}-{other.lower()}"
    path = tmp_path_factory.mktemp(other) / f"{other}.zarr"
    build_store(spec, path)
    return request.getfixturevalue(store_fixture), path, tf, cells, other, stretch


@pytest.mark.slow
def test_train_on_one_store_predict_on_another(two_stores, tmp_path):
    """End to end on real data: a tiny model trained (fnstore.train) on some cells of the
    shared store predicts another cell on a second store built for that cell only; the
    four outputs agree bin for bin."""
    import fnstore

    store_path, other_path, tf, cells, cell, stretch = two_stores
    trained = fnstore.train(
        store_path,
        tmp_path / tf.lower(),
        tf,
        cells,
        tracks=["DNase"],
        hyperparameters=TINY,
        epochs=1,
        steps_per_epoch=4,
        valid_steps=2,
        batch_size=32,
        verbose=0,
    )
    model_dir = Path(trained["model_dir"])

    other = open_store(other_path)
    assert other.store_id != open_store(store_path).store_id and other.cells == [cell]
    chrom = other.chroms[0]
    # ladder-style regions: a 30 kb stretch, plus the start of a blacklisted stretch
    black = np.flatnonzero(other.blacklist(slice(None)))
    _, bstart = other.bin_coords(black[:5])
    assert len(bstart) == 5
    rows = [(chrom, s) for s in range(stretch, stretch + 30_000, 50)] + [
        (chrom, int(s)) for s in bstart
    ]
    regions = write_regions(tmp_path / "ladder.bed.gz", rows)
    res = predict(model_dir, other_path, tmp_path / "out", cell, regions=regions, progress=False)
    files = res.files[tf]
    assert files["table"].name == f"F.{tf}.{cell}.tab.gz"
    bins, scores = read_predictions(files["zarr"], other)
    for kind in ("table", "bedgraph"):
        b, s = read_predictions(files[kind], other)
        if kind == "bedgraph":  # genome order
            order = np.argsort(bins)
            assert np.array_equal(b, bins[order]) and np.array_equal(s, scores[order])
        else:
            assert np.array_equal(b, bins) and np.array_equal(s, scores)
    bw = pyBigWig.open(str(files["bigwig"]))
    ivs = bw.intervals(chrom)
    bw.close()
    bw_scores = {int(other.bin_index(chrom, s - 75)): np.float32(v) for s, _, v in ivs}
    assert np.array_equal(np.array([bw_scores[b] for b in bins]), scores)
    assert np.all(scores[-5:] == 0) and np.all(scores[:-5] > 0)
    assert scores[:-5].std() > 0
    # the other store's own labels can score it (evaluation)
    y_other = other.labels([other.task_index(tf, cell)], bins)[:, 0]
    assert set(np.unique(y_other)) <= {0, 1, 2}


@pytest.mark.parametrize("lstm_units", [3, 0])
@pytest.mark.parametrize("n_extra", [0, 2])
def test_scorer_fast_equals_naive_across_architectures(lstm_units, n_extra):
    """Global-pool models (lstm_units=0) and models without an extra input, with runs of
    every length (padded pieces, several pieces, single bins)."""
    from fnstore.predict.scoring import WindowScorer

    keras.utils.set_random_seed(3)
    model = build_model(1, 2, n_extra, **{**TINY, "lstm_units": lstm_units})
    rng = np.random.default_rng(0)
    items = []
    for n in (1, 7, 40, 70):
        length = (n - 1) * 50 + TINY["window"]
        x = np.zeros((length, 5), dtype=np.float32)
        x[np.arange(length), rng.integers(0, 4, length)] = 1
        x[:, 4] = rng.gamma(0.5, 2.0, length)
        extra = rng.random((n, n_extra)).astype(np.float32) if n_extra else None
        items.append((x, n, extra))
    naive = WindowScorer(model, 50, "naive", batch_size=16).score(items)
    fast = WindowScorer(model, 50, "fast", batch_size=64, piece_bins=32).score(items)
    for a, b in zip(naive, fast, strict=True):
        assert a.shape == b.shape and np.abs(a - b).max() <= 1e-5
