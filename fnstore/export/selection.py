"""What an export reads: the selection (bins, tasks, label filter), the store read one bin
chunk at a time, and the coordinate columns every table export starts with.

Selection is shared by every kind of export: chromosomes (``chroms``), BED ``regions``
(bins overlapping them; for signals, the bases inside them), TF x cell tasks (``tf``,
``cell``) and a label filter (``label``: keep bins where any selected task has that class).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from fnstore.errors import InputError, StoreError
from fnstore.progress import progress_bar
from fnstore.store.labels import LETTER_TO_CODE
from fnstore.store.layout import Task
from fnstore.store.read import Store

#: what ``regions`` may be: a BED path or ``(chrom, start, end)`` tuples
RegionsArg = str | os.PathLike | Sequence[tuple[str, int, int]]


@dataclass
class Selection:
    """What to export: global bin ranges, label columns, and an optional label-class filter."""

    ranges: list[tuple[int, int]]
    tasks: list[Task]
    label: int | None = None

    @property
    def n_bins(self) -> int:
        return sum(hi - lo for lo, hi in self.ranges)


def as_list(value: str | Sequence[str] | None) -> list[str] | None:
    """``"a,b"`` or ``["a", "b,c"]`` -> ``["a", "b", "c"]``; None (or nothing) -> None.

    Parameters
    ----------
    value : str, sequence of str or None
        Names, each possibly comma-separated.

    Returns
    -------
    list of str or None
        The names in order, empty items dropped; None when there are none.
    """
    if value is None:
        return None
    items = [value] if isinstance(value, str) else list(value)
    return [v for item in items for v in str(item).split(",") if v] or None


def select(
    store: Store,
    chroms: str | Sequence[str] | None = None,
    regions: RegionsArg | None = None,
    tf: str | Sequence[str] | None = None,
    cell: str | Sequence[str] | None = None,
    label: str | None = None,
) -> Selection:
    """Resolve selectors against the store; unknown TF, cell or chromosome is a StoreError.

    Parameters
    ----------
    store : Store
        The store to select from.
    chroms, tf, cell : str or sequence of str, optional
        Names (lists or comma-separated); None for all.
    regions : str, os.PathLike or sequence of tuple, optional
        A BED path or ``(chrom, start, end)`` tuples; bins overlapping them by >= 1 bp.
    label : str, optional
        ``"B"``, ``"U"`` or ``"A"`` (any case): keep bins where any selected task has that
        label; needs at least one task.

    Returns
    -------
    Selection
        Merged global bin ranges, the tasks in store order, and the label code or None.
    """
    chrom_list, tfs, cells = as_list(chroms), as_list(tf), as_list(cell)
    for t in tfs or []:
        store.tasks_for(tf=t)
    for c in cells or []:
        store.cell_index(c)
    tasks = [
        t
        for t in store.tasks
        if (tfs is None or t.tf in tfs) and (cells is None or t.cell in cells)
    ]
    if tfs and not tasks:
        raise StoreError(
            f"{store.path}: no labels for TF {','.join(tfs or ['*'])} in cell {','.join(cells or ['*'])}"
        )
    code = None
    if label is not None:
        if label.upper() not in LETTER_TO_CODE:
            raise InputError("--label", f"{label!r} is not one of B, U, A")
        code = LETTER_TO_CODE[label.upper()]
        if not tasks:
            raise StoreError(f"{store.path}: --label needs labels, and the selection has no tasks")
    if regions is not None and not isinstance(regions, str | os.PathLike):
        regions = list(regions)
    return Selection(store.bin_ranges(chrom_list, regions), tasks, code)


def iter_bin_blocks(
    ranges: Sequence[tuple[int, int]], chunk: int, max_rows: int | None = None
) -> Iterator[np.ndarray]:
    """Sorted global bin indices of ``ranges``, one array per store bin chunk (split to ``max_rows``).

    Grouping by chunk means each compressed chunk is decoded once, even when a BED of
    thousands of small regions selects many pieces of it.

    Parameters
    ----------
    ranges : sequence of tuple of int
        Sorted, non-overlapping half-open global bin ranges (as in :class:`Selection`).
    chunk : int
        The store's bin chunk size.
    max_rows : int, optional
        Largest block; None: a whole chunk's worth.

    Yields
    ------
    numpy.ndarray
        int64 global bin indices, all in one bin chunk.
    """
    pending: list[np.ndarray] = []
    current = -1

    def flush() -> Iterator[np.ndarray]:
        idx = np.concatenate(pending)
        step = max_rows or len(idx)
        for i in range(0, len(idx), step):
            yield idx[i : i + step]

    for lo, hi in ranges:
        while lo < hi:
            c = lo // chunk
            end = min(hi, (c + 1) * chunk)
            if c != current and pending:
                yield from flush()
                pending = []
            current = c
            pending.append(np.arange(lo, end, dtype=np.int64))
            lo = end
    if pending:
        yield from flush()


def _take(block: np.ndarray, idx: np.ndarray) -> np.ndarray:
    return block if len(block) == len(idx) else block[idx - idx[0]]


def _read_labels(store: Store, tasks: list[Task], idx: np.ndarray) -> np.ndarray:
    if not tasks:
        return np.zeros((len(idx), 0), dtype=np.int8)
    return _take(store.labels([t.index for t in tasks], slice(int(idx[0]), int(idx[-1]) + 1)), idx)


def read_annotations(store: Store, idx: np.ndarray) -> np.ndarray:
    """Annotation flags of a block of bins, read as one slice.

    Parameters
    ----------
    store : Store
        Store whose annotation array to read.
    idx : numpy.ndarray
        Sorted global bin indices within one bin chunk (a block of :func:`iter_bin_blocks`).

    Returns
    -------
    flags : numpy.ndarray
        Shape ``(len(idx), n_annotations)``.
    """
    return _take(store.annotations(slice(int(idx[0]), int(idx[-1]) + 1)), idx)


def read_blacklist(store: Store, idx: np.ndarray) -> np.ndarray:
    """Blacklist flags of a block of bins, read as one slice.

    Parameters
    ----------
    store : Store
        Store whose blacklist to read.
    idx : numpy.ndarray
        A block of bins, as for :func:`read_annotations`.

    Returns
    -------
    blacklisted : numpy.ndarray
        bool, one per bin.
    """
    return _take(store.blacklist(slice(int(idx[0]), int(idx[-1]) + 1)), idx)


def blocks(
    store: Store,
    sel: Selection,
    progress: bool = False,
    max_rows: int | None = None,
    desc: str = "export",
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """``(bin indices, labels of sel.tasks)`` per block, after the label filter; shows progress.

    Parameters
    ----------
    store : Store
        The store.
    sel : Selection
        What to read.
    progress : bool
        Show progress (counting bins before the label filter; see :mod:`fnstore.progress`).
    max_rows : int, optional
        Largest block (see :func:`iter_bin_blocks`).
    desc : str
        Progress bar label.

    Yields
    ------
    tuple of numpy.ndarray
        int64 global bin indices and int8 labels ``(n, len(sel.tasks))``; blocks the label
        filter empties are skipped.
    """
    with progress_bar(sel.n_bins, desc, "bin", enabled=progress) as bar:
        for idx in iter_bin_blocks(sel.ranges, store.bin_chunk, max_rows):
            labels = _read_labels(store, sel.tasks, idx)
            bar.update(len(idx))
            if sel.label is not None:
                keep = (labels == sel.label).any(axis=1)
                idx, labels = idx[keep], labels[keep]
            if len(idx):
                yield idx, labels


# --------------------------------------------------------------------------- coordinates


def coords(store: Store, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Chromosome names (bytes), starts and ends of global bins.

    Parameters
    ----------
    store : Store
        Store whose bin grid places the bins.
    idx : numpy.ndarray
        Global bin indices.

    Returns
    -------
    chrom, start, end : numpy.ndarray
        ``S`` bytes names, int64 chrom-local bp (end exclusive).
    """
    chrom, start = store.bin_coords(idx)
    names = np.array(store.chroms, dtype="S")[chrom]
    return names, start, start + store.bin_size


def coord_columns(store: Store, idx: np.ndarray) -> dict[str, np.ndarray]:
    """``chrom`` (str), ``start`` and ``end`` columns of global bins, for table-like writers.

    Parameters
    ----------
    store : Store
        Store holding the bins (see :func:`coords`).
    idx : numpy.ndarray
        Global bin indices, one table row each.

    Returns
    -------
    columns : dict of str to numpy.ndarray
        Unicode chromosome names and int64 starts and ends in bp.
    """
    chrom, start, end = coords(store, idx)
    return {"chrom": chrom.astype(str), "start": start, "end": end}


def _chrom_dtype(store: Store) -> str:
    """NumPy string dtype wide enough for every chromosome name."""
    return f"U{max(len(c) for c in store.chroms)}"


def coord_dtypes(store: Store, index: str = "bin", **more: Any) -> dict[str, Any]:
    """Column dtypes of an npz/HDF5 table: bin coordinates, the bin index, then ``more``.

    Parameters
    ----------
    store : Store
        The store (its chromosome names set the ``chrom`` string width).
    index : str
        Name of the int64 bin index column.
    **more
        Further ``column=dtype`` entries, in order.

    Returns
    -------
    dict
        Column name -> dtype.
    """
    return {
        "chrom": _chrom_dtype(store),
        "start": np.int64,
        "end": np.int64,
        index: np.int64,
        **more,
    }


def str_array(values: Sequence[str]) -> np.ndarray:
    """Names as a fixed-width unicode array (npz/HDF5 cannot hold Python objects).

    Parameters
    ----------
    values : sequence of str
        The names.

    Returns
    -------
    numpy.ndarray
        ``U<width>`` of the longest name (at least 1).
    """
    return np.asarray(list(values), dtype=f"U{max([len(v) for v in values] + [1])}")
