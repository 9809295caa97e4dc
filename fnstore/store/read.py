"""The read-only view of a complete store: :class:`Store` and :func:`open_store`.

Small coordinate arrays are loaded once; bulk data is read on demand, chunk by chunk.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np
import zarr

from fnstore.errors import StoreError
from fnstore.store.backends import is_remote, store_size, zarr_store
from fnstore.store.layout import FORMAT_NAME, SCHEMA_VERSION, STATUS_COMPLETE, Task, bins_per_chrom
from fnstore.store.regions import as_regions, check_regions, chrom_lengths


class Store:
    """A read-only view of a complete store.

    Small coordinate arrays are loaded once; bulk data (sequence, signals, labels) is read
    on demand, chunk by chunk, so opening a whole-genome store costs milliseconds.
    """

    def __init__(self, root: zarr.Group, path: str) -> None:
        self.root = root
        self.path = path
        self.attrs: dict[str, Any] = dict(root.attrs)
        meta = self.attrs[FORMAT_NAME]
        self.schema_version: int = int(meta["schema_version"])
        self.store_id: str = meta["store_id"]
        self.status: str = meta["status"]
        self.bin_size: int = int(meta["bin_size"])
        self.stride: int = int(meta["stride"])
        self.position_chunk: int = int(meta["position_chunk"])
        self.bin_chunk: int = int(meta["bin_chunk"])
        self.signal_dtype: str = meta["signal_dtype"]
        self.chroms: list[str] = [str(c) for c in root["chrom"][:]]
        self.chrom_lengths: np.ndarray = root["chrom_length"][:]
        self.chrom_offsets: np.ndarray = root["chrom_offset"][:]
        self.chrom_first_bin: np.ndarray = root["chrom_first_bin"][:]
        self.cells: list[str] = [str(c) for c in root["cell"][:]]
        self.tracks: list[str] = [str(t) for t in root["track"][:]]
        tfs = [str(t) for t in root["task_tf"][:]]
        tcells = [str(c) for c in root["task_cell"][:]]
        self.tasks: list[Task] = [
            Task(i, tf, c) for i, (tf, c) in enumerate(zip(tfs, tcells, strict=True))
        ]
        self.annotation_names: list[str] = [str(a) for a in root["annotation"][:]]
        self.meta_feature_names: list[str] = [str(m) for m in root["meta_feature"][:]]
        self._indexes: dict[str, dict[str, int]] = {}  # name -> position, per kind, on first use
        self.bins_per_chrom = bins_per_chrom(self.chrom_lengths, self.bin_size, self.stride)
        self.n_bins = int(self.bins_per_chrom.sum())

    # ---- identity and summary
    def __repr__(self) -> str:
        return (
            f"<fnstore.Store {self.path!r}: {len(self.chroms)} chroms, {self.n_bins:,} bins, "
            f"{len(self.cells)} cells, {len(self.tracks)} tracks, {len(self.tasks)} tasks>"
        )

    @property
    def provenance(self) -> dict[str, Any]:
        return self.attrs.get("provenance", {})

    @property
    def labelling(self) -> dict[str, Any]:
        return self.attrs.get("labelling", {})

    @property
    def track_present(self) -> dict[str, list[bool]]:
        """Per track, which cells have real data (others read as zeros)."""
        return self.attrs.get("track_present", {t: [True] * len(self.cells) for t in self.tracks})

    # ---- lookups (each raises StoreError naming what is unknown)
    def _index_of(self, names: list[str], key: str, what: str) -> int:
        index = self._indexes.get(what)
        if index is None:
            index = self._indexes[what] = {n: i for i, n in enumerate(names)}
        try:
            return index[key]
        except KeyError:
            raise StoreError(
                f"{self.path}: unknown {what} {key!r} (store has {', '.join(names)})"
            ) from None

    def chrom_index(self, chrom: str) -> int:
        return self._index_of(self.chroms, chrom, "chromosome")

    def cell_index(self, cell: str) -> int:
        return self._index_of(self.cells, cell, "cell")

    def track_index(self, track: str) -> int:
        return self._index_of(self.tracks, track, "track")

    def task_index(self, tf: str, cell: str) -> int:
        for t in self.tasks:
            if t.tf == tf and t.cell == cell:
                return t.index
        known_tf = sorted({t.tf for t in self.tasks})
        if tf not in known_tf:
            raise StoreError(f"{self.path}: unknown TF {tf!r} (store has {', '.join(known_tf)})")
        cells = sorted(t.cell for t in self.tasks if t.tf == tf)
        raise StoreError(
            f"{self.path}: no labels for {tf} in cell {cell!r} (only in {', '.join(cells)})"
        )

    def tasks_for(self, tf: str | None = None, cell: str | None = None) -> list[Task]:
        found = [
            t for t in self.tasks if (tf is None or t.tf == tf) and (cell is None or t.cell == cell)
        ]
        if not found:
            if tf is not None and tf not in {t.tf for t in self.tasks}:
                raise StoreError(f"{self.path}: unknown TF {tf!r}")
            if cell is not None:
                self.cell_index(cell)
            raise StoreError(f"{self.path}: no task for TF={tf} cell={cell}")
        return found

    # ---- bins
    def bin_range(self, chrom: str) -> tuple[int, int]:
        """Half-open global bin index range of a chromosome."""
        i = self.chrom_index(chrom)
        lo = int(self.chrom_first_bin[i])
        return lo, lo + int(self.bins_per_chrom[i])

    def bin_coords(self, bins: np.ndarray | slice) -> tuple[np.ndarray, np.ndarray]:
        """(chromosome index, chrom-local start) of global bin indices, computed arithmetically."""
        idx = (
            np.arange(self.n_bins)[bins] if isinstance(bins, slice) else np.asarray(bins, np.int64)
        )
        chrom = np.searchsorted(self.chrom_first_bin, idx, side="right") - 1
        start = (idx - self.chrom_first_bin[chrom]) * self.stride
        return chrom.astype(np.int64), start.astype(np.int64)

    def bin_index(self, chrom: str, start: int | np.ndarray) -> np.ndarray:
        """Global bin index of bins starting at ``start`` on ``chrom`` (must be on the grid)."""
        lo, hi = self.bin_range(chrom)
        start = np.asarray(start, dtype=np.int64)
        if np.any(start % self.stride):
            raise StoreError(
                f"{self.path}: bin starts must be multiples of the stride {self.stride}"
            )
        idx = lo + start // self.stride
        if np.any((idx < lo) | (idx >= hi)):
            raise StoreError(f"{self.path}: bin start outside {chrom}")
        return idx

    def bins_overlapping(self, chrom: str, start: int, end: int) -> tuple[int, int]:
        """Global index range of bins that overlap ``[start, end)`` on ``chrom``."""
        lo, hi = self.bin_range(chrom)
        first = max(0, -(-(start - self.bin_size + 1) // self.stride))
        last = (end - 1) // self.stride + 1
        return lo + min(first, hi - lo), lo + max(0, min(last, hi - lo))

    def regions_on(
        self,
        chroms: Sequence[str] | None,
        regions: str | os.PathLike | Sequence[tuple[str, int, int]],
    ) -> list[tuple[str, int, int]]:
        """``regions`` (a BED path, tuples, ``Region``s or ``chrom:start-end`` strings; see
        :func:`fnstore.store.regions.as_regions`) that lie on ``chroms`` (None: any), as
        ``(chrom, start, end)`` tuples in the given order.

        Every region is checked (non-empty, within its chromosome), including regions on
        chromosomes that are then dropped: a region file for another assembly should fail
        loudly, not select nothing.
        """
        wanted = set(self.chroms if chroms is None else chroms)
        for c in wanted:
            self.chrom_index(c)
        found = as_regions(regions)
        for r in found:
            self.chrom_index(r.chrom)
        check_regions(found, chrom_lengths(self))
        return [r.as_tuple() for r in found if r.chrom in wanted]

    def bin_ranges(
        self,
        chroms: Sequence[str] | None = None,
        regions: str | os.PathLike | Sequence[tuple[str, int, int]] | None = None,
    ) -> list[tuple[int, int]]:
        """Sorted, merged, half-open global bin ranges of chromosomes and/or regions.

        Ranges rather than index arrays, so a whole-genome selection is a few tuples, not
        60 million indices. ``regions`` are ``(chrom, start, end)`` tuples or a BED path; a
        bin is selected when it overlaps a region by at least 1 bp. With both, regions on
        chromosomes outside ``chroms`` are dropped.
        """
        if regions is None:
            chroms = list(self.chroms) if chroms is None else list(chroms)
            ranges = [self.bin_range(c) for c in chroms]
        else:
            ranges = [
                self.bins_overlapping(c, s, e) for c, s, e in self.regions_on(chroms, regions)
            ]
        merged: list[tuple[int, int]] = []
        for lo, hi in sorted(r for r in ranges if r[1] > r[0]):
            if merged and lo <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(merged[-1][1], hi))
            else:
                merged.append((lo, hi))
        return merged

    def bins(
        self,
        chroms: Sequence[str] | None = None,
        regions: str | os.PathLike | Sequence[tuple[str, int, int]] | None = None,
    ) -> Any:
        """A pandas DataFrame of bins (``chrom``, ``start``, ``end``, global ``index``) in store order."""
        import pandas as pd

        ranges = self.bin_ranges(chroms, regions)
        idx = np.concatenate(
            [np.arange(lo, hi, dtype=np.int64) for lo, hi in ranges] or [np.zeros(0, np.int64)]
        )
        chrom, start = self.bin_coords(idx)
        names = pd.Categorical.from_codes(chrom, categories=self.chroms)
        return pd.DataFrame(
            {"chrom": names, "start": start, "end": start + self.bin_size, "index": idx}
        )

    def blacklist(self, bins: slice | np.ndarray = slice(None)) -> np.ndarray:
        return (
            self.root["blacklist"][bins]
            if isinstance(bins, slice)
            else self.root["blacklist"].get_orthogonal_selection((np.asarray(bins),))
        )

    # ---- bulk reads
    def _check_range(self, chrom: str, start: int, end: int) -> int:
        i = self.chrom_index(chrom)
        if not 0 <= start <= end <= self.chrom_lengths[i]:
            raise StoreError(
                f"{self.path}: {chrom}:{start}-{end} is outside {chrom} (length {int(self.chrom_lengths[i])})"
            )
        return int(self.chrom_offsets[i])

    def sequence(self, chrom: str, start: int, end: int) -> np.ndarray:
        """uint8 base codes of ``chrom[start:end]``."""
        off = self._check_range(chrom, start, end)
        return self.root["sequence"][off + start : off + end]

    def signal(self, cell: str, track: str, chrom: str, start: int, end: int) -> np.ndarray:
        """float32 per-base signal of one cell and track."""
        off = self._check_range(chrom, start, end)
        arr = self.root["signals"][track] if track in self.tracks else self.track_index(track)
        return np.asarray(arr[self.cell_index(cell), off + start : off + end], dtype=np.float32)

    def signal_array(self, track: str) -> zarr.Array:
        self.track_index(track)
        return self.root["signals"][track]

    @property
    def sequence_array(self) -> zarr.Array:
        return self.root["sequence"]

    def labels(
        self,
        tasks: Sequence[int] | None = None,
        bins: slice | np.ndarray = slice(None),
        *,
        tf: str | None = None,
        cell: str | None = None,
        chroms: Sequence[str] | None = None,
    ) -> np.ndarray:
        """int8 label matrix ``(bins, tasks)``: U=0, B=1, A=2, no data=-1.

        Positional form: task indices and a bin slice/index array. Keyword form for people:
        ``labels(tf="CTCF", chroms=["chr20"])``; columns are then ``tasks_for(tf, cell)`` and
        rows ``bins(chroms=...)``, in store order.
        """
        if tf is not None or cell is not None:
            if tasks is not None:
                raise StoreError(f"{self.path}: give task indices or tf=/cell=, not both")
            tasks = [t.index for t in self.tasks_for(tf=tf, cell=cell)]
        if chroms is not None:
            if not (isinstance(bins, slice) and bins == slice(None)):
                raise StoreError(f"{self.path}: give bins or chroms=, not both")
            ranges = self.bin_ranges(chroms=chroms)
            bins = (
                slice(*ranges[0])
                if len(ranges) == 1
                else np.concatenate(
                    [np.arange(lo, hi, dtype=np.int64) for lo, hi in ranges]
                    or [np.zeros(0, np.int64)]
                )
            )
        cols = list(range(len(self.tasks))) if tasks is None else list(tasks)
        arr = self.root["labels"]
        if isinstance(bins, slice):
            return arr.get_orthogonal_selection((bins, np.asarray(cols, dtype=np.int64)))
        return arr.get_orthogonal_selection(
            (np.asarray(bins, np.int64), np.asarray(cols, dtype=np.int64))
        )

    def annotations(self, bins: slice | np.ndarray = slice(None)) -> np.ndarray:
        arr = self.root["annotations"]
        return (
            arr[bins]
            if isinstance(bins, slice)
            else arr.get_orthogonal_selection((np.asarray(bins, np.int64), slice(None)))
        )

    def metadata(self, cell: str) -> np.ndarray:
        return self.root["metadata"][self.cell_index(cell)]

    def label_counts(self, tasks: Sequence[int] | None = None) -> list[dict[str, int]]:
        """Counts of U/B/A/no-data per task, in one chunk-by-chunk pass over the labels."""
        cols = np.arange(len(self.tasks)) if tasks is None else np.asarray(tasks, dtype=np.int64)
        counts = np.zeros((len(cols), 4), dtype=np.int64)
        for lo in range(0, self.n_bins, self.bin_chunk):
            block = self.labels(cols, slice(lo, lo + self.bin_chunk)).astype(np.int64) + 1
            for code in range(4):
                counts[:, code] += (block == code).sum(axis=0)
        return [
            {"U": int(c[1]), "B": int(c[2]), "A": int(c[3]), "missing": int(c[0])} for c in counts
        ]

    def info(self, counts: bool = True) -> dict[str, Any]:
        """A JSON-able summary (``fnstore info``)."""
        tasks: list[dict[str, Any]] = [{"tf": t.tf, "cell": t.cell} for t in self.tasks]
        if counts and self.tasks:
            for row, c in zip(tasks, self.label_counts(), strict=True):
                row.update(c)
        return {
            "path": self.path,
            "store_id": self.store_id,
            "schema_version": self.schema_version,
            "status": self.status,
            "bin_size": self.bin_size,
            "stride": self.stride,
            "chroms": {c: int(n) for c, n in zip(self.chroms, self.chrom_lengths, strict=True)},
            "n_bins": self.n_bins,
            "n_blacklisted": int(
                sum(
                    int(self.root["blacklist"][lo : lo + self.bin_chunk].sum())
                    for lo in range(0, self.n_bins, self.bin_chunk)
                )
            ),
            "cells": self.cells,
            "tracks": {
                t: [c for c, p in zip(self.cells, self.track_present.get(t, []), strict=False) if p]
                for t in self.tracks
            },
            "signal_dtype": self.signal_dtype,
            "annotations": self.annotation_names,
            "meta_features": self.meta_feature_names,
            "tasks": tasks,
            "size_bytes": store_size(self.path),
        }

    def to_xarray(self) -> Any:
        """The store as an ``xarray.Dataset`` (lazy, dask-backed).

        Signal tracks (group ``signals``) are merged in as ``signal_<track>(cell, position)``;
        ``bin_chrom``/``bin_start`` and ``task_tf``/``task_cell`` become coordinates.
        """
        import xarray as xr

        ds = xr.open_zarr(zarr_store(self.path, "r"), consolidated=False)
        if self.tracks:
            sig = xr.open_zarr(zarr_store(self.path, "r"), group="signals", consolidated=False)
            ds = ds.merge(sig.rename({t: f"signal_{t}" for t in sig.data_vars}))
        return ds.set_coords(
            [v for v in ("bin_chrom", "bin_start", "task_tf", "task_cell") if v in ds]
        )


def open_store(path: str | os.PathLike, allow_incomplete: bool = False) -> Store:
    """Open a store read-only; refuses unfinished builds and unknown schema versions."""
    p = str(path)
    if not is_remote(p) and not os.path.exists(p):
        raise StoreError(f"{p}: no such store")
    try:
        root = zarr.open_group(zarr_store(p, "r"), mode="r")
        meta = dict(root.attrs).get(FORMAT_NAME)
    except Exception as exc:  # zarr raises several types for "not a group"
        raise StoreError(f"{p}: not a Zarr v3 store ({type(exc).__name__}: {exc})") from None
    if not meta:
        raise StoreError(f"{p}: not an fnstore store (no '{FORMAT_NAME}' attributes)")
    version = int(meta.get("schema_version", -1))
    if version != SCHEMA_VERSION:
        raise StoreError(
            f"{p}: schema version {version} is not supported (this fnstore reads {SCHEMA_VERSION})"
        )
    if meta.get("status") != STATUS_COMPLETE and not allow_incomplete:
        raise StoreError(
            f"{p}: store is incomplete (status {meta.get('status')!r}); finish it with `fnstore build --resume`"
        )
    return Store(root, p)
