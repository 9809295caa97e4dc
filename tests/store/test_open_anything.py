"""``open_store`` and the commands take any Zarr location: a zarr store object and an
icechunk repository (``icechunk://PATH[@ref]``) read the same as the folder they came from."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import zarr
from click.testing import CliRunner

from fnstore.cli import main
from fnstore.errors import StoreError
from fnstore.store.read import open_store

ARRAYS = ("sequence", "bin_chrom", "bin_start", "blacklist", "labels", "annotations", "metadata")


def _same(a, b) -> None:
    assert (a.chroms, a.cells, a.tracks, a.tasks) == (b.chroms, b.cells, b.tracks, b.tasks)
    assert (a.annotation_names, a.meta_feature_names) == (b.annotation_names, b.meta_feature_names)
    for name in [*ARRAYS, *(f"signals/{t}" for t in b.tracks)]:
        np.testing.assert_array_equal(a.root[name][...], b.root[name][...], err_msg=name)
    np.testing.assert_array_equal(a.labels(), b.labels())
    chrom = b.chroms[0]
    np.testing.assert_array_equal(a.sequence(chrom, 0, 5000), b.sequence(chrom, 0, 5000))
    cell, track = b.cells[0], b.tracks[0]
    np.testing.assert_array_equal(
        a.signal(cell, track, chrom, 0, 5000), b.signal(cell, track, chrom, 0, 5000)
    )


def test_a_zarr_store_object_opens(example_store_path: Path, example_store) -> None:
    st = open_store(zarr.storage.LocalStore(str(example_store_path), read_only=True))
    _same(st, example_store)
    memory = zarr.storage.MemoryStore()
    zarr.open_group(memory, mode="w")  # an empty group: not an fnstore store
    with pytest.raises(StoreError, match="not an fnstore store"):
        open_store(memory)


@pytest.fixture(scope="module")
def repo(example_store_path: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    pytest.importorskip("icechunk")
    from fnstore.io.icechunk import copy_to_icechunk

    url = f"icechunk://{tmp_path_factory.mktemp('ice') / 'repo'}"
    snapshot = copy_to_icechunk(example_store_path, url)
    return {"url": url, "snapshot": snapshot}


def test_icechunk_copy_reads_as_the_folder(repo: dict, example_store) -> None:
    for ref in ("", "@main", "@v1", f"@{repo['snapshot']}"):
        st = open_store(repo["url"] + ref)
        _same(st, example_store)
        assert st.snapshot_id == repo["snapshot"] and st.store_id == example_store.store_id
    info = open_store(repo["url"]).info()
    want = example_store.info()
    assert {k: v for k, v in info.items() if k not in ("path", "size_bytes", "snapshot_id")} == {
        k: v for k, v in want.items() if k not in ("path", "size_bytes")
    }
    assert open_store(repo["url"]).to_xarray()["labels"].shape == (example_store.n_bins, 7)


def test_icechunk_session_store_object_opens(repo: dict, example_store) -> None:
    from fnstore.io.icechunk import readonly_session

    _same(open_store(readonly_session(repo["url"]).store), example_store)


def test_icechunk_refs_and_missing_repositories(repo: dict, tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="no branch, tag or snapshot 'v9'"):
        open_store(repo["url"] + "@v9")
    with pytest.raises(StoreError, match="no such store"):
        open_store(f"icechunk://{tmp_path / 'none'}")


def test_commands_read_icechunk(repo: dict, example_store, tmp_path: Path) -> None:
    run = CliRunner().invoke
    shown = run(main, ["info", repo["url"], "--json", "--no-counts"])
    assert shown.exit_code == 0, shown.output
    assert repo["snapshot"] in shown.output and example_store.store_id in shown.output
    checked = run(main, ["validate", repo["url"] + "@v1"])
    assert checked.exit_code == 0, checked.output
    for src, out in ((repo["url"], tmp_path / "ice.bed"), (None, tmp_path / "dir.bed")):
        args = ["export", src or example_store.path, str(out), "--what", "bins"]
        done = run(main, args)
        assert done.exit_code == 0, done.output
    assert (tmp_path / "ice.bed").read_bytes() == (tmp_path / "dir.bed").read_bytes()
