"""The xarray view: bins selectable by chrom/start/end through the arithmetic BinIndex."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

xr = pytest.importorskip("xarray")

from fnstore.store.xarray_view import BinGridSpec, BinIndex  # noqa: E402

# two chromosomes: chrA has 5 bins (starts 0..200), chrB 3 bins (starts 0..100)
GRID = BinGridSpec(
    chroms=("chrA", "chrB"), first_bin=(0, 5), n_bins=(5, 3), bin_size=200, stride=50, lo=0, hi=8
)


def _toy() -> xr.Dataset:
    ds = xr.Dataset({"x": ("bin", np.arange(8) * 10)})
    return ds.assign_coords(xr.Coordinates.from_xindex(BinIndex(GRID, "bin")))


def test_coordinates_follow_the_grid() -> None:
    ds = _toy()
    assert list(ds["chrom"].values) == ["chrA"] * 5 + ["chrB"] * 3
    assert list(ds["start"].values) == [0, 50, 100, 150, 200, 0, 50, 100]
    assert list(ds["end"].values) == [s + 200 for s in ds["start"].values]


def test_sel_by_chrom_and_start() -> None:
    ds = _toy()
    assert list(ds.sel(chrom="chrB")["x"].values) == [50, 60, 70]
    one = ds.sel(chrom="chrA", start=slice(40, 150))  # inclusive bounds, like .loc
    assert list(one["start"].values) == [50, 100, 150] and list(one["x"].values) == [10, 20, 30]
    assert int(ds.sel(chrom="chrB", start=50)["x"]) == 60
    assert list(ds.sel(chrom="chrA", end=slice(None, 300))["start"].values) == [0, 50, 100]
    both = ds.sel(chrom=["chrA", "chrB"], start=slice(100, 100))
    assert list(both["x"].values) == [20, 70]
    with pytest.raises(KeyError, match="unknown chromosome"):
        ds.sel(chrom="chrZ")
    with pytest.raises(KeyError, match="no bin"):
        ds.sel(chrom="chrA", start=75)
    with pytest.raises(KeyError, match="select a chrom"):
        ds.sel(start=slice(0, 100))


def test_selection_narrows_the_index() -> None:
    sub = _toy().isel(bin=slice(3, 7))  # chrA 150, 200; chrB 0, 50
    assert list(sub["start"].values) == [150, 200, 0, 50]
    assert list(sub.sel(chrom="chrB")["x"].values) == [50, 60]
    assert list(sub.sel(chrom="chrA", start=slice(0, 160))["x"].values) == [30]
    picked = _toy().isel(bin=[0, 6])  # not a run of bins: plain coordinates, no index
    assert "chrom" not in picked.xindexes and list(picked["start"].values) == [0, 50]


def test_store_view(example_store, example_store_path: Path) -> None:
    store = example_store
    chrom = store.chroms[0]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ds = store.to_xarray()
        plain = xr.open_zarr(example_store_path)
    assert plain.sizes["bin"] == ds.sizes["bin"] == store.n_bins
    assert isinstance(ds.xindexes["start"], BinIndex)
    for hidden in ("build_progress", "chrom_offset", "chrom_first_bin", "bin_chrom", "bin_start"):
        assert hidden not in ds.variables
    for dim in ("cell", "task", "track", "annotation", "meta_feature"):
        assert dim in ds.coords, dim
    assert list(ds["cell"].values) == store.cells
    assert list(ds["chromosome"].values) == store.chroms

    window = ds.sel(chrom=chrom, start=slice(100_000, 110_000))
    lo, hi = store.bin_index(chrom, 100_000), store.bin_index(chrom, 110_000) + 1
    np.testing.assert_array_equal(
        window["labels"].values, store.labels(bins=slice(int(lo), int(hi)))
    )
    assert window["start"].values[0] == 100_000 and window["start"].values[-1] == 110_000
    np.testing.assert_array_equal(ds["start"].values, store.root["bin_start"][:])
    assert set(ds["chrom"].values) == {chrom}
