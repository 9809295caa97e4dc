"""Icechunk repositories as stores: ``icechunk://PATH[@branch|tag|snapshot]``.

Icechunk (an optional extra, ``pip install 'fnstore[icechunk]'``) keeps a Zarr store as
transactional, versioned snapshots on local disk or object storage. fnstore reads one
snapshot read-only (a branch's head, a tag or a snapshot id) through the same zarr store
interface as a folder; a build writes through one writable session that is committed only
at the end (:func:`write_transaction`), so readers never see a half-built version and a
killed build leaves the previous snapshot as it was.

While a transaction is open, :func:`active_store` hands its session store to every part of
the build that opens the URL (the dask work units on the local threaded scheduler run in
this process): one session collects every chunk, and one commit publishes them. A session
cannot cross processes without ``fork``/``merge``, so icechunk builds refuse the
``processes`` and distributed schedulers.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from fnstore.errors import InputError, StoreError

SCHEME = "icechunk://"

#: the branch a URL without ``@ref`` reads and a build commits to
DEFAULT_BRANCH = "main"

_TAG = re.compile(r"^v(\d+)$")

#: URL -> the writable session store of the transaction open on it in this process
_ACTIVE: dict[str, Any] = {}


def is_icechunk(path: Any) -> bool:
    """Whether ``path`` names an icechunk repository (``icechunk://...``).

    Parameters
    ----------
    path : object
        A store location (only strings and path-likes can be one).

    Returns
    -------
    bool
        True for text starting with ``icechunk://``.
    """
    return isinstance(path, str) and path.startswith(SCHEME)


@dataclass(frozen=True)
class IcechunkURL:
    """A parsed ``icechunk://LOCATION[@ref]``."""

    location: str
    ref: str | None = None

    @property
    def is_s3(self) -> bool:
        return self.location.startswith("s3://")


def parse_url(url: str) -> IcechunkURL:
    """Split ``icechunk://LOCATION[@ref]`` into the repository location and the ref.

    Parameters
    ----------
    url : str
        ``icechunk://PATH`` (a local folder, relative or absolute: ``icechunk:///abs``),
        or ``icechunk://s3://bucket/prefix``, optionally followed by ``@branch``,
        ``@tag`` or ``@snapshot-id``.

    Returns
    -------
    IcechunkURL
        The location and the ref (None: the default branch).
    """
    rest = url[len(SCHEME) :]
    location, at, ref = rest.rpartition("@")
    if not at or "/" in ref or not ref:
        location, ref = rest, ""
    if not location:
        raise InputError(url, "no repository location (icechunk://PATH[@ref])")
    return IcechunkURL(location, ref or None)


def _module() -> Any:
    try:
        import icechunk
    except ImportError:
        raise StoreError(
            "icechunk: not installed; install it with `pip install 'fnstore[icechunk]'`"
        ) from None
    if not os.environ.get("ICECHUNK_LOG"):  # its warnings (local storage) are not ours to print
        icechunk.set_logs_filter("error")
    return icechunk


def _storage(parsed: IcechunkURL, storage_options: dict[str, Any] | None) -> Any:
    ic = _module()
    if parsed.is_s3:
        bucket, _, prefix = parsed.location[len("s3://") :].partition("/")
        opts = dict(storage_options or {})
        if not any(k in opts for k in ("access_key_id", "anonymous", "from_env")):
            opts["from_env"] = True
        return ic.s3_storage(bucket=bucket, prefix=prefix or None, **opts)
    if "://" in parsed.location:
        raise InputError(f"{SCHEME}{parsed.location}", "icechunk here reads local paths and s3://")
    return ic.local_filesystem_storage(parsed.location)


def open_repository(url: str, create: bool = False, storage_options: dict | None = None) -> Any:
    """The icechunk repository an ``icechunk://`` URL names.

    Parameters
    ----------
    url : str
        The URL (its ``@ref`` is ignored here).
    create : bool
        Create an empty repository when none exists.
    storage_options : dict, optional
        For ``s3://`` locations: keyword arguments of ``icechunk.s3_storage`` (``region``,
        ``endpoint_url``, ``anonymous``, ``allow_http``, credentials).

    Returns
    -------
    icechunk.Repository
        A missing repository (without ``create``) is a :class:`StoreError`.
    """
    ic = _module()
    parsed = parse_url(url)
    if not create and "://" not in parsed.location and not os.path.isdir(parsed.location):
        # before icechunk looks: its local storage creates the folder it is asked about
        raise StoreError(f"{url}: no such store (no icechunk repository there)")
    storage = _storage(parsed, storage_options)
    try:
        if ic.Repository.exists(storage):
            return ic.Repository.open(storage)
    except ic.IcechunkError as exc:
        raise StoreError(f"{url}: not an icechunk repository ({exc})") from None
    if not create:
        raise StoreError(f"{url}: no such store (no icechunk repository there)")
    return ic.Repository.create(storage)


def readonly_session(url: str, storage_options: dict | None = None) -> Any:
    """A read-only session at the URL's ref: a branch's head, a tag or a snapshot id.

    Parameters
    ----------
    url : str
        ``icechunk://LOCATION[@ref]``; without a ref, the ``main`` branch.
    storage_options : dict, optional
        See :func:`open_repository`.

    Returns
    -------
    icechunk.Session
        Its ``store`` is a read-only zarr store; an unknown ref is a :class:`StoreError`.
    """
    ref = parse_url(url).ref or DEFAULT_BRANCH
    repo = open_repository(url, storage_options=storage_options)
    if ref in repo.list_branches():
        return repo.readonly_session(branch=ref)
    if ref in repo.list_tags():
        return repo.readonly_session(tag=ref)
    try:
        return repo.readonly_session(snapshot_id=ref)
    except Exception:
        raise StoreError(f"{url}: no branch, tag or snapshot {ref!r} in the repository") from None


def active_store(url: str) -> Any | None:
    """The session store of the transaction open on ``url`` in this process, if any.

    Parameters
    ----------
    url : str
        An ``icechunk://`` URL.

    Returns
    -------
    zarr.abc.store.Store or None
        Every open of the URL during a build goes to this one (uncommitted) session.
    """
    return _ACTIVE.get(url)


def zarr_store_for(url: str, mode: str, storage_options: dict | None = None) -> Any:
    """A zarr store for an ``icechunk://`` URL: the open transaction's, else a read-only one.

    Parameters
    ----------
    url : str
        ``icechunk://LOCATION[@ref]``.
    mode : str
        ``"r"`` reads; writing needs an open :func:`write_transaction`.
    storage_options : dict, optional
        See :func:`open_repository`.

    Returns
    -------
    icechunk.IcechunkStore
        A store of the open session, or of a read-only session at the URL's ref.
    """
    active = active_store(url)
    if active is not None:
        return active
    if mode != "r":
        raise StoreError(
            f"{url}: icechunk stores are written by `fnstore build` or `fnstore add` (one commit each)"
        )
    return readonly_session(url, storage_options).store


def next_tag(repo: Any) -> str:
    """``v1`` for the first build of a repository, then ``v2``, ``v3``, ...

    Parameters
    ----------
    repo : icechunk.Repository
        The repository.

    Returns
    -------
    str
        One more than the largest ``v<N>`` tag.
    """
    numbers = [int(m.group(1)) for t in repo.list_tags() if (m := _TAG.match(t))]
    return f"v{max(numbers, default=0) + 1}"


@dataclass
class Transaction:
    """One writable session on a branch: what a build writes, committed at most once."""

    url: str
    repo: Any
    session: Any
    branch: str
    tag: str
    parent: str
    snapshot: str | None = None
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def store(self) -> Any:
        return self.session.store

    def commit(self, message: str, metadata: dict[str, Any] | None = None) -> str | None:
        """Commit the session and tag the new snapshot (nothing happens without changes).

        Parameters
        ----------
        message : str
            The commit message.
        metadata : dict, optional
            Recorded with the snapshot (``fnstore_store_id``, ``fnstore_version``: how
            :func:`version_snapshots` finds the snapshot of each version).

        Returns
        -------
        str or None
            The new snapshot id; None when nothing was written.

        Raises
        ------
        StoreError
            When another writer committed to the branch since the session began.
        """
        ic = _module()
        if not self.session.has_uncommitted_changes:
            return None
        try:
            self.snapshot = self.session.commit(message, metadata=metadata)
        except ic.ConflictError:
            raise StoreError(
                f"{self.url}: another commit landed on branch {self.branch!r} meanwhile; "
                "nothing was committed (run it again)"
            ) from None
        self.repo.create_tag(self.tag, self.snapshot)
        return self.snapshot


@contextmanager
def write_transaction(url: str, storage_options: dict | None = None) -> Iterator[Transaction]:
    """Open a writable session on the URL's branch for the duration of the block.

    Every :func:`zarr_store_for` of the URL in this process gets the session's store while
    the block runs. Leaving the block without :meth:`Transaction.commit` (an error, a kill)
    discards everything written: the branch still points at its previous snapshot.

    Parameters
    ----------
    url : str
        ``icechunk://LOCATION[@branch]`` (default ``main``; a tag or snapshot cannot be
        written). The repository is created when none exists.
    storage_options : dict, optional
        See :func:`open_repository`.

    Yields
    ------
    Transaction
        The session, the tag its commit will get and the snapshot it started from.
    """
    if url in _ACTIVE:
        raise StoreError(f"{url}: a build is already writing this repository in this process")
    repo = open_repository(url, create=True, storage_options=storage_options)
    branch = parse_url(url).ref or DEFAULT_BRANCH
    if branch not in repo.list_branches():
        raise InputError(
            url, f"{branch!r} is not a branch of the repository (builds commit to one)"
        )
    session = repo.writable_session(branch)
    tx = Transaction(url, repo, session, branch, next_tag(repo), session.snapshot_id)
    _ACTIVE[url] = session.store
    try:
        yield tx
    finally:
        _ACTIVE.pop(url, None)


def record_icechunk_version(tx: Transaction) -> dict[str, Any]:
    """Record the version a build is about to commit in the store's ``provenance.icechunk``.

    A snapshot's id is only known once it is committed, so no snapshot can hold its own
    id: the store records the branch, the tag its commit gets and the snapshot it replaces
    (``parent_snapshot``), and the newest version entry of ``provenance.history`` gets the
    same ``tag``; the snapshot id itself is what :func:`readonly_session` (and
    ``Store.snapshot_id``) reports when the version is read, and what
    :func:`version_snapshots` looks up for ``fnstore log``.

    Parameters
    ----------
    tx : Transaction
        The open build transaction; nothing is recorded when it wrote nothing.

    Returns
    -------
    dict
        The commit metadata that names this store and version (``fnstore_store_id``,
        ``fnstore_version``; :func:`version_snapshots` looks for it), empty when nothing
        was written.
    """
    import zarr

    from fnstore.store.layout import FORMAT_NAME

    if not tx.session.has_uncommitted_changes:
        return {}
    root = zarr.open_group(tx.store, mode="r+", use_consolidated=False)
    provenance = dict(root.attrs.get("provenance", {}))
    provenance["icechunk"] = {"branch": tx.branch, "tag": tx.tag, "parent_snapshot": tx.parent}
    history = [dict(v) for v in provenance.get("history", [])]
    if history:
        history[-1]["tag"] = tx.tag
        provenance["history"] = history
    root.attrs["provenance"] = provenance
    meta = {"fnstore_store_id": dict(root.attrs.get(FORMAT_NAME, {})).get("store_id")}
    if history:
        meta["fnstore_version"] = history[-1].get("version")
    return meta


def copy_to_icechunk(source: Any, url: str, message: str | None = None) -> str:
    """Copy a whole store (every key, bytes as they are) into a repository as one commit.

    Parameters
    ----------
    source : zarr.abc.store.Store or str
        The store to copy: any zarr store, or a local folder.
    url : str
        ``icechunk://LOCATION[@branch]``; the repository is created when none exists. The
        branch's previous content is replaced.
    message : str, optional
        The commit message.

    Returns
    -------
    str
        The new snapshot id (tagged ``v<N>`` like a build).
    """
    from zarr.abc.store import Store as ZarrStore
    from zarr.core.buffer import default_buffer_prototype
    from zarr.core.sync import sync
    from zarr.storage import LocalStore

    src = source if isinstance(source, ZarrStore) else LocalStore(str(source), read_only=True)

    async def copy(dst: Any) -> None:
        await dst.delete_dir("")
        proto = default_buffer_prototype()
        async for key in src.list():
            value = await src.get(key, prototype=proto)
            if value is not None:
                await dst.set(key, value)

    with write_transaction(url) as tx:
        sync(copy(tx.store))
        snapshot = tx.commit(message or f"copy of {source}")
    return snapshot or tx.parent


def version_snapshots(
    url: str,
    history: list[dict[str, Any]],
    snapshot_id: str,
    store_id: str | None,
    storage_options: dict | None = None,
) -> list[dict[str, Any]]:
    """The version entries of an icechunk store with each one's snapshot id and tags filled in.

    An entry cannot record its own snapshot id (the id exists only after the commit), so it
    is found at read time, in the ancestry of the snapshot read: the snapshot whose commit
    metadata names this store and version (``fnstore add`` records it), else the one its
    ``tag`` points at, else (for the newest entry) the snapshot read, else the parent of
    the next version's snapshot (each add commits on top of the version before it). An
    entry whose snapshot is not in that ancestry (a branch reset past it, a copy into
    another repository) keeps ``snapshot_id`` None.

    Parameters
    ----------
    url : str
        ``icechunk://LOCATION[@ref]``.
    history : list of dict
        The entries (:func:`fnstore.store.versions.versions` of the snapshot read).
    snapshot_id : str
        The snapshot read (``Store.snapshot_id``).
    store_id : str or None
        The store's identity (an overwritten build shares the branch with another store).
    storage_options : dict, optional
        See :func:`open_repository`.

    Returns
    -------
    list of dict
        Copies of the entries with ``snapshot_id`` and ``tags`` (sorted) set.
    """
    repo = open_repository(url, storage_options=storage_options)
    tags: dict[str, list[str]] = {}
    for tag in sorted(repo.list_tags(), key=lambda t: (len(t), t)):
        tags.setdefault(repo.lookup_tag(tag), []).append(tag)
    ancestry = list(repo.ancestry(snapshot_id=snapshot_id))
    known = {info.id for info in ancestry}
    by_version = {}
    for info in ancestry:
        meta = info.metadata or {}
        if meta.get("fnstore_store_id") == store_id and "fnstore_version" in meta:
            by_version.setdefault(int(meta["fnstore_version"]), info.id)
    tagged = {tag: snap for snap, names in tags.items() for tag in names}
    parents = {info.id: info.parent_id for info in ancestry}
    found: list[str | None] = [None] * len(history)
    for i in reversed(range(len(history))):
        entry = history[i]
        snap = by_version.get(int(entry["version"]))
        tag = entry.get("tag")
        if snap is None and tagged.get(tag) in known:
            snap = tagged[tag]
        if snap is None and i == len(history) - 1:
            snap = snapshot_id
        if snap is None and i + 1 < len(history) and found[i + 1] is not None:
            snap = parents.get(found[i + 1])  # the next version was committed on top of this one
        found[i] = snap
    return [
        {**entry, "snapshot_id": snap, "tags": tags.get(snap, []) if snap else []}
        for entry, snap in zip(history, found, strict=True)
    ]
