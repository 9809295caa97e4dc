"""Per-bin exports that are not labels: the bins themselves, and their blacklist and
annotation flags with the per-cell metadata beside them."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from fnstore.export.formats import ExportResult, sidecar, single
from fnstore.export.selection import (
    Selection,
    blocks,
    coord_columns,
    coord_dtypes,
    coords,
    read_annotations,
    read_blacklist,
    str_array,
)
from fnstore.io.tables import NpzWriter, ParquetWriter, TsvWriter
from fnstore.store.read import Store


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

    Parameters
    ----------
    fmt : {"tsv", "parquet", "npz"}
        The table format.
    cells : list of str, optional
        Cells whose metadata to include (default: all).
    store, sel, out, progress
        As for :func:`fnstore.export.labels.export_labels`; ``out`` is one file.

    Returns
    -------
    ExportResult
        One file (npz) or two (the table and its ``.cells`` companion).
    """
    path = single(out)
    cells = cells or store.cells
    meta = (
        np.stack([store.metadata(c) for c in cells])
        if store.meta_feature_names
        else np.zeros((len(cells), 0), np.float32)
    )
    if fmt == "npz":
        rows = _features_npz(store, sel, path, cells, meta, progress)
        return ExportResult("features", fmt, [path], rows)
    side = sidecar(path, "cells")
    cell_table = {
        "cell": np.asarray(cells),
        **{n: meta[:, j] for j, n in enumerate(store.meta_feature_names)},
    }
    rows = _features_table(store, sel, path, fmt, progress, side, cell_table)
    return ExportResult("features", fmt, [path, side], rows)


def _features_npz(
    store: Store, sel: Selection, path: Path, cells: list[str], meta: np.ndarray, progress: bool
) -> int:
    annots = store.annotation_names
    fixed = {
        "annotation_names": str_array(annots),
        "cells": str_array(cells),
        "meta_features": str_array(store.meta_feature_names),
        "metadata": meta,
    }
    dtypes = coord_dtypes(store, blacklist=np.bool_, annotations=np.uint8)
    with NpzWriter(path, dtypes, fixed=fixed) as w:
        for idx, _ in blocks(store, sel, progress, desc="features"):
            w.write(
                {
                    **coord_columns(store, idx),
                    "bin": idx,
                    "blacklist": read_blacklist(store, idx),
                    "annotations": read_annotations(store, idx),
                }
            )
        w.close(tails={"annotations": (len(annots),)})
    return w.rows


def _features_table(
    store: Store,
    sel: Selection,
    path: Path,
    fmt: str,
    progress: bool,
    side: Path,
    cell_table: dict[str, np.ndarray],
) -> int:
    """TSV or Parquet per-bin flags in ``path``, the cells' metadata in ``side``."""
    annots = store.annotation_names

    def table(idx: np.ndarray) -> dict[str, np.ndarray]:
        chrom, start, end = coords(store, idx)
        a = read_annotations(store, idx) if len(idx) else np.zeros((0, len(annots)), np.uint8)
        bl = read_blacklist(store, idx) if len(idx) else np.zeros(0, bool)
        return {
            "chrom": chrom.astype(str) if fmt == "parquet" else chrom,
            "start": start,
            "end": end,
            "blacklist": bl.astype(np.uint8),
            **{n: a[:, j] for j, n in enumerate(annots)},
        }

    if fmt == "tsv":
        w: Any = TsvWriter(path, ["chrom", "start", "end", "blacklist", *annots])
        cw: Any = TsvWriter(side, list(cell_table))
    else:
        w = ParquetWriter(path, {"fnstore_store_id": store.store_id})
        cw = ParquetWriter(side)
    with w, cw:
        cw.write(cell_table)
        for idx, _ in blocks(store, sel, progress, desc="features"):
            w.write(table(idx))
        w.close(**({"empty": table(np.zeros(0, np.int64))} if fmt == "parquet" else {}))
        cw.close()
    return w.rows


def export_bins(
    store: Store, sel: Selection, out: str | os.PathLike, fmt: str, progress: bool = False
) -> ExportResult:
    """The selected bins themselves: coordinates, global index and blacklist flag.

    Parameters
    ----------
    store, sel, out, progress
        As for :func:`fnstore.export.labels.export_labels`; ``out`` is one file.
    fmt
        ``bed``, ``tsv``, ``parquet`` or ``npz``.

    Returns
    -------
    ExportResult
        ``rows``: the bins written.
    """
    path = single(out)

    def table(idx: np.ndarray) -> dict[str, np.ndarray]:
        chrom, start, end = coords(store, idx)
        bl = read_blacklist(store, idx) if len(idx) else np.zeros(0, bool)
        return {
            "chrom": chrom if fmt in ("bed", "tsv") else chrom.astype(str),
            "start": start,
            "end": end,
            "index": idx,
            "blacklist": bl.astype(np.uint8) if fmt != "npz" else bl,
        }

    if fmt == "npz":
        w: Any = NpzWriter(path, coord_dtypes(store, "index", blacklist=np.bool_))
    elif fmt == "parquet":
        w = ParquetWriter(path, {"fnstore_store_id": store.store_id})
    else:
        w = TsvWriter(
            path, None if fmt == "bed" else ["chrom", "start", "end", "index", "blacklist"]
        )
    with w:
        for idx, _ in blocks(store, sel, progress, desc="bins"):
            block = table(idx)
            if fmt == "bed":
                block = {k: block[k] for k in ("chrom", "start", "end", "index")}
            w.write(block)
        w.close(**({"empty": table(np.zeros(0, np.int64))} if fmt == "parquet" else {}))
    return ExportResult("bins", fmt, [path], w.rows)
