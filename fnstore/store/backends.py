"""Where a store lives: a local folder, a ``.zip`` file or an fsspec URL, as a zarr store."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import zarr


def is_remote(path: str | os.PathLike) -> bool:
    """Whether ``path`` is an fsspec URL (``scheme://...``) rather than a local path.

    Parameters
    ----------
    path : str or os.PathLike
        A store location.

    Returns
    -------
    bool
        True when the text contains ``://``.
    """
    return "://" in str(path)


def zarr_store(path: str | os.PathLike, mode: str) -> Any:
    """A zarr store object for a local path, a ``.zip`` file or an fsspec URL.

    Parameters
    ----------
    path : str or os.PathLike
        Folder, local ``.zip`` file or fsspec URL.
    mode : str
        ``"r"`` opens read-only; any other mode opens for writing (a ``.zip`` in append mode).

    Returns
    -------
    zarr.abc.store.Store
        A ``ZipStore``, ``FsspecStore`` or ``LocalStore``.
    """
    p = str(path)
    if p.endswith(".zip") and not is_remote(p):
        return zarr.storage.ZipStore(p, mode="r" if mode == "r" else "a")
    if is_remote(p):
        return zarr.storage.FsspecStore.from_url(p, read_only=(mode == "r"))
    return zarr.storage.LocalStore(p, read_only=(mode == "r"))


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
