"""Every array of a store reads the same through an independent Zarr v3 reader (tensorstore).

Names included: since schema version 2 they are zero-padded UTF-8 ``uint8`` rows, a core Zarr
type, where zarr-python's ``string`` type (version 1) made tensorstore refuse them.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import zarr

from fnstore.store.names import NAME_ARRAYS, NAMES_ATTR, decode_names, encode_names


def _arrays(folder: Path) -> list[str]:
    return sorted(
        p.parent.relative_to(folder).as_posix()
        for p in folder.rglob("zarr.json")
        if json.loads(p.read_text())["node_type"] == "array"
    )


def test_names_round_trip() -> None:
    names = ["GM12878", "chr20", "", "Ünïcødé.cell", "x" * 40]
    data = encode_names(names)
    assert data.dtype == np.uint8 and data.shape == (5, 40)
    assert decode_names(data) == names
    assert encode_names([]).shape == (0, 1)
    with pytest.raises(ValueError, match="NUL"):
        encode_names(["a\0b"])


def test_tensorstore_reads_every_array_bit_exactly(example_store_path: Path) -> None:
    ts = pytest.importorskip("tensorstore")
    root = zarr.open_group(str(example_store_path), mode="r")
    paths = _arrays(example_store_path)
    assert set(NAME_ARRAYS) <= set(paths) and "labels" in paths
    for path in paths:
        spec = {
            "driver": "zarr3",
            "kvstore": {"driver": "file", "path": str(example_store_path / path)},
        }
        got = ts.open(spec, read=True).result().read().result()
        want = root[path][...]
        assert got.dtype == want.dtype, path
        np.testing.assert_array_equal(got, want, err_msg=path)
    for name in NAME_ARRAYS:
        spec = {
            "driver": "zarr3",
            "kvstore": {"driver": "file", "path": str(example_store_path / name)},
        }
        data = ts.open(spec, read=True).result().read().result()
        assert decode_names(data) == root[name].attrs[NAMES_ATTR], name
    assert decode_names(root["cell"][...])[:2] == ["GM12878", "HepG2"]


def test_store_reads_names_and_xarray_indexes_them(example_store) -> None:
    root = example_store.root
    assert example_store.schema_version == 2
    assert example_store.cells == root["cell"].attrs[NAMES_ATTR]
    assert [t.name for t in example_store.tasks] == decode_names(root["task"][...])
    pytest.importorskip("xarray")
    ds = example_store.to_xarray()
    assert list(ds["chromosome"].values) == example_store.chroms  # per-bin "chrom": BinIndex
    task = example_store.tasks[0]
    np.testing.assert_array_equal(
        ds["labels"].sel(task=task.name).isel(bin=slice(0, 20)).values,
        example_store.labels([0], slice(0, 20))[:, 0],
    )


def test_a_schema_1_store_still_opens(example_store_path: Path, tmp_path: Path) -> None:
    """Version 1 differs only in its name arrays (zarr-python strings): it keeps opening."""
    import shutil

    from fnstore.store.read import open_store

    copy = tmp_path / "v1.zarr"
    shutil.copytree(example_store_path, copy)
    root = zarr.open_group(str(copy), mode="r+", use_consolidated=False)
    for name in NAME_ARRAYS:
        names = root[name].attrs[NAMES_ATTR]
        del root[name]
        arr = root.create_array(name, shape=(len(names),), dtype=str, dimension_names=[name])
        if names:
            arr[:] = np.asarray(names, dtype=object)
    root.attrs["fnstore"] = {**root.attrs["fnstore"], "schema_version": 1}
    old = open_store(copy)
    new = open_store(example_store_path)
    assert old.schema_version == 1
    assert (old.chroms, old.cells, old.tasks) == (new.chroms, new.cells, new.tasks)
    assert old.annotation_names == new.annotation_names
    root.attrs["fnstore"] = {**root.attrs["fnstore"], "schema_version": 3}
    with pytest.raises(Exception, match="schema version 3 is not supported.*rebuild"):
        open_store(copy)
