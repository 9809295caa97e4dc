"""``fnstore add icechunk://REPO FRAGMENT``: grow a versioned store as one commit on its branch.

A folder add stages a grown copy and swaps it in; an icechunk repository already has
both halves of that: a writable session sees the branch's snapshot, collects every write,
and publishes nothing until its commit. So the add edits the snapshot in place, inside one
session (:func:`fnstore.io.icechunk.write_transaction`):

1. plan exactly as a folder add (:func:`~fnstore.build.fragment.plan_add`), from a read-only
   session at the snapshot the transaction starts from; nothing is written.
2. lay out the combined spec's metadata as a fresh build would: :func:`create_store` into a
   memory store gives every array document, name array and metadata array; each one that
   differs replaces the session's (an array whose chunk grid changes, labels or
   annotations with new columns, is deleted first, so no stale chunk survives).
3. keep what does not change: sequence, bins, blacklist and the signal rows of existing
   cells are not touched; a row that moves (a new cell landing between existing ones) has
   its chunks copied byte for byte from the parent snapshot.
4. compute the new data with the folder add's own units (:mod:`~fnstore.build.add_units`).
5. record the version (content hash, chunks written: icechunk's own count of the chunks the
   session changed), write the manifest, mark complete, record the tag, commit, tag.

Anything that stops the process before the commit (an error, a kill) leaves the branch at
its previous snapshot: the session's writes were never published. There is nothing to
resume: ``--resume`` just does the add again. A commit that finds the branch moved (another
writer) is refused by icechunk and reported as an error; run the add again.
"""

from __future__ import annotations

import os
import time
from typing import Any

from zarr.core.buffer import default_buffer_prototype
from zarr.core.sync import sync
from zarr.storage import MemoryStore

from fnstore.build.add_units import AddResult, run_units, staged_dream_labels
from fnstore.build.fragment import AddPlan, load_fragment, plan_add
from fnstore.errors import StoreError
from fnstore.io.files import naming_os_errors
from fnstore.io.icechunk import (
    SCHEME,
    open_repository,
    parse_url,
    record_icechunk_version,
    write_transaction,
)
from fnstore.store.layout import (
    ANNOTATIONS,
    FORMAT_NAME,
    LABELS,
    METADATA,
    PROVENANCE_ATTR,
    SIGNALS,
    STATUS_BUILDING,
)
from fnstore.store.read import open_store
from fnstore.store.versions import (
    VERSIONS_KEY,
    content_hash,
    layout_names,
    record_version,
    version_entry,
    versions,
)
from fnstore.store.write import create_store, finish_build, open_for_writing

__all__ = ["add_to_icechunk"]


def add_to_icechunk(
    url: str,
    fragment: str | os.PathLike,
    *,
    workers: int | None = None,
    progress: bool = False,
    storage_options: dict | None = None,
) -> AddResult:
    """Add a spec fragment to the store on an icechunk branch, as one tagged commit.

    Parameters
    ----------
    url : str
        ``icechunk://PATH[@branch]`` of a complete fnstore store (default branch ``main``).
    fragment : str or os.PathLike
        The fragment's YAML file (``schemas/add-fragment.schema.json``).
    workers : int, optional
        Threads for the units that compute new data (default: one per CPU, at most 4).
    progress : bool
        Show progress on stderr.
    storage_options : dict, optional
        ``icechunk.s3_storage`` keywords for a repository on S3.

    Returns
    -------
    AddResult
        The names added, the new version, chunks written, and the commit's snapshot id and tag.

    Raises
    ------
    InputError
        For a bad fragment, or a tag or snapshot in place of a branch, before anything is written.
    StoreError
        For a missing repository or store, or when another commit landed on the branch first.
    """
    t0 = time.perf_counter()
    open_repository(url, storage_options=storage_options)  # a missing repository is not created
    with naming_os_errors(url), write_transaction(url, storage_options) as tx:
        parsed = parse_url(url)
        current = open_store(f"{SCHEME}{parsed.location}@{tx.parent}", storage_options)
        plan = plan_add(load_fragment(fragment), current)
        plan.store = url
        with staged_dream_labels(plan) as dream:  # TSV rows checked before anything is written
            root = _lay_out(plan, current, tx.store)
            _run(plan, current, root, workers, progress, dream)
        written = sum(len(list(c)) for c in tx.session.status().updated_chunks.values())
        entry = record_version(root, "add", plan.added, written)
        finish_build(root, resumed=False)
        commit_meta = record_icechunk_version(tx)
        snapshot = tx.commit(f"fnstore add {os.path.basename(str(fragment))}", commit_meta)
    return AddResult(
        store=url,
        added={k: v for k, v in plan.added.items() if v},
        version=int(entry["version"]),
        content_hash=entry["content_hash"],
        chunks_written=written,
        chunks_total=_count_chunks(tx.store),
        seconds=time.perf_counter() - t0,
        snapshot_id=snapshot,
        tag=tx.tag if snapshot else None,
    )


def _keys(zstore: Any, prefix: str = "") -> dict[str, bytes | None]:
    """Every key of a store under ``prefix`` (values only for a memory store: it is small)."""

    async def listing() -> dict[str, bytes | None]:
        found: dict[str, bytes | None] = {}
        async for key in zstore.list_prefix(prefix):
            found[key] = None
        return found

    keys = sync(listing())
    if isinstance(zstore, MemoryStore):
        proto = default_buffer_prototype()
        return {k: sync(zstore.get(k, proto)).to_bytes() for k in keys}
    return keys


def _get(zstore: Any, key: str) -> bytes | None:
    value = sync(zstore.get(key, default_buffer_prototype()))
    return None if value is None else value.to_bytes()


def _set(zstore: Any, key: str, data: bytes) -> None:
    sync(zstore.set(key, default_buffer_prototype().buffer.from_bytes(data)))


def _lay_out(plan: AddPlan, current: Any, session: Any) -> Any:
    """Make the session's metadata and small arrays a fresh build's; returns its root.

    Bulk arrays whose chunks stay keep them (their documents change only in shape, for a
    signal array that gains rows); labels and annotations with new columns are emptied."""
    template = MemoryStore()
    troot = create_store(template, plan.layout, plan.attrs)
    troot[METADATA][...] = plan.metadata
    wanted = _keys(template)
    arrays = {k.rpartition("/")[0] for k in wanted if k.endswith("/zarr.json")}
    rewritten = {LABELS} if plan.tasks_changed else set()
    rewritten |= {ANNOTATIONS} if plan.annotations_changed else set()
    small = {k.split("/c/")[0] for k in wanted if "/c/" in k}  # written whole by create_store
    for array in sorted(arrays):
        keys = {k: v for k, v in wanted.items() if k.startswith(f"{array}/")}
        doc = f"{array}/zarr.json"
        if array in rewritten or (array in small and _differs(session, keys)):
            sync(session.delete_dir(array))
            for key, value in keys.items():
                _set(session, key, value)
        elif _get(session, doc) != keys[doc]:
            _set(session, doc, keys[doc])  # a signal array's rows grow; its chunks stay
    _move_rows(plan, current, session)
    root = open_for_writing(session)
    meta = dict(troot.attrs[FORMAT_NAME])
    old = current.attrs[FORMAT_NAME]
    meta.update(store_id=current.store_id, created=old.get("created"), status=STATUS_BUILDING)
    provenance = dict(plan.attrs[PROVENANCE_ATTR])
    if not versions(current.attrs):  # built before versions: the store as it is is version 1
        first = version_entry(
            [], "build", layout_names(plan.old), content_hash(current.root.store), 0
        )
        provenance[VERSIONS_KEY] = [first]
    root.attrs.update({**plan.attrs, FORMAT_NAME: meta, PROVENANCE_ATTR: provenance})
    return root


def _differs(session: Any, keys: dict[str, bytes]) -> bool:
    """Whether a small array (every key given) differs in the session: names, metadata."""
    array = next(iter(keys)).rpartition("/")[0]
    have = _keys(session, f"{array}/")
    return set(have) != set(keys) or any(_get(session, k) != v for k, v in keys.items())


def _move_rows(plan: AddPlan, current: Any, session: Any) -> None:
    """Existing cells' signal chunks under their new row numbers, copied from the parent
    snapshot (reads never see this session's writes, so moves cannot overwrite a source)."""
    n_chunks = -(
        -int(plan.layout.offsets[-1] + plan.layout.lengths[-1]) // plan.layout.position_chunk
    )
    for track in plan.old.tracks:
        meta = current.root[f"{SIGNALS}/{track}"].metadata
        for row, was in enumerate(plan.cell_source):
            if was is None or was == row:
                continue
            for k in range(n_chunks):
                src = f"{SIGNALS}/{track}/{meta.encode_chunk_key((was, k))}"
                data = _get(current.root.store, src)
                if data is None:
                    raise StoreError(f"{current.path}: missing chunk {src}")
                _set(session, f"{SIGNALS}/{track}/{meta.encode_chunk_key((row, k))}", data)


def _run(
    plan: AddPlan, current: Any, root: Any, workers: int | None, progress: bool, dream: Any
) -> None:
    """The units that compute new data (new signal rows; labels and annotations with new
    columns), on threads (:func:`run_units`): the session takes writes from any thread of
    this process. Old label and annotation columns are read from the parent snapshot
    (``current``); unchanged chunks are simply left in place, so no ``link`` unit runs."""
    todo = [i for i, (kind, _) in enumerate(plan.units) if kind != "link"]
    run_units(plan, todo, current.root, root, workers=workers, progress=progress, dream=dream)


def _count_chunks(session: Any) -> int:
    """Data chunk keys of the store (under a ``c/``; not progress flags)."""
    return sum("/c/" in k and not k.startswith("build_progress/") for k in _keys(session))
