"""A store's version history: one entry per build and per ``add``, each with a content hash.

A store that grows (``fnstore add``) keeps its identity (``store_id``) but not its data, so
a model must pin *what* it read, not only *which* store. Every build and add appends an
entry to ``provenance.history``: the version number, the time, what was added and a
content hash of every array. The hash is a pure function of the arrays: the same arrays
built fresh and grown by ``add`` hash the same, so it names data, not history.

The hash reads little: each chunk is one zstd frame whose last four bytes are a checksum
of its decoded content (written by every fnstore build), so a chunk contributes its key,
size and those four bytes; any other chunk file is hashed whole. Metadata documents of
arrays are hashed whole; the root document (provenance, timestamps), the manifest and the
build's progress flags are not data and are left out. An entry has room for an icechunk
``snapshot_id`` (None for a folder store).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from zarr.abc.store import Store
from zarr.core.buffer import default_buffer_prototype
from zarr.core.sync import sync
from zarr.storage import LocalStore

from fnstore.store.integrity import stored_files, unwrap
from fnstore.store.layout import MANIFEST_GROUP, PROGRESS_ARRAY, PROVENANCE_ATTR

#: key of the version list in a store's provenance
VERSIONS_KEY = "history"

_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
#: not data: the root document, the manifest, progress flags, build scratch, partial writes
_SKIPPED_PREFIXES = (f"{MANIFEST_GROUP}/", f"{PROGRESS_ARRAY}/", "_build_scratch/")


def _is_data(key: str) -> bool:
    return (
        key != "zarr.json"
        and not key.endswith(".partial")
        and not key.startswith(_SKIPPED_PREFIXES)
    )


def _local_digest(path: Path, key: str) -> bytes:
    """What a local file contributes: its zstd content checksum, else its bytes."""
    with open(path, "rb") as fh:
        head = fh.read(5)
        size = os.fstat(fh.fileno()).st_size
        if key.rpartition("/")[2] != "zarr.json" and _has_checksum(head) and size > 12:
            fh.seek(size - 4)
            return b"zstd:" + fh.read(4)
        fh.seek(0)
        return hashlib.sha256(fh.read()).digest()


def _has_checksum(head: bytes) -> bool:
    """Whether a file starts a zstd frame whose header sets the content-checksum flag."""
    return len(head) == 5 and head[:4] == _ZSTD_MAGIC and bool(head[4] & 0x04)


async def _remote_digest(inner: Store, key: str, size: int) -> bytes:
    """:func:`_local_digest` through the store interface: two small range reads for a
    checksummed chunk (its head and last four bytes), so an icechunk or remote store is
    not read whole."""
    from zarr.abc.store import RangeByteRequest, SuffixByteRequest

    proto = default_buffer_prototype()
    if key.rpartition("/")[2] != "zarr.json" and size > 12:
        head = await inner.get(key, proto, byte_range=RangeByteRequest(0, 5))
        if head is not None and _has_checksum(head.to_bytes()):
            tail = await inner.get(key, proto, byte_range=SuffixByteRequest(4))
            return b"zstd:" + (tail.to_bytes() if tail is not None else b"")
    value = await inner.get(key, proto)
    return hashlib.sha256(value.to_bytes() if value is not None else b"").digest()


async def _remote_digests(inner: Store, files: dict[str, int]) -> list[bytes]:
    """Every file's digest, many reads in flight at once: one at a time, the round trips
    (through zarr's event loop, or to object storage) are most of the cost."""
    import asyncio

    limit = asyncio.Semaphore(64)

    async def one(key: str, size: int) -> bytes:
        async with limit:
            return await _remote_digest(inner, key, size)

    return await asyncio.gather(*(one(k, n) for k, n in files.items()))


def content_hash(zstore: Store) -> str:
    """A digest of every array of a store: metadata documents and chunk contents.

    Parameters
    ----------
    zstore : zarr.abc.store.Store
        The store (local folder, ``.zip``, fsspec or icechunk; wrapped or not).

    Returns
    -------
    str
        ``sha256:<hex>`` over (key, size, content digest) of every data file, sorted by key.
    """
    files = {k: n for k, n in sorted(stored_files(zstore).items()) if _is_data(k)}
    inner = unwrap(zstore)
    digest = hashlib.sha256()
    if isinstance(inner, LocalStore):
        folder = Path(inner.root)
        parts = [_local_digest(folder / key, key) for key in files]
    else:
        parts = sync(_remote_digests(inner, files))
    for (key, size), part in zip(files.items(), parts, strict=True):
        digest.update(f"{key}\0{size}\0".encode() + part)
    return f"sha256:{digest.hexdigest()}"


def version_entry(
    previous: list[Mapping[str, Any]],
    action: str,
    added: Mapping[str, list[str]],
    digest: str,
    chunks_written: int,
) -> dict[str, Any]:
    """The entry a build or add appends to the version list.

    Parameters
    ----------
    previous : list of dict
        The store's version list so far (empty for a build).
    action : str
        ``"build"`` or ``"add"``.
    added : mapping of str to list of str
        Names this version added, by kind (``cells``, ``tracks``, ``tasks``, ``annotations``,
        ``meta_features``); a build lists everything.
    digest : str
        :func:`content_hash` of the store once written.
    chunks_written : int
        Chunk files this version wrote (work units for a build).

    Returns
    -------
    dict
        ``version`` (1, 2, ...), ``action``, ``time``, ``added``, ``content_hash``,
        ``chunks_written`` and ``snapshot_id`` (None: a folder store has no snapshots).
    """
    from fnstore import __version__

    number = int(previous[-1]["version"]) + 1 if previous else 1
    return {
        "version": number,
        "action": action,
        "time": datetime.now(UTC).isoformat(timespec="seconds"),
        "added": {k: list(v) for k, v in added.items() if v},
        "content_hash": digest,
        "chunks_written": int(chunks_written),
        "snapshot_id": None,
        "fnstore": __version__,
    }


def versions(attrs: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The version list recorded in a store's root attributes.

    Parameters
    ----------
    attrs : mapping
        The root attributes (``Store.attrs``).

    Returns
    -------
    list of dict
        Oldest first; empty for a store built before versions were recorded.
    """
    return [dict(v) for v in attrs.get(PROVENANCE_ATTR, {}).get(VERSIONS_KEY, [])]


def current_version(attrs: Mapping[str, Any]) -> dict[str, Any] | None:
    """The newest version entry of a store, or None when it records none.

    Parameters
    ----------
    attrs : mapping
        The root attributes.

    Returns
    -------
    dict or None
        The last entry of :func:`versions`.
    """
    found = versions(attrs)
    return found[-1] if found else None


def record_version(
    root: Any, action: str, added: Mapping[str, list[str]], chunks_written: int
) -> dict[str, Any]:
    """Hash a written store and append its version entry to the provenance attribute.

    Call it once every chunk is written and before the store is marked complete.

    Parameters
    ----------
    root : zarr.Group
        The writable root.
    action, added, chunks_written
        As :func:`version_entry`.

    Returns
    -------
    dict
        The entry appended.
    """
    provenance = dict(root.attrs[PROVENANCE_ATTR])
    previous = list(provenance.get(VERSIONS_KEY, []))
    entry = version_entry(previous, action, added, content_hash(root.store), chunks_written)
    provenance[VERSIONS_KEY] = [*previous, entry]
    root.attrs.update({PROVENANCE_ATTR: provenance})
    return entry


def pin(store_id: str, attrs: Mapping[str, Any], snapshot_id: str | None = None) -> dict[str, Any]:
    """What a model card records about the data it was trained on.

    Parameters
    ----------
    store_id : str
        The store's identity (kept by ``add``).
    attrs : mapping
        Its root attributes.
    snapshot_id : str, optional
        The icechunk snapshot read (``Store.snapshot_id``): recorded so the exact version
        can be opened again (``icechunk://REPO@SNAPSHOT``).

    Returns
    -------
    dict
        ``store_id``, ``version`` and ``content_hash`` (None for a store without
        versions), and ``snapshot_id`` for an icechunk store.
    """
    entry = current_version(attrs) or {}
    found = {
        "store_id": store_id,
        "version": entry.get("version"),
        "content_hash": entry.get("content_hash"),
    }
    return found | ({"snapshot_id": snapshot_id} if snapshot_id else {})


def _named(version: Any, snapshot: Any) -> str:
    return f"version {version}" + (f" (snapshot {snapshot})" if snapshot else "")


def pin_mismatch(
    pinned: Mapping[str, Any] | None,
    store_id: str,
    attrs: Mapping[str, Any],
    snapshot_id: str | None = None,
) -> str | None:
    """Why a store is not the data a model card pinned, or None when it is (or is unknown).

    The content hash decides, not the snapshot id: a snapshot id names a commit, and the
    same arrays can sit under many (a commit that changed only attributes, a copy into
    another repository, a rebuild of the same spec), while a model depends only on the
    arrays it read. The snapshot ids are named in the message so either version can be
    opened (``icechunk://REPO@SNAPSHOT``).

    Parameters
    ----------
    pinned : mapping or None
        The card's ``store`` block (``store_id``, ``version``, ``content_hash``, and
        ``snapshot_id`` for an icechunk store).
    store_id : str
        The store being used.
    attrs : mapping
        Its root attributes.
    snapshot_id : str, optional
        The icechunk snapshot being used (``Store.snapshot_id``).

    Returns
    -------
    str or None
        One phrase, e.g. ``trained on version 1 of store 1234abcd, this is version 2``.
    """
    if not pinned or not pinned.get("content_hash"):
        return None
    now = pin(store_id, attrs, snapshot_id)
    if now["content_hash"] == pinned["content_hash"]:
        return None
    was = _named(pinned.get("version"), pinned.get("snapshot_id"))
    was += f" of store {str(pinned.get('store_id'))[:8]}"
    if now["store_id"] != pinned.get("store_id"):
        return f"the model was trained on {was}; this is another store ({str(store_id)[:8]})"
    return (
        f"the model was trained on {was}; this is {_named(now['version'], snapshot_id)} "
        f"(its data differ: see `fnstore log`)"
    )


def layout_names(layout: Any) -> dict[str, list[str]]:
    """Every name a layout holds, by kind: what a build's version entry says it added.

    Parameters
    ----------
    layout : fnstore.store.layout.Layout
        The store's layout.

    Returns
    -------
    dict of str to list of str
        ``cells``, ``tracks``, ``tasks`` (``TF.cell``), ``annotations``, ``meta_features``.
    """
    return {
        "cells": list(layout.cells),
        "tracks": list(layout.tracks),
        "tasks": [f"{tf}.{cell}" for tf, cell in layout.tasks],
        "annotations": list(layout.annotations),
        "meta_features": list(layout.meta_features),
    }


def check_pin(
    pinned: Mapping[str, Any] | None,
    store_id: str,
    attrs: Mapping[str, Any],
    source: str,
    strict: bool = False,
    snapshot_id: str | None = None,
) -> str | None:
    """Say when a model is used on other data than it was trained on; refuse it when strict.

    Parameters
    ----------
    pinned : mapping or None
        The model card's ``store`` block (or a prediction's record of it).
    store_id : str
        The store in use.
    attrs : mapping
        Its root attributes.
    source : str
        What pinned the data (the model folder or prediction file), for the message.
    strict : bool
        Refuse a mismatch (``--strict``) instead of warning.
    snapshot_id : str, optional
        The icechunk snapshot in use (``Store.snapshot_id``), named in the message.

    Returns
    -------
    str or None
        The ``Warning:`` line written to stderr, or None when the data match (or the
        model predates pinning).

    Raises
    ------
    InputError
        On a mismatch when ``strict``.
    """
    import sys

    from fnstore.errors import InputError

    problem = pin_mismatch(pinned, store_id, attrs, snapshot_id)
    if problem is None:
        return None
    if strict:
        raise InputError(source, f"{problem} (--strict)")
    line = f"Warning: {source}: {problem}"
    print(line, file=sys.stderr)
    return line
