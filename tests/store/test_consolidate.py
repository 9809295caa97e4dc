"""Consolidated metadata: xarray opens a finished store in one read and without a warning,
and fnstore's own reader still notices a damaged array ``zarr.json``."""

from __future__ import annotations

import json
import shutil
import warnings
from pathlib import Path

import pytest

from fnstore.errors import StoreError
from fnstore.store.read import open_store


def test_xarray_opens_without_warning(example_store_path: Path) -> None:
    xr = pytest.importorskip("xarray")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ds = xr.open_zarr(example_store_path)
    assert ds.sizes["bin"] == open_store(example_store_path).n_bins


def test_consolidated_block_copies_every_child_document(example_store_path: Path) -> None:
    root = json.loads((example_store_path / "zarr.json").read_text())
    block = root["consolidated_metadata"]
    assert block["kind"] == "inline"
    children = {
        p.parent.relative_to(example_store_path).as_posix(): json.loads(p.read_text())
        for p in example_store_path.rglob("zarr.json")
        if p.parent != example_store_path
    }
    assert block["metadata"] == children and "labels" in children


def test_a_damaged_array_document_is_still_an_error(
    example_store_path: Path, tmp_path: Path
) -> None:
    copy = tmp_path / "ex.zarr"
    shutil.copytree(example_store_path, copy)
    (copy / "labels" / "zarr.json").write_text('{"shape": [')
    with pytest.raises(StoreError, match="labels/zarr.json"):
        open_store(copy)
