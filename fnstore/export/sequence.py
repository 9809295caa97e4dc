"""Sequence exports: the window the model sees around each selected bin, as FASTA or as
one-hot arrays with the bins' labels (npz, HDF5) for other deep-learning code."""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from fnstore.errors import InputError
from fnstore.export.formats import LABEL_CODES_DOC, ExportResult, single
from fnstore.export.selection import Selection, blocks, coord_dtypes, str_array
from fnstore.io.tables import Hdf5Writer, NpzWriter, TsvWriter, join_columns
from fnstore.store.encoding import CODE_N, one_hot
from fnstore.store.read import Store
from fnstore.store.regions import window_start

_ASCII = np.frombuffer(b"ACGTN", dtype=np.uint8)


def window_codes(
    store: Store, idx: np.ndarray, window: int, shift: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Base codes ``(n, window)`` around bins, N-padded past chromosome ends.

    The window is placed as the model's (:func:`fnstore.store.regions.window_start`, so an
    odd window is the very one training and prediction use) and moved by ``shift`` bp
    (positive = towards higher coordinates).

    Parameters
    ----------
    store
        The store to read.
    idx
        Global bin indices.
    window, shift
        Window length and shift in bp.

    Returns
    -------
    tuple of numpy.ndarray
        Codes ``(n, window)`` uint8, chromosome indices and window starts.
    """
    chrom, start = store.bin_coords(idx)
    wstart = window_start(start, window, store.bin_size) + shift
    codes = np.empty((len(idx), window), dtype=np.uint8)
    for c in np.unique(chrom):
        m = chrom == c
        ws = wstart[m]
        lo, hi = int(ws.min()), int(ws.max()) + window
        length = int(store.chrom_lengths[c])
        padded = np.full(hi - lo, CODE_N, dtype=np.uint8)
        a, b = max(lo, 0), min(hi, length)
        if b > a:
            padded[a - lo : b - lo] = store.sequence(store.chroms[c], a, b)
        codes[m] = np.lib.stride_tricks.sliding_window_view(padded, window)[ws - lo]
    return codes, chrom, wstart


def export_sequence(
    store: Store,
    sel: Selection,
    out: str | os.PathLike,
    fmt: str,
    window: int | None = None,
    shift: int = 0,
    progress: bool = False,
) -> ExportResult:
    """Windows around the selected bins as FASTA, or one-hot ``(N, 4, L)`` uint8 plus labels.

    The one-hot layout (samples x ACGT x length) is the one DeepSEA/Basset-style PyTorch
    code expects; ``y`` holds the selected tasks' labels (U=0 B=1 A=2 no-data=-1).

    Parameters
    ----------
    store, sel, out, progress
        As for :func:`fnstore.export.labels.export_labels`; ``out`` is one file.
    fmt : {"fasta", "npz", "hdf5"}
        The file format.
    window : int, optional
        Window length in bp (default: the bin size), placed as the model places it.
    shift : int
        Move every window by this many bp.

    Returns
    -------
    ExportResult
        ``rows``: the windows written.
    """
    window = window or store.bin_size
    if window < 1:
        raise InputError("--window", f"must be at least 1 bp, got {window}")
    path = single(out)
    names = [t.name for t in sel.tasks]
    max_rows = max(64, (1 << 22) // (4 * window))
    with _sequence_writer(store, path, fmt, names, window, shift) as w:
        for idx, labels in blocks(store, sel, progress, max_rows=max_rows, desc="sequence"):
            codes, chrom, wstart = window_codes(store, idx, window, shift)
            chrom_names = np.array(store.chroms)[chrom]
            if fmt == "fasta":
                w.write_raw(_fasta(chrom_names, wstart, codes), len(idx))
                continue
            x = np.ascontiguousarray(one_hot(codes, dtype=np.uint8).transpose(0, 2, 1))
            w.write(
                {
                    "x": x,
                    "y": labels,
                    "chrom": chrom_names,
                    "start": wstart,
                    "end": wstart + window,
                    "bin": idx,
                }
            )
        tails = {"x": (4, window), "y": (len(names),)}
        w.close(**({"tails": tails} if fmt == "npz" else {}))
    return ExportResult("sequence", fmt, [path], w.rows)


def _sequence_writer(
    store: Store, path: os.PathLike, fmt: str, names: list[str], window: int, shift: int
) -> Any:
    dtypes = {"x": np.uint8, "y": np.int8, **coord_dtypes(store)}
    fixed = {"tasks": str_array(names)}
    if fmt == "npz":
        return NpzWriter(path, dtypes, fixed={**fixed, "label_codes": np.array(LABEL_CODES_DOC)})
    if fmt == "hdf5":
        attrs = {
            "layout": "x: N x 4 (ACGT) x L one-hot uint8; y: N x tasks",
            "label_codes": LABEL_CODES_DOC,
            "window": window,
            "shift": shift,
            "store_id": store.store_id,
        }
        tails = {"x": (4, window), "y": (len(names),)}
        return Hdf5Writer(path, dtypes, tails, fixed=fixed, attrs=attrs)
    return TsvWriter(path)


def _fasta(chrom_names: np.ndarray, wstart: np.ndarray, codes: np.ndarray) -> bytes:
    """FASTA records ``>chrom:start-end`` + one line of bases, built with vectorised string ops."""
    n, window = codes.shape
    header = np.strings.add(
        np.strings.add(chrom_names.astype("S"), b":"),
        join_columns([wstart, wstart + window], b"-"),
    )
    text = np.empty((n, window + 1), dtype=np.uint8)
    text[:, :window] = _ASCII[codes]
    text[:, window] = ord("\n")
    lines = np.strings.add(
        np.strings.add(np.strings.add(b">", header), b"\n"),
        text.view(f"S{window + 1}").ravel(),
    )
    return b"".join(lines.tolist())
