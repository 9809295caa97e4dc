"""Sequence exports: the window the model sees around each selected bin, as FASTA or as
one-hot arrays with the bins' labels (npz, HDF5) for other deep-learning code."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import numpy as np

from fnstore.errors import InputError
from fnstore.export.formats import LABEL_CODES_DOC, ExportResult, single
from fnstore.export.selection import Selection, blocks, coord_dtypes, str_array
from fnstore.io.tables import Hdf5Writer, NpzWriter, TsvWriter, join_columns
from fnstore.store.encoding import CODE_N, one_hot
from fnstore.store.read import Store
from fnstore.store.regions import window_start
from fnstore.store.tensor_layout import check_layout, to_layout

_ASCII = np.frombuffer(b"ACGTN", dtype=np.uint8)
DTYPES = ("uint8", "float16", "float32")


@dataclass(frozen=True)
class SequenceTensor:
    """How sequence windows are cut and laid out: window and shift (bp), axis order and dtype
    of the one-hot array (``"NCL"``/``"NLC"``, as :mod:`fnstore.store.tensor_layout`)."""

    window: int | None = None
    shift: int = 0
    layout: str = "NCL"
    dtype: str = "uint8"

    def checked(self, bin_size: int) -> SequenceTensor:
        """This with the window defaulted to ``bin_size`` and every field checked.

        Parameters
        ----------
        bin_size : int
            The store's bin size (the default window).

        Returns
        -------
        SequenceTensor
        """
        window = self.window or bin_size
        if window < 1:
            raise InputError("--window", f"must be at least 1 bp, got {window}")
        if str(self.dtype) not in DTYPES:
            raise InputError("--dtype", f"must be one of {', '.join(DTYPES)}, got {self.dtype!r}")
        return SequenceTensor(window, self.shift, check_layout(self.layout, "--layout"), self.dtype)

    def tail(self) -> tuple[int, int]:
        """The shape of one window's one-hot array (after :meth:`checked`).

        Returns
        -------
        tuple of int
            ``(4, window)`` for NCL, ``(window, 4)`` for NLC.
        """
        return (4, int(self.window or 0)) if self.layout == "NCL" else (int(self.window or 0), 4)


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
    tensor: SequenceTensor | None = None,
    *,
    progress: bool = False,
) -> ExportResult:
    """Windows around the selected bins as FASTA, or one-hot arrays plus labels.

    The default one-hot layout, ``(N, 4, L)`` uint8 (samples x ACGT x length), is the one
    DeepSEA/Basset-style PyTorch code expects; ``SequenceTensor(layout="NLC",
    dtype="float32")`` gives the training sampler's ``(N, L, 4)``. ``y`` holds the selected
    tasks' labels (U=0 B=1 A=2 no-data=-1).

    Parameters
    ----------
    store, sel, out, progress
        As for :func:`fnstore.export.labels.export_labels`; ``out`` is one file.
    fmt : {"fasta", "npz", "hdf5"}
        The file format.
    tensor : SequenceTensor, optional
        Window length in bp (default: the bin size, placed as the model places it), shift
        in bp, layout and dtype of ``x`` (default ``NCL`` uint8).

    Returns
    -------
    ExportResult
        ``rows``: the windows written.
    """
    t = (tensor or SequenceTensor()).checked(store.bin_size)
    window, shift = int(t.window or 0), t.shift
    path = single(out)
    names = [task.name for task in sel.tasks]
    max_rows = max(64, (1 << 22) // (4 * window * np.dtype(t.dtype).itemsize))
    with _sequence_writer(store, path, fmt, names, t) as w:
        for idx, labels in blocks(store, sel, progress, max_rows=max_rows, desc="sequence"):
            codes, chrom, wstart = window_codes(store, idx, window, shift)
            chrom_names = np.array(store.chroms)[chrom]
            if fmt == "fasta":
                w.write_raw(_fasta(chrom_names, wstart, codes), len(idx))
                continue
            x = to_layout(one_hot(codes, dtype=np.dtype(t.dtype)), t.layout)
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
        tails = {"x": t.tail(), "y": (len(names),)}
        w.close(**({"tails": tails} if fmt == "npz" else {}))
    return ExportResult("sequence", fmt, [path], w.rows)


def _sequence_writer(
    store: Store, path: os.PathLike, fmt: str, names: list[str], t: SequenceTensor
) -> Any:
    dtypes = {"x": np.dtype(t.dtype), "y": np.int8, **coord_dtypes(store)}
    fixed = {"tasks": str_array(names)}
    if fmt == "npz":
        return NpzWriter(path, dtypes, fixed={**fixed, "label_codes": np.array(LABEL_CODES_DOC)})
    if fmt == "hdf5":
        attrs = {
            "layout": f"x: {_describe(t)} one-hot {t.dtype}; y: N x tasks",
            "label_codes": LABEL_CODES_DOC,
            "window": t.window,
            "shift": t.shift,
            "store_id": store.store_id,
        }
        tails = {"x": t.tail(), "y": (len(names),)}
        return Hdf5Writer(path, dtypes, tails, fixed=fixed, attrs=attrs)
    return TsvWriter(path)


def _describe(t: SequenceTensor) -> str:
    return "N x 4 (ACGT) x L" if t.layout == "NCL" else "N x L x 4 (ACGT)"


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
