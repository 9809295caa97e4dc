"""Consolidated metadata, written last and atomically, so xarray opens a store in one read.

``xr.open_zarr`` looks for consolidated metadata first and warns when a store has none;
zarr-python keeps it inline in the root ``zarr.json`` (``consolidated_metadata``, ``kind:
inline``: a copy of every child's ``zarr.json``). zarr's own ``consolidate_metadata``
rewrites the root document in place, and a build killed during that write would lose the
root of a finished store, so the same document is built here from the child files and
swapped in by rename. It is the build's very last write: any later attribute update made
through zarr without consolidation would drop it. fnstore's own reader ignores it and reads
every array's ``zarr.json`` (:func:`fnstore.store.integrity.open_checked`), so a damaged
one is still reported.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from fnstore.io.files import atomic_write

ROOT_DOCUMENT = "zarr.json"


def consolidated_metadata(folder: str | os.PathLike) -> dict[str, object]:
    """The inline consolidated-metadata block of a local store folder.

    Parameters
    ----------
    folder
        The store's root folder.

    Returns
    -------
    dict
        ``{"kind": "inline", "must_understand": False, "metadata": {path: document}}``
        over every group and array below the root, keyed by POSIX path.
    """
    root = Path(folder)
    metadata = {}
    for doc in sorted(root.rglob(ROOT_DOCUMENT)):
        rel = doc.parent.relative_to(root).as_posix()
        if rel != ".":
            metadata[rel] = json.loads(doc.read_text())
    return {"kind": "inline", "must_understand": False, "metadata": metadata}


def consolidate(folder: str | os.PathLike) -> None:
    """Write the consolidated metadata into the root ``zarr.json`` of a local store, atomically.

    Parameters
    ----------
    folder
        The store's root folder (a finished store: nothing may change after this).
    """
    path = Path(folder) / ROOT_DOCUMENT
    document = json.loads(path.read_text())
    document["consolidated_metadata"] = consolidated_metadata(folder)
    with atomic_write(path) as fh:
        json.dump(document, fh, indent=2)
