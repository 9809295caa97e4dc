"""Chunk integrity: a missing or damaged chunk is an error that names it, never fill values.

A store built by this version writes every chunk (fill-valued ones too), frames each with a
zstd content checksum, and records a manifest of every chunk file and its size when the
build commits (the attributes of the group ``fnstore_manifest``, written before the status
becomes ``complete``). So:

* a chunk key the store does not hold is damage: :class:`CheckedStore` raises
  :class:`~fnstore.errors.StoreError` ``"<store>/<array>/c/...: missing chunk"`` where
  zarr would return the fill value;
* a chunk that does not decode (checksum mismatch, truncated) surfaces from every read of
  a :class:`CheckedArray` as a StoreError naming the chunk: zarr's error does not say
  which chunk failed, so on an error the chunks of that selection are decoded one by one
  to find it (the error path only; a sound read costs nothing extra);
* ``fnstore validate`` compares the manifest with the files (quick) or decodes every chunk
  (``--deep``, :mod:`fnstore.store.validate`).

Stores built before the manifest existed read as before (fill values for absent chunks).
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import re
import time
import zipfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numcodecs
import zarr
from zarr.abc.store import ByteRequest, Store
from zarr.codecs import BytesCodec, ZstdCodec
from zarr.core.buffer import Buffer, BufferPrototype, default_buffer_prototype
from zarr.core.indexing import (
    BasicIndexer,
    BlockIndexer,
    CoordinateIndexer,
    MaskIndexer,
    OrthogonalIndexer,
)
from zarr.core.sync import sync
from zarr.storage import FsspecStore, LocalStore, WrapperStore, ZipStore

from fnstore.errors import StoreError
from fnstore.store.layout import MANIFEST

#: a chunk key of the default zarr v3 encoding: ``<array path>/c/<i>/<j>...``
_CHUNK_KEY = re.compile(r"(?:^|/)c(?:/\d+)+$")


def is_chunk_key(key: str) -> bool:
    """Whether a store key names a chunk (rather than metadata or another file).

    Parameters
    ----------
    key : str
        A key relative to the store root, ``/``-separated.

    Returns
    -------
    bool
        True for ``<array>/c/<i>[/<j>...]``.
    """
    return _CHUNK_KEY.search(key) is not None


def chunk_key(array: zarr.Array, coords: tuple[int, ...]) -> str:
    """The store key of one chunk of ``array``.

    Parameters
    ----------
    array : zarr.Array
        An array of the store.
    coords : tuple of int
        Chunk coordinates.

    Returns
    -------
    str
        ``<array path>/c/...``, relative to the store root.
    """
    key = array.metadata.encode_chunk_key(coords)
    return f"{array.path}/{key}" if array.path else key


class CheckedStore(WrapperStore):
    """A read-only zarr store in which a missing chunk of a manifest store is an error.

    Parameters
    ----------
    store : zarr.abc.store.Store
        The store to read (local folder, zip or fsspec).
    label : str
        How errors name the store (its path as the user gave it).
    strict : bool
        The store was built with every chunk written (it has a manifest): an absent chunk
        key raises instead of reading as the fill value.
    """

    def __init__(self, store: Store, label: str = "", strict: bool = False) -> None:
        super().__init__(store)
        self.label = label
        self.strict = strict

    def _with_store(self, store: Store) -> CheckedStore:
        return type(self)(store, self.label, self.strict)

    async def get(
        self, key: str, prototype: BufferPrototype, byte_range: ByteRequest | None = None
    ) -> Buffer | None:
        value = await self._store.get(key, prototype, byte_range)
        if value is None and self.strict and is_chunk_key(key):
            raise StoreError(f"{self.label}/{key}: missing chunk")
        return value


def unwrap(store: Store) -> Store:
    """The backend store under any :class:`WrapperStore` layers.

    Parameters
    ----------
    store : zarr.abc.store.Store
        A store, wrapped or not.

    Returns
    -------
    zarr.abc.store.Store
        The innermost store.
    """
    while isinstance(store, WrapperStore):
        store = store._store
    return store


def store_label(array: zarr.Array) -> str:
    """How errors name the store an array lives in.

    Parameters
    ----------
    array : zarr.Array
        An array.

    Returns
    -------
    str
        The :class:`CheckedStore` label, else the backend's root path.
    """
    store = array.store
    if isinstance(store, CheckedStore) and store.label:
        return store.label
    inner = unwrap(store)
    for attr in ("root", "path"):
        if hasattr(inner, attr):
            return str(getattr(inner, attr))
    return str(inner)


def decode_problem(exc: BaseException) -> str:
    """A codec's exception as a short phrase for a one-line error.

    Parameters
    ----------
    exc : BaseException
        What decoding a chunk raised.

    Returns
    -------
    str
        The first line of its message (bytes quoting removed), else the exception type.
    """
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return re.sub(r"""b(['"])(.*?)\1""", r"\2", text)


def _damaged_chunk(array: zarr.Array, indexer: Any, err: Exception) -> StoreError | None:
    """Decode the chunks ``indexer`` touches one by one; the first that fails, named."""
    plain = zarr.Array(array._async_array)
    seen: set[tuple[int, ...]] = set()
    for projection in indexer:
        coords = tuple(int(c) for c in projection.chunk_coords)
        if coords in seen:
            continue
        seen.add(coords)
        try:
            plain.get_block_selection(coords)
        except StoreError:
            raise
        except Exception as exc:  # whatever the codec raises for damaged bytes
            where = f"{store_label(array)}/{chunk_key(array, coords)}"
            return StoreError(f"{where}: damaged chunk ({decode_problem(exc)})")
    return None


def _checked(name: str, indexer_type: type) -> Callable[..., Any]:
    """``zarr.Array.<name>``, with a decode failure turned into a StoreError naming the chunk."""
    method = getattr(zarr.Array, name)

    def read(self: zarr.Array, selection: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, selection, *args, **kwargs)
        except StoreError:
            raise
        except Exception as exc:
            try:
                indexer = indexer_type(selection, self.shape, self.metadata.chunk_grid)
            except Exception:
                raise exc from None
            found = _damaged_chunk(self, indexer, exc)
            if found is None:
                raise
            raise found from None

    read.__name__ = name
    read.__doc__ = method.__doc__
    return read


class CheckedArray(zarr.Array):
    """A zarr array whose reads name the damaged chunk when one fails to decode.

    Every selection form (``arr[...]``, orthogonal, coordinate, mask and block selections)
    goes through one of the wrapped methods, so ``np.asarray(arr)`` is checked too.
    """

    get_basic_selection = _checked("get_basic_selection", BasicIndexer)
    get_orthogonal_selection = _checked("get_orthogonal_selection", OrthogonalIndexer)
    get_coordinate_selection = _checked("get_coordinate_selection", CoordinateIndexer)
    get_mask_selection = _checked("get_mask_selection", MaskIndexer)
    get_block_selection = _checked("get_block_selection", BlockIndexer)


class CheckedGroup(zarr.Group):
    """A read-only group whose member arrays are :class:`CheckedArray`."""

    def __getitem__(self, path: str) -> Any:
        obj = zarr.Group.__getitem__(self, path)
        if isinstance(obj, zarr.Group):
            return CheckedGroup(obj._async_group)
        return CheckedArray(obj._async_array)


def open_checked(zstore: Store, label: str) -> tuple[CheckedGroup, CheckedStore]:
    """The root group of a store, read through a (not yet strict) :class:`CheckedStore`.

    Parameters
    ----------
    zstore : zarr.abc.store.Store
        The backend store (:func:`~fnstore.store.backends.zarr_store`, read-only).
    label : str
        How errors name the store.

    Returns
    -------
    root : CheckedGroup
        The root group.
    checked : CheckedStore
        The store it reads through: set ``checked.strict`` once the root attributes say
        the store has a manifest.
    """
    checked = CheckedStore(zstore, label, strict=False)
    root = zarr.open_group(checked, mode="r", use_consolidated=False)
    return CheckedGroup(root._async_group), checked


# ---------------------------------------------------------------- the manifest


def stored_files(zstore: Store) -> dict[str, int]:
    """Every file of a store and its size in bytes, by store key.

    Parameters
    ----------
    zstore : zarr.abc.store.Store
        A local folder, ``.zip`` or fsspec store (wrapped or not).

    Returns
    -------
    dict of str to int
        Key (``/``-separated, relative to the root) to size in bytes.
    """
    inner = unwrap(zstore)
    if isinstance(inner, LocalStore):
        root = Path(inner.root)
        files: dict[str, int] = {}
        for folder, _, names in os.walk(root):
            rel = Path(folder).relative_to(root).as_posix()
            for n in names:
                files[n if rel == "." else f"{rel}/{n}"] = os.stat(os.path.join(folder, n)).st_size
        return files
    if isinstance(inner, ZipStore):
        with zipfile.ZipFile(inner.path) as zf:
            return {i.filename: i.file_size for i in zf.infolist() if not i.is_dir()}
    if isinstance(inner, FsspecStore):
        base = inner.path.rstrip("/")
        found = sync(inner.fs._find(base, detail=True))  # zarr keeps fsspec asynchronous
        files = [k for k, v in found.items() if v["type"] == "file"]
        unsized = [k for k in files if found[k].get("size") is None]  # HTTP folder listings
        sizes = dict(zip(unsized, sync(_sizes(inner.fs, unsized)), strict=True))
        return {k[len(base) + 1 :]: int(sizes.get(k, found[k]["size"])) for k in files}

    async def listing() -> dict[str, int]:
        keys = [k async for k in inner.list()]
        sizes = await asyncio.gather(*(inner.getsize(k) for k in keys))  # all asked at once
        return dict(zip(keys, sizes, strict=True))

    return sync(listing())


async def _sizes(fs: Any, paths: list[str]) -> list[int | None]:
    """Each file's size asked for on its own (a HEAD per file over HTTP), all at once."""
    import asyncio

    return list(await asyncio.gather(*(fs._size(p) for p in paths)))


def chunk_files(zstore: Store) -> dict[str, int]:
    """The chunk files of a store and their sizes (what a manifest records).

    Parameters
    ----------
    zstore : zarr.abc.store.Store
        The store.

    Returns
    -------
    dict of str to int
        Chunk key to size in bytes, sorted by key.
    """
    return {k: n for k, n in sorted(stored_files(zstore).items()) if is_chunk_key(k)}


def write_manifest(zstore: Store) -> dict[str, Any]:
    """Record every chunk file of a finished build and its size in :data:`MANIFEST`.

    Parameters
    ----------
    zstore : zarr.abc.store.Store
        The writable store, every chunk written.

    Returns
    -------
    dict
        The manifest: ``format``, ``n_chunks``, ``bytes`` and ``chunks`` (key to size).
    """
    chunks = chunk_files(zstore)
    manifest = {
        "format": "fnstore-chunk-manifest",
        "version": 1,
        "n_chunks": len(chunks),
        "bytes": sum(chunks.values()),
        "chunks": chunks,
    }
    group = {"zarr_format": 3, "node_type": "group", "attributes": {"manifest": manifest}}
    text = json.dumps(group, indent=0, separators=(",", ":")).encode()
    sync(zstore.set(MANIFEST, default_buffer_prototype().buffer.from_bytes(text)))
    return manifest


def read_manifest(zstore: Store, label: str) -> dict[str, int]:
    """The chunk sizes a store's manifest records.

    Parameters
    ----------
    zstore : zarr.abc.store.Store
        The store whose :data:`MANIFEST` to read (wrapped or not).
    label : str
        The store's path as errors spell it.

    Returns
    -------
    dict of str to int
        Chunk key to size in bytes; a missing or unreadable manifest is a StoreError.
    """
    value = sync(unwrap(zstore).get(MANIFEST, default_buffer_prototype()))
    if value is None:
        raise StoreError(f"{label}/{MANIFEST}: missing (the store says it has one)")
    try:
        chunks = json.loads(value.to_bytes())["attributes"]["manifest"]["chunks"]
        return {str(k): int(v) for k, v in chunks.items()}
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise StoreError(f"{label}/{MANIFEST}: unreadable ({exc})") from None


def manifest_problems(recorded: dict[str, int], found: dict[str, int], label: str) -> list[str]:
    """Compare a store's chunk files with its manifest, without reading any chunk.

    Parameters
    ----------
    recorded : dict of str to int
        Chunk sizes the manifest records (:func:`read_manifest`).
    found : dict of str to int
        Chunk files the store holds (:func:`chunk_files`).
    label : str
        How problems name the store.

    Returns
    -------
    list of str
        One line per missing, resized or unlisted chunk file, each starting
        ``<store>/<chunk key>:``.
    """
    problems = []
    for key, size in recorded.items():
        have = found.get(key)
        if have is None:
            problems.append(f"{label}/{key}: missing chunk")
        elif have != size:
            problems.append(f"{label}/{key}: {have} bytes, the manifest records {size}")
    problems += [f"{label}/{k}: chunk not in the manifest" for k in sorted(found.keys() - recorded)]
    return problems


@dataclass(frozen=True)
class DecodeStats:
    """What a deep check decoded: chunks, decoded bytes and wall seconds.

    ``validate --deep`` prints it, so a user sees the throughput of the check they ran.
    """

    chunks: int
    nbytes: int
    seconds: float

    def summary(self) -> str:
        """One line: chunks, MiB decoded, seconds and the throughput.

        Returns
        -------
        str
            E.g. ``deep check: 49 chunks, 12.3 MiB decoded in 0.05 s (246 MiB/s)``.
        """
        mib = self.nbytes / 2**20
        rate = mib / self.seconds if self.seconds > 0 else float("inf")
        return (
            f"deep check: {self.chunks} chunks, {mib:.1f} MiB decoded in {self.seconds:.2f} s "
            f"({rate:.0f} MiB/s)"
        )


def _chunk_decoder(zstore: Store, label: str) -> Callable[[str], tuple[int, str | None]]:
    """``decode(key) -> (decoded bytes, problem or None)`` for any chunk key of the store.

    Chunks of ``bytes`` + ``zstd`` arrays in a local folder are read and decoded directly
    (zstd verifies the frame's checksum) and their decoded size checked; any other chunk
    is read through zarr.
    """
    root = zarr.open_group(zstore, mode="r", use_consolidated=False)
    backend = unwrap(zstore)
    folder = Path(backend.root) if isinstance(backend, LocalStore) else None
    arrays: dict[str, tuple[zarr.Array, int, bool]] = {}
    codec = numcodecs.Zstd()

    def array_of(path: str) -> tuple[zarr.Array, int, bool]:
        if path not in arrays:
            arr = root[path]
            codecs = getattr(arr.metadata, "codecs", ())
            direct = (
                folder is not None
                and len(codecs) == 2
                and isinstance(codecs[0], BytesCodec)
                and isinstance(codecs[1], ZstdCodec)
                and arr.shards is None
            )
            arrays[path] = (arr, math.prod(arr.chunks) * arr.dtype.itemsize, direct)
        return arrays[path]

    def decode(key: str) -> tuple[int, str | None]:
        path, _, coords = key.rpartition("/c/") if "/c/" in key else ("", "", key[2:])
        arr, nbytes, direct = array_of(path)
        try:
            if direct:
                got = len(codec.decode((folder / key).read_bytes()))
                if got != nbytes:
                    return got, f"{label}/{key}: decodes to {got} bytes, expected {nbytes}"
                return got, None
            block = arr.get_block_selection(tuple(int(c) for c in coords.split("/")))
            return int(getattr(block, "nbytes", 0)), None
        except FileNotFoundError:
            return 0, f"{label}/{key}: missing chunk"
        except StoreError as exc:  # a strict store's missing chunk
            return 0, str(exc)
        except Exception as exc:  # whatever the codec raises for damaged bytes
            return 0, f"{label}/{key}: damaged chunk ({decode_problem(exc)})"

    return decode


def decode_every_chunk(
    zstore: Store, label: str, keys: list[str], workers: int | None = None
) -> tuple[list[str], DecodeStats]:
    """Decode chunks (``validate --deep``), on threads, and report every one that fails.

    Parameters
    ----------
    zstore : zarr.abc.store.Store
        The store.
    label : str
        How problems name the store.
    keys : list of str
        Chunk keys to decode (the manifest's, or every chunk file of an older store).
    workers : int, optional
        Decoding threads (default: one per CPU, at most 8).

    Returns
    -------
    problems : list of str
        One line per chunk that is missing, does not decode or decodes to the wrong size.
    stats : DecodeStats
        Chunks, decoded bytes and seconds, for the throughput line.
    """
    t0 = time.perf_counter()
    decode = _chunk_decoder(zstore, label)
    workers = workers or min(8, os.cpu_count() or 1)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        results = list(pool.map(decode, keys))
    problems = [p for _, p in results if p is not None]
    stats = DecodeStats(len(keys), sum(n for n, _ in results), time.perf_counter() - t0)
    return problems, stats
