"""The store as an ``xarray.Dataset`` whose bins can be selected by chromosome and position.

``Store.to_xarray()`` gives every bin three coordinates, ``chrom`` (its chromosome's name),
``start`` and ``end`` (bp), and attaches :class:`BinIndex` over them, so
``ds.sel(chrom="chr20", start=slice(1_000_000, 2_000_000))`` works.

Why a custom index, not a pandas ``MultiIndex`` on the bin dimension: bins are a grid, so a
chromosome and a start map to a bin number by arithmetic (``first_bin[chrom] + start //
stride``), and the index holds nothing per bin. A ``MultiIndex`` needs every bin's chromosome
and start in memory (and builds a hash table on its first lookup), and it refuses a slice on
one level (``sel(chrom=..., start=slice(...))`` raises in xarray). On the chr20 store (1.26 M
bins; ``benchmarks/xarray_index.py``) attaching a ``MultiIndex`` and one lookup took 1.0-2.5 s
and +131-142 MiB of RSS, this index 15-19 ms (dask graph building) and no measurable memory,
the same for a whole genome (~62 M bins, where the ``MultiIndex`` would need ~7 GB). The
coordinate variables are lazy (dask), computed from the grid only when read.

Internal arrays (build progress, chromosome offsets, the per-bin chromosome codes) are left
out of the view; the chromosome-level dimension is called ``chromosome`` there, since
``chrom`` names the per-bin coordinate.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import xarray as xr
from xarray.core.indexing import IndexSelResult

from fnstore.store.layout import BIN_CHROM, BIN_START, PROGRESS_ARRAY

#: arrays of the store that are layout internals, not data a user selects or reads
HIDDEN = (PROGRESS_ARRAY, "chrom_offset", "chrom_first_bin", BIN_CHROM, BIN_START)
BIN_COORDS = ("chrom", "start", "end")


@dataclass(frozen=True)
class BinGridSpec:
    """The bin grid's arithmetic, and the global bins ``[lo, hi)`` a view covers."""

    chroms: tuple[str, ...]
    first_bin: tuple[int, ...]
    n_bins: tuple[int, ...]
    bin_size: int
    stride: int
    lo: int
    hi: int
    chunk: int = 1 << 16


def _bounds(value: Any, name: str) -> tuple[int | None, int | None]:
    """Inclusive label bounds of a scalar or a step-less slice, as pandas' ``.loc`` reads them."""
    if isinstance(value, slice):
        if value.step not in (None, 1):
            raise KeyError(f"{name}: a slice with a step is not supported")
        lo = None if value.start is None else int(value.start)
        hi = None if value.stop is None else int(value.stop)
        return lo, hi
    return int(value), int(value)


class BinIndex(xr.Index):
    """An xarray index over ``chrom``/``start``/``end`` of the ``bin`` dimension (arithmetic)."""

    def __init__(self, grid: BinGridSpec, dim: Hashable = "bin") -> None:
        self.grid = grid
        self.dim = dim

    @classmethod
    def from_variables(
        cls, variables: Mapping[Any, xr.Variable], *, options: Mapping[str, Any]
    ) -> BinIndex:
        """Attach to the coordinates ``chrom``, ``start`` and ``end`` given the grid.

        Parameters
        ----------
        variables : mapping
            The three coordinate variables, all on one dimension.
        options : mapping
            ``grid``: the :class:`BinGridSpec` the coordinates were made from.

        Returns
        -------
        BinIndex
        """
        if set(variables) != set(BIN_COORDS):
            raise ValueError(f"BinIndex needs exactly the coordinates {BIN_COORDS}")
        dims = {v.dims for v in variables.values()}
        if len(dims) != 1 or len(next(iter(dims))) != 1:
            raise ValueError("BinIndex coordinates must share one dimension")
        return cls(options["grid"], next(iter(dims))[0])

    def create_variables(self, variables: Mapping[Any, xr.Variable] | None = None) -> dict:
        """The bins' ``chrom``, ``start`` and ``end`` over this index's window, lazily.

        Computed from the grid (dask), not sliced from ``variables``: xarray hands the
        variables from before a selection to the narrowed index.

        Parameters
        ----------
        variables : mapping, optional
            The coordinate variables this index was attached to (their attributes are kept).

        Returns
        -------
        dict
            ``chrom``, ``start`` and ``end`` variables on the ``bin`` dimension.
        """
        import dask.array as da

        g = self.grid
        bins = da.arange(g.lo, g.hi, chunks=g.chunk, dtype=np.int64)
        names = np.array(g.chroms)
        first = np.array(g.first_bin, dtype=np.int64)
        k = bins.map_blocks(_chrom_of, first, dtype=np.intp)
        data = {
            "chrom": k.map_blocks(_take, names, dtype=names.dtype),
            "start": (bins - k.map_blocks(_take, first, dtype=np.int64)) * g.stride,
        }
        data["end"] = data["start"] + g.bin_size
        attrs = {
            "chrom": {"long_name": "chromosome"},
            "start": {"units": "bp"},
            "end": {"units": "bp"},
        }
        for name, var in (variables or {}).items():
            attrs[name] = dict(var.attrs)
        return {n: xr.Variable((self.dim,), data[n], attrs[n]) for n in BIN_COORDS}

    def _chrom_range(self, chrom: str) -> tuple[int, int]:
        g = self.grid
        try:
            k = g.chroms.index(str(chrom))
        except ValueError:
            raise KeyError(f"unknown chromosome {chrom!r}") from None
        return g.first_bin[k], g.first_bin[k] + g.n_bins[k]

    def _range(self, chrom: str | None, labels: dict[Any, Any]) -> tuple[int, int]:
        """Global bins ``[lo, hi)`` of one chromosome whose start/end lie in the bounds."""
        g = self.grid
        if chrom is None:
            covered = {c for c in g.chroms if self._overlaps(*self._chrom_range(c))}
            if len(covered) != 1:
                raise KeyError("select a chrom too: start/end alone are ambiguous here")
            chrom = covered.pop()
        lo, hi = self._chrom_range(chrom)
        first = lo
        for name, shift in (("start", 0), ("end", g.bin_size)):
            if name not in labels:
                continue
            a, b = _bounds(labels[name], name)
            if a is not None:  # first bin with start + shift >= a
                lo = max(lo, first + max(0, -(-(a - shift) // g.stride)))
            if b is not None:  # last bin with start + shift <= b
                hi = min(hi, first + (b - shift) // g.stride + 1)
        return lo, max(lo, hi)

    def _overlaps(self, lo: int, hi: int) -> bool:
        return lo < self.grid.hi and hi > self.grid.lo

    def sel(self, labels: dict[Any, Any], **kwargs: Any) -> IndexSelResult:
        """Bins by chromosome name(s) and start/end bounds (inclusive, like ``.loc``).

        Parameters
        ----------
        labels : dict
            ``chrom`` (a name or a list of names), ``start`` and ``end`` (an int, or a
            slice of bp; a scalar must be a bin's exact start or end).
        **kwargs
            ``method``/``tolerance`` are not supported (the grid is exact).

        Returns
        -------
        IndexSelResult
            A slice of the ``bin`` dimension, or an integer array for several chromosomes.
        """
        if kwargs.get("method") is not None:
            raise ValueError("BinIndex.sel does not support method=; select start=slice(a, b)")
        chrom = labels.get("chrom")
        scalar = {k: v for k, v in labels.items() if k != "chrom" and not isinstance(v, slice)}
        if isinstance(chrom, list | tuple | np.ndarray):
            parts = [np.arange(*self._window(*self._range(c, labels))) for c in chrom]
            return IndexSelResult({self.dim: np.concatenate(parts) if parts else np.arange(0)})
        lo, hi = self._window(*self._range(chrom, labels))
        if scalar:
            if hi - lo != 1:
                raise KeyError(
                    f"no bin at {scalar} on {chrom!r}: a bin starts every {self.grid.stride} bp"
                )
            return IndexSelResult({self.dim: lo})
        return IndexSelResult({self.dim: slice(lo, hi)})

    def _window(self, lo: int, hi: int) -> tuple[int, int]:
        """Global bins ``[lo, hi)`` as positions in this view (clipped to it)."""
        g = self.grid
        a, b = max(lo, g.lo) - g.lo, min(hi, g.hi) - g.lo
        return a, max(a, b)

    def isel(self, indexers: Mapping[Any, Any]) -> BinIndex | None:
        """Narrow the index to a contiguous slice; any other selection drops it.

        Parameters
        ----------
        indexers : mapping
            The positional selection on the ``bin`` dimension.

        Returns
        -------
        BinIndex or None
            None where the result is not one contiguous run of bins (the coordinates stay,
            as plain coordinates).
        """
        key = indexers.get(self.dim, slice(None))
        if not isinstance(key, slice):
            return None
        start, stop, step = key.indices(self.grid.hi - self.grid.lo)
        if step != 1:
            return None
        lo = self.grid.lo + start
        return BinIndex(replace(self.grid, lo=lo, hi=max(lo, self.grid.lo + stop)), self.dim)

    def equals(self, other: object, **kwargs: Any) -> bool:
        """Same grid and same window.

        Parameters
        ----------
        other : object
            Another index.
        **kwargs
            Ignored (xarray passes ``exclude``).

        Returns
        -------
        bool
        """
        return isinstance(other, BinIndex) and other.grid == self.grid

    def __repr__(self) -> str:
        g = self.grid
        return f"BinIndex(bins {g.lo}-{g.hi}, {g.bin_size} bp every {g.stride} bp)"


def _chrom_of(bins: np.ndarray, first_bin: np.ndarray) -> np.ndarray:
    return np.searchsorted(first_bin, bins, side="right") - 1


def _take(index: np.ndarray, values: np.ndarray) -> np.ndarray:
    return values[index]


def store_dataset(store: Any) -> xr.Dataset:
    """The xarray view of a store (see the module docstring).

    Parameters
    ----------
    store : fnstore.Store
        An open store (not imported here: ``Store.to_xarray`` calls this).

    Returns
    -------
    xarray.Dataset
        Lazy (dask) data with ``chrom``/``start``/``end`` bin coordinates under a
        :class:`BinIndex`, name coordinates on ``cell``/``task``/``track``/``annotation``/
        ``meta_feature``, and signals as ``signal_<track>(cell, position)``.
    """
    from fnstore.store.names import NAME_ARRAYS

    ds = xr.open_zarr(store.root.store, consolidated=None)  # any store: folder, icechunk, ...
    if store.tracks:
        sig = xr.open_zarr(store.root.store, group="signals", consolidated=None)
        ds = ds.merge(sig.rename({t: f"signal_{t}" for t in sig.data_vars}))
    # names are stored as UTF-8 bytes (every Zarr reader reads them, fnstore.store.names);
    # here they become the string coordinates that ``sel`` indexes by
    ds = ds.drop_vars([v for v in (*HIDDEN, *NAME_ARRAYS) if v in ds.variables])
    if "chrom" in ds.dims:
        ds = ds.rename_dims({"chrom": "chromosome"})
    names = {
        "chromosome": ("chromosome", store.chroms),
        "cell": ("cell", store.cells),
        "track": ("track", store.tracks),
        "task": ("task", [t.name for t in store.tasks]),
        "task_tf": ("task", [t.tf for t in store.tasks]),
        "task_cell": ("task", [t.cell for t in store.tasks]),
        "annotation": ("annotation", store.annotation_names),
        "meta_feature": ("meta_feature", store.meta_feature_names),
    }
    ds = ds.assign_coords({k: (d, np.asarray(v, dtype=str)) for k, (d, v) in names.items()})
    grid = BinGridSpec(
        chroms=tuple(store.chroms),
        first_bin=tuple(int(x) for x in store.chrom_first_bin),
        n_bins=tuple(int(x) for x in store.bins_per_chrom),
        bin_size=store.bin_size,
        stride=store.stride,
        lo=0,
        hi=store.n_bins,
        chunk=store.bin_chunk,
    )
    index = BinIndex(grid)
    return ds.assign_coords(xr.Coordinates.from_xindex(index))
