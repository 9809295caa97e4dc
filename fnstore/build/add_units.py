"""What both kinds of ``fnstore add`` share: the result, and the units that compute new data.

A folder add (:mod:`~fnstore.build.add`) and an icechunk add
(:mod:`~fnstore.build.add_icechunk`) differ only in how unchanged chunks are kept (hard links
into a staged folder; untouched in a writable session) and how the new version is published
(a folder swap; a commit). The new signal rows, labels and annotations are computed by the
same two units here, so both equal a fresh build of the combined spec.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from fnstore.build.fragment import AddPlan
from fnstore.build.units import bigwig_handle, dream_label_memmap, handles
from fnstore.io.bigwig import read_bigwig_values
from fnstore.progress import progress_bar
from fnstore.store.labels import MISSING, any_overlap, label_bins
from fnstore.store.layout import ANNOTATIONS, LABELS, SIGNALS

__all__ = ["AddResult", "bins_unit", "positions_unit", "run_units", "staged_dream_labels"]


@dataclass(frozen=True)
class AddResult:
    """What an add did: the names it added, the version it made, and the chunks it wrote."""

    store: str
    added: dict[str, list[str]]
    version: int
    content_hash: str
    chunks_written: int
    chunks_total: int
    seconds: float
    #: an icechunk add: the snapshot it committed and the tag it got (None for a folder)
    snapshot_id: str | None = None
    tag: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form: every field.

        Returns
        -------
        dict
            Field name to value.
        """
        return asdict(self)

    def summary(self) -> str:
        """One paragraph for the terminal (what ``fnstore add`` prints).

        Returns
        -------
        str
            The version, what was added and the chunks written of the total.
        """
        what = "; ".join(
            f"{k} {', '.join(v)}" for k, v in self.added.items() if v and k != "cell_tracks"
        )
        commit = f"; committed snapshot {self.snapshot_id} (tag {self.tag})" * bool(self.tag)
        return (
            f"{self.store}: version {self.version}: added {what or 'nothing'}; wrote {self.chunks_written} of "
            f"{self.chunks_total} chunk files in {self.seconds:.1f} s{commit}"
        )


def run_units(
    plan: AddPlan,
    todo: Sequence[int],
    old_root: Any,
    root: Any,
    *,
    workers: int | None,
    progress: bool,
    done: int = 0,
    other: Callable[[str, int], None] | None = None,
    after: Callable[[int], None] | None = None,
    dream: np.ndarray | None = None,
) -> None:
    """Run the units ``plan.units[i]`` for ``i`` in ``todo`` on threads.

    The root and its signal arrays are opened once and shared: units write disjoint chunks,
    and each open would re-read the root document (the provenance).

    Parameters
    ----------
    plan : AddPlan
        The add.
    todo : sequence of int
        Indices of the units to run.
    old_root, root : zarr.Group
        The store before the add (old label/annotation columns) and the one being written.
    workers : int or None
        Threads (default: up to 4).
    progress : bool
        Show a bar (``done`` units already counted).
    done : int
        Units finished before (a resumed add), for the bar.
    other : callable, optional
        ``other(kind, k)`` runs a unit that is neither ``positions`` nor ``bins`` (a
        folder add's ``link``).
    after : callable, optional
        ``after(i)`` once unit ``i`` is written (a folder add flags it done).
    dream : numpy.ndarray, optional
        The new DREAM columns (:func:`staged_dream_labels`); needed by bin units of an add
        with DREAM TSVs.
    """
    signals = {track: root[SIGNALS][track] for track in {t for t, _, _ in plan.signal_jobs}}
    bar = progress_bar(done + len(todo), "add", "unit", enabled=progress, initial=done)

    def run(index: int) -> None:
        kind, k = plan.units[index]
        if kind == "positions":
            positions_unit(plan, signals, k)
        elif kind == "bins":
            bins_unit(plan, old_root, root, k, dream)
        elif other is not None:
            other(kind, k)
        if after is not None:
            after(index)
        bar.update(1)

    with bar, ThreadPoolExecutor(max_workers=workers or min(4, os.cpu_count() or 1)) as pool:
        for future in [pool.submit(run, i) for i in todo]:
            future.result()
    handles().clear()


@contextlib.contextmanager
def staged_dream_labels(plan: AddPlan) -> Iterator[np.ndarray | None]:
    """The new DREAM TSVs' label codes for every bin, in a scratch memmap while the add
    runs (:func:`fnstore.build.units.dream_label_memmap`); None without DREAM TSVs.

    Both kinds of add enter it before writing anything, so a bad row anywhere in a TSV
    stops the add with nothing written.

    Parameters
    ----------
    plan : AddPlan
        The add; its ``dream_columns`` name the TSVs.

    Yields
    ------
    numpy.ndarray or None
        ``(n_bins, new DREAM columns)`` int8, -1 where a TSV has no row.
    """
    if not plan.dream_columns:
        yield None
        return
    with tempfile.TemporaryDirectory(prefix="fnstore-dream-") as scratch:
        file = os.path.join(scratch, "dream.npy")
        yield dream_label_memmap(file, plan.layout, plan.dream_columns)


def positions_unit(plan: AddPlan, signals: dict[str, Any], k: int) -> None:
    """The new signal rows of one position chunk (one chromosome), as a build writes them.

    Parameters
    ----------
    plan : AddPlan
        The add's plan (its ``signal_jobs``: track, row, bigWig or None for zeros).
    signals : dict of str to zarr.Array
        The writable signal arrays of the grown store, by track.
    k : int
        The position chunk.
    """
    layout, pc = plan.layout, plan.layout.position_chunk
    offsets = layout.offsets
    c = int(np.searchsorted(offsets, k * pc, side="right") - 1)
    chrom, off, length = layout.chroms[c], int(offsets[c]), layout.lengths[c]
    s, e = k * pc - off, min((k + 1) * pc - off, length)
    for track, row, path in plan.signal_jobs:
        arr = signals[track]
        if path is None:
            arr[row, off + s : off + e] = 0
            continue
        vals = read_bigwig_values(bigwig_handle(path), chrom, s, e, plan.bigwig_chroms[path], path)
        arr[row, off + s : off + e] = vals.astype(layout.signal_dtype)


def bins_unit(
    plan: AddPlan, old_root: Any, root: Any, j: int, dream: np.ndarray | None = None
) -> None:
    """Labels and annotations of one bin chunk: existing columns copied, new ones computed.

    Parameters
    ----------
    plan : AddPlan
        The add's plan (where each column comes from; the new peaks and intervals).
    old_root : zarr.Group
        The store before the add (existing columns are read from it).
    root : zarr.Group
        The writable grown store.
    j : int
        The bin chunk.
    dream : numpy.ndarray, optional
        The new DREAM TSV columns of every bin (:func:`staged_dream_labels`).
    """
    layout = plan.layout
    bin_chunk = min(layout.bin_chunk, max(layout.n_bins, 1))
    b0, b1 = j * bin_chunk, min((j + 1) * bin_chunk, layout.n_bins)
    first, counts = layout.first_bins, layout.bins_per_chrom
    columns = [
        (LABELS, plan.tasks_changed, plan.task_source, MISSING, np.int8),
        (ANNOTATIONS, plan.annotations_changed, plan.annotation_source, 0, np.uint8),
    ]
    for name, changed, source, fill, dtype in columns:
        if not changed:
            continue
        out = np.full((b1 - b0, len(source)), fill, dtype=dtype)
        kept = [(col, was) for col, was in enumerate(source) if was is not None]
        if kept:
            old = old_root[name][b0:b1, :]
            for col, was in kept:
                out[:, col] = old[:, was]
        for c, chrom in enumerate(layout.chroms):
            lo, hi = max(b0, int(first[c])), min(b1, int(first[c] + counts[c]))
            if lo < hi:
                starts = (np.arange(lo, hi, dtype=np.int64) - first[c]) * layout.stride
                _fill_new(plan, name, out[lo - b0 : hi - b0], chrom, starts)
        if name == LABELS and plan.dream_columns:
            col = 0
            for _, first, n in plan.dream_columns:
                out[:, first : first + n] = dream[b0:b1, col : col + n]
                col += n
        root[name][b0:b1, :] = out


def _fill_new(plan: AddPlan, name: str, rows: np.ndarray, chrom: str, starts: np.ndarray) -> None:
    """The new label or annotation columns of one chromosome's bins in a chunk."""
    size = plan.layout.bin_size
    span = (int(starts[0]), int(starts[-1]) + size)
    if name == ANNOTATIONS:
        for col, iv in plan.annotation_intervals.items():
            rows[:, col] = any_overlap(starts, size, *iv.within(chrom, *span))
        return
    for col, (cons, rel) in plan.peaks.items():
        rows[:, col] = label_bins(
            starts,
            size,
            cons.within(chrom, *span),
            rel.within(chrom, *span) if rel is not None else None,
            plan.rule,
        )
