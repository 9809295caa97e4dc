"""``fnstore build SPEC icechunk://REPO``: one transaction per build, tagged v1, v2, ...; a
build that dies part-way leaves the previous version as it was."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from fnstore.build import build_store
from fnstore.errors import InputError
from fnstore.store.read import open_store
from tests.conftest import EXAMPLE_SPEC

pytest.importorskip("icechunk")

ARRAYS = ("sequence", "bin_chrom", "bin_start", "blacklist", "labels", "annotations", "metadata")


def _arrays_equal(a, b) -> None:
    assert (a.chroms, a.cells, a.tracks, a.tasks) == (b.chroms, b.cells, b.tracks, b.tasks)
    for name in [*ARRAYS, *(f"signals/{t}" for t in b.tracks)]:
        np.testing.assert_array_equal(a.root[name][...], b.root[name][...], err_msg=name)


def test_versions_are_commits_and_a_failed_build_changes_nothing(
    tmp_path: Path, example_store, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"icechunk://{tmp_path / 'repo'}"
    first = build_store(str(EXAMPLE_SPEC), url)
    assert first.tag == "v1" and first.snapshot_id
    v1 = open_store(url)
    _arrays_equal(v1, example_store)
    assert v1.snapshot_id == first.snapshot_id and v1.provenance["icechunk"]["tag"] == "v1"
    # the commit names the store and version it holds, as an add's does
    from fnstore.io.icechunk import open_repository

    [info] = [i for i in open_repository(url).ancestry(tag="v1") if i.id == first.snapshot_id]
    assert info.metadata == {"fnstore_store_id": v1.store_id, "fnstore_version": 1}
    with pytest.raises(InputError, match="already exists"):
        build_store(str(EXAMPLE_SPEC), url)

    import fnstore.build.builder as builder

    def broken(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(builder, "finish_build", broken)
    with pytest.raises(Exception, match="No space left"):
        build_store(str(EXAMPLE_SPEC), url, overwrite=True)
    monkeypatch.undo()
    still = open_store(url)
    assert still.snapshot_id == first.snapshot_id and still.store_id == v1.store_id

    second = build_store(str(EXAMPLE_SPEC), url, overwrite=True)
    assert second.tag == "v2" and second.snapshot_id != first.snapshot_id
    v2 = open_store(url)
    assert v2.provenance["icechunk"]["parent_snapshot"] == first.snapshot_id
    assert open_store(url + "@v1").store_id == v1.store_id != v2.store_id
    _arrays_equal(v2, v1)


def test_a_killed_build_leaves_the_previous_version(tmp_path: Path, example_store) -> None:
    url = f"icechunk://{tmp_path / 'repo'}"
    first = build_store(str(EXAMPLE_SPEC), url)
    # the process dies (no cleanup, no exception handling) in the middle of its work units
    script = (
        "import os, sys\n"
        "import fnstore.build.builder as b\n"
        "real = b.run_unit\n"
        "def dying(plan, store, i, dream):\n"
        "    if i == 3: os._exit(9)\n"
        "    return real(plan, store, i, dream)\n"
        "b.run_unit = dying\n"
        "b.build_store(sys.argv[1], sys.argv[2], overwrite=True, scheduler='sync')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(EXAMPLE_SPEC), url],
        cwd=Path(__file__).parents[2],
        capture_output=True,
        timeout=300,
    )
    assert done.returncode == 9, done.stderr.decode()
    after = open_store(url)
    assert after.snapshot_id == first.snapshot_id
    _arrays_equal(after, example_store)


def test_processes_scheduler_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="threads or sync"):
        build_store(str(EXAMPLE_SPEC), f"icechunk://{tmp_path / 'r'}", scheduler="processes")
