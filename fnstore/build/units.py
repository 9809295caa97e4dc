"""Step 3 of a build: the work units, each writing whole Zarr chunks of the store.

A unit is one position chunk (sequence and every signal track) or one bin chunk (bin
coordinates, blacklist, labels, annotations). Units share nothing but read-only inputs,
so dask can run them in any order, on threads, processes or a cluster, and a unit killed
half-way is simply redone (Zarr chunk writes are idempotent).
"""

from __future__ import annotations

import hashlib
import os
import signal
import tempfile
import threading
from pathlib import Path
from typing import Any

import numpy as np

from fnstore.build.plan import Plan
from fnstore.errors import InputError
from fnstore.io.bigwig import read_bigwig_values
from fnstore.io.dream import iter_dream_tsv
from fnstore.io.fasta import FastaInfo, open_fasta
from fnstore.store.backends import is_remote
from fnstore.store.encoding import encode_ascii
from fnstore.store.labels import MISSING, any_overlap, label_bins, letters_to_codes
from fnstore.store.layout import (
    ANNOTATIONS,
    BIN_CHROM,
    BIN_START,
    BLACKLIST,
    LABELS,
    SEQUENCE,
    SIGNALS,
    Layout,
)
from fnstore.store.write import mark_unit_done, open_for_writing

_local = threading.local()


def handles() -> dict[str, Any]:
    """Per-thread open files: pysam and pyBigWig handles are not thread-safe.

    Returns
    -------
    dict
        This thread's handles by input path; clear it to drop them.
    """
    if not hasattr(_local, "handles"):
        _local.handles = {}
    return _local.handles


def _fasta_handle(info: FastaInfo) -> Any:
    h = handles()
    if info.path not in h:
        h[info.path] = open_fasta(info)
    return h[info.path]


def bigwig_handle(path: str) -> Any:
    """This thread's open pyBigWig handle of ``path`` (opened once: opening reads the index).

    Parameters
    ----------
    path : str
        The bigWig file.

    Returns
    -------
    pyBigWig.bigWigFile
        The handle, kept for the thread's later units.
    """
    import pyBigWig

    h = handles()
    if path not in h:
        h[path] = pyBigWig.open(path)
    return h[path]


def die_with_parent(parent_pid: int) -> None:
    """Worker-process initializer: ask Linux to kill this process when its parent dies.

    dask's ``processes`` scheduler keeps its workers blocked on a queue whose write end
    they hold themselves, so a build killed with SIGKILL would leave them running (and
    holding inputs open) for ever. ``PR_SET_PDEATHSIG`` makes the kernel send SIGKILL
    instead; a parent that died before this call is caught by the ``getppid`` check.
    A no-op where ``prctl`` does not exist.

    Parameters
    ----------
    parent_pid : int
        The building process (``os.getpid()`` there).
    """
    import ctypes

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        prctl = libc.prctl
    except (OSError, AttributeError):
        return
    pr_set_pdeathsig = 1
    prctl(pr_set_pdeathsig, int(signal.SIGKILL), 0, 0, 0)
    if os.getppid() != parent_pid:
        os._exit(1)


def _group(store: str) -> Any:
    return open_for_writing(store)  # cheap (one small JSON read); never stale across builds


def _run_positions_unit(plan: Plan, store: str, k: int) -> None:
    """Sequence and every signal track of one position chunk (one chromosome)."""
    layout, pc = plan.layout, plan.layout.position_chunk
    root = _group(store)
    offsets = layout.offsets
    c = int(np.searchsorted(offsets, k * pc, side="right") - 1)
    chrom, off, length = layout.chroms[c], int(offsets[c]), layout.lengths[c]
    s, e = k * pc - off, min((k + 1) * pc - off, length)
    g0, g1 = off + s, off + e
    try:
        text = _fasta_handle(plan.fasta).fetch(chrom, s, e)
    except (OSError, ValueError) as exc:
        raise InputError(
            plan.fasta.path, f"cannot read {chrom}:{s}-{e}: truncated FASTA? ({exc})"
        ) from None
    if len(text) != e - s:
        raise InputError(
            plan.fasta.path, f"{chrom}:{s}-{e} returned {len(text)} bases: truncated FASTA?"
        )
    root[SEQUENCE][g0:g1] = encode_ascii(text)
    for track in layout.tracks:
        arr = root[SIGNALS][track]
        for ci, cell in enumerate(layout.cells):
            path = plan.spec.cell_tracks.get(cell, {}).get(track)
            if path is None:  # still written: in a store every chunk exists
                arr[ci, g0:g1] = 0
                continue
            vals = read_bigwig_values(
                bigwig_handle(path), chrom, s, e, plan.bigwig_chroms[path], path
            )
            arr[ci, g0:g1] = vals.astype(layout.signal_dtype)


def dream_scratch(store: str) -> Path:
    """Where the DREAM label matrix is staged: inside a local folder store, else in tmp.

    Parameters
    ----------
    store : str
        The store's path or URL; a remote or zip store stages under tmp.

    Returns
    -------
    scratch : pathlib.Path
        The scratch folder (not created here); the same for every run on ``store``.
    """
    if is_remote(store) or store.endswith(".zip"):
        digest = hashlib.sha256(store.encode()).hexdigest()[:16]
        return Path(tempfile.gettempdir()) / f"fnstore-build-{digest}"
    return Path(store) / "_build_scratch"


def prepare_dream_labels(plan: Plan, store: str) -> np.memmap | None:
    """Stream ENCODE-DREAM label TSVs into an on-disk (bins x tasks) int8 scratch matrix.

    TSVs are sorted by chromosome and start, but not necessarily by our chromosome order,
    so rows are placed by computed bin index; memory stays one block of rows.

    Parameters
    ----------
    plan : Plan
        The checked plan; its ``dream_columns`` say which TSVs fill which columns.
    store : str
        The store's path or URL; the scratch file goes in :func:`dream_scratch`.

    Returns
    -------
    numpy.memmap or None
        int8 codes, shape (bins, DREAM tasks), ``MISSING`` where a TSV has no row;
        ``None`` when the spec has no DREAM TSV.
    """
    if not plan.dream_columns:
        return None
    scratch = dream_scratch(store)
    scratch.mkdir(parents=True, exist_ok=True)
    return dream_label_memmap(scratch / "dream_labels.npy", plan.layout, plan.dream_columns)


def dream_label_memmap(
    file: str | os.PathLike, layout: Layout, dream_columns: list[tuple[str, int, int]]
) -> np.memmap:
    """Every bin's codes from DREAM TSVs, in an on-disk array (memory stays bounded).

    A TSV lists the whole genome row by row, while bin units each want one chunk of every
    column: reading it once into a memmap serves them all (build and ``add`` alike).

    Parameters
    ----------
    file : str or os.PathLike
        Where the ``.npy`` memmap goes (a scratch file).
    layout : Layout
        The store's bin grid.
    dream_columns : list of tuple
        ``(TSV path, first label column, number of cells)`` per TSV, in column order.

    Returns
    -------
    numpy.memmap
        int8 codes, shape (bins, DREAM tasks), ``MISSING`` where a TSV has no row.
    """
    n_cols = sum(n for _, _, n in dream_columns)
    mm = np.lib.format.open_memmap(file, mode="w+", dtype=np.int8, shape=(layout.n_bins, n_cols))
    mm[:] = MISSING
    col0 = 0
    for path, _, n in dream_columns:
        _fill_dream_columns(mm, col0, layout, path, n)
        col0 += n
    mm.flush()
    return mm


def _fill_dream_columns(mm: np.ndarray, col0: int, layout: Layout, path: str, n: int) -> None:
    """Place the rows of one DREAM TSV (``n`` cells) into columns ``col0:col0 + n``."""
    chrom_index = {c: i for i, c in enumerate(layout.chroms)}
    first, counts = layout.first_bins, layout.bins_per_chrom
    for chroms, starts, stops, letters in iter_dream_tsv(path, n):
        keep = np.array([ch in chrom_index for ch in chroms])
        if not keep.any():
            continue
        ci = np.array([chrom_index[ch] for ch in chroms[keep]])
        st, sp = starts[keep], stops[keep]
        if np.any(sp - st != layout.bin_size) or np.any(st % layout.stride):
            raise InputError(
                path, f"rows are not on the {layout.bin_size} bp / {layout.stride} bp bin grid"
            )
        local = st // layout.stride
        if np.any(local >= counts[ci]):
            raise InputError(path, "a row lies past the chromosome end: another assembly?")
        try:
            codes = letters_to_codes("".join(letters[keep].ravel()))
        except ValueError as exc:
            raise InputError(path, str(exc)) from None
        mm[first[ci] + local, col0 : col0 + n] = codes.reshape(-1, n)


def _run_bins_unit(plan: Plan, store: str, j: int, dream: np.ndarray | None) -> None:
    """Bin coordinates, blacklist, labels of every task and annotations of one bin chunk."""
    layout = plan.layout
    root = _group(store)
    b0, b1 = j * layout.bin_chunk, min((j + 1) * layout.bin_chunk, layout.n_bins)
    first, counts = layout.first_bins, layout.bins_per_chrom
    n = b1 - b0
    chrom_col = np.empty(n, dtype=np.int16)
    start_col = np.empty(n, dtype=np.int64)
    blacklist = np.zeros(n, dtype=bool)
    labels = np.full((n, len(layout.tasks)), MISSING, dtype=np.int8)
    annots = np.zeros((n, len(layout.annotations)), dtype=np.uint8)
    size, rule = layout.bin_size, plan.spec.rule
    for c, chrom in enumerate(layout.chroms):
        lo, hi = max(b0, int(first[c])), min(b1, int(first[c] + counts[c]))
        if lo >= hi:
            continue
        rows = slice(lo - b0, hi - b0)
        starts = (np.arange(lo, hi, dtype=np.int64) - first[c]) * layout.stride
        chrom_col[rows], start_col[rows] = c, starts
        span = (int(starts[0]), int(starts[-1]) + size)
        for iv in plan.blacklist:
            blacklist[rows] |= any_overlap(starts, size, *iv.within(chrom, *span))
        for a, iv in enumerate(plan.annotations):
            annots[rows, a] = any_overlap(starts, size, *iv.within(chrom, *span))
        for t, cons in enumerate(plan.conservative):
            if cons is None:
                continue
            rel = plan.relaxed[t]
            labels[rows, t] = label_bins(
                starts,
                size,
                cons.within(chrom, *span),
                rel.within(chrom, *span) if rel is not None else None,
                rule,
            )
    if dream is not None:
        col0 = plan.dream_columns[0][1]
        labels[:, col0 : col0 + dream.shape[1]] = dream[b0:b1]
    root[BIN_CHROM][b0:b1] = chrom_col
    root[BIN_START][b0:b1] = start_col
    root[BLACKLIST][b0:b1] = blacklist
    root[LABELS][b0:b1, :] = labels
    if layout.annotations:
        root[ANNOTATIONS][b0:b1, :] = annots


def run_unit(plan: Plan, store: str, index: int, dream: np.ndarray | None) -> int:
    """Run work unit ``index`` and only then flag it done.

    Parameters
    ----------
    plan : Plan
        The checked plan.
    store : str
        The store's path or URL, already created.
    index : int
        Position of the unit in ``plan.units``.
    dream : numpy.ndarray or None
        The staged DREAM labels (:func:`prepare_dream_labels`), read by bin units.

    Returns
    -------
    int
        ``index``, for the caller's progress count.
    """
    kind, k = plan.units[index]
    if kind == "positions":
        _run_positions_unit(plan, store, k)
    else:
        _run_bins_unit(plan, store, k, dream)
    mark_unit_done(_group(store), index)
    return index
