"""Whole-chunk reads straight into a caller's buffer (the sampler's hot path)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import numcodecs
import numpy as np
import zarr
from zarr.codecs import BytesCodec, ZstdCodec
from zarr.storage import LocalStore

from fnstore.errors import StoreError
from fnstore.store.integrity import CheckedStore, decode_problem, unwrap

#: reader of one whole chunk: ``read(chunk_coords, out)`` fills ``out`` (chunk-shaped)
ChunkReader = Callable[[tuple[int, ...], np.ndarray], None]


def whole_chunk_reader(array: zarr.Array) -> ChunkReader:
    """A function that decodes whole chunks of ``array`` straight into a caller's buffer.

    Why not ``array[...]``: zarr-python 3 hands every read to its event-loop thread and
    copies the result, which costs more than the decode itself for the sampler's reads
    of whole 1 Mi chunks (measurements in docs/design.md). The fast path covers
    the arrays fnstore writes (local directory store, ``bytes`` + ``zstd`` codecs, with or
    without zstd's content checksum, regular chunks, native byte order); for any other
    array (remote stores, other codecs) it falls back to zarr's own read, so the result
    is always zarr's.

    Parameters
    ----------
    array : zarr.Array
        The array to read from.

    Returns
    -------
    ChunkReader
        ``read(chunk_coords, out)``: fills ``out`` (chunk-shaped, ``array.dtype``) with
        the chunk at ``chunk_coords``; an edge chunk fills only its leading part. A
        chunk never written reads as the fill value, except in a store with a manifest
        (every chunk written), where it is a :class:`~fnstore.errors.StoreError` naming
        the chunk, as is a damaged chunk (checksum mismatch, truncated) in any store.
    """
    meta = array.metadata
    chunk_shape = tuple(int(c) for c in array.chunks)
    codecs = getattr(meta, "codecs", ())
    backend = unwrap(array.store)
    strict = isinstance(array.store, CheckedStore) and array.store.strict
    fast = (
        isinstance(backend, LocalStore)
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

    root = Path(backend.root) / array.path
    fill = meta.fill_value
    codec = numcodecs.Zstd()  # checks the content checksum whenever a frame carries one

    def read_chunk_file(coords: tuple[int, ...], out: np.ndarray) -> None:
        try:
            data = (root / meta.encode_chunk_key(coords)).read_bytes()
        except FileNotFoundError:  # never written: the fill value, unless all were written
            if strict:
                raise StoreError(f"{root / meta.encode_chunk_key(coords)}: missing chunk") from None
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
            raise StoreError(f"{root / key}: damaged chunk ({decode_problem(err)})") from None

    return read_chunk_file
