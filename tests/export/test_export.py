"""Export formats and the Python API, including round trips.

Every store test runs on the bundled example (plus a synthetic DNase track), so a fresh
clone tests export, and again on the real chr20 store when ../shared/data is there.
Outputs go to tmp_path. Whole-chromosome exports are limited to the DREAM round trip and
one label export, the rest use small regions.
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from fnstore.cli import main
from fnstore.demo import EXAMPLE_DIR
from fnstore.errors import InputError, StoreError
from fnstore.export.run import export, format_for, iter_bin_blocks
from fnstore.store.encoding import one_hot
from fnstore.store.labels import LABEL_NAMES

#: bins 65,530..65,545 straddle the first bin-chunk boundary (65,536 bins) of both stores
BOUNDARY_SPAN = (65_530 * 50, 65_545 * 50 + 200)


@dataclass(frozen=True)
class Env:
    """A store, its inputs and the names and places in it that each test needs."""

    store: object
    path: Path  # the store's folder, for the CLI and plain zarr/xarray
    fasta: str  # the genome the store was built from
    dnase: Path  # `cell`'s DNase input bigWig
    chrom: str  # the store's (first) chromosome
    tf: str  # labelled in several cells, `cell` among them
    tf2: str  # another TF of the store
    cell: str  # labelled for `tf`, has a DNase track
    first_bases: str  # the chromosome's first 10 bases
    probe_bin: int  # a bin well inside the chromosome
    signal_span: tuple[int, int]  # spans several 1 Mi position chunks
    outside: int  # a position before `signal_span`

    @property
    def boundary(self) -> tuple[str, int, int]:
        return (self.chrom, *BOUNDARY_SPAN)


#: per store: fixtures (store, path, DNase inputs), names, and how to find the FASTA
ENVS = {
    "example": (
        ("example_dnase_store", "example_dnase_store_path", "example_dnase"),
        dict(
            chrom="chr20_slice",
            tf="YY1",
            tf2="ZNF143",
            cell="HepG2",
            first_bases="AAAGATTTCA",
            probe_bin=20_000,
            signal_span=(1_000_000, 4_400_000),
            outside=500_000,
        ),
    ),
    "chr20": (
        ("chr20_store", "chr20_store_path", "synthetic_dnase"),
        dict(
            chrom="chr20",
            tf="CTCF",
            tf2="MAX",
            cell="K562",
            first_bases="N" * 10,  # the first 60 kb are N
            probe_bin=200_000,
            signal_span=(2_000_000, 5_500_000),
            outside=1_000_000,
        ),
    ),
}


@pytest.fixture(
    scope="module",
    params=["example", pytest.param("chr20", marks=pytest.mark.shared_data)],
)
def env(request) -> Env:
    (store, path, dnase), names = ENVS[request.param]
    if request.param == "example":
        fasta = str(EXAMPLE_DIR / "genome" / "chr20_slice.fa.gz")
    else:
        fasta = request.getfixturevalue("chr20_spec")["genome"]["fasta"]
    return Env(
        store=request.getfixturevalue(store),
        path=request.getfixturevalue(path),
        fasta=fasta,
        dnase=request.getfixturevalue(dnase)[names["cell"]],
        **names,
    )


@pytest.fixture(scope="module")
def boundary_bed(env: Env, tmp_path_factory) -> Path:
    p = tmp_path_factory.mktemp("regions") / "boundary.bed"
    p.write_text("\t".join(map(str, env.boundary)) + "\n")
    return p


def _region_bins(env: Env) -> np.ndarray:
    lo, hi = env.store.bins_overlapping(*env.boundary)
    return np.arange(lo, hi)


def _read_tsv(path: Path) -> list[list[str]]:
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rt") as fh:
        return [line.rstrip("\n").split("\t") for line in fh]


# --------------------------------------------------------------------------- Python API


def test_store_api_keyword_labels_bins_and_xarray(env):
    import xarray as xr
    import zarr

    store, tf, cell, chrom = env.store, env.tf, env.cell, env.chrom
    tasks = store.tasks_for(tf=tf)
    lab = store.labels(tf=tf, chroms=[chrom])
    assert lab.shape == (store.n_bins, len(tasks))
    np.testing.assert_array_equal(
        lab[:1000], store.labels([t.index for t in tasks], slice(0, 1000))
    )
    probe = slice(env.probe_bin, env.probe_bin + 10)
    one = store.labels(tf=tf, cell=cell, bins=probe)
    np.testing.assert_array_equal(
        one[:, 0], store.labels([store.task_index(tf, cell)], probe)[:, 0]
    )
    with pytest.raises(StoreError, match="unknown TF"):
        store.labels(tf="NOPE")

    bins = store.bins(regions=[env.boundary])
    np.testing.assert_array_equal(bins["index"].to_numpy(), _region_bins(env))
    assert list(bins.columns) == ["chrom", "start", "end", "index"]
    assert (bins["end"] - bins["start"] == store.bin_size).all()
    assert len(store.bins(chroms=[chrom])) == store.n_bins
    with pytest.raises(StoreError, match="unknown chromosome"):
        store.bins(chroms=["chrZ"])

    assert "".join("ACGTN"[c] for c in store.sequence(chrom, 0, 10)) == env.first_bases
    assert store.signal("GM12878", "ATAC", chrom, 0, 100).dtype == np.float32
    assert store.info(counts=False)["n_bins"] == store.n_bins

    ds = store.to_xarray()
    assert ds["labels"].dims == ("bin", "task")
    assert ds["signal_DNase"].dims == ("cell", "position")
    assert list(ds["cell"].values) == store.cells and list(ds["track"].values) == store.tracks
    k = store.task_index(tf, cell)
    np.testing.assert_array_equal(
        ds["labels"].sel(task=f"{tf}.{cell}").isel(bin=slice(0, 50)).values,
        store.labels([k], slice(0, 50))[:, 0],
    )
    assert "start" in ds.coords and "task_tf" in ds.coords

    plain = xr.open_zarr(env.path, consolidated=False)
    assert plain["labels"].dims == ("bin", "task") and "task" in plain.coords
    group = zarr.open_group(str(env.path), mode="r")
    assert group["labels"].metadata.dimension_names == ("bin", "task")


def test_iter_bin_blocks_splits_at_chunk_boundaries():
    pieces = list(iter_bin_blocks([(5, 12), (14, 30)], chunk=10, max_rows=4))
    assert [p.tolist() for p in pieces] == [
        [5, 6, 7, 8],
        [9],
        [10, 11, 14, 15],
        [16, 17, 18, 19],
        [20, 21, 22, 23],
        [24, 25, 26, 27],
        [28, 29],
    ]


def test_format_inference():
    assert format_for("labels", "x.tsv.gz", None) == "dream"
    assert format_for("features", "x.tsv.gz", None) == "tsv"
    assert format_for("signals", "a.bedGraph.gz", None) == "bedgraph"
    assert format_for("sequence", "a.h5", None) == "hdf5"
    with pytest.raises(InputError, match="--format"):
        format_for("signals", "x.npz", None)


# --------------------------------------------------------------------------- labels


def test_dream_tsv_round_trip_builds_identical_labels(env, tmp_path):
    from fnstore.build import build_store
    from fnstore.store.read import open_store

    store, tf = env.store, env.tf
    out = tmp_path / f"{tf}.train.labels.tsv.gz"
    result = export(store, out, "labels", tf=tf)
    cells = [t.cell for t in store.tasks_for(tf=tf)]
    assert len(cells) > 1
    with gzip.open(out, "rt") as fh:
        assert fh.readline().rstrip("\n").split("\t") == ["chr", "start", "stop", *cells]
    assert result.rows == store.n_bins

    spec = {
        "genome": {"fasta": env.fasta, "chroms": [env.chrom]},
        "labels": [{"dream_tsv": str(out), "tf": tf}],
    }
    build_store(spec, tmp_path / "rt.zarr", progress=False)
    rt = open_store(tmp_path / "rt.zarr")
    assert [(t.tf, t.cell) for t in rt.tasks] == [(tf, c) for c in cells]
    for lo in range(0, store.n_bins, store.bin_chunk):
        bins = slice(lo, lo + store.bin_chunk)
        np.testing.assert_array_equal(rt.labels(None, bins), store.labels(tf=tf, bins=bins))


def test_dream_tsv_several_tfs_go_to_a_folder(env, tmp_path, boundary_bed):
    tfs = [env.tf, env.tf2]
    export(env.store, tmp_path / "dream", "labels", tf=tfs, regions=boundary_bed)
    names = sorted(p.name for p in (tmp_path / "dream").iterdir() if p.suffix != ".sha256")
    assert names == sorted(f"{tf}.train.labels.tsv.gz" for tf in tfs)
    with pytest.raises(InputError, match="2 label TSV files"):
        export(env.store, tmp_path / "one.tsv.gz", "labels", tf=tfs, regions=boundary_bed)


def test_labels_across_chunk_boundary_every_format(env, tmp_path, boundary_bed):
    import pyarrow.parquet as pq

    store, tf = env.store, env.tf
    idx = _region_bins(env)
    assert idx[0] < store.bin_chunk <= idx[-1]
    tasks = store.tasks_for(tf=tf)
    expected = store.labels([t.index for t in tasks], idx)

    export(store, tmp_path / "l.tsv.gz", "labels", tf=tf, regions=boundary_bed)
    rows = _read_tsv(tmp_path / "l.tsv.gz")[1:]
    assert [int(r[1]) for r in rows] == (
        (idx - store.bin_range(env.chrom)[0]) * store.stride
    ).tolist()
    assert [r[3:] for r in rows] == [[LABEL_NAMES[int(c)] for c in row] for row in expected]

    export(store, tmp_path / "l.npz", "labels", tf=tf, regions=boundary_bed)
    z = np.load(tmp_path / "l.npz")
    np.testing.assert_array_equal(z["labels"], expected)
    np.testing.assert_array_equal(z["bin"], idx)
    assert z["tasks"].tolist() == [t.name for t in tasks] and z["chrom"][0] == env.chrom

    export(store, tmp_path / "l.parquet", "labels", tf=tf, regions=boundary_bed)
    df = pq.read_table(tmp_path / "l.parquet").to_pandas()
    np.testing.assert_array_equal(df[[t.name for t in tasks]].to_numpy(), expected)
    assert (df["end"] - df["start"] == 200).all()


def test_labels_bed_of_a_class_and_label_filter(env, tmp_path):
    store, tf, cell, chrom = env.store, env.tf, env.cell, env.chrom
    k = store.task_index(tf, cell)
    region = (chrom, 0, 3_000_000)
    lo, hi = store.bins_overlapping(*region)
    lab = store.labels([k], slice(lo, hi))[:, 0]
    bed = tmp_path / "r.bed"
    bed.write_text(f"{chrom}\t0\t3000000\n")
    for letter, code in (("B", 1), ("A", 2)):
        out = tmp_path / f"{letter}.bed"
        export(store, out, "labels", tf=tf, cell=cell, label=letter, regions=bed)
        rows = _read_tsv(out)
        want = (np.flatnonzero(lab == code) + lo - store.bin_range(chrom)[0]) * store.stride
        assert [int(r[1]) for r in rows] == want.tolist() and len(want) > 0
        assert {r[3] for r in rows} == {f"{tf}.{cell}"}
    # --label filters any export: bins whose label in `cell` is B
    export(store, tmp_path / "bound.npz", "bins", tf=tf, cell=cell, label="B", regions=bed)
    np.testing.assert_array_equal(
        np.load(tmp_path / "bound.npz")["index"], np.flatnonzero(lab == 1) + lo
    )


# --------------------------------------------------------------------------- features and bins


def test_features_and_bins_formats(env, tmp_path, boundary_bed):
    import pyarrow.parquet as pq

    store = env.store
    idx = _region_bins(env)
    ann = store.annotations(idx)
    bl = store.blacklist(idx)
    for fmt in ("tsv", "parquet", "npz"):
        out = tmp_path / f"f.{ {'tsv': 'tsv.gz'}.get(fmt, fmt) }"
        res = export(store, out, "features", regions=boundary_bed, cell="GM12878")
        assert res.rows == len(idx)
        if fmt == "npz":
            z = np.load(out)
            np.testing.assert_array_equal(z["annotations"], ann)
            np.testing.assert_array_equal(z["blacklist"], bl)
            np.testing.assert_array_equal(z["metadata"][0], store.metadata("GM12878"))
            assert z["annotation_names"].tolist() == store.annotation_names
            continue
        if fmt == "tsv":
            rows = _read_tsv(out)
            assert rows[0] == ["chrom", "start", "end", "blacklist", *store.annotation_names]
            got = np.array([r[4:] for r in rows[1:]], dtype=np.uint8)
            cells = _read_tsv(tmp_path / "f.cells.tsv.gz")
            assert cells[1][0] == "GM12878" and len(cells) == 2
            np.testing.assert_allclose(
                [float(v) for v in cells[1][1:]], store.metadata("GM12878"), rtol=1e-6
            )
        else:
            got = pq.read_table(out).to_pandas()[store.annotation_names].to_numpy()
            assert pq.read_table(tmp_path / "f.cells.parquet").num_rows == 1
        np.testing.assert_array_equal(got, ann)

    for fmt, name in (
        ("bed", "b.bed"),
        ("tsv", "b.tsv"),
        ("parquet", "b.parquet"),
        ("npz", "b.npz"),
    ):
        assert export(store, tmp_path / name, "bins", regions=boundary_bed).fmt == fmt
    assert [int(r[3]) for r in _read_tsv(tmp_path / "b.bed")] == idx.tolist()
    assert _read_tsv(tmp_path / "b.tsv")[0] == ["chrom", "start", "end", "index", "blacklist"]
    np.testing.assert_array_equal(pq.read_table(tmp_path / "b.parquet")["index"].to_numpy(), idx)
    np.testing.assert_array_equal(np.load(tmp_path / "b.npz")["blacklist"], bl)


# --------------------------------------------------------------------------- signals


def test_bigwig_slice_round_trip(env, tmp_path):
    """Exported values equal the store's exactly; the input bigWig's within float16 precision.

    The store keeps signals as float16 (see `fnstore info`), so against the input the
    tolerance is float16's relative step 2**-11 (plus its subnormal floor); zeros are not
    written, so absent values read back as NaN and compare as 0.
    """
    import pyBigWig

    store, cell, chrom = env.store, env.cell, env.chrom
    region = (chrom, *env.signal_span)  # several 1 Mi position chunks
    assert region[2] - region[1] > 2 * 2**20
    bed = tmp_path / "r.bed"
    bed.write_text("\t".join(map(str, region)) + "\n")
    out = tmp_path / f"{cell}.bw"
    res = export(store, out, "signals", cell=cell, tracks="DNase", regions=bed)
    assert res.rows > 0
    got_bw = pyBigWig.open(str(out))
    assert got_bw.chroms() == {chrom: int(store.chrom_lengths[0])}
    got = np.nan_to_num(np.asarray(got_bw.values(*region), dtype=np.float64))
    # outside the slice: nothing
    assert np.isnan(got_bw.values(chrom, env.outside, env.outside + 10)).all()
    np.testing.assert_array_equal(got.astype(np.float32), store.signal(cell, "DNase", *region))
    inp = np.nan_to_num(np.asarray(pyBigWig.open(str(env.dnase)).values(*region)))
    assert store.signal_dtype == "float16"
    np.testing.assert_allclose(got, inp, rtol=2**-11, atol=2**-24)
    assert np.count_nonzero(inp) > 1000


def test_bedgraph_and_several_cells_to_folder(env, tmp_path):
    store, chrom = env.store, env.chrom
    region = [(chrom, 60_000, 160_000)]
    res = export(store, tmp_path / "sig", "signals", "bedgraph", cell="GM12878", regions=region)
    files = sorted(p.name for p in (tmp_path / "sig").iterdir() if p.suffix != ".sha256")
    assert files == ["GM12878.ATAC.bedGraph.gz", "GM12878.DNase.bedGraph.gz"] and res.rows > 0
    rows = _read_tsv(tmp_path / "sig" / "GM12878.ATAC.bedGraph.gz")
    assert rows[0][0].startswith("track type=bedGraph")
    dense = np.zeros(100_000, dtype=np.float32)
    for _, s, e, v in rows[1:]:
        dense[int(s) - 60_000 : int(e) - 60_000] = float(v)
    assert np.count_nonzero(dense) > 100
    np.testing.assert_array_equal(dense, store.signal("GM12878", "ATAC", chrom, 60_000, 160_000))


# --------------------------------------------------------------------------- sequence


def test_sequence_fasta_npz_hdf5(env, tmp_path, boundary_bed):
    import h5py

    store, tf = env.store, env.tf
    idx = _region_bins(env)
    window, shift = 1000, 25
    _, starts = store.bin_coords(idx)
    ws = starts + (store.bin_size - window) // 2 + shift
    expect = np.stack([store.sequence(env.chrom, int(s), int(s) + window) for s in ws])
    tasks = store.tasks_for(tf=tf)

    export(store, tmp_path / "s.fa", "sequence", regions=boundary_bed, window=window, shift=shift)
    lines = (tmp_path / "s.fa").read_text().splitlines()
    assert lines[0] == f">{env.chrom}:{ws[0]}-{ws[0] + window}" and len(lines) == 2 * len(idx)
    assert lines[1] == "".join("ACGTN"[c] for c in expect[0])

    export(
        store,
        tmp_path / "s.npz",
        "sequence",
        tf=tf,
        regions=boundary_bed,
        window=window,
        shift=shift,
    )
    z = np.load(tmp_path / "s.npz")
    assert z["x"].shape == (len(idx), 4, window) and z["x"].dtype == np.uint8
    np.testing.assert_array_equal(z["x"], one_hot(expect, np.uint8).transpose(0, 2, 1))
    np.testing.assert_array_equal(z["y"], store.labels([t.index for t in tasks], idx))

    export(
        store,
        tmp_path / "s.h5",
        "sequence",
        tf=tf,
        regions=boundary_bed,
        window=window,
        shift=shift,
    )
    with h5py.File(tmp_path / "s.h5") as f:
        np.testing.assert_array_equal(f["x"][:], z["x"])
        np.testing.assert_array_equal(f["y"][:], z["y"])
        assert [t.decode() for t in f["tasks"][:]] == [t.name for t in tasks]


def test_sequence_windows_past_chromosome_ends_are_n_padded(tmp_path):
    """chr20's ends are N anyway, so padding is checked on a tiny store with no N at all."""
    from fnstore.build import build_store
    from fnstore.store.read import open_store

    rng = np.random.default_rng(0)
    seq = "".join(rng.choice(list("ACGT"), 1000))
    (tmp_path / "g.fa").write_text(">chrA\n" + seq + "\n")
    build_store({"genome": {"fasta": str(tmp_path / "g.fa")}}, tmp_path / "t.zarr", progress=False)
    small = open_store(tmp_path / "t.zarr")
    export(small, tmp_path / "w.npz", "sequence", window=400, shift=-20)
    z = np.load(tmp_path / "w.npz")
    x, starts = z["x"], z["start"]
    assert len(x) == small.n_bins and starts[0] == -100 - 20
    for row, s in ((0, starts[0]), (-1, starts[-1])):
        lo, hi = max(0, s), min(1000, s + 400)
        codes = np.full(400, 4, np.uint8)
        codes[lo - s : hi - s] = [("ACGT".index(b)) for b in seq[lo:hi]]
        np.testing.assert_array_equal(x[row], one_hot(codes, np.uint8).T)
    assert x[0, :, :120].sum() == 0 and (x[0, :, 120:].sum(axis=0) == 1).all()
    assert (x[-1].sum(axis=0) == 0).any()  # the last window reaches past the end


def test_region_selection_checks_every_region(env, tmp_path):
    """Bin and signal selections share one region reader: empty regions and regions off
    their chromosome are one-line errors naming the region."""
    from fnstore.export.run import signal_regions

    store, chrom = env.store, env.chrom
    n = int(store.chrom_lengths[0])
    bad = tmp_path / "bad.bed"
    bad.write_text(f"{chrom}\t100\t200\n{chrom}\t{n - 10}\t{n + 5}\n")
    for select in (
        lambda r: store.bin_ranges(regions=r),
        lambda r: signal_regions(store, None, r),
    ):
        with pytest.raises(InputError, match=f"is outside {chrom} \\(length {n}\\)"):
            select(str(bad))
        with pytest.raises(InputError, match=f"{chrom}:-5-10"):
            select([(chrom, -5, 10)])
        with pytest.raises(InputError, match=f"{chrom}:500-500: region is empty"):
            select([(chrom, 500, 500)])
    assert signal_regions(store, None, [(chrom, 300, 400), (chrom, 100, 350)]) == [
        (chrom, 100, 400)
    ]


# --------------------------------------------------------------------------- errors via the CLI


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--what", "labels", "--tf", "NOPE"], "unknown TF 'NOPE'"),
        (["--what", "labels", "--tf", "{tf}", "--cell", "Nowhere"], "unknown cell 'Nowhere'"),
        (["--what", "bins", "--chroms", "chrZ"], "unknown chromosome 'chrZ'"),
        (
            ["--what", "signals", "--cell", "Nowhere", "--format", "bigwig"],
            "unknown cell 'Nowhere'",
        ),
    ],
)
def test_cli_unknown_selector_is_one_line(env, tmp_path, args, needle):
    args = [a.format(tf=env.tf) for a in args]
    res = CliRunner().invoke(
        main, ["export", str(env.path), str(tmp_path / "o.tsv.gz"), *args, "--quiet"]
    )
    assert res.exit_code == 1
    lines = res.output.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0] and "Traceback" not in res.output
    assert not (tmp_path / "o.tsv.gz").exists()


def test_cli_export_writes_and_reports(env, tmp_path, boundary_bed):
    out = tmp_path / f"{env.cell}.bed"
    res = CliRunner().invoke(
        main,
        [
            "export",
            str(env.path),
            str(out),
            "--what",
            "labels",
            "--tf",
            env.tf,
            "--cell",
            env.cell,
            "--label",
            "U",
            "--regions",
            str(boundary_bed),
            "--quiet",
        ],
    )
    assert res.exit_code == 0, res.output
    assert "exported labels as bed" in res.output and out.exists()


@pytest.mark.parametrize("window", [1001, 1002, 201])
def test_sequence_window_is_the_one_the_model_sees(tmp_path, window):
    """Odd windows used to be exported 1 bp off the window prediction and training read:
    the export must equal predict's ``read_stretch`` at the model's placement."""
    from fnstore.build import build_store
    from fnstore.predict.inputs import ModelInputs, read_stretch
    from fnstore.store.read import open_store
    from fnstore.store.regions import window_start

    rng = np.random.default_rng(1)
    seq = "".join(rng.choice(list("ACGT"), 3000))
    (tmp_path / "g.fa").write_text(">chrA\n" + seq + "\n")
    build_store({"genome": {"fasta": str(tmp_path / "g.fa")}}, tmp_path / "t.zarr", progress=False)
    small = open_store(tmp_path / "t.zarr")
    export(small, tmp_path / "w.npz", "sequence", window=window)
    z = np.load(tmp_path / "w.npz")
    inputs = ModelInputs("none", window, (), np.zeros(0, np.float32), ())
    for row in (0, small.n_bins // 2, small.n_bins - 1):
        chrom, bin_start = small.bin_coords(np.array([z["bin"][row]]))
        first = int(window_start(int(bin_start[0]), window, small.bin_size))
        assert z["start"][row] == first
        seen = read_stretch(small, inputs, "chrA", first, first + window)[:, :4]
        np.testing.assert_array_equal(z["x"][row].T, seen.astype(np.uint8))
