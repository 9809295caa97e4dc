"""``fnstore add`` grows a store into exactly a fresh build of the combined spec.

Each test builds the toy store, adds a fragment, and compares every array, name list,
chunk grid and content hash with a fresh build of the toy spec with the fragment's
entries appended. A killed add leaves the old store whole and readable and ``--resume``
finishes it; bad fragments are refused before anything is written.
"""

from __future__ import annotations

import gzip
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from growing import DATA, assert_same_store, combined, dream_tsv, write_yaml
from synthetic import TOY_LENGTHS, narrowpeak_row, write_bigwig, write_gz

from fnstore.build import build_store
from fnstore.build.add import add_to_store
from fnstore.cli import main
from fnstore.errors import FnstoreError, StoreError
from fnstore.store.read import open_store
from fnstore.store.versions import current_version, versions

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def grown(tmp_path: Path, toy: dict) -> dict:
    """A toy store and fragments: a TF for a new cell W (labels only), then a new cell Y
    with DNase and metadata (a fresh build puts Y before W), a new track for X, and an
    annotation."""
    d = tmp_path / "in"
    peaks = "".join(narrowpeak_row("chrA", s, s + 300) for s in (2000, 9000, 15_000))
    (d / "y.meta.txt").write_text("0.1\tGEPC1\n0.2\tGEPC2\n")
    store = tmp_path / "s.zarr"
    build_store(toy, store)
    return {
        "toy": toy,
        "store": store,
        "tf": {
            "labels": [
                {"tf": "JUND", "cell": "W", "conservative": str(write_gz(d / "j.np.gz", peaks))}
            ]
        },
        "cell": {
            "cells": {
                "Y": {
                    "tracks": {"DNase": str(write_bigwig(d / "y.bw", TOY_LENGTHS, seed=3))},
                    "metadata": str(d / "y.meta.txt"),
                },
                "X": {"tracks": {"ATAC": str(write_bigwig(d / "xa.bw", TOY_LENGTHS, seed=4))}},
            },
            "annotations": {"tss": str(write_gz(d / "tss.bed.gz", "chrB\t100\t700\n"))},
        },
    }


def test_add_a_tf_then_a_cell_equals_a_fresh_build(grown, tmp_path: Path) -> None:
    store, toy = grown["store"], grown["toy"]
    first = add_to_store(store, write_yaml(tmp_path / "tf.yaml", grown["tf"]))
    assert first.version == 2 and first.added["tasks"] == ["JUND.W"]
    ref1 = tmp_path / "ref1.zarr"
    build_store(combined(toy, grown["tf"]), ref1)
    assert_same_store(store, ref1)

    before = open_store(store)
    second = add_to_store(store, write_yaml(tmp_path / "cell.yaml", grown["cell"]))
    assert second.version == 3
    ref2 = tmp_path / "ref2.zarr"
    build_store(combined(toy, grown["tf"], grown["cell"]), ref2)
    after = open_store(store)
    assert after.cells == ["X", "Y", "W"]  # Y lands before the label-only cell, as in a build
    assert after.store_id == before.store_id  # the same store, a new version
    assert_same_store(store, ref2)
    assert [v["version"] for v in versions(after.attrs)] == [1, 2, 3]
    assert not Path(f"{store}.adding").exists()
    assert CliRunner().invoke(main, ["validate", str(store)]).exit_code == 0


def test_add_dream_tsv_labels_then_peaks_equals_a_fresh_build(grown, tmp_path: Path) -> None:
    """A DREAM TSV's tasks go after every peak task, as in a build; a later peak task is
    placed before them."""
    store, toy = grown["store"], grown["toy"]
    d = tmp_path / "in"
    dream = {"labels": [{"dream_tsv": dream_tsv(d / "MAX.train.labels.tsv.gz", ["X", "W"])}]}
    first = add_to_store(store, write_yaml(tmp_path / "dream.yaml", dream))
    assert first.added["tasks"] == ["MAX.X", "MAX.W"]
    ref1 = tmp_path / "ref1.zarr"
    build_store(combined(toy, dream), ref1)
    assert_same_store(store, ref1)
    st = open_store(store)
    lo, _ = st.bin_range("chrA")
    col = [(t.tf, t.cell) for t in st.tasks].index(("MAX", "X"))
    assert set(np.unique(st.labels()[lo : lo + 97, col])) == {0, 1, 2}
    assert (st.labels()[lo + 100 :, col] == -1).all()  # past the TSV's rows: no data

    add_to_store(store, write_yaml(tmp_path / "tf.yaml", grown["tf"]))
    ref2 = tmp_path / "ref2.zarr"
    build_store(combined(toy, dream, grown["tf"]), ref2)
    assert_same_store(store, ref2)
    assert [(t.tf, t.cell) for t in open_store(store).tasks][-3:] == [
        ("JUND", "W"), ("MAX", "X"), ("MAX", "W"),
    ]  # fmt: skip
    again = CliRunner().invoke(main, ["add", str(store), str(tmp_path / "dream.yaml")])
    assert again.exit_code == 1 and "task MAX.X already exists" in again.output


def test_a_bad_dream_row_is_refused_before_anything_is_written(grown, tmp_path: Path) -> None:
    store = grown["store"]
    good = Path(dream_tsv(tmp_path / "in" / "MAX.tsv.gz", ["X"]))
    rows = gzip.decompress(good.read_bytes()).decode().splitlines()
    rows[40] = "chrA\t2025\t2225\tB"  # off the 50 bp grid, deep in the file
    bad = write_gz(tmp_path / "in" / "MAX.bad.tsv.gz", "\n".join(rows) + "\n")
    frag = write_yaml(tmp_path / "bad.yaml", {"labels": [{"dream_tsv": str(bad)}]})
    before = sorted(p.relative_to(store) for p in store.rglob("*"))
    result = CliRunner().invoke(main, ["add", str(store), str(frag)])
    assert result.exit_code == 1 and "not on the 200 bp / 50 bp bin grid" in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert sorted(p.relative_to(store) for p in store.rglob("*")) == before
    assert not Path(f"{store}.adding").exists()


def test_adding_a_cell_writes_only_its_chunks(grown, tmp_path: Path) -> None:
    store = grown["store"]
    frag = {"cells": {"Y": grown["cell"]["cells"]["Y"]}}
    result = add_to_store(store, write_yaml(tmp_path / "y.yaml", frag))
    assert result.added == {"cells": ["Y"], "cell_tracks": ["Y.DNase"]}
    st = open_store(store)
    n_signal = -(-st.root["signals/DNase"].shape[1] // st.position_chunk)
    # Y's signal chunks and the small name, coordinate and metadata arrays (one chunk
    # each): no chunk of an existing cell, no label, annotation or sequence chunk
    n_small = 12
    assert result.chunks_written == n_signal + n_small
    assert result.chunks_written < result.chunks_total / 2


def _kill_after(store: Path, fragment: Path, units: int) -> None:
    """Run ``add`` in a child that SIGKILLs itself once ``units`` work units are done."""
    code = (
        "import os, signal, sys\n"
        "import fnstore.build.add as a\n"
        "real, n = a.mark_unit_done, [0]\n"
        "def mark(root, i):\n"
        "    real(root, i)\n"
        "    n[0] += 1\n"
        f"    if n[0] >= {units}: os.kill(os.getpid(), signal.SIGKILL)\n"
        "a.mark_unit_done = mark\n"
        "from fnstore.cli import main\n"
        "main(sys.argv[1:])\n"
    )
    env = dict(os.environ, PYTHONPATH=str(REPO))
    args = ["add", str(store), str(fragment), "--quiet", "--workers", "1"]
    proc = subprocess.run([sys.executable, "-c", code, *args], env=env, capture_output=True)
    assert proc.returncode == -signal.SIGKILL, proc.stderr.decode()


@pytest.mark.faults
def test_killed_add_keeps_the_old_version_and_resumes(grown, tmp_path: Path) -> None:
    store, toy = grown["store"], grown["toy"]
    fragment = write_yaml(tmp_path / "cell.yaml", grown["cell"])
    old = open_store(store)
    before = {n: old.root[n][...] for n in DATA + ["signals/DNase"]}
    _kill_after(store, fragment, 2)

    again = open_store(store)  # the previous version, whole and readable
    assert again.cells == old.cells and len(versions(again.attrs)) == 1
    for name, values in before.items():
        np.testing.assert_array_equal(values, again.root[name][...], err_msg=name)
    adding = Path(f"{store}.adding")
    assert adding.is_dir()
    with pytest.raises(StoreError, match="incomplete"):
        open_store(adding)  # a half-added store is refused like an unfinished build
    plain = CliRunner().invoke(main, ["add", str(store), str(fragment), "--quiet"])
    assert plain.exit_code == 1 and "--resume" in plain.output

    result = CliRunner().invoke(main, ["add", str(store), str(fragment), "--resume", "--quiet"])
    assert result.exit_code == 0, result.output
    assert not adding.exists()
    reference = tmp_path / "ref.zarr"
    build_store(combined(toy, grown["cell"]), reference)
    assert_same_store(store, reference)
    assert open_store(store).provenance["resumed"] is True


@pytest.mark.parametrize(
    ("fragment", "problem"),
    [
        ({"cells": {"X": {"tracks": {"DNase": "x.bw"}}}}, "already has track 'DNase'"),
        (
            {"labels": [{"tf": "CTCF", "cell": "X", "conservative": "c.np.gz"}]},
            "CTCF.X already exists",
        ),
        ({"annotations": {"cpg": "cpg.bed.gz"}}, "'cpg' already exists"),
        ({"bins": {"size": 100}, "annotations": {"a2": "cpg.bed.gz"}}, "bins size 100"),
        ({"assembly": "hg38", "annotations": {"a2": "cpg.bed.gz"}}, "assembly 'hg38'"),
        ({"cells": {"Z": {"trakcs": {}}}}, "does not match the schema"),
        ({"name": "x"}, "does not match the schema"),
        ({"labels": [{"dream_tsv": "CTCF.d.tsv"}]}, "task CTCF.X already exists"),
    ],
)
def test_bad_fragments_are_refused_and_nothing_written(
    grown, tmp_path: Path, fragment, problem
) -> None:
    store = grown["store"]
    frag = write_yaml(tmp_path / "in" / "bad.yaml", fragment)  # relative paths: the toy inputs
    if "dream_tsv" in json.dumps(fragment):
        (tmp_path / "in" / "CTCF.d.tsv").write_text("chr\tstart\tstop\tX\n")
    before = sorted(p.relative_to(store) for p in store.rglob("*"))
    result = CliRunner().invoke(main, ["add", str(store), str(frag)])
    assert result.exit_code == 1
    assert result.output.startswith("Error: ") and problem in result.output, result.output
    assert len(result.output.strip().splitlines()) == 1
    assert sorted(p.relative_to(store) for p in store.rglob("*")) == before
    assert not Path(f"{store}.adding").exists()


def test_another_genome_is_refused(grown, tmp_path: Path) -> None:
    d = tmp_path / "in"
    bw = write_bigwig(d / "other.bw", {"chrA": 31_000, "chrB": 12_000})
    frag = write_yaml(d / "g.yaml", {"cells": {"Y": {"tracks": {"DNase": str(bw)}}}})
    with pytest.raises(FnstoreError, match="chrA"):
        add_to_store(grown["store"], frag)


def test_log_lists_versions(grown, tmp_path: Path) -> None:
    store = grown["store"]
    add_to_store(store, write_yaml(tmp_path / "tf.yaml", grown["tf"]))
    text = CliRunner().invoke(main, ["log", str(store)])
    assert text.exit_code == 0
    lines = text.output.strip().splitlines()
    assert lines[-2].split()[:2] == ["1", "build"] and lines[-1].split()[:2] == ["2", "add"]
    assert "JUND.W" in lines[-1]
    listed = json.loads(CliRunner().invoke(main, ["log", str(store), "--json"]).output)
    assert [v["version"] for v in listed] == [1, 2]
    assert listed[1]["added"]["tasks"] == ["JUND.W"] and listed[1]["snapshot_id"] is None
    assert listed[0]["content_hash"] != listed[1]["content_hash"]


def test_a_store_built_before_versions_gets_version_1_first(grown, tmp_path: Path) -> None:
    from fnstore.store.write import open_for_writing

    store = grown["store"]
    hashed = current_version(open_store(store).attrs)["content_hash"]
    root = open_for_writing(store)
    provenance = dict(root.attrs["provenance"])
    del provenance["history"]
    root.attrs.update({"provenance": provenance})
    assert versions(open_store(store).attrs) == []
    add_to_store(store, write_yaml(tmp_path / "tf.yaml", grown["tf"]))
    found = versions(open_store(store).attrs)
    assert [(v["version"], v["action"]) for v in found] == [(1, "build"), (2, "add")]
    assert found[0]["content_hash"] == hashed
