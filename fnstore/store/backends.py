"""Where a store lives: a local folder, a ``.zip`` file or an fsspec URL, as a zarr store."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import zarr


def is_remote(path: str | os.PathLike) -> bool:
    return "://" in str(path)


def zarr_store(path: str | os.PathLike, mode: str) -> Any:
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
            zarr.open_group(zarr_store(p, "r"), mode="r")
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


def store_size(path: str | os.PathLike) -> int | None:
    p = Path(str(path))
    if is_remote(str(path)):
        return None
    if p.is_file():
        return p.stat().st_size
    return sum(f.stat().st_size for f in p.rglob("*") if f.is_file())
