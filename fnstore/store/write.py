"""Creating a store and committing a finished build (the only writers of the layout)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import zarr
from zarr.codecs import BloscCodec, ZstdCodec

from fnstore.store.backends import zarr_store
from fnstore.store.consolidate import consolidate
from fnstore.store.integrity import write_manifest
from fnstore.store.labels import LABEL_NAMES, MISSING, LabelRule, labelling_codes
from fnstore.store.layout import (
    ANNOTATIONS,
    BIN_CHROM,
    BIN_START,
    BLACKLIST,
    FORMAT_NAME,
    LABELLING_ATTR,
    LABELS,
    MANIFEST,
    MAX_TASK_CHUNK,
    METADATA,
    PROGRESS_ARRAY,
    PROVENANCE_ATTR,
    SCHEMA_VERSION,
    SEQUENCE,
    SIGNALS,
    STATUS_BUILDING,
    STATUS_COMPLETE,
    Layout,
)
from fnstore.store.names import write_names

#: zstd frames carry a content checksum, so a flipped byte is an error on read, not a wrong
#: value; ``benchmarks/build.py`` builds chr20 with it off too, to measure its cost
ZSTD_CHECKSUM = True

#: every chunk is written, even one that holds only the fill value, so a missing chunk
#: file is always damage (see :mod:`fnstore.store.integrity`)
_WRITE_ALL = {"write_empty_chunks": True}


def _compressor(kind: str = "zstd") -> Any:
    if kind == "blosc":
        return BloscCodec(cname="zstd", clevel=3, shuffle="bitshuffle")
    return ZstdCodec(level=3, checksum=ZSTD_CHECKSUM)


class WritingGroup(zarr.Group):
    """A writable group whose arrays write every chunk, fill-valued ones included.

    zarr-python skips (and deletes) a chunk that holds only the fill value; a store built
    that way cannot tell a lost chunk file from an empty one. ``write_empty_chunks`` is a
    run-time setting of each opened array, so every array reached through this group
    carries it.
    """

    def __getitem__(self, path: str) -> Any:
        obj = zarr.Group.__getitem__(self, path)
        if isinstance(obj, zarr.Group):
            return WritingGroup(obj._async_group)
        return obj.with_config(_WRITE_ALL)


def _strings(root: zarr.Group, name: str, values: Sequence[str], dim: str) -> None:
    write_names(root, name, values, dim, compressors=_compressor(), config=_WRITE_ALL)


def _coordinate_arrays(root: zarr.Group, layout: Layout) -> None:
    """The small per-chromosome, per-cell, per-track and per-task name arrays."""
    _strings(root, "chrom", layout.chroms, "chrom")
    for name, data in (
        ("chrom_length", np.asarray(layout.lengths, np.int64)),
        ("chrom_offset", layout.offsets),
        ("chrom_first_bin", layout.first_bins),
    ):
        root.create_array(
            name,
            data=data,
            dimension_names=["chrom"],
            compressors=_compressor(),
            config=_WRITE_ALL,
        )
    _strings(root, "cell", layout.cells, "cell")
    _strings(root, "track", layout.tracks, "track")
    _strings(root, "task", [f"{tf}.{cell}" for tf, cell in layout.tasks], "task")
    _strings(root, "task_tf", [tf for tf, _ in layout.tasks], "task")
    _strings(root, "task_cell", [cell for _, cell in layout.tasks], "task")
    _strings(root, "annotation", layout.annotations, "annotation")
    _strings(root, "meta_feature", layout.meta_features, "meta_feature")


def _data_arrays(root: zarr.Group, layout: Layout, bin_chunk: int) -> None:
    """The bulk arrays, with fill values that never pass for data."""
    shapes, comp, pc = layout.array_shapes(), _compressor(), layout.position_chunk

    def array(
        name: str, dims: list[str], chunks: tuple[int, ...] | None, dtype: str, fill: Any, **kw: Any
    ) -> None:
        group, _, leaf = name.rpartition("/")
        parent = root.require_group(group) if group else root
        if chunks is not None:
            kw.update(chunks=chunks)
        parent.create_array(
            leaf,
            shape=shapes[name],
            dtype=dtype,
            fill_value=fill,
            dimension_names=dims,
            compressors=comp,
            **kw,
        )

    array(
        SEQUENCE,
        ["position"],
        (pc,),
        "uint8",
        4,
        attributes={"alphabet": "ACGTN", "meaning": "base codes A=0 C=1 G=2 T=3 N=4"},
    )
    root.create_group(SIGNALS)
    for track in layout.tracks:
        array(f"{SIGNALS}/{track}", ["cell", "position"], (1, pc), layout.signal_dtype, 0)
    for name, dtype, fill in (
        (BIN_CHROM, "int16", -1),
        (BIN_START, "int64", -1),
        (BLACKLIST, "bool", False),
    ):
        array(name, ["bin"], (bin_chunk,), dtype, fill)
    task_chunk = max(1, min(len(layout.tasks), MAX_TASK_CHUNK))
    array(
        LABELS,
        ["bin", "task"],
        (bin_chunk, task_chunk),
        "int8",
        MISSING,
        attributes={"codes": {str(k): v for k, v in LABEL_NAMES.items()}},
    )
    array(
        ANNOTATIONS, ["bin", "annotation"], (bin_chunk, max(1, len(layout.annotations))), "uint8", 0
    )
    array(METADATA, ["cell", "meta_feature"], None, "float32", np.nan)


def create_store(path: str | os.PathLike, layout: Layout, attrs: dict[str, Any]) -> zarr.Group:
    """Create an empty store with every array in place and status ``building``.

    Arrays are created with fill values that mean "not written yet" is never confused
    with data: readers refuse a store whose status is not ``complete``.

    Parameters
    ----------
    path
        Folder, ``.zip`` or fsspec URL of the new store; an existing one is replaced.
    layout
        Names, lengths and chunking of everything the store will hold.
    attrs
        Root attributes besides the format's own (see :func:`store_attributes`).

    Returns
    -------
    zarr.Group
        The writable root group.
    """
    root = WritingGroup(
        zarr.open_group(zarr_store(path, "w"), mode="w", zarr_format=3)._async_group
    )
    bin_chunk = min(layout.bin_chunk, max(layout.n_bins, 1))
    _coordinate_arrays(root, layout)
    _data_arrays(root, layout, bin_chunk)
    meta = {
        "schema_version": SCHEMA_VERSION,
        "store_id": str(uuid.uuid4()),
        "status": STATUS_BUILDING,
        "created": _now(),
        "bin_size": layout.bin_size,
        "stride": layout.stride,
        "position_chunk": layout.position_chunk,
        "bin_chunk": bin_chunk,
        "signal_dtype": layout.signal_dtype,
    }
    root.attrs.update({FORMAT_NAME: meta, **attrs})
    return root


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def store_attributes(
    *,
    name: str,
    assembly: str | None,
    rule: LabelRule,
    sources: dict[str, Any],
    provenance: dict[str, Any],
) -> dict[str, Any]:
    """The root attributes a build records beside the format's metadata.

    Kept here so every attribute name of the layout is spelled by the store package.

    Parameters
    ----------
    name, assembly
        The spec's store name and genome assembly.
    rule
        The labelling thresholds the labels were computed with.
    sources
        ``track_present``, ``track_sources``, ``task_sources``, ``annotation_sources`` and
        ``metadata_sources``: where every column came from.
    provenance
        Spec, input checksums, versions, parameters and fingerprint of the build.

    Returns
    -------
    dict
        Attributes for :func:`create_store`.
    """
    labelling = {
        "rule": "FactorNet/ENCODE-DREAM",
        **rule.to_dict(),
        "ambiguous_source": "relaxed peaks, else conservative peaks",
        "codes": labelling_codes(),
    }
    return {
        "name": name,
        "assembly": assembly,
        LABELLING_ATTR: labelling,
        **sources,
        PROVENANCE_ATTR: {**provenance, "started": _now()},
    }


def create_progress_array(root: zarr.Group, units: Sequence[str]) -> zarr.Array:
    """One flag per build work unit (chunked one per flag so units never share a chunk).

    Parameters
    ----------
    root : zarr.Group
        The writable root of a store being built.
    units : sequence of str
        Names of the work units, recorded in the array's ``units`` attribute.

    Returns
    -------
    zarr.Array
        uint8 flags, all 0 (not done), one per unit.
    """
    return root.create_array(
        PROGRESS_ARRAY,
        shape=(len(units),),
        chunks=(1,),
        dtype="uint8",
        fill_value=0,
        dimension_names=["work_unit"],
        attributes={"units": list(units)},
        compressors=_compressor(),
    )


def mark_unit_done(root: zarr.Group, index: int) -> None:
    """Flag a work unit written; only after its chunks, so a killed unit is redone.

    Parameters
    ----------
    root : zarr.Group
        The writable root.
    index : int
        Position of the unit in the progress array.
    """
    root[PROGRESS_ARRAY][index] = 1


def units_done(root: zarr.Group) -> np.ndarray:
    """The progress flags, one per work unit.

    Parameters
    ----------
    root : zarr.Group
        The store's root (read or write).

    Returns
    -------
    numpy.ndarray
        uint8, 1 where the unit is done.
    """
    return root[PROGRESS_ARRAY][:]


def finish_build(root: zarr.Group, resumed: bool) -> None:
    """Record when (and whether after a resume) the build finished, then mark it complete.

    Parameters
    ----------
    root : zarr.Group
        The writable root; its provenance attribute must already exist.
    resumed : bool
        Whether this build resumed an earlier, interrupted one.
    """
    provenance = dict(root.attrs[PROVENANCE_ATTR])
    provenance["finished"] = _now()
    provenance["resumed"] = resumed
    write_manifest(root.store)  # before the status: a store marked complete has its manifest
    mark_complete(root, {PROVENANCE_ATTR: provenance}, manifest=MANIFEST)
    folder = getattr(root.store, "root", None)  # a local folder store (zip and URL: not here)
    if folder is not None and Path(folder).is_dir():
        consolidate(folder)


def open_for_writing(path: str | os.PathLike) -> zarr.Group:
    """Open an existing (possibly unfinished) store to add data or resume a build.

    Parameters
    ----------
    path : str or os.PathLike
        Folder, ``.zip`` file or fsspec URL of an existing store.

    Returns
    -------
    zarr.Group
        The root group, opened read-write.
    """
    return WritingGroup(
        zarr.open_group(zarr_store(path, "a"), mode="r+", use_consolidated=False)._async_group
    )


def mark_complete(
    root: zarr.Group, extra: dict[str, Any] | None = None, manifest: str | None = None
) -> None:
    """The last write of a build: only now do readers accept the store.

    Parameters
    ----------
    root : zarr.Group
        The writable root.
    extra : dict, optional
        Further root attributes to write in the same update.
    manifest : str, optional
        Name of the chunk manifest already written (:func:`finish_build`); readers then
        treat any absent chunk as damage. None for a store written some other way.
    """
    meta = dict(root.attrs[FORMAT_NAME])
    meta["status"] = STATUS_COMPLETE
    meta["completed"] = _now()
    if manifest:
        meta["manifest"] = manifest
    updates = {FORMAT_NAME: meta}
    if extra:
        updates.update(extra)
    root.attrs.update(updates)
