"""Creating a store and committing a finished build (the only writers of the layout)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import numpy as np
import zarr
from zarr.codecs import BloscCodec, ZstdCodec

from fnstore.store.backends import zarr_store
from fnstore.store.labels import LABEL_NAMES, MISSING
from fnstore.store.layout import (
    FORMAT_NAME,
    MAX_TASK_CHUNK,
    SCHEMA_VERSION,
    STATUS_BUILDING,
    STATUS_COMPLETE,
    Layout,
)


def _compressor(kind: str = "zstd") -> Any:
    if kind == "blosc":
        return BloscCodec(cname="zstd", clevel=3, shuffle="bitshuffle")
    return ZstdCodec(level=3)


def create_store(path: str | os.PathLike, layout: Layout, attrs: dict[str, Any]) -> zarr.Group:
    """Create an empty store with every array in place and status ``building``.

    Arrays are created with fill values that mean "not written yet" is never confused
    with data: readers refuse a store whose status is not ``complete``.
    """
    root = zarr.open_group(zarr_store(path, "w"), mode="w", zarr_format=3)
    comp = _compressor()
    pc, bc = layout.position_chunk, layout.bin_chunk
    n_cells, n_tasks, n_bins = len(layout.cells), len(layout.tasks), layout.n_bins

    def strings(name: str, values: Sequence[str], dim: str) -> None:
        arr = root.create_array(name, shape=(len(values),), dtype=str, dimension_names=[dim])
        if len(values):
            arr[:] = np.asarray(values, dtype=object)

    strings("chrom", layout.chroms, "chrom")
    root.create_array(
        "chrom_length", data=np.asarray(layout.lengths, np.int64), dimension_names=["chrom"]
    )
    root.create_array("chrom_offset", data=layout.offsets, dimension_names=["chrom"])
    root.create_array("chrom_first_bin", data=layout.first_bins, dimension_names=["chrom"])
    strings("cell", layout.cells, "cell")
    strings("track", layout.tracks, "track")
    strings("task", [f"{tf}.{cell}" for tf, cell in layout.tasks], "task")
    strings("task_tf", [tf for tf, _ in layout.tasks], "task")
    strings("task_cell", [cell for _, cell in layout.tasks], "task")
    strings("annotation", layout.annotations, "annotation")
    strings("meta_feature", layout.meta_features, "meta_feature")

    root.create_array(
        "sequence",
        shape=(layout.n_positions,),
        chunks=(pc,),
        dtype="uint8",
        fill_value=4,
        compressors=comp,
        dimension_names=["position"],
        attributes={"alphabet": "ACGTN", "meaning": "base codes A=0 C=1 G=2 T=3 N=4"},
    )
    signals = root.create_group("signals")
    for track in layout.tracks:
        signals.create_array(
            track,
            shape=(n_cells, layout.n_positions),
            chunks=(1, pc),
            dtype=layout.signal_dtype,
            fill_value=0,
            compressors=comp,
            dimension_names=["cell", "position"],
        )
    bin_chunks = (min(bc, max(n_bins, 1)),)
    for name, dtype, fill in (
        ("bin_chrom", "int16", -1),
        ("bin_start", "int64", -1),
        ("blacklist", "bool", False),
    ):
        root.create_array(
            name,
            shape=(n_bins,),
            chunks=bin_chunks,
            dtype=dtype,
            fill_value=fill,
            compressors=comp,
            dimension_names=["bin"],
        )
    root.create_array(
        "labels",
        shape=(n_bins, n_tasks),
        chunks=(bin_chunks[0], max(1, min(n_tasks, MAX_TASK_CHUNK))),
        dtype="int8",
        fill_value=MISSING,
        compressors=comp,
        dimension_names=["bin", "task"],
        attributes={"codes": {str(k): v for k, v in LABEL_NAMES.items()}},
    )
    root.create_array(
        "annotations",
        shape=(n_bins, len(layout.annotations)),
        chunks=(bin_chunks[0], max(1, len(layout.annotations))),
        dtype="uint8",
        fill_value=0,
        compressors=comp,
        dimension_names=["bin", "annotation"],
    )
    root.create_array(
        "metadata",
        shape=(n_cells, len(layout.meta_features)),
        dtype="float32",
        fill_value=np.nan,
        dimension_names=["cell", "meta_feature"],
    )
    meta = {
        "schema_version": SCHEMA_VERSION,
        "store_id": str(uuid.uuid4()),
        "status": STATUS_BUILDING,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "bin_size": layout.bin_size,
        "stride": layout.stride,
        "position_chunk": pc,
        "bin_chunk": bin_chunks[0],
        "signal_dtype": layout.signal_dtype,
    }
    root.attrs.update({FORMAT_NAME: meta, **attrs})
    return root


def open_for_writing(path: str | os.PathLike) -> zarr.Group:
    """Open an existing (possibly unfinished) store to add data or resume a build."""
    return zarr.open_group(zarr_store(path, "a"), mode="r+")


def mark_complete(root: zarr.Group, extra: dict[str, Any] | None = None) -> None:
    """The last write of a build: only now do readers accept the store."""
    meta = dict(root.attrs[FORMAT_NAME])
    meta["status"] = STATUS_COMPLETE
    meta["completed"] = datetime.now(UTC).isoformat(timespec="seconds")
    updates = {FORMAT_NAME: meta}
    if extra:
        updates.update(extra)
    root.attrs.update(updates)
