"""Interpretation: kernels -> motifs (DeepBind/DanQ heuristic), database matching, saliency, CLI.

The models here are built by hand: the first-layer kernels ARE a known PWM (CTCF from
HOCOMOCO, or a small synthetic motif), so what the interpretation should find is known.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("KERAS_BACKEND", "tensorflow")

keras = pytest.importorskip("keras")

from click.testing import CliRunner  # noqa: E402

from fnstore.cli import main  # noqa: E402
from fnstore.errors import InputError  # noqa: E402
from fnstore.interpret.kernel_motifs import (  # noqa: E402
    ConvKernels,
    MotifDatabase,
    collect_kernel_sites,
    column_correlations,
    compare_pwms,
    conv_activations,
    conv_kernels,
    gumbel_p_value,
    kernel_motifs_from_windows,
    rc_order_of,
    trim_pwm,
    write_kernel_motifs,
)
from fnstore.interpret.regions import (  # noqa: E402
    held_out_regions,
    parse_region,
    read_windows,
    select_bins,
    window_starts,
)
from fnstore.interpret.saliency import input_saliency, region_saliency, tile_windows  # noqa: E402
from fnstore.io.meme import Motif, read_meme, reverse_complement, write_meme  # noqa: E402
from fnstore.model.architecture import build_model  # noqa: E402
from fnstore.model.card import make_card  # noqa: E402
from fnstore.model.folder import save_model_dir  # noqa: E402
from fnstore.model.motif_init import init_kernels_from_motifs  # noqa: E402

WINDOW = 200
WIDTH = 20

#: a synthetic 10-column motif (GATTACAGGC-like) used when the real database is absent
TOY = np.array(
    [
        [0.05, 0.05, 0.85, 0.05],
        [0.85, 0.05, 0.05, 0.05],
        [0.05, 0.05, 0.05, 0.85],
        [0.05, 0.05, 0.05, 0.85],
        [0.85, 0.05, 0.05, 0.05],
        [0.05, 0.85, 0.05, 0.05],
        [0.7, 0.1, 0.1, 0.1],
        [0.05, 0.05, 0.85, 0.05],
        [0.1, 0.1, 0.7, 0.1],
        [0.05, 0.85, 0.05, 0.05],
    ]
)


def random_pwm(rng: np.random.Generator, width: int) -> np.ndarray:
    return rng.dirichlet(np.full(4, 0.4), size=width)


@pytest.fixture(scope="module")
def ctcf() -> Motif:
    path = (
        Path(os.environ.get("FNSTORE_SHARED_DATA", "/work/shared/data"))
        / "motifs"
        / "HOCOMOCOv9.meme"
    )
    if not path.exists():
        path = (
            Path(__file__).resolve().parents[3] / "shared" / "data" / "motifs" / "HOCOMOCOv9.meme"
        )
    if path.exists():
        return next(m for m in read_meme(path) if (m.alt_name or "") == "CTCF")
    return Motif("TOY_f1", TOY, alt_name="TOY")


@pytest.fixture(scope="module")
def small_db(ctcf: Motif, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A MEME file of decoys (random PWMs and a shuffled CTCF) plus the real motif."""
    rng = np.random.default_rng(7)
    decoys = [Motif(f"DECOY{i}", random_pwm(rng, int(rng.integers(8, 20)))) for i in range(12)]
    shuffled = Motif("SHUF_CTCF", ctcf.pwm[rng.permutation(ctcf.width)])
    path = tmp_path_factory.mktemp("db") / "small.meme"
    write_meme(path, [*decoys[:6], shuffled, ctcf, *decoys[6:]])
    return path


def motif_model(
    pwm: np.ndarray, n_tracks: int = 1, n_extra: int = 0, bias: float = 0.0
) -> keras.Model:
    """Conv kernels 0/1 = log-odds PWM and its reverse complement (+ ``bias``), 2/3 zero; global
    max pool -> identity dense -> sigmoid(0.2 * (a0 + a1) - 4): the output rises with the best
    site. A negative ``bias`` silences the kernels on background sequence."""
    keras.utils.set_random_seed(0)
    model = build_model(
        n_tracks=n_tracks,
        n_extra=n_extra,
        window=WINDOW,
        kernel_width=WIDTH,
        n_kernels=4,
        lstm_units=0,
        position_dense=0,
        dense_units=4,
        conv_dropout=0.0,
        recurrent_dropout=0.0,
    )
    conv = model.get_layer("motif_conv")
    k, b = (np.array(w) for w in conv.get_weights())
    conv.set_weights([np.zeros_like(k), np.zeros_like(b)])
    init_kernels_from_motifs(model, [pwm])
    k, b = (np.array(w) for w in conv.get_weights())
    conv.set_weights([k, b + np.array([bias, bias, 0, 0], np.float32)])
    dense = model.get_layer("dense")
    dense.set_weights([np.eye(4, dtype=np.float32), np.zeros(4, np.float32)])
    if n_extra:
        extra_dense = model.get_layer("extra_dense")
        w = np.zeros((4 + n_extra, 4), np.float32)
        w[:4, :4] = np.eye(4)
        extra_dense.set_weights([w, np.zeros(4, np.float32)])
    model.get_layer("task_sigmoid").set_weights(
        [np.array([[0.2], [0.2], [0.0], [0.0]], np.float32), np.array([-4.0], np.float32)]
    )
    return model


def sample_site(rng: np.random.Generator, pwm: np.ndarray) -> np.ndarray:
    cum = np.cumsum(pwm / pwm.sum(axis=1, keepdims=True), axis=1)
    return (rng.random((len(pwm), 1)) > cum).sum(axis=1)


def planted_windows(
    rng: np.random.Generator, pwm: np.ndarray, n: int, fraction: float = 0.5, n_tracks: int = 1
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Random windows, a PWM sample (random strand, position) planted in the first ``fraction``."""
    codes = rng.integers(0, 4, size=(n, WINDOW))
    where = np.full(n, -1)
    for i in range(int(n * fraction)):
        site = sample_site(rng, pwm)
        if rng.random() < 0.5:
            site = 3 - site[::-1]
        p = int(rng.integers(0, WINDOW - len(pwm)))
        codes[i, p : p + len(pwm)] = site
        where[i] = p
    x = np.eye(4, dtype=np.float32)[codes]
    tracks = rng.gamma(0.5, 1.0, size=(n, WINDOW, n_tracks)).astype(np.float32)
    for i in np.flatnonzero(where >= 0):  # a footprint: signal raised around each site
        tracks[i, max(0, where[i] - 10) : where[i] + len(pwm) + 10] += 3.0
    return np.concatenate([x, tracks], axis=-1), where >= 0, where


# --------------------------------------------------------------------------- column correlation


def test_column_score_known_answers(ctcf: Motif) -> None:
    pwm = ctcf.pwm
    same = compare_pwms(pwm, pwm)
    assert same.score == pytest.approx(1.0) and same.strand == "+" and same.offset == 0
    assert same.overlap == ctcf.width
    rc = compare_pwms(reverse_complement(pwm), pwm)
    assert rc.score == pytest.approx(1.0) and rc.strand == "-" and rc.offset == 0
    # a piece of the motif: found at its offset on '+', and its RC at width - end on '-'
    piece = compare_pwms(pwm[3:9], pwm)
    assert (piece.score, piece.offset, piece.strand, piece.overlap) == (
        pytest.approx(1.0),
        3,
        "+",
        6,
    )
    rc_piece = compare_pwms(reverse_complement(pwm[3:9]), pwm)
    assert rc_piece.score == pytest.approx(1.0)
    assert (rc_piece.offset, rc_piece.strand) == (ctcf.width - 9, "-")
    # the query may also stick out of the target: offset is negative
    padded = np.vstack([np.full((3, 4), 0.25), pwm[:8]])
    hang = compare_pwms(padded, pwm[:8])
    assert (hang.offset, hang.strand) == (-3, "+") and hang.score == pytest.approx(1.0)


def test_column_correlations_are_pearson() -> None:
    rng = np.random.default_rng(1)
    a, b = random_pwm(rng, 5), random_pwm(rng, 7)
    got = column_correlations(a, b)
    want = np.array([[np.corrcoef(a[i], b[j])[0, 1] for j in range(7)] for i in range(5)])
    np.testing.assert_allclose(got, want, atol=1e-12)
    flat = np.full((2, 4), 0.25)  # uninformative columns correlate 0 with anything, not NaN
    assert np.all(column_correlations(flat, b) == 0)


def test_database_ranks_the_motif_first_with_significance(ctcf: Motif, small_db: Path) -> None:
    db = MotifDatabase.from_meme(small_db)
    for query, strand in ((ctcf.pwm, "+"), (reverse_complement(ctcf.pwm[2:14]), "-")):
        best = db.search(query, top=3)
        assert best[0].name == ctcf.name and best[0].strand == strand
        assert best[0].score == pytest.approx(1.0)
        assert best[0].z > best[1].z and best[0].p_value < 1e-3
    # a random query is not significant after Gumbel calibration
    rng = np.random.default_rng(3)
    assert db.search(random_pwm(rng, 10), top=1)[0].e_value > 1e-3
    assert gumbel_p_value(np.array([0.0]))[0] == pytest.approx(1 - np.exp(-np.exp(-0.5772156649)))


def test_trim_keeps_informative_core() -> None:
    pwm = np.vstack([np.full((5, 4), 0.25), TOY, np.full((3, 4), 0.25)])
    assert trim_pwm(pwm) == (5, 15)
    assert trim_pwm(np.full((10, 4), 0.25), min_width=4) == (0, 4)


# --------------------------------------------------------------------------- kernel motifs


def test_conv_activations_match_keras(ctcf: Motif) -> None:
    model = motif_model(ctcf.pwm)
    rng = np.random.default_rng(0)
    x, _, _ = planted_windows(rng, ctcf.pwm, 4)
    conv = conv_kernels(model)
    sub = keras.Model(model.inputs, model.get_layer("motif_conv").output)
    want = np.asarray(sub({"x": x}))
    np.testing.assert_allclose(conv_activations(x, conv), want, rtol=1e-4, atol=1e-4)
    assert rc_order_of(model, 5) == [3, 2, 1, 0, 4]


def test_kernel_pwm_recovers_planted_motif(ctcf: Motif, small_db: Path) -> None:
    model = motif_model(ctcf.pwm)
    rng = np.random.default_rng(0)
    x, bound, _ = planted_windows(rng, ctcf.pwm, 300)
    db = MotifDatabase.from_meme(small_db)
    motifs, sites = kernel_motifs_from_windows(
        x,
        conv_kernels(model),
        is_bound=bound,
        database=db,
        rc_order=rc_order_of(model, 5),
        flank=20,
    )
    w = ctcf.width
    start = (WIDTH - w) // 2
    fwd, rev = motifs[0], motifs[1]
    r_fwd = np.corrcoef(fwd.pwm[start : start + w].ravel(), ctcf.pwm.ravel())[0, 1]
    r_rev = np.corrcoef(reverse_complement(rev.pwm[start : start + w]).ravel(), ctcf.pwm.ravel())[
        0, 1
    ]
    assert r_fwd > 0.9 and r_rev > 0.9, (r_fwd, r_rev)
    # most hits come from the planted half, on both strands (each site hits kernel 0 once)
    assert 0.5 * bound.sum() < fwd.n_sites < 2 * bound.sum()
    assert fwd.auroc_bound > 0.95 and rev.auroc_bound > 0.95
    assert fwd.matches[0].name == ctcf.name and fwd.matches[0].strand == "+"
    assert rev.matches[0].name == ctcf.name and rev.matches[0].strand == "-"
    assert fwd.matches[0].score > 0.9
    # zero kernels never fire: no sites, uniform PWM, no matches
    assert motifs[2].n_sites == 0 and motifs[2].matches == []
    np.testing.assert_allclose(motifs[2].pwm, 0.25)
    # the planted footprint shows up under the hits, not in the flanks far away
    fp = sites.footprint[0, :, 0]
    assert np.nanmean(fp[20 : 20 + w]) > np.nanmean(fp[:5]) + 1.0


def test_collect_sites_counts_by_hand() -> None:
    """One kernel matching 'ACG' exactly: every hit is ACG, counted on both strands."""
    kernel = np.zeros((3, 4, 1), np.float32)
    kernel[[0, 1, 2], [0, 1, 2], 0] = 1.0
    conv = ConvKernels(kernel, np.array([-2.0], np.float32))
    seq = "TTACGATTTCGTTT"  # ACG at 2 (forward); CGT at 9 is ACG on the reverse strand
    x = np.eye(4, dtype=np.float32)[["ACGT".index(c) for c in seq]][None]
    sites = collect_kernel_sites(x, conv, threshold=1.0, flank=0)
    assert sites.max_activation[0] == pytest.approx(1.0)
    assert sites.n_sites[0] == 2
    np.testing.assert_array_equal(sites.counts[0], 2 * np.eye(4)[:3])
    single = collect_kernel_sites(x, conv, threshold=1.0, both_strands=False, flank=0)
    assert single.n_sites[0] == 1
    with pytest.raises(InputError):
        collect_kernel_sites(x[:, :, :3], conv)


def test_write_outputs(ctcf: Motif, small_db: Path, tmp_path: Path) -> None:
    model = motif_model(ctcf.pwm)
    x, bound, _ = planted_windows(np.random.default_rng(2), ctcf.pwm, 60)
    db = MotifDatabase.from_meme(small_db)
    motifs, _ = kernel_motifs_from_windows(
        x, conv_kernels(model), is_bound=bound, database=db, top=2, flank=10
    )
    paths = write_kernel_motifs(tmp_path / "out", motifs, ["DNase"], flank=10, logos=True)
    back = read_meme(paths["meme"])
    assert [m.name for m in back] == ["kernel_000", "kernel_001"]
    np.testing.assert_allclose(back[0].pwm, motifs[0].pwm, atol=1e-5)
    assert (tmp_path / "out" / "logos" / "kernel_000.png").stat().st_size > 1000
    assert paths["footprints"].exists() and paths["logos"].exists()
    rows = paths["matches"].read_text().splitlines()
    assert len(rows) == 1 + 2 * 2 and ctcf.name in rows[1]
    summary = json.loads(paths["summary"].read_text())
    assert summary["kernels"][0]["n_sites"] == motifs[0].n_sites
    with np.load(paths["npz"]) as npz:
        assert npz["pwm"].shape == (4, WIDTH, 4) and npz["footprint"].shape == (4, WIDTH + 20, 1)


# --------------------------------------------------------------------------- saliency


def test_saliency_shapes_and_peak_at_motif(ctcf: Motif) -> None:
    from fnstore.io.meme import log_odds

    best_score = float(log_odds(ctcf.pwm).max(axis=1).sum())
    model = motif_model(ctcf.pwm, bias=-0.6 * best_score)  # only the planted site activates
    rng = np.random.default_rng(4)
    x, _, where = planted_windows(rng, ctcf.pwm, 4, fraction=1.0)
    consensus = np.argmax(ctcf.pwm, axis=1)  # plant the consensus: a strong, unique site
    x[:, :, :4] = np.eye(4, dtype=np.float32)[rng.integers(0, 4, size=(4, WINDOW))]
    x[:, 60 : 60 + ctcf.width, :4] = np.eye(4, dtype=np.float32)[consensus]
    x[1, 100:110, :4] = 0.0  # a stretch of N
    sal = input_saliency(model, x)
    assert sal["grad"].shape == x.shape and sal["grad_strands"].shape == (4, 2, WINDOW, 5)
    assert sal["output"].shape == (4,) and sal["output_strands"].shape == (4, 2)
    np.testing.assert_allclose(sal["output"], np.asarray(model(x))[:, 0], rtol=1e-5)
    np.testing.assert_allclose(sal["grad"], sal["grad_strands"].mean(axis=1), rtol=1e-5, atol=1e-8)
    assert np.all(sal["grad_x_input"][x == 0] == 0)
    assert np.all(sal["grad_x_input"][1, 100:110, :4] == 0)
    # forward strand: kernel 0 sees the site, reverse strand: kernel 1; importance sits on it
    importance = sal["grad_x_input"][..., :4].sum(axis=-1)
    site = slice(60, 60 + ctcf.width)
    for i in range(4):
        assert 60 <= int(np.argmax(importance[i])) < 60 + ctcf.width
        assert importance[i, site].sum() > 0.99 * np.abs(importance[i]).sum()
        for s in range(2):
            per_strand = sal["grad_x_input_strands"][i, s, :, :4].sum(axis=-1)
            assert 60 <= int(np.argmax(per_strand)) < 60 + ctcf.width
    # the model is strand-symmetric: the RC window gets the same output
    x_rc = x[:, ::-1][:, :, [3, 2, 1, 0, 4]]
    np.testing.assert_allclose(input_saliency(model, x_rc)["output"], sal["output"], rtol=1e-5)


def test_tile_windows_and_region_parsing() -> None:
    assert tile_windows(1000, 1100, 200).tolist() == [950]
    tiles = tile_windows(0, 1000, 200)
    assert tiles[0] == 0 and tiles[-1] == 800 and np.all(np.diff(tiles) <= 100)
    assert parse_region("chr20:1,000-2,000") == ("chr20", 1000, 2000)
    for bad in ("chr20:5-1", "chr20-1-5", "chr20:a-b"):
        with pytest.raises(InputError):
            parse_region(bad)


# --------------------------------------------------------------------------- store + CLI


@pytest.fixture(scope="module")
def example_store(example_store_path: Path) -> Path:
    """The session's bundled-example store (conftest), by path: these tests only read it."""
    return example_store_path


@pytest.fixture(scope="module")
def model_dir(ctcf: Motif, example_store: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A hand-built YY1 'model' on ATAC with metadata + annotations as the extra input."""
    from fnstore.store.read import open_store

    store = open_store(example_store)
    metas, annots = store.meta_feature_names[:2], store.annotation_names[:3]
    model = motif_model(ctcf.pwm, n_tracks=1, n_extra=len(metas) + len(annots))
    card = make_card(
        tasks=[{"tf": "YY1"}],
        window=WINDOW,
        tracks=["ATAC"],
        annotations=annots,
        meta_features=metas,
        train_cells=["GM12878"],
        validation={"regions": ["chr20_slice:3600000-4500000"]},
    )
    return save_model_dir(tmp_path_factory.mktemp("interp") / "model", model, card)


def test_store_windows_match_store_reads(example_store: Path) -> None:
    from fnstore.predict.inputs import resolve_inputs
    from fnstore.store.encoding import one_hot
    from fnstore.store.read import open_store

    store = open_store(example_store)
    card = {"window": 1002, "tracks": ["ATAC"], "annotations": [], "meta_features": []}
    inputs = resolve_inputs(store, card, "GM12878")
    bins, bound = select_bins(
        store, ["YY1"], "GM12878", [("chr20_slice", 0, 4_500_000)], 40, seed=1
    )
    assert bins.size == 40 and bound.sum() >= 20 and np.all(np.diff(bins) > 0)
    labels = store.labels([store.task_index("YY1", "GM12878")], bins)[:, 0]
    assert np.all(labels[bound] == 1)
    card_regions = {"validation": {"regions": ["chr20_slice:3600000-4500000", "chr11"]}}
    assert held_out_regions(card_regions, store) == [("chr20_slice", 3_600_000, 4_500_000)]
    assert held_out_regions({"validation": {"regions": ["chr11"]}}, store) is None
    held, _ = select_bins(store, ["YY1"], "GM12878", [("chr20_slice", 3_600_000, 4_500_000)], 30)
    _, held_starts = store.bin_coords(held)
    assert held_starts.min() > 3_600_000 - store.bin_size and held_starts.max() < 4_500_000
    bins = np.concatenate([[0], bins, [store.n_bins - 1]])  # windows off both ends: padded
    chrom, starts = window_starts(store, bins, 1002)
    x = read_windows(store, inputs, chrom, starts)
    assert starts[0] == -401 and np.all(x[0, :401] == 0)
    for i in (1, 5, 20):
        s = int(starts[i])
        np.testing.assert_array_equal(
            x[i, :, :4], one_hot(store.sequence("chr20_slice", s, s + 1002))
        )
        np.testing.assert_allclose(
            x[i, :, 4], store.signal("GM12878", "ATAC", "chr20_slice", s, s + 1002)
        )


def test_cli_motifs(model_dir: Path, example_store: Path, small_db: Path, tmp_path: Path) -> None:
    out = tmp_path / "motifs"
    result = CliRunner().invoke(
        main,
        [
            "motifs",
            str(model_dir),
            str(example_store),
            str(out),
            "--n-windows",
            "80",
            "--db",
            str(small_db),
            "--top",
            "2",
        ],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    for name in (
        "kernels.meme",
        "matches.tsv",
        "kernels.npz",
        "summary.json",
        "logos.png",
        "footprints.png",
    ):
        assert (out / name).stat().st_size > 0, name
    summary = json.loads((out / "summary.json").read_text())
    assert summary["cell"] == "GM12878" and summary["chroms_from"] == "held-out (model card)"
    assert summary["chroms"] == ["chr20_slice:3600000-4500000"]
    assert summary["n_windows"] == 80 and summary["n_bound_windows"] >= 40
    assert "kernel_000" in result.output


def test_cli_saliency(model_dir: Path, example_store: Path, tmp_path: Path) -> None:
    out = tmp_path / "sal"
    result = CliRunner().invoke(
        main,
        [
            "saliency",
            str(model_dir),
            str(example_store),
            "--cell",
            "GM12878",
            "--region",
            "chr20_slice:100,000-100,500",
            str(out),
        ],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    assert (out / "saliency.png").stat().st_size > 1000
    with np.load(out / "saliency.npz") as npz:
        assert npz["grad"].shape == (500, 5) and npz["grad_x_input_strands"].shape == (2, 500, 5)
        assert npz["x"].shape == (500, 5) and npz["window_starts"].size >= 3
        assert np.all(npz["grad_x_input"][npz["x"] == 0] == 0)
        assert list(npz["channels"]) == ["A", "C", "G", "T", "ATAC"]
    bad = CliRunner().invoke(
        main,
        [
            "saliency",
            str(model_dir),
            str(example_store),
            "--cell",
            "GM12878",
            "--region",
            "chr20_slice:10-5",
            str(out),
        ],
    )
    assert bad.exit_code == 1 and "Error: --region" in bad.output


def test_region_saliency_matches_direct_windows(model_dir: Path, example_store: Path) -> None:
    from fnstore.model.folder import load_model_dir
    from fnstore.predict.inputs import extra_for_bins, read_stretch, resolve_inputs
    from fnstore.store.read import open_store

    model, card = load_model_dir(model_dir)
    store = open_store(example_store)
    res = region_saliency(model, card, store, "GM12878", "chr20_slice", 50_000, 50_100)
    inputs = resolve_inputs(store, card, "GM12878")
    x = read_stretch(store, inputs, "chr20_slice", 49_950, 50_150)[None]
    extra = extra_for_bins(store, inputs, store.bin_index("chr20_slice", np.array([49_950])))
    direct = input_saliency(model, x, extra)
    np.testing.assert_allclose(res["grad"], direct["grad"][0, 50:150], rtol=1e-5, atol=1e-9)
    np.testing.assert_allclose(res["output"], direct["output"], rtol=1e-6)
