"""Where a store lives, as a zarr store: anything zarr-python can open, and icechunk.

One function, :func:`zarr_store`, turns every accepted form into a zarr store (as
zarr-python's ``storage/_common.py`` does for its own API): a local folder, a ``.zip`` file,
an fsspec URL (``http(s)://``, ``s3://``, ``gs://``, ``memory://``...), a zarr-python
``Store`` object, or an icechunk repository ``icechunk://PATH[@branch|tag|snapshot]``
(:mod:`fnstore.io.icechunk`). Remote URLs take fsspec ``storage_options``, given as an
argument or as JSON in the environment variable :data:`STORAGE_OPTIONS_ENV` (what
``--storage-options`` sets for one command). Only a local folder store is read chunk file
by chunk file (:mod:`fnstore.store.chunks`); every other store goes through its own reads.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import zarr
from zarr.abc.store import Store as ZarrStore

from fnstore.errors import StoreError
from fnstore.io.icechunk import active_store, is_icechunk, zarr_store_for

#: JSON object of fsspec (or icechunk S3) storage options used when none are passed
STORAGE_OPTIONS_ENV = "FNSTORE_STORAGE_OPTIONS"

#: URL scheme -> the package fsspec needs for it, and the extra that installs it
_REMOTE_PACKAGES = {
    "http": ("aiohttp", "remote"),
    "https": ("aiohttp", "remote"),
    "s3": ("s3fs", "remote"),
    "s3a": ("s3fs", "remote"),
    "gs": ("gcsfs", "remote"),
    "gcs": ("gcsfs", "remote"),
}


def is_remote(path: str | os.PathLike | ZarrStore) -> bool:
    """Whether ``path`` is not a local folder or file: a URL or a zarr store object.

    Parameters
    ----------
    path : str, os.PathLike or zarr.abc.store.Store
        A store location.

    Returns
    -------
    bool
        True when the text contains ``://`` (fsspec and icechunk URLs) or for a store object.
    """
    return isinstance(path, ZarrStore) or "://" in str(path)


def storage_options(given: dict[str, Any] | None = None) -> dict[str, Any] | None:
    """The storage options to use: those given, else :data:`STORAGE_OPTIONS_ENV`'s JSON.

    Parameters
    ----------
    given : dict, optional
        Options passed by the caller (win over the environment).

    Returns
    -------
    dict or None
        None when neither says anything; malformed JSON is a :class:`StoreError`.
    """
    if given is not None:
        return dict(given)
    text = os.environ.get(STORAGE_OPTIONS_ENV, "").strip()
    if not text:
        return None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise StoreError(f"${STORAGE_OPTIONS_ENV}: not JSON ({exc})") from None
    if not isinstance(value, dict):
        raise StoreError(f"${STORAGE_OPTIONS_ENV}: not a JSON object")
    return value


def require_remote_package(url: str) -> None:
    """Fail in one line, naming the package, when the fsspec backend of ``url`` is missing.

    Parameters
    ----------
    url : str
        An fsspec URL.
    """
    scheme = url.split("://", 1)[0].lower()
    package, extra = _REMOTE_PACKAGES.get(scheme, (None, None))
    if package is None:
        return
    try:
        __import__(package)
    except ImportError:
        raise StoreError(
            f"{url}: reading {scheme}:// needs the {package} package; install it with "
            f"`pip install 'fnstore[{extra}]'` (or `pip install {package}`)"
        ) from None


def zarr_store(
    path: str | os.PathLike | ZarrStore, mode: str, options: dict[str, Any] | None = None
) -> Any:
    """A zarr store for a folder, ``.zip``, fsspec URL, zarr store object or icechunk URL.

    Parameters
    ----------
    path : str, os.PathLike or zarr.abc.store.Store
        Folder, local ``.zip`` file, fsspec URL, ``icechunk://PATH[@ref]`` or a store
        object (returned as it is, read-only for ``"r"`` when it can be).
    mode : str
        ``"r"`` opens read-only; any other mode opens for writing (a ``.zip`` in append mode).
    options : dict, optional
        Storage options of a remote URL (default: :func:`storage_options`).

    Returns
    -------
    zarr.abc.store.Store
        A ``ZipStore``, ``FsspecStore``, ``LocalStore``, icechunk store or the object given.
    """
    if isinstance(path, ZarrStore):
        if mode == "r" and not path.read_only:
            try:
                return path.with_read_only(True)
            except (NotImplementedError, AttributeError, TypeError):
                return path
        return path
    p = str(path)
    if is_icechunk(p):
        return zarr_store_for(p, mode, storage_options(options))
    if p.endswith(".zip") and not is_remote(p):
        return zarr.storage.ZipStore(p, mode="r" if mode == "r" else "a")
    if is_remote(p):
        require_remote_package(p)
        store = zarr.storage.FsspecStore.from_url(
            p, read_only=(mode == "r"), storage_options=storage_options(options)
        )
        _check_reachable(store, p)
        return store
    return zarr.storage.LocalStore(p, read_only=(mode == "r"))


def _check_reachable(store: Any, url: str) -> None:
    """Ask for the root's ``zarr.json`` once, so an endpoint that cannot be reached fails here.

    zarr-python opens a group by asking for several metadata keys at once; when an S3
    endpoint refuses them, the first error wins and the requests still pending are torn
    down outside the context aiobotocore entered, which it reports as tracebacks on stderr
    ("Exception ignored ... created in a different Context") that no caller can catch. One
    request first turns that into a single :class:`StoreError` line. A missing key is not
    an error here: readers and writers say what they expected.
    """
    from zarr.core.sync import sync

    try:
        sync(store.exists("zarr.json"))
    except Exception as exc:  # fsspec backends raise their own types (botocore, aiohttp)
        raise StoreError(f"{url}: cannot be read ({type(exc).__name__}: {exc})") from None


def store_exists(path: str | os.PathLike) -> bool:
    """Whether something is already at ``path``.

    Parameters
    ----------
    path : str or os.PathLike
        Folder, ``.zip`` file or URL to look at.

    Returns
    -------
    exists : bool
        Locally: the path exists (any file or folder). For a URL: a zarr group opens there.
    """
    p = str(path)
    if is_remote(p):
        try:
            zarr.open_group(zarr_store(p, "r"), mode="r")
            return True
        except Exception:
            return False
    return os.path.exists(p)


def remove_store(path: str | os.PathLike) -> None:
    """Delete a store (used for --overwrite and to leave nothing behind on bad input).

    Parameters
    ----------
    path : str or os.PathLike
        Folder, ``.zip`` file or URL; nothing happens when nothing is there.
    """
    p = str(path)
    if is_icechunk(p):  # only what an open build wrote: committed versions stay
        active = active_store(p)
        if active is not None:
            from zarr.core.sync import sync

            sync(active.delete_dir(""))
        return
    if is_remote(p):
        import fsspec

        fs, root = fsspec.core.url_to_fs(p)
        if fs.exists(root):
            fs.rm(root, recursive=True)
    elif os.path.isdir(p):
        shutil.rmtree(p)
    elif os.path.exists(p):
        os.remove(p)


def store_size(path: str | os.PathLike) -> int | None:
    """Bytes a local store takes on disk.

    Parameters
    ----------
    path : str or os.PathLike
        Store to measure: a folder or ``.zip`` file (a URL is not measured).

    Returns
    -------
    size : int or None
        The file size, or the sum of all file sizes under a folder; None for a URL.
    """
    p = Path(str(path))
    if is_remote(str(path)):
        return None
    if p.is_file():
        return p.stat().st_size
    return sum(f.stat().st_size for f in p.rglob("*") if f.is_file())
