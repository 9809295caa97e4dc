"""Export any slice of a store (labels, features, signals, sequence, bins) for other tools.

The store is read one bin chunk (or one position chunk) at a time and each block goes
straight to a streaming writer from :mod:`fnstore.io`, so memory stays one
block whatever the selection: a whole-genome export costs what a chr20 export costs.

Selection is shared by every kind of export: chromosomes (``chroms``), BED ``regions``
(bins overlapping them; for signals, the bases inside them), TF x cell tasks (``tf``,
``cell``) and a label filter (``label``: keep bins where any selected task has that class).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from fnstore.errors import InputError, StoreError
from fnstore.io.signal_writers import BedGraphWriter, BigWigWriter
from fnstore.io.tables import (
    Hdf5Writer,
    NpzWriter,
    ParquetWriter,
    TsvWriter,
    format_rows,
    join_columns,
)
from fnstore.store.encoding import one_hot
from fnstore.store.labels import BOUND, LABEL_NAMES, LETTER_TO_CODE, MISSING
from fnstore.store.layout import Task
from fnstore.store.read import Store, open_store

#: formats each kind of export writes; the first one is the default when OUT has no known suffix
FORMATS: dict[str, tuple[str, ...]] = {
    "labels": ("dream", "bed", "npz", "parquet"),
    "features": ("tsv", "parquet", "npz"),
    "signals": ("bigwig", "bedgraph"),
    "sequence": ("fasta", "npz", "hdf5"),
    "bins": ("bed", "tsv", "parquet", "npz"),
}

#: file-name endings -> format (longest first so ``.tsv.gz`` wins over ``.gz``)
SUFFIXES: tuple[tuple[str, str], ...] = (
    (".bedgraph.gz", "bedgraph"),
    (".bedGraph.gz", "bedgraph"),
    (".tsv.gz", "tsv"),
    (".txt.gz", "tsv"),
    (".bed.gz", "bed"),
    (".fasta.gz", "fasta"),
    (".fa.gz", "fasta"),
    (".bg.gz", "bedgraph"),
    (".bedgraph", "bedgraph"),
    (".bedGraph", "bedgraph"),
    (".parquet", "parquet"),
    (".bigwig", "bigwig"),
    (".bigWig", "bigwig"),
    (".fasta", "fasta"),
    (".hdf5", "hdf5"),
    (".tsv", "tsv"),
    (".txt", "tsv"),
    (".bed", "bed"),
    (".npz", "npz"),
    (".pq", "parquet"),
    (".bw", "bigwig"),
    (".bg", "bedgraph"),
    (".fa", "fasta"),
    (".h5", "hdf5"),
)

#: default file name per format when OUT is a folder (one file per TF, or per cell x track)
EXTENSIONS = {
    "dream": ".train.labels.tsv.gz",
    "bed": ".bed",
    "npz": ".npz",
    "parquet": ".parquet",
    "tsv": ".tsv.gz",
    "bigwig": ".bw",
    "bedgraph": ".bedGraph.gz",
    "fasta": ".fa",
    "hdf5": ".h5",
}

LABEL_CODES_DOC = "U=0 B=1 A=2 no-data=-1"


@dataclass
class Selection:
    """What to export: global bin ranges, label columns, and an optional label-class filter."""

    ranges: list[tuple[int, int]]
    tasks: list[Task]
    label: int | None = None

    @property
    def n_bins(self) -> int:
        return sum(hi - lo for lo, hi in self.ranges)


@dataclass
class ExportResult:
    what: str
    fmt: str
    files: list[Path] = field(default_factory=list)
    rows: int = 0

    def __str__(self) -> str:
        unit = "entries" if self.what == "signals" else "rows"
        where = str(self.files[0]) if len(self.files) == 1 else f"{len(self.files)} files"
        return f"exported {self.what} as {self.fmt}: {self.rows:,} {unit} to {where}"


# --------------------------------------------------------------------------- selection


def _as_list(value: str | Sequence[str] | None) -> list[str] | None:
    if value is None:
        return None
    items = [value] if isinstance(value, str) else list(value)
    return [v for item in items for v in str(item).split(",") if v] or None


def select(
    store: Store,
    chroms: str | Sequence[str] | None = None,
    regions: str | os.PathLike | Sequence[tuple[str, int, int]] | None = None,
    tf: str | Sequence[str] | None = None,
    cell: str | Sequence[str] | None = None,
    label: str | None = None,
) -> Selection:
    """Resolve selectors against the store; unknown TF, cell or chromosome is a StoreError."""
    chrom_list, tfs, cells = _as_list(chroms), _as_list(tf), _as_list(cell)
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


def _read_annotations(store: Store, idx: np.ndarray) -> np.ndarray:
    return _take(store.annotations(slice(int(idx[0]), int(idx[-1]) + 1)), idx)


def _read_blacklist(store: Store, idx: np.ndarray) -> np.ndarray:
    return _take(store.blacklist(slice(int(idx[0]), int(idx[-1]) + 1)), idx)


def blocks(
    store: Store,
    sel: Selection,
    progress: bool = False,
    max_rows: int | None = None,
    desc: str = "export",
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """``(bin indices, labels of sel.tasks)`` per block, after the label filter; shows progress."""
    from tqdm.auto import tqdm

    with tqdm(
        total=sel.n_bins, unit="bin", unit_scale=True, desc=desc, disable=not progress
    ) as bar:
        for idx in iter_bin_blocks(sel.ranges, store.bin_chunk, max_rows):
            labels = _read_labels(store, sel.tasks, idx)
            bar.update(len(idx))
            if sel.label is not None:
                keep = (labels == sel.label).any(axis=1)
                idx, labels = idx[keep], labels[keep]
            if len(idx):
                yield idx, labels


# --------------------------------------------------------------------------- output paths


def format_for(what: str, out: str | os.PathLike, fmt: str | None) -> str:
    """The format asked for, or the one OUT's suffix implies (``.tsv.gz`` labels = DREAM TSV)."""
    if what not in FORMATS:
        raise InputError("--what", f"{what!r} is not one of {', '.join(FORMATS)}")
    allowed = FORMATS[what]
    if fmt is None:
        name = str(out)
        guess = next((f for suffix, f in SUFFIXES if name.endswith(suffix)), None)
        if guess == "tsv" and what == "labels":
            guess = "dream"
        if guess is None:
            if _is_folder(out):
                return allowed[0]
            raise InputError(
                out, f"cannot tell the format from the name; pass --format ({', '.join(allowed)})"
            )
        fmt = guess
    fmt = fmt.lower()
    if fmt not in allowed:
        raise InputError("--format", f"{what} export writes {', '.join(allowed)}, not {fmt!r}")
    return fmt


def _is_folder(out: str | os.PathLike) -> bool:
    p = Path(out)
    return (
        p.is_dir()
        or str(out).endswith(os.sep)
        or not any(str(out).endswith(s) for s, _ in SUFFIXES)
    )


def _targets(out: str | os.PathLike, names: list[str], fmt: str, what: str) -> list[Path]:
    """One path per output: OUT itself for a single output, else files inside folder OUT."""
    p = Path(out)
    if len(names) == 1 and not _is_folder(out):
        p.parent.mkdir(parents=True, exist_ok=True)
        return [p]
    if not _is_folder(out):
        raise InputError(
            out,
            f"the selection gives {len(names)} {what} files ({', '.join(names[:5])}"
            f"{', ...' if len(names) > 5 else ''}): narrow it down or give a folder as OUT",
        )
    p.mkdir(parents=True, exist_ok=True)
    return [p / f"{name}{EXTENSIONS[fmt]}" for name in names]


def _single(out: str | os.PathLike) -> Path:
    p = Path(out)
    if p.is_dir():
        raise InputError(out, "is a folder; this export writes one file")
    p.parent.mkdir(parents=True, exist_ok=True)
    return p


def sidecar(path: Path, tag: str) -> Path:
    """``features.tsv.gz`` -> ``features.cells.tsv.gz``: small companion tables."""
    name = path.name
    suffix = next((s for s, _ in SUFFIXES if name.endswith(s)), path.suffix)
    return path.with_name(f"{name[: len(name) - len(suffix)]}.{tag}{suffix}")


class _Cleanup:
    """Close writers; on failure also delete what was written, so no half file looks finished."""

    def __init__(self) -> None:
        self.writers: list[tuple[Any, Path]] = []

    def add(self, writer: Any, path: Path) -> Any:
        self.writers.append((writer, path))
        return writer

    def __enter__(self) -> _Cleanup:
        return self

    def __exit__(self, exc_type: Any, *_: Any) -> None:
        if exc_type is None:
            return
        for writer, path in self.writers:
            try:
                writer.close()
            except Exception:  # noqa: BLE001 - best effort while already failing
                pass
            path.unlink(missing_ok=True)


# --------------------------------------------------------------------------- coordinates


def _coords(store: Store, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Chromosome names (bytes), starts and ends of global bins."""
    chrom, start = store.bin_coords(idx)
    names = np.array(store.chroms, dtype="S")[chrom]
    return names, start, start + store.bin_size


def _coord_columns(store: Store, idx: np.ndarray) -> dict[str, np.ndarray]:
    """``chrom`` (str), ``start`` and ``end`` columns of global bins, for table-like writers."""
    chrom, start, end = _coords(store, idx)
    return {"chrom": chrom.astype(str), "start": start, "end": end}


def _chrom_dtype(store: Store) -> str:
    return f"U{max(len(c) for c in store.chroms)}"


def _coord_dtypes(store: Store, index: str = "bin", **more: Any) -> dict[str, Any]:
    """Column dtypes of an npz/HDF5 table: bin coordinates, the bin index, then ``more``."""
    return {
        "chrom": _chrom_dtype(store),
        "start": np.int64,
        "end": np.int64,
        index: np.int64,
        **more,
    }


def _str_array(values: Sequence[str]) -> np.ndarray:
    return np.asarray(list(values), dtype=f"U{max([len(v) for v in values] + [1])}")


# --------------------------------------------------------------------------- labels


def export_labels(
    store: Store, sel: Selection, out: str | os.PathLike, fmt: str, progress: bool = False
) -> ExportResult:
    if not sel.tasks:
        raise StoreError(
            f"{store.path}: no labels to export for this selection (the store has "
            f"{len(store.tasks)} tasks; see `fnstore info`)"
        )
    result = ExportResult("labels", fmt)
    if fmt == "dream":
        return _labels_dream(store, sel, out, progress, result)
    names = [t.name for t in sel.tasks]
    path = _single(out)
    result.files = [path]
    with _Cleanup() as cleanup:
        if fmt == "bed":
            code = BOUND if sel.label is None else sel.label
            w = cleanup.add(TsvWriter(path), path)
            task_names = np.array(names, dtype="S")
            for idx, labels in blocks(store, sel, progress, desc="labels"):
                rows, cols = np.nonzero(labels == code)
                chrom, start, end = _coords(store, idx[rows])
                w.write({"chrom": chrom, "start": start, "end": end, "name": task_names[cols]})
        elif fmt == "npz":
            w = cleanup.add(
                NpzWriter(
                    path,
                    _coord_dtypes(store, labels=np.int8),
                    fixed={
                        "tasks": _str_array(names),
                        "tf": _str_array([t.tf for t in sel.tasks]),
                        "cell": _str_array([t.cell for t in sel.tasks]),
                        "label_codes": np.array(LABEL_CODES_DOC),
                    },
                ),
                path,
            )
            for idx, labels in blocks(store, sel, progress, desc="labels"):
                w.write({**_coord_columns(store, idx), "bin": idx, "labels": labels})
            w.close(tails={"labels": (len(names),)})
            result.rows = w.rows
            return result
        else:  # parquet
            w = cleanup.add(
                ParquetWriter(
                    path,
                    {"fnstore_label_codes": LABEL_CODES_DOC, "fnstore_store_id": store.store_id},
                ),
                path,
            )

            def table(idx: np.ndarray, labels: np.ndarray) -> dict[str, np.ndarray]:
                return {
                    **_coord_columns(store, idx),
                    **{n: labels[:, j] for j, n in enumerate(names)},
                }

            for idx, labels in blocks(store, sel, progress, desc="labels"):
                w.write(table(idx, labels))
            w.close(empty=table(np.zeros(0, np.int64), np.zeros((0, len(names)), np.int8)))
            result.rows = w.rows
            return result
        w.close()
        result.rows = w.rows
    return result


def _labels_dream(
    store: Store, sel: Selection, out: str | os.PathLike, progress: bool, result: ExportResult
) -> ExportResult:
    """ENCODE-DREAM label TSVs: ``chr start stop CELL...`` with B/U/A letters, one file per TF.

    The format cannot say "no data", so bins where no selected cell of a TF has a label are
    left out, and a bin labelled in some cells but not others is an error.
    """
    by_tf: dict[str, list[int]] = {}
    for j, t in enumerate(sel.tasks):
        by_tf.setdefault(t.tf, []).append(j)
    paths = _targets(out, list(by_tf), "dream", "label TSV")
    result.files = paths
    lut = np.full(256, ord("?"), dtype=np.uint8)
    for code, letter in LABEL_NAMES.items():
        lut[code & 0xFF] = ord(letter)
    with _Cleanup() as cleanup:
        writers = [
            cleanup.add(
                TsvWriter(p, ["chr", "start", "stop", *(sel.tasks[j].cell for j in cols)]), p
            )
            for p, cols in zip(paths, by_tf.values(), strict=True)
        ]
        for idx, labels in blocks(store, sel, progress, desc="labels"):
            chrom, start, end = _coords(store, idx)
            prefix = np.strings.add(join_columns([chrom, start, end]), b"\t")
            for (tf, cols), w in zip(by_tf.items(), writers, strict=True):
                codes = labels[:, cols]
                missing = codes == MISSING
                rows = ~missing.all(axis=1)
                partial = rows & missing.any(axis=1)
                if partial.any():
                    b = int(idx[np.argmax(partial)])
                    raise StoreError(
                        f"{store.path}: {tf} has labels in some cells but not others at bin {b}; "
                        f"a DREAM TSV cannot hold that: export per cell (--cell) or as npz/parquet"
                    )
                codes = codes[rows]
                text = np.empty((len(codes), 2 * len(cols)), dtype=np.uint8)
                text[:, 0::2] = lut[codes.view(np.uint8)]
                text[:, 1::2] = ord("\t")
                text[:, -1] = ord("\n")
                lines = np.strings.add(prefix[rows], text.view(f"S{2 * len(cols)}").ravel())
                w.write_raw(b"".join(lines.tolist()), len(lines))
        for w in writers:
            w.close()
    result.rows = sum(w.rows for w in writers)
    return result


# --------------------------------------------------------------------------- features and bins


def export_features(
    store: Store,
    sel: Selection,
    out: str | os.PathLike,
    fmt: str,
    cells: list[str] | None = None,
    progress: bool = False,
) -> ExportResult:
    """Per-bin blacklist and annotation flags; per-cell metadata beside them.

    TSV/Parquet get the cell metadata as a companion ``<name>.cells.<ext>`` table (it has
    one row per cell, not per bin); ``.npz`` holds both.
    """
    path = _single(out)
    result = ExportResult("features", fmt, [path])
    cells = cells or store.cells
    meta = (
        np.stack([store.metadata(c) for c in cells])
        if store.meta_feature_names
        else np.zeros((len(cells), 0), np.float32)
    )
    annots = store.annotation_names
    with _Cleanup() as cleanup:
        if fmt == "npz":
            w = cleanup.add(
                NpzWriter(
                    path,
                    _coord_dtypes(store, blacklist=np.bool_, annotations=np.uint8),
                    fixed={
                        "annotation_names": _str_array(annots),
                        "cells": _str_array(cells),
                        "meta_features": _str_array(store.meta_feature_names),
                        "metadata": meta,
                    },
                ),
                path,
            )
            for idx, _ in blocks(store, sel, progress, desc="features"):
                w.write(
                    {
                        **_coord_columns(store, idx),
                        "bin": idx,
                        "blacklist": _read_blacklist(store, idx),
                        "annotations": _read_annotations(store, idx),
                    }
                )
            w.close(tails={"annotations": (len(annots),)})
            result.rows = w.rows
            return result

        def table(idx: np.ndarray) -> dict[str, np.ndarray]:
            chrom, start, end = _coords(store, idx)
            a = _read_annotations(store, idx) if len(idx) else np.zeros((0, len(annots)), np.uint8)
            bl = _read_blacklist(store, idx) if len(idx) else np.zeros(0, bool)
            return {
                "chrom": chrom.astype(str) if fmt == "parquet" else chrom,
                "start": start,
                "end": end,
                "blacklist": bl.astype(np.uint8),
                **{n: a[:, j] for j, n in enumerate(annots)},
            }

        cell_table = {
            "cell": np.asarray(cells),
            **{n: meta[:, j] for j, n in enumerate(store.meta_feature_names)},
        }
        side = sidecar(path, "cells")
        result.files.append(side)
        if fmt == "tsv":
            w = cleanup.add(TsvWriter(path, ["chrom", "start", "end", "blacklist", *annots]), path)
            cw = cleanup.add(TsvWriter(side, list(cell_table)), side)
            cw.write(cell_table)
            cw.close()
        else:
            w = cleanup.add(ParquetWriter(path, {"fnstore_store_id": store.store_id}), path)
            cw = cleanup.add(ParquetWriter(side), side)
            cw.write(cell_table)
            cw.close()
        for idx, _ in blocks(store, sel, progress, desc="features"):
            w.write(table(idx))
        w.close(**({"empty": table(np.zeros(0, np.int64))} if fmt == "parquet" else {}))
        result.rows = w.rows
    return result


def export_bins(
    store: Store, sel: Selection, out: str | os.PathLike, fmt: str, progress: bool = False
) -> ExportResult:
    """The selected bins themselves: coordinates, global index and blacklist flag."""
    path = _single(out)
    result = ExportResult("bins", fmt, [path])

    def table(idx: np.ndarray) -> dict[str, np.ndarray]:
        chrom, start, end = _coords(store, idx)
        bl = _read_blacklist(store, idx) if len(idx) else np.zeros(0, bool)
        return {
            "chrom": chrom if fmt in ("bed", "tsv") else chrom.astype(str),
            "start": start,
            "end": end,
            "index": idx,
            "blacklist": bl.astype(np.uint8) if fmt != "npz" else bl,
        }

    with _Cleanup() as cleanup:
        if fmt == "npz":
            w: Any = NpzWriter(
                path,
                _coord_dtypes(store, "index", blacklist=np.bool_),
            )
        elif fmt == "parquet":
            w = ParquetWriter(path, {"fnstore_store_id": store.store_id})
        else:
            w = TsvWriter(
                path, None if fmt == "bed" else ["chrom", "start", "end", "index", "blacklist"]
            )
        cleanup.add(w, path)
        for idx, _ in blocks(store, sel, progress, desc="bins"):
            block = table(idx)
            if fmt == "bed":
                block = {k: block[k] for k in ("chrom", "start", "end", "index")}
            w.write(block)
        if fmt == "parquet":
            w.close(empty=table(np.zeros(0, np.int64)))
        else:
            w.close()
        result.rows = w.rows
    return result


# --------------------------------------------------------------------------- sequence


def window_codes(
    store: Store, idx: np.ndarray, window: int, shift: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Base codes ``(n, window)`` around bins, N-padded past chromosome ends.

    The window is centred on the bin and moved by ``shift`` bp (positive = towards higher
    coordinates). Returns codes, chromosome indices and window starts.
    """
    chrom, start = store.bin_coords(idx)
    wstart = start + (store.bin_size - window) // 2 + shift
    codes = np.empty((len(idx), window), dtype=np.uint8)
    for c in np.unique(chrom):
        m = chrom == c
        ws = wstart[m]
        lo, hi = int(ws.min()), int(ws.max()) + window
        length = int(store.chrom_lengths[c])
        padded = np.full(hi - lo, 4, dtype=np.uint8)
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
    """
    window = window or store.bin_size
    if window < 1:
        raise InputError("--window", f"must be at least 1 bp, got {window}")
    path = _single(out)
    result = ExportResult("sequence", fmt, [path])
    names = [t.name for t in sel.tasks]
    max_rows = max(64, (1 << 22) // (4 * window))
    ascii_lut = np.frombuffer(b"ACGTN", dtype=np.uint8)
    with _Cleanup() as cleanup:
        dtypes = {"x": np.uint8, "y": np.int8, **_coord_dtypes(store)}
        tails = {"x": (4, window), "y": (len(names),)}
        fixed = {"tasks": _str_array(names)}
        if fmt == "npz":
            w: Any = NpzWriter(
                path, dtypes, fixed={**fixed, "label_codes": np.array(LABEL_CODES_DOC)}
            )
        elif fmt == "hdf5":
            w = Hdf5Writer(
                path,
                dtypes,
                tails,
                fixed=fixed,
                attrs={
                    "layout": "x: N x 4 (ACGT) x L one-hot uint8; y: N x tasks",
                    "label_codes": LABEL_CODES_DOC,
                    "window": window,
                    "shift": shift,
                    "store_id": store.store_id,
                },
            )
        else:
            w = TsvWriter(path)
        cleanup.add(w, path)
        for idx, labels in blocks(store, sel, progress, max_rows=max_rows, desc="sequence"):
            codes, chrom, wstart = window_codes(store, idx, window, shift)
            chrom_names = np.array(store.chroms)[chrom]
            if fmt == "fasta":
                header = np.strings.add(
                    np.strings.add(chrom_names.astype("S"), b":"),
                    join_columns([wstart, wstart + window], b"-"),
                )
                text = np.empty((len(idx), window + 1), dtype=np.uint8)
                text[:, :window] = ascii_lut[codes]
                text[:, window] = ord("\n")
                lines = np.strings.add(
                    np.strings.add(np.strings.add(b">", header), b"\n"),
                    text.view(f"S{window + 1}").ravel(),
                )
                w.write_raw(b"".join(lines.tolist()), len(lines))
            else:
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
        w.close(**({"tails": tails} if fmt == "npz" else {}))
        result.rows = w.rows
    return result


# --------------------------------------------------------------------------- signals


def signal_regions(
    store: Store,
    chroms: Sequence[str] | None,
    regions: str | os.PathLike | Sequence[tuple[str, int, int]] | None,
) -> list[tuple[str, int, int]]:
    """Merged base ranges in store order: whole chromosomes, or the given regions on them."""
    chrom_list = list(store.chroms) if chroms is None else list(chroms)
    if regions is None:  # the sort key checks every name
        return [
            (c, 0, int(store.chrom_lengths[store.chrom_index(c)]))
            for c in sorted(chrom_list, key=store.chrom_index)
        ]
    items = [(store.chrom_index(c), s, e) for c, s, e in store.regions_on(chrom_list, regions)]
    merged: list[list[int]] = []
    for ci, s, e in sorted(items):
        if merged and merged[-1][0] == ci and s <= merged[-1][2]:
            merged[-1][2] = max(merged[-1][2], e)
        else:
            merged.append([ci, s, e])
    return [(store.chroms[ci], s, e) for ci, s, e in merged]


def export_signals(
    store: Store,
    out: str | os.PathLike,
    fmt: str,
    chroms: Sequence[str] | None = None,
    regions: str | os.PathLike | Sequence[tuple[str, int, int]] | None = None,
    cells: list[str] | None = None,
    tracks: list[str] | None = None,
    progress: bool = False,
) -> ExportResult:
    """Per-base signal of each selected cell x track, as bigWig or bedGraph slices.

    Values are the store's (float16 or float32 widened to float32, which bigWig holds
    exactly); zero runs are left out. Reading is one position chunk at a time.
    """
    from tqdm.auto import tqdm

    for t in tracks or []:
        store.track_index(t)
    for c in cells or []:
        store.cell_index(c)
    present = store.track_present
    pairs = []
    for track in tracks or store.tracks:
        for cell in cells or store.cells:
            if present.get(track, [True] * len(store.cells))[store.cell_index(cell)]:
                pairs.append((cell, track))
            elif cells and tracks:
                raise StoreError(f"{store.path}: no {track} signal for cell {cell!r}")
    if not pairs:
        raise StoreError(
            f"{store.path}: no signal track for cell(s) {', '.join(cells or ['*'])} "
            f"and track(s) {', '.join(tracks or ['*'])}"
        )
    spans = signal_regions(store, chroms, regions)
    paths = _targets(out, [f"{c}.{t}" for c, t in pairs], fmt, "signal")
    result = ExportResult("signals", fmt, paths)
    header = [(c, int(n)) for c, n in zip(store.chroms, store.chrom_lengths, strict=True)]
    step = store.position_chunk
    total = sum(e - s for _, s, e in spans) * len(pairs)
    with (
        _Cleanup() as cleanup,
        tqdm(total=total, unit="bp", unit_scale=True, desc="signals", disable=not progress) as bar,
    ):
        for (cell, track), path in zip(pairs, paths, strict=True):
            w = cleanup.add(
                BigWigWriter(path, header)
                if fmt == "bigwig"
                else BedGraphWriter(path, f"{cell}.{track}"),
                path,
            )
            for chrom, s, e in spans:
                off = int(store.chrom_offsets[store.chrom_index(chrom)])
                a = s
                while a < e:
                    b = min(e, ((off + a) // step + 1) * step - off)
                    w.write(chrom, a, store.signal(cell, track, chrom, a, b))
                    bar.update(b - a)
                    a = b
            w.close()
            result.rows += w.entries
    return result


# --------------------------------------------------------------------------- entry point


def export(
    store: str | os.PathLike | Store,
    out: str | os.PathLike,
    what: str,
    fmt: str | None = None,
    *,
    chroms: str | Sequence[str] | None = None,
    regions: str | os.PathLike | Sequence[tuple[str, int, int]] | None = None,
    tf: str | Sequence[str] | None = None,
    cell: str | Sequence[str] | None = None,
    label: str | None = None,
    tracks: str | Sequence[str] | None = None,
    window: int | None = None,
    shift: int = 0,
    progress: bool = False,
) -> ExportResult:
    """Export ``what`` (labels, features, signals, sequence, bins) of a store slice to ``out``.

    ``fmt`` defaults to what the name of ``out`` says (``.tsv.gz`` labels are an
    ENCODE-DREAM TSV). Outputs that are naturally several files (a DREAM TSV per TF, a
    bigWig per cell x track) go into folder ``out`` unless the selection gives just one.
    """
    st = store if isinstance(store, Store) else open_store(store)
    fmt = format_for(what, out, fmt)
    if (
        regions is not None
        and isinstance(regions, str | os.PathLike)
        and not Path(regions).exists()
    ):
        raise InputError(regions, "no such regions BED file")
    if what == "signals":
        if tf is not None or label is not None:
            raise InputError(
                "--tf/--label", "do not apply to signals (select with --cell, --track)"
            )
        return export_signals(
            st, out, fmt, _as_list(chroms), regions, _as_list(cell), _as_list(tracks), progress
        )
    if tracks is not None:
        raise InputError("--track", "only applies to signals")
    sel = select(st, chroms, regions, tf, cell, label)
    if what == "labels":
        return export_labels(st, sel, out, fmt, progress)
    if what == "features":
        return export_features(st, sel, out, fmt, _as_list(cell), progress)
    if what == "bins":
        return export_bins(st, sel, out, fmt, progress)
    return export_sequence(st, sel, out, fmt, window, shift, progress)


__all__ = [
    "FORMATS",
    "ExportResult",
    "Selection",
    "blocks",
    "export",
    "export_bins",
    "export_features",
    "export_labels",
    "export_sequence",
    "export_signals",
    "format_for",
    "format_rows",
    "iter_bin_blocks",
    "select",
    "signal_regions",
    "window_codes",
]
