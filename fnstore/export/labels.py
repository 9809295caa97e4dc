"""Label exports: ENCODE-DREAM TSVs (one per TF), BED of one class, npz and Parquet matrices."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import numpy as np

from fnstore.errors import StoreError
from fnstore.export.formats import LABEL_CODES_DOC, ExportResult, single, targets
from fnstore.export.selection import (
    Selection,
    blocks,
    coord_columns,
    coord_dtypes,
    coords,
    str_array,
)
from fnstore.io.tables import NpzWriter, ParquetWriter, TsvWriter, join_columns
from fnstore.store.labels import BOUND, LABEL_NAMES, MISSING
from fnstore.store.read import Store


def export_labels(
    store: Store, sel: Selection, out: str | os.PathLike, fmt: str, progress: bool = False
) -> ExportResult:
    """Labels of the selected tasks and bins in ``fmt`` (dream, bed, npz or parquet).

    Parameters
    ----------
    store, sel
        The store and what to export of it (:func:`fnstore.export.selection.select`).
    out
        The file, or for several DREAM TSVs the folder, to write.
    fmt
        One of ``FORMATS["labels"]``.
    progress
        Show progress on stderr (a bar on a terminal, plain lines otherwise).

    Returns
    -------
    ExportResult
    """
    if not sel.tasks:
        raise StoreError(
            f"{store.path}: no labels to export for this selection (the store has "
            f"{len(store.tasks)} tasks; see `fnstore info`)"
        )
    if fmt == "dream":
        paths = _labels_dream(store, sel, out, progress)
        return ExportResult("labels", fmt, paths[0], paths[1])
    path = single(out)
    write = {"bed": _labels_bed, "npz": _labels_npz, "parquet": _labels_parquet}[fmt]
    return ExportResult("labels", fmt, [path], write(store, sel, path, progress))


def _labels_bed(store: Store, sel: Selection, path: Path, progress: bool) -> int:
    """One BED row per (bin, task) of the class asked for (default: bound); name = task."""
    code = BOUND if sel.label is None else sel.label
    task_names = np.array([t.name for t in sel.tasks], dtype="S")
    with TsvWriter(path) as w:
        for idx, labels in blocks(store, sel, progress, desc="labels"):
            rows, cols = np.nonzero(labels == code)
            chrom, start, end = coords(store, idx[rows])
            w.write({"chrom": chrom, "start": start, "end": end, "name": task_names[cols]})
        w.close()
    return w.rows


def _labels_npz(store: Store, sel: Selection, path: Path, progress: bool) -> int:
    names = [t.name for t in sel.tasks]
    fixed = {
        "tasks": str_array(names),
        "tf": str_array([t.tf for t in sel.tasks]),
        "cell": str_array([t.cell for t in sel.tasks]),
        "label_codes": np.array(LABEL_CODES_DOC),
    }
    with NpzWriter(path, coord_dtypes(store, labels=np.int8), fixed=fixed) as w:
        for idx, labels in blocks(store, sel, progress, desc="labels"):
            w.write({**coord_columns(store, idx), "bin": idx, "labels": labels})
        w.close(tails={"labels": (len(names),)})
    return w.rows


def _labels_parquet(store: Store, sel: Selection, path: Path, progress: bool) -> int:
    names = [t.name for t in sel.tasks]
    meta = {"fnstore_label_codes": LABEL_CODES_DOC, "fnstore_store_id": store.store_id}

    def table(idx: np.ndarray, labels: np.ndarray) -> dict[str, np.ndarray]:
        return {**coord_columns(store, idx), **{n: labels[:, j] for j, n in enumerate(names)}}

    with ParquetWriter(path, meta) as w:
        for idx, labels in blocks(store, sel, progress, desc="labels"):
            w.write(table(idx, labels))
        w.close(empty=table(np.zeros(0, np.int64), np.zeros((0, len(names)), np.int8)))
    return w.rows


def _labels_dream(
    store: Store, sel: Selection, out: str | os.PathLike, progress: bool
) -> tuple[list[Path], int]:
    """ENCODE-DREAM label TSVs: ``chr start stop CELL...`` with B/U/A letters, one file per TF.

    The format cannot say "no data", so bins where no selected cell of a TF has a label are
    left out, and a bin labelled in some cells but not others is an error. Returns the
    files and the rows written.
    """
    by_tf: dict[str, list[int]] = {}
    for j, t in enumerate(sel.tasks):
        by_tf.setdefault(t.tf, []).append(j)
    paths = targets(out, list(by_tf), "dream", "label TSV")
    lut = np.full(256, ord("?"), dtype=np.uint8)
    for code, letter in LABEL_NAMES.items():
        lut[code & 0xFF] = ord(letter)
    with contextlib.ExitStack() as stack:
        writers = [
            stack.enter_context(
                TsvWriter(p, ["chr", "start", "stop", *(sel.tasks[j].cell for j in cols)])
            )
            for p, cols in zip(paths, by_tf.values(), strict=True)
        ]
        for idx, labels in blocks(store, sel, progress, desc="labels"):
            chrom, start, end = coords(store, idx)
            prefix = np.strings.add(join_columns([chrom, start, end]), b"\t")
            for (tf, cols), w in zip(by_tf.items(), writers, strict=True):
                codes = labels[:, cols]
                rows = _dream_rows(store, tf, idx, codes)
                text = np.empty((int(rows.sum()), 2 * len(cols)), dtype=np.uint8)
                text[:, 0::2] = lut[codes[rows].view(np.uint8)]
                text[:, 1::2] = ord("\t")
                text[:, -1] = ord("\n")
                lines = np.strings.add(prefix[rows], text.view(f"S{2 * len(cols)}").ravel())
                w.write_raw(b"".join(lines.tolist()), len(lines))
        for w in writers:
            w.close()
    return paths, sum(w.rows for w in writers)


def _dream_rows(store: Store, tf: str, idx: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """Bins a DREAM TSV lists (labelled in its cells); a partly labelled bin is an error."""
    missing = codes == MISSING
    rows = ~missing.all(axis=1)
    partial = rows & missing.any(axis=1)
    if partial.any():
        b = int(idx[np.argmax(partial)])
        raise StoreError(
            f"{store.path}: {tf} has labels in some cells but not others at bin {b}; "
            f"a DREAM TSV cannot hold that: export per cell (--cell) or as npz/parquet"
        )
    return rows
