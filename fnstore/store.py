"""The one module that knows the store's Zarr layout (schema version 1).

Everything else in fnstore reads and writes the store through :class:`Store` and the
writer helpers here; ``schemas/store-v1.md`` documents the same layout for people and
for tools that read the store without fnstore (plain ``zarr`` or ``xarray.open_zarr``).

Coordinates: every chromosome is laid out in one global ``position`` axis, each starting
at an offset aligned to the sequence chunk size, so a chunk never spans two chromosomes.
Bins (``bin`` axis) are numbered chromosome by chromosome in store order; a bin's start is
arithmetic (``(i - first_bin[chrom]) * stride``), and also stored in ``bin_start``.
"""

from __future__ import annotations

import os
import shutil
import sys
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numcodecs
import numpy as np
import zarr
from zarr.codecs import BloscCodec, BytesCodec, ZstdCodec
from zarr.storage import LocalStore

from fnstore.errors import InputError, StoreError
from fnstore.labels import LABEL_NAMES, MISSING

SCHEMA_VERSION = 1
FORMAT_NAME = "fnstore"
STATUS_BUILDING = "building"
STATUS_COMPLETE = "complete"

#: default chunking: 1 Mi positions per sequence/signal chunk, 64 Ki bins per bin chunk
DEFAULT_POSITION_CHUNK = 1 << 20
DEFAULT_BIN_CHUNK = 1 << 16
MAX_TASK_CHUNK = 64


def _compressor(kind: str = "zstd") -> Any:
    if kind == "blosc":
        return BloscCodec(cname="zstd", clevel=3, shuffle="bitshuffle")
    return ZstdCodec(level=3)


@dataclass(frozen=True)
class Task:
    """One TF x cell label column."""

    index: int
    tf: str
    cell: str

    @property
    def name(self) -> str:
        return f"{self.tf}.{self.cell}"


@dataclass(frozen=True)
class Layout:
    """Everything needed to create an empty store; computed before any data is read."""

    chroms: list[str]
    lengths: list[int]
    bin_size: int
    stride: int
    cells: list[str]
    tracks: list[str]
    tasks: list[tuple[str, str]]
    annotations: list[str]
    meta_features: list[str]
    signal_dtype: str = "float16"
    position_chunk: int = DEFAULT_POSITION_CHUNK
    bin_chunk: int = DEFAULT_BIN_CHUNK

    @property
    def offsets(self) -> np.ndarray:
        padded = [-(-n // self.position_chunk) * self.position_chunk for n in self.lengths]
        return np.concatenate([[0], np.cumsum(padded)[:-1]]).astype(np.int64)

    @property
    def n_positions(self) -> int:
        return int(
            self.offsets[-1] + -(-self.lengths[-1] // self.position_chunk) * self.position_chunk
        )

    @property
    def bins_per_chrom(self) -> np.ndarray:
        n = [(max(0, (length - self.bin_size) // self.stride + 1)) for length in self.lengths]
        return np.asarray(n, dtype=np.int64)

    @property
    def first_bins(self) -> np.ndarray:
        return np.concatenate([[0], np.cumsum(self.bins_per_chrom)[:-1]]).astype(np.int64)

    @property
    def n_bins(self) -> int:
        return int(self.bins_per_chrom.sum())


def is_remote(path: str | os.PathLike) -> bool:
    return "://" in str(path)


def _zarr_store(path: str | os.PathLike, mode: str) -> Any:
    """A zarr store object for a local path, a ``.zip`` file or an fsspec URL."""
    p = str(path)
    if p.endswith(".zip") and not is_remote(p):
        return zarr.storage.ZipStore(p, mode="r" if mode == "r" else "a")
    if is_remote(p):
        return zarr.storage.FsspecStore.from_url(p, read_only=(mode == "r"))
    return zarr.storage.LocalStore(p, read_only=(mode == "r"))


def store_exists(path: str | os.PathLike) -> bool:
    p = str(path)
    if is_remote(p):
        try:
            zarr.open_group(_zarr_store(p, "r"), mode="r")
            return True
        except Exception:
            return False
    return os.path.exists(p)


def remove_store(path: str | os.PathLike) -> None:
    """Delete a store (used for --overwrite and to leave nothing behind on bad input)."""
    p = str(path)
    if is_remote(p):
        import fsspec

        fs, root = fsspec.core.url_to_fs(p)
        if fs.exists(root):
            fs.rm(root, recursive=True)
    elif os.path.isdir(p):
        shutil.rmtree(p)
    elif os.path.exists(p):
        os.remove(p)


# --------------------------------------------------------------------------- writing


def create_store(path: str | os.PathLike, layout: Layout, attrs: dict[str, Any]) -> zarr.Group:
    """Create an empty store with every array in place and status ``building``.

    Arrays are created with fill values that mean "not written yet" is never confused
    with data: readers refuse a store whose status is not ``complete``.
    """
    root = zarr.open_group(_zarr_store(path, "w"), mode="w", zarr_format=3)
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
    return zarr.open_group(_zarr_store(path, "a"), mode="r+")


def mark_complete(root: zarr.Group, extra: dict[str, Any] | None = None) -> None:
    """The last write of a build: only now do readers accept the store."""
    meta = dict(root.attrs[FORMAT_NAME])
    meta["status"] = STATUS_COMPLETE
    meta["completed"] = datetime.now(UTC).isoformat(timespec="seconds")
    updates = {FORMAT_NAME: meta}
    if extra:
        updates.update(extra)
    root.attrs.update(updates)


# --------------------------------------------------------------------------- reading

#: reader of one whole chunk: ``read(chunk_coords, out)`` fills ``out`` (chunk-shaped)
ChunkReader = Callable[[tuple[int, ...], np.ndarray], None]


def whole_chunk_reader(array: zarr.Array) -> ChunkReader:
    """A function that decodes whole chunks of ``array`` straight into a caller's buffer.

    Why not ``array[...]``: zarr-python 3 hands every read to its event-loop thread and
    copies the result, which costs more than the decode itself for the sampler's reads
    of whole 1 Mi chunks (measured on chr20: 5-6 ms a sequence chunk through zarr, 2.4 ms
    reading the chunk file and decoding it into the destination). The fast path covers
    the arrays fnstore writes (local directory store, ``bytes`` + ``zstd`` codecs,
    regular chunks, native byte order); for any other array (remote stores, other
    codecs) it falls back to zarr's own read, so the result is always zarr's.
    """
    meta = array.metadata
    chunk_shape = tuple(int(c) for c in array.chunks)
    codecs = getattr(meta, "codecs", ())
    fast = (
        isinstance(array.store, LocalStore)
        and len(codecs) == 2
        and isinstance(codecs[0], BytesCodec)
        and (codecs[0].endian is None or codecs[0].endian.value == sys.byteorder)
        and isinstance(codecs[1], ZstdCodec)
        and array.shards is None
    )
    if not fast:

        def read_with_zarr(coords: tuple[int, ...], out: np.ndarray) -> None:
            sel = tuple(
                slice(c * n, min((c + 1) * n, size))
                for c, n, size in zip(coords, chunk_shape, array.shape, strict=True)
            )
            part = array[sel]
            out[tuple(slice(0, n) for n in part.shape)] = part

        return read_with_zarr

    root = Path(array.store.root) / array.path
    fill = meta.fill_value
    codec = numcodecs.Zstd()

    def read_chunk_file(coords: tuple[int, ...], out: np.ndarray) -> None:
        try:
            data = (root / meta.encode_chunk_key(coords)).read_bytes()
        except FileNotFoundError:  # never written: every value is the fill value
            out[...] = fill
            return
        try:
            if out.flags.c_contiguous and out.shape == chunk_shape and out.dtype == array.dtype:
                codec.decode(data, out=out)
            else:
                decoded = np.frombuffer(codec.decode(data), dtype=array.dtype)
                out[...] = decoded.reshape(chunk_shape)
        except (RuntimeError, ValueError) as err:
            key = meta.encode_chunk_key(coords)
            raise StoreError(f"{root / key}: damaged chunk ({err})") from None

    return read_chunk_file


class Store:
    """A read-only view of a complete store.

    Small coordinate arrays are loaded once; bulk data (sequence, signals, labels) is read
    on demand, chunk by chunk, so opening a whole-genome store costs milliseconds.
    """

    def __init__(self, root: zarr.Group, path: str) -> None:
        self.root = root
        self.path = path
        self.attrs: dict[str, Any] = dict(root.attrs)
        meta = self.attrs[FORMAT_NAME]
        self.schema_version: int = int(meta["schema_version"])
        self.store_id: str = meta["store_id"]
        self.status: str = meta["status"]
        self.bin_size: int = int(meta["bin_size"])
        self.stride: int = int(meta["stride"])
        self.position_chunk: int = int(meta["position_chunk"])
        self.bin_chunk: int = int(meta["bin_chunk"])
        self.signal_dtype: str = meta["signal_dtype"]
        self.chroms: list[str] = [str(c) for c in root["chrom"][:]]
        self.chrom_lengths: np.ndarray = root["chrom_length"][:]
        self.chrom_offsets: np.ndarray = root["chrom_offset"][:]
        self.chrom_first_bin: np.ndarray = root["chrom_first_bin"][:]
        self.cells: list[str] = [str(c) for c in root["cell"][:]]
        self.tracks: list[str] = [str(t) for t in root["track"][:]]
        tfs = [str(t) for t in root["task_tf"][:]]
        tcells = [str(c) for c in root["task_cell"][:]]
        self.tasks: list[Task] = [
            Task(i, tf, c) for i, (tf, c) in enumerate(zip(tfs, tcells, strict=True))
        ]
        self.annotation_names: list[str] = [str(a) for a in root["annotation"][:]]
        self.meta_feature_names: list[str] = [str(m) for m in root["meta_feature"][:]]
        self._chrom_index = {c: i for i, c in enumerate(self.chroms)}
        self._cell_index = {c: i for i, c in enumerate(self.cells)}
        lengths = self.chrom_lengths
        self.bins_per_chrom = np.maximum(0, (lengths - self.bin_size) // self.stride + 1).astype(
            np.int64
        )
        self.n_bins = int(self.bins_per_chrom.sum())

    # ---- identity and summary
    def __repr__(self) -> str:
        return (
            f"<fnstore.Store {self.path!r}: {len(self.chroms)} chroms, {self.n_bins:,} bins, "
            f"{len(self.cells)} cells, {len(self.tracks)} tracks, {len(self.tasks)} tasks>"
        )

    @property
    def provenance(self) -> dict[str, Any]:
        return self.attrs.get("provenance", {})

    @property
    def labelling(self) -> dict[str, Any]:
        return self.attrs.get("labelling", {})

    @property
    def track_present(self) -> dict[str, list[bool]]:
        """Per track, which cells have real data (others read as zeros)."""
        return self.attrs.get("track_present", {t: [True] * len(self.cells) for t in self.tracks})

    # ---- lookups (each raises StoreError naming what is unknown)
    def chrom_index(self, chrom: str) -> int:
        try:
            return self._chrom_index[chrom]
        except KeyError:
            raise StoreError(
                f"{self.path}: unknown chromosome {chrom!r} (store has {', '.join(self.chroms)})"
            ) from None

    def cell_index(self, cell: str) -> int:
        try:
            return self._cell_index[cell]
        except KeyError:
            raise StoreError(
                f"{self.path}: unknown cell {cell!r} (store has {', '.join(self.cells)})"
            ) from None

    def track_index(self, track: str) -> int:
        if track not in self.tracks:
            raise StoreError(
                f"{self.path}: unknown track {track!r} (store has {', '.join(self.tracks)})"
            )
        return self.tracks.index(track)

    def task_index(self, tf: str, cell: str) -> int:
        for t in self.tasks:
            if t.tf == tf and t.cell == cell:
                return t.index
        known_tf = sorted({t.tf for t in self.tasks})
        if tf not in known_tf:
            raise StoreError(f"{self.path}: unknown TF {tf!r} (store has {', '.join(known_tf)})")
        cells = sorted(t.cell for t in self.tasks if t.tf == tf)
        raise StoreError(
            f"{self.path}: no labels for {tf} in cell {cell!r} (only in {', '.join(cells)})"
        )

    def tasks_for(self, tf: str | None = None, cell: str | None = None) -> list[Task]:
        found = [
            t for t in self.tasks if (tf is None or t.tf == tf) and (cell is None or t.cell == cell)
        ]
        if not found:
            if tf is not None and tf not in {t.tf for t in self.tasks}:
                raise StoreError(f"{self.path}: unknown TF {tf!r}")
            if cell is not None:
                self.cell_index(cell)
            raise StoreError(f"{self.path}: no task for TF={tf} cell={cell}")
        return found

    # ---- bins
    def bin_range(self, chrom: str) -> tuple[int, int]:
        """Half-open global bin index range of a chromosome."""
        i = self.chrom_index(chrom)
        lo = int(self.chrom_first_bin[i])
        return lo, lo + int(self.bins_per_chrom[i])

    def bin_coords(self, bins: np.ndarray | slice) -> tuple[np.ndarray, np.ndarray]:
        """(chromosome index, chrom-local start) of global bin indices, computed arithmetically."""
        idx = (
            np.arange(self.n_bins)[bins] if isinstance(bins, slice) else np.asarray(bins, np.int64)
        )
        chrom = np.searchsorted(self.chrom_first_bin, idx, side="right") - 1
        start = (idx - self.chrom_first_bin[chrom]) * self.stride
        return chrom.astype(np.int64), start.astype(np.int64)

    def bin_index(self, chrom: str, start: int | np.ndarray) -> np.ndarray:
        """Global bin index of bins starting at ``start`` on ``chrom`` (must be on the grid)."""
        lo, hi = self.bin_range(chrom)
        start = np.asarray(start, dtype=np.int64)
        if np.any(start % self.stride):
            raise StoreError(
                f"{self.path}: bin starts must be multiples of the stride {self.stride}"
            )
        idx = lo + start // self.stride
        if np.any((idx < lo) | (idx >= hi)):
            raise StoreError(f"{self.path}: bin start outside {chrom}")
        return idx

    def bins_overlapping(self, chrom: str, start: int, end: int) -> tuple[int, int]:
        """Global index range of bins that overlap ``[start, end)`` on ``chrom``."""
        lo, hi = self.bin_range(chrom)
        first = max(0, -(-(start - self.bin_size + 1) // self.stride))
        last = (end - 1) // self.stride + 1
        return lo + min(first, hi - lo), lo + max(0, min(last, hi - lo))

    def regions_on(
        self,
        chroms: Sequence[str] | None,
        regions: str | os.PathLike | Sequence[tuple[str, int, int]],
    ) -> list[tuple[str, int, int]]:
        """``regions`` (tuples or a BED path) that lie on ``chroms`` (None: any), as given.

        Every region is checked (non-empty, within its chromosome), including regions on
        chromosomes that are then dropped: a region file for another assembly should fail
        loudly, not select nothing.
        """
        wanted = set(self.chroms if chroms is None else chroms)
        for c in wanted:
            self.chrom_index(c)
        if isinstance(regions, str | os.PathLike):
            from fnstore.build.readers import read_bed

            iv = read_bed(regions)
            regions = [
                (c, int(s), int(e))
                for c, (ss, ee) in iv.by_chrom.items()
                for s, e in zip(ss, ee, strict=True)
            ]
        out = []
        for c, s, e in ((c, int(s), int(e)) for c, s, e in regions):
            length = int(self.chrom_lengths[self.chrom_index(c)])
            if s >= e:
                raise InputError(f"{c}:{s}-{e}", "region is empty (BED needs start < end)")
            if s < 0 or e > length:
                raise InputError(f"{c}:{s}-{e}", f"region is outside {c} (length {length})")
            if c in wanted:
                out.append((c, s, e))
        return out

    def bin_ranges(
        self,
        chroms: Sequence[str] | None = None,
        regions: str | os.PathLike | Sequence[tuple[str, int, int]] | None = None,
    ) -> list[tuple[int, int]]:
        """Sorted, merged, half-open global bin ranges of chromosomes and/or regions.

        Ranges rather than index arrays, so a whole-genome selection is a few tuples, not
        60 million indices. ``regions`` are ``(chrom, start, end)`` tuples or a BED path; a
        bin is selected when it overlaps a region by at least 1 bp. With both, regions on
        chromosomes outside ``chroms`` are dropped.
        """
        if regions is None:
            chroms = list(self.chroms) if chroms is None else list(chroms)
            ranges = [self.bin_range(c) for c in chroms]
        else:
            ranges = [
                self.bins_overlapping(c, s, e) for c, s, e in self.regions_on(chroms, regions)
            ]
        merged: list[tuple[int, int]] = []
        for lo, hi in sorted(r for r in ranges if r[1] > r[0]):
            if merged and lo <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(merged[-1][1], hi))
            else:
                merged.append((lo, hi))
        return merged

    def bins(
        self,
        chroms: Sequence[str] | None = None,
        regions: str | os.PathLike | Sequence[tuple[str, int, int]] | None = None,
    ) -> Any:
        """A pandas DataFrame of bins (``chrom``, ``start``, ``end``, global ``index``) in store order."""
        import pandas as pd

        ranges = self.bin_ranges(chroms, regions)
        idx = np.concatenate(
            [np.arange(lo, hi, dtype=np.int64) for lo, hi in ranges] or [np.zeros(0, np.int64)]
        )
        chrom, start = self.bin_coords(idx)
        names = pd.Categorical.from_codes(chrom, categories=self.chroms)
        return pd.DataFrame(
            {"chrom": names, "start": start, "end": start + self.bin_size, "index": idx}
        )

    def global_position(self, chrom: str, pos: int | np.ndarray) -> int | np.ndarray:
        return self.chrom_offsets[self.chrom_index(chrom)] + pos

    def blacklist(self, bins: slice | np.ndarray = slice(None)) -> np.ndarray:
        return (
            self.root["blacklist"][bins]
            if isinstance(bins, slice)
            else self.root["blacklist"].get_orthogonal_selection((np.asarray(bins),))
        )

    # ---- bulk reads
    def _check_range(self, chrom: str, start: int, end: int) -> int:
        i = self.chrom_index(chrom)
        if not 0 <= start <= end <= self.chrom_lengths[i]:
            raise StoreError(
                f"{self.path}: {chrom}:{start}-{end} is outside {chrom} (length {int(self.chrom_lengths[i])})"
            )
        return int(self.chrom_offsets[i])

    def sequence(self, chrom: str, start: int, end: int) -> np.ndarray:
        """uint8 base codes of ``chrom[start:end]``."""
        off = self._check_range(chrom, start, end)
        return self.root["sequence"][off + start : off + end]

    def signal(self, cell: str, track: str, chrom: str, start: int, end: int) -> np.ndarray:
        """float32 per-base signal of one cell and track."""
        off = self._check_range(chrom, start, end)
        arr = self.root["signals"][track] if track in self.tracks else self.track_index(track)
        return np.asarray(arr[self.cell_index(cell), off + start : off + end], dtype=np.float32)

    def signal_array(self, track: str) -> zarr.Array:
        self.track_index(track)
        return self.root["signals"][track]

    @property
    def sequence_array(self) -> zarr.Array:
        return self.root["sequence"]

    @property
    def labels_array(self) -> zarr.Array:
        return self.root["labels"]

    def labels(
        self,
        tasks: Sequence[int] | None = None,
        bins: slice | np.ndarray = slice(None),
        *,
        tf: str | None = None,
        cell: str | None = None,
        chroms: Sequence[str] | None = None,
    ) -> np.ndarray:
        """int8 label matrix ``(bins, tasks)``: U=0, B=1, A=2, no data=-1.

        Positional form: task indices and a bin slice/index array. Keyword form for people:
        ``labels(tf="CTCF", chroms=["chr20"])``; columns are then ``tasks_for(tf, cell)`` and
        rows ``bins(chroms=...)``, in store order.
        """
        if tf is not None or cell is not None:
            if tasks is not None:
                raise StoreError(f"{self.path}: give task indices or tf=/cell=, not both")
            tasks = [t.index for t in self.tasks_for(tf=tf, cell=cell)]
        if chroms is not None:
            if not (isinstance(bins, slice) and bins == slice(None)):
                raise StoreError(f"{self.path}: give bins or chroms=, not both")
            ranges = self.bin_ranges(chroms=chroms)
            bins = (
                slice(*ranges[0])
                if len(ranges) == 1
                else np.concatenate(
                    [np.arange(lo, hi, dtype=np.int64) for lo, hi in ranges]
                    or [np.zeros(0, np.int64)]
                )
            )
        cols = list(range(len(self.tasks))) if tasks is None else list(tasks)
        arr = self.root["labels"]
        if isinstance(bins, slice):
            return arr.get_orthogonal_selection((bins, np.asarray(cols, dtype=np.int64)))
        return arr.get_orthogonal_selection(
            (np.asarray(bins, np.int64), np.asarray(cols, dtype=np.int64))
        )

    def annotations(self, bins: slice | np.ndarray = slice(None)) -> np.ndarray:
        arr = self.root["annotations"]
        return (
            arr[bins]
            if isinstance(bins, slice)
            else arr.get_orthogonal_selection((np.asarray(bins, np.int64), slice(None)))
        )

    def metadata(self, cell: str) -> np.ndarray:
        return self.root["metadata"][self.cell_index(cell)]

    def label_counts(self, tasks: Sequence[int] | None = None) -> list[dict[str, int]]:
        """Counts of U/B/A/no-data per task, in one chunk-by-chunk pass over the labels."""
        cols = np.arange(len(self.tasks)) if tasks is None else np.asarray(tasks, dtype=np.int64)
        counts = np.zeros((len(cols), 4), dtype=np.int64)
        for lo in range(0, self.n_bins, self.bin_chunk):
            block = self.labels(cols, slice(lo, lo + self.bin_chunk)).astype(np.int64) + 1
            for code in range(4):
                counts[:, code] += (block == code).sum(axis=0)
        return [
            {"U": int(c[1]), "B": int(c[2]), "A": int(c[3]), "missing": int(c[0])} for c in counts
        ]

    def info(self, counts: bool = True) -> dict[str, Any]:
        """A JSON-able summary (``fnstore info``)."""
        tasks: list[dict[str, Any]] = [{"tf": t.tf, "cell": t.cell} for t in self.tasks]
        if counts and self.tasks:
            for row, c in zip(tasks, self.label_counts(), strict=True):
                row.update(c)
        return {
            "path": self.path,
            "store_id": self.store_id,
            "schema_version": self.schema_version,
            "status": self.status,
            "bin_size": self.bin_size,
            "stride": self.stride,
            "chroms": {c: int(n) for c, n in zip(self.chroms, self.chrom_lengths, strict=True)},
            "n_bins": self.n_bins,
            "n_blacklisted": int(
                sum(
                    int(self.root["blacklist"][lo : lo + self.bin_chunk].sum())
                    for lo in range(0, self.n_bins, self.bin_chunk)
                )
            ),
            "cells": self.cells,
            "tracks": {
                t: [c for c, p in zip(self.cells, self.track_present.get(t, []), strict=False) if p]
                for t in self.tracks
            },
            "signal_dtype": self.signal_dtype,
            "annotations": self.annotation_names,
            "meta_features": self.meta_feature_names,
            "tasks": tasks,
            "size_bytes": store_size(self.path),
        }

    def to_xarray(self) -> Any:
        """The store as an ``xarray.Dataset`` (lazy, dask-backed).

        Signal tracks (group ``signals``) are merged in as ``signal_<track>(cell, position)``;
        ``bin_chrom``/``bin_start`` and ``task_tf``/``task_cell`` become coordinates.
        """
        import xarray as xr

        ds = xr.open_zarr(_zarr_store(self.path, "r"), consolidated=False)
        if self.tracks:
            sig = xr.open_zarr(_zarr_store(self.path, "r"), group="signals", consolidated=False)
            ds = ds.merge(sig.rename({t: f"signal_{t}" for t in sig.data_vars}))
        return ds.set_coords(
            [v for v in ("bin_chrom", "bin_start", "task_tf", "task_cell") if v in ds]
        )


def store_size(path: str | os.PathLike) -> int | None:
    p = Path(str(path))
    if is_remote(str(path)):
        return None
    if p.is_file():
        return p.stat().st_size
    return sum(f.stat().st_size for f in p.rglob("*") if f.is_file())


def open_store(path: str | os.PathLike, allow_incomplete: bool = False) -> Store:
    """Open a store read-only; refuses unfinished builds and unknown schema versions."""
    p = str(path)
    if not is_remote(p) and not os.path.exists(p):
        raise StoreError(f"{p}: no such store")
    try:
        root = zarr.open_group(_zarr_store(p, "r"), mode="r")
        meta = dict(root.attrs).get(FORMAT_NAME)
    except Exception as exc:  # zarr raises several types for "not a group"
        raise StoreError(f"{p}: not a Zarr v3 store ({type(exc).__name__}: {exc})") from None
    if not meta:
        raise StoreError(f"{p}: not an fnstore store (no '{FORMAT_NAME}' attributes)")
    version = int(meta.get("schema_version", -1))
    if version != SCHEMA_VERSION:
        raise StoreError(
            f"{p}: schema version {version} is not supported (this fnstore reads {SCHEMA_VERSION})"
        )
    if meta.get("status") != STATUS_COMPLETE and not allow_incomplete:
        raise StoreError(
            f"{p}: store is incomplete (status {meta.get('status')!r}); finish it with `fnstore build --resume`"
        )
    return Store(root, p)
