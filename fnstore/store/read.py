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
from fnstore.store.grid import BinGrid
from fnstore.store.integrity import open_checked, unwrap
from fnstore.store.layout import (
    ANNOTATIONS,
    BIN_CHROM,
    BIN_START,
    BLACKLIST,
    FORMAT_NAME,
    LABELS,
    METADATA,
    READABLE_SCHEMA_VERSIONS,
    SEQUENCE,
    SIGNALS,
    STATUS_COMPLETE,
    Task,
    bins_per_chrom,
)
from fnstore.store.names import read_names


class Store(BinGrid):
    """A read-only view of a complete store.

    Small coordinate arrays are loaded once; bulk data (sequence, signals, labels) is read
    on demand, chunk by chunk, so opening a whole-genome store costs milliseconds.
    """

    def __init__(self, root: zarr.Group, path: str) -> None:
        self.root = root
        self.path = path
        #: the icechunk snapshot read (set by :func:`open_store`; None for other stores)
        self.snapshot_id: str | None = None
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
        self.chroms: list[str] = read_names(root, "chrom")
        self.chrom_lengths: np.ndarray = root["chrom_length"][:]
        self.chrom_offsets: np.ndarray = root["chrom_offset"][:]
        self.chrom_first_bin: np.ndarray = root["chrom_first_bin"][:]
        self.cells: list[str] = read_names(root, "cell")
        self.tracks: list[str] = read_names(root, "track")
        tfs = read_names(root, "task_tf")
        tcells = read_names(root, "task_cell")
        self.tasks: list[Task] = [
            Task(i, tf, c) for i, (tf, c) in enumerate(zip(tfs, tcells, strict=True))
        ]
        self.annotation_names: list[str] = read_names(root, "annotation")
        self.meta_feature_names: list[str] = read_names(root, "meta_feature")
        self._indexes: dict[str, dict[str, int]] = {}  # name -> position, per kind, on first use
        self.bins_per_chrom = bins_per_chrom(self.chrom_lengths, self.bin_size, self.stride)
        self.n_bins = int(self.bins_per_chrom.sum())

    # ---- identity and summary
    def __repr__(self) -> str:
        return (
            f"<fnstore.Store {self.path!r}: {len(self.chroms)} chroms, {self.n_bins:,} bins, "
            f"{len(self.cells)} cells, {len(self.tracks)} tracks, {len(self.tasks)} tasks>"
        )

    def _repr_html_(self) -> str:
        """A notebook's view of what the store holds (reads no chunk)."""
        from html import escape

        def short(names: Sequence[str], n: int = 12) -> str:
            return ", ".join(names[:n]) + (f" ... ({len(names)})" if len(names) > n else "")

        rows = {
            "chromosomes": short(
                [
                    f"{c} ({int(n):,} bp)"
                    for c, n in zip(self.chroms, self.chrom_lengths, strict=True)
                ]
            ),
            "bins": f"{self.n_bins:,} of {self.bin_size} bp every {self.stride} bp",
            "cells": short(self.cells),
            "tracks": short(self.tracks) or "none",
            "tasks": short([f"{t.tf}.{t.cell}" for t in self.tasks]) or "none",
            "annotations": short(self.annotation_names) or "none",
            "meta features": short(self.meta_feature_names) or "none",
        }
        body = "".join(
            f"<tr><th style='text-align:left'>{escape(k)}</th>"
            f"<td style='text-align:left'>{escape(v)}</td></tr>"
            for k, v in rows.items()
        )
        return (
            f"<div><b>fnstore.Store</b> <code>{escape(self.path)}</code><table>{body}</table></div>"
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

    def cell_index(self, cell: str) -> int:
        """Position of a cell type in :attr:`cells` (the first axis of signals and metadata).

        Parameters
        ----------
        cell : str
            Cell type name, one of :attr:`cells`.

        Returns
        -------
        position : int
            0-based; an unknown name is a :class:`StoreError`.
        """
        return self._index_of(self.cells, cell, "cell")

    def track_index(self, track: str) -> int:
        """Position of a signal track in :attr:`tracks`.

        Parameters
        ----------
        track : str
            Track name, one of :attr:`tracks`.

        Returns
        -------
        position : int
            0-based; unknown tracks raise :class:`StoreError`.
        """
        return self._index_of(self.tracks, track, "track")

    def task_index(self, tf: str, cell: str) -> int:
        """Column of the labels matrix for one TF in one cell type.

        Parameters
        ----------
        tf, cell : str

        Returns
        -------
        int
            The task's index; a :class:`StoreError` says whether the TF is unknown or has
            no labels in that cell (and in which cells it does).
        """
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
        """The tasks of a TF and/or a cell type.

        Parameters
        ----------
        tf, cell : str, optional
            Filters; None matches any.

        Returns
        -------
        list of Task
            In store (column) order; never empty: no match is a :class:`StoreError`.
        """
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

    def blacklist(self, bins: slice | np.ndarray = slice(None)) -> np.ndarray:
        """Blacklist flags of bins.

        Parameters
        ----------
        bins : slice or numpy.ndarray
            A slice or array of global bin indices; default every bin.

        Returns
        -------
        blacklisted : numpy.ndarray
            bool, one per selected bin: True where the bin overlaps the blacklist.
        """
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
        """uint8 base codes of ``chrom[start:end]``.

        Parameters
        ----------
        chrom : str
            Chromosome name.
        start, end : int
            Chrom-local bp, 0-based half-open, within the chromosome (else a :class:`StoreError`).

        Returns
        -------
        numpy.ndarray
            uint8 codes (A=0, C=1, G=2, T=3, N=4), length ``end - start``.
        """
        off = self._check_range(chrom, start, end)
        return self.root["sequence"][off + start : off + end]

    def signal(self, cell: str, track: str, chrom: str, start: int, end: int) -> np.ndarray:
        """float32 per-base signal of one cell and track.

        Parameters
        ----------
        cell, track, chrom : str
            Cell type, signal track and chromosome names.
        start, end : int
            Chrom-local bp, 0-based half-open, within the chromosome.

        Returns
        -------
        numpy.ndarray
            float32, length ``end - start``; zeros where the cell has no data for the track.
        """
        off = self._check_range(chrom, start, end)
        arr = self.root["signals"][track] if track in self.tracks else self.track_index(track)
        return np.asarray(arr[self.cell_index(cell), off + start : off + end], dtype=np.float32)

    def signal_array(self, track: str) -> zarr.Array:
        """The zarr array of one signal track, for chunk-wise reads.

        Parameters
        ----------
        track : str
            Track name; an unknown one is a :class:`StoreError`.

        Returns
        -------
        zarr.Array
            Shape ``(n_cells, n_positions)``, indexed by :meth:`cell_index` and global
            position (chromosome offset + chrom-local bp).
        """
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

        Parameters
        ----------
        tasks : sequence of int, optional
            Task (column) indices; default all tasks.
        bins : slice or numpy.ndarray
            A slice or array of global bin indices; default every bin.
        tf, cell : str, optional
            Select tasks by name instead of ``tasks`` (not both).
        chroms : sequence of str, optional
            Select the bins of these chromosomes instead of ``bins`` (not both).

        Returns
        -------
        numpy.ndarray
            int8, shape ``(n_selected_bins, n_selected_tasks)``.
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
        """Per-bin annotation features (columns named by :attr:`annotation_names`).

        Parameters
        ----------
        bins : slice or numpy.ndarray
            Rows to read, as for :meth:`blacklist`.

        Returns
        -------
        features : numpy.ndarray
            Shape ``(n_selected_bins, n_annotations)``.
        """
        arr = self.root["annotations"]
        return (
            arr[bins]
            if isinstance(bins, slice)
            else arr.get_orthogonal_selection((np.asarray(bins, np.int64), slice(None)))
        )

    def metadata(self, cell: str) -> np.ndarray:
        """The meta-feature vector of one cell type (named by :attr:`meta_feature_names`).

        Parameters
        ----------
        cell : str
            Cell type whose meta-features to return.

        Returns
        -------
        features : numpy.ndarray
            Shape ``(n_meta_features,)``.
        """
        return self.root["metadata"][self.cell_index(cell)]

    def label_counts(self, tasks: Sequence[int] | None = None) -> list[dict[str, int]]:
        """Counts of U/B/A/no-data per task, in one chunk-by-chunk pass over the labels.

        Parameters
        ----------
        tasks : sequence of int, optional
            Task indices; default all tasks.

        Returns
        -------
        list of dict
            One ``{"U", "B", "A", "missing": int}`` per task, in the order given.
        """
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
        """A JSON-able summary (``fnstore info``).

        Parameters
        ----------
        counts : bool
            Add label counts to each task (a pass over all labels; slow on a whole genome).

        Returns
        -------
        dict
            Identity, bin grid, chromosome lengths, bin and blacklist counts, cells, tracks
            (with the cells that have data), annotations, meta-features, tasks and size on
            disk (``size_bytes``, None for a URL).
        """
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
        } | ({"snapshot_id": self.snapshot_id} if self.snapshot_id else {})

    def to_xarray(self) -> Any:
        """The store as an ``xarray.Dataset`` (lazy, dask-backed), selectable by position.

        Every bin has ``chrom``, ``start`` and ``end`` coordinates under an arithmetic index,
        so ``ds.sel(chrom="chr20", start=slice(a, b))`` works; signal tracks are merged in as
        ``signal_<track>(cell, position)``; build internals are hidden
        (:mod:`fnstore.store.xarray_view`).

        Returns
        -------
        xarray.Dataset
            Needs the ``xarray`` and ``dask`` packages.
        """
        from fnstore.store.xarray_view import store_dataset

        return store_dataset(self)


def open_store(
    path: str | os.PathLike | Any,
    allow_incomplete: bool = False,
    storage_options: dict[str, Any] | None = None,
) -> Store:
    """Open a store read-only; refuses unfinished builds and unknown schema versions.

    Parameters
    ----------
    path : str, os.PathLike or zarr.abc.store.Store
        Folder, ``.zip`` file, fsspec URL (``http(s)://``, ``s3://``, ``gs://``, ...),
        ``icechunk://PATH[@branch|tag|snapshot]``, or any zarr-python ``Store`` object
        (an icechunk session's ``store`` included).
    allow_incomplete : bool
        Open a store whose build has not finished (for ``validate`` and resuming).
    storage_options : dict, optional
        fsspec storage options of a remote URL (``icechunk.s3_storage`` keywords for an
        icechunk repository on S3); default: ``$FNSTORE_STORAGE_OPTIONS`` (JSON).

    Returns
    -------
    Store
        A missing path, a non-fnstore or unsupported store, or (without
        ``allow_incomplete``) an unfinished one is a :class:`StoreError`.
    """
    p = str(path)
    if not is_remote(path) and not os.path.exists(p):
        raise StoreError(f"{p}: no such store")
    zstore = zarr_store(path, "r", storage_options)
    try:
        root, checked = open_checked(zstore, p)
        meta = dict(root.attrs).get(FORMAT_NAME)
    except Exception as exc:  # zarr raises several types for "not a group"
        if type(exc).__name__ in ("GroupNotFoundError", "FileNotFoundError"):
            # a URL, a Store object or an empty folder with nothing at its root
            raise StoreError(f"{p}: no such store (no zarr.json there)") from None
        raise StoreError(f"{p}: not a Zarr v3 store ({type(exc).__name__}: {exc})") from None
    if not meta:
        raise StoreError(f"{p}: not an fnstore store (no '{FORMAT_NAME}' attributes)")
    if root.metadata.zarr_format != 3:
        raise StoreError(
            f"{p}: a Zarr v{root.metadata.zarr_format} group; fnstore stores are Zarr v3"
        )
    version = int(meta.get("schema_version", -1))
    if version not in READABLE_SCHEMA_VERSIONS:
        raise StoreError(
            f"{p}: schema version {version} is not supported (this fnstore reads "
            f"{', '.join(map(str, READABLE_SCHEMA_VERSIONS))}; rebuild the store with this fnstore)"
        )
    if meta.get("status") != STATUS_COMPLETE and not allow_incomplete:
        raise StoreError(
            f"{p}: store is incomplete (status {meta.get('status')!r}); finish it with `fnstore build --resume`"
        )
    checked.strict = bool(meta.get("manifest"))  # every chunk was written: none may be absent
    try:
        store = Store(root, p)
        # an icechunk session knows which version it reads (None for every other store)
        store.snapshot_id = getattr(getattr(unwrap(zstore), "session", None), "snapshot_id", None)
    except (KeyError, TypeError, ValueError) as exc:  # metadata that does not say what it must
        raise StoreError(f"{p}: damaged store metadata ({type(exc).__name__}: {exc})") from None
    data = (SEQUENCE, BIN_CHROM, BIN_START, BLACKLIST, LABELS, ANNOTATIONS, METADATA)
    _check_arrays(root, p, [*data, *(f"{SIGNALS}/{track}" for track in store.tracks)])
    return store


def _check_arrays(root: zarr.Group, path: str, names: list[str]) -> None:
    """Read every data array's metadata now: a damaged ``zarr.json`` is one error naming
    it, not a decoding failure in the middle of a command (a few small reads)."""
    for name in names:
        try:
            root[name]
        except KeyError:
            continue  # absent arrays are validate's to report
        except Exception as exc:
            raise StoreError(
                f"{path}/{name}/zarr.json: unreadable ({type(exc).__name__}: {exc})"
            ) from None
