"""``fnstore add icechunk://REPO FRAGMENT``: one tagged commit that equals a fresh build.

The toy store is built into an icechunk repository (tag v1); adding a TF and then a cell
(which lands between existing cells, so existing signal rows move) must give exactly the
arrays, names and content hash of a fresh icechunk build of the combined spec, as commits
v2 and v3 that leave v1 readable. An add that fails or is killed mid-way commits nothing;
``fnstore log`` names each version's snapshot and tag.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from growing import assert_same_store, combined, dream_tsv, write_yaml
from synthetic import TOY_LENGTHS, narrowpeak_row, write_bigwig, write_gz

from fnstore.build import build_store
from fnstore.build.add import add_to_store
from fnstore.cli import main
from fnstore.errors import InputError
from fnstore.store.read import open_store
from fnstore.store.versions import current_version, versions

pytest.importorskip("icechunk")

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def grown(tmp_path: Path, toy: dict) -> dict:
    """The toy store as icechunk v1, and fragments: a TF for a new label-only cell W, then a
    new cell Y with DNase and metadata (a fresh build puts Y before W), a new track for X
    and an annotation."""
    d = tmp_path / "in"
    peaks = "".join(narrowpeak_row("chrA", s, s + 300) for s in (2000, 9000, 15_000))
    (d / "y.meta.txt").write_text("0.1\tGEPC1\n0.2\tGEPC2\n")
    url = f"icechunk://{tmp_path / 'repo'}"
    build_store(toy, url)
    tf = {"labels": [{"tf": "JUND", "cell": "W", "conservative": str(write_gz(d / "j.gz", peaks))}]}
    cell = {
        "cells": {
            "Y": {
                "tracks": {"DNase": str(write_bigwig(d / "y.bw", TOY_LENGTHS, seed=3))},
                "metadata": str(d / "y.meta.txt"),
            },
            "X": {"tracks": {"ATAC": str(write_bigwig(d / "xa.bw", TOY_LENGTHS, seed=4))}},
        },
        "annotations": {"tss": str(write_gz(d / "tss.bed.gz", "chrB\t100\t700\n"))},
    }
    return {
        "toy": toy,
        "url": url,
        "tf": write_yaml(tmp_path / "tf.yaml", tf),
        "cell": write_yaml(tmp_path / "cell.yaml", cell),
        "tf_doc": tf,
        "cell_doc": cell,
    }


def test_add_dream_tsv_labels_equals_a_fresh_build(grown, tmp_path: Path) -> None:
    url, toy = grown["url"], grown["toy"]
    doc = {"labels": [{"dream_tsv": dream_tsv(tmp_path / "in" / "MAX.tsv.gz", ["X", "W"])}]}
    result = add_to_store(url, write_yaml(tmp_path / "dream.yaml", doc))
    assert (result.version, result.added["tasks"]) == (2, ["MAX.X", "MAX.W"])
    ref = f"icechunk://{tmp_path / 'ref'}"
    build_store(combined(toy, doc), ref)
    assert_same_store(url, ref)


def test_add_a_tf_then_a_cell_equals_a_fresh_build(grown, tmp_path: Path) -> None:
    url, toy = grown["url"], grown["toy"]
    v1 = open_store(url)
    first = add_to_store(url, grown["tf"])
    assert (first.version, first.tag, first.added["tasks"]) == (2, "v2", ["JUND.W"])
    assert first.snapshot_id == open_store(url).snapshot_id != v1.snapshot_id
    ref1 = f"icechunk://{tmp_path / 'ref1'}"
    build_store(combined(toy, grown["tf_doc"]), ref1)
    assert_same_store(url, ref1)

    second = add_to_store(url, grown["cell"])
    assert (second.version, second.tag) == (3, "v3")
    assert second.chunks_written < second.chunks_total  # sequence, bins, X's DNase untouched
    ref2 = f"icechunk://{tmp_path / 'ref2'}"
    build_store(combined(toy, grown["tf_doc"], grown["cell_doc"]), ref2)
    after = open_store(url)
    assert after.cells == ["X", "Y", "W"]  # Y lands before the label-only cell: W's row moved
    assert after.store_id == v1.store_id  # the same store, a new version
    assert_same_store(url, ref2)
    assert [v["version"] for v in versions(after.attrs)] == [1, 2, 3]
    old = open_store(f"{url}@v1")  # earlier versions stay readable, unchanged
    assert old.cells == v1.cells and old.snapshot_id == v1.snapshot_id
    assert CliRunner().invoke(main, ["validate", url]).exit_code == 0


def test_a_failed_add_commits_nothing(grown, monkeypatch: pytest.MonkeyPatch) -> None:
    url = grown["url"]
    before = open_store(url)
    import fnstore.build.add_units as units  # where run_units finds the unit

    def broken(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(units, "positions_unit", broken)
    result = CliRunner().invoke(main, ["add", url, str(grown["cell"]), "--quiet"])
    assert result.exit_code == 1 and result.output.startswith("Error: "), result.output
    assert "Traceback" not in result.output
    monkeypatch.undo()
    still = open_store(url)
    assert still.snapshot_id == before.snapshot_id and still.cells == before.cells
    from fnstore.io.icechunk import open_repository

    assert open_repository(url).list_tags() == {"v1"}


def test_a_killed_add_leaves_the_previous_version(grown) -> None:
    url = grown["url"]
    before = open_store(url)
    labels = before.root["labels"][...]
    script = (
        "import os, sys\n"
        "import fnstore.build.add_icechunk as a, fnstore.build.add_units as u\n"
        "real = u.positions_unit\n"
        "def dying(plan, signals, k):\n"
        "    if k == 1: os._exit(9)\n"
        "    return real(plan, signals, k)\n"
        "u.positions_unit = dying\n"
        "a.add_to_icechunk(sys.argv[1], sys.argv[2], workers=1)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, url, str(grown["cell"])],
        cwd=REPO,
        capture_output=True,
        timeout=300,
    )
    assert done.returncode == 9, done.stderr.decode()
    after = open_store(url)
    assert after.snapshot_id == before.snapshot_id and after.cells == before.cells
    np.testing.assert_array_equal(after.root["labels"][...], labels)
    # --resume on icechunk simply does the add again
    result = CliRunner().invoke(main, ["add", url, str(grown["cell"]), "--resume", "--quiet"])
    assert result.exit_code == 0, result.output
    assert open_store(url).cells == ["X", "Y"] and "v2" in result.output


def test_log_lists_versions_with_snapshots_and_tags(grown) -> None:
    url = grown["url"]
    v1 = open_store(url).snapshot_id
    add_to_store(url, grown["tf"])
    v2 = open_store(url).snapshot_id
    result = CliRunner().invoke(main, ["log", url, "--json"])
    assert result.exit_code == 0, result.output
    found = json.loads(result.output)
    assert [(v["version"], v["snapshot_id"], v["tags"]) for v in found] == [
        (1, v1, ["v1"]),
        (2, v2, ["v2"]),
    ]
    text = CliRunner().invoke(main, ["log", url]).output
    assert "snapshot" in text and v1 in text and v2 in text and "v2" in text
    # read at v1, the log ends at v1
    at_v1 = json.loads(CliRunner().invoke(main, ["log", f"{url}@v1", "--json"]).output)
    assert [(v["version"], v["snapshot_id"]) for v in at_v1] == [(1, v1)]


def test_a_tag_or_missing_repository_is_refused(grown, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not a branch"):
        add_to_store(f"{grown['url']}@v1", grown["tf"])
    result = CliRunner().invoke(main, ["add", f"icechunk://{tmp_path / 'none'}", str(grown["tf"])])
    assert result.exit_code == 1 and "no such store" in result.output, result.output
    assert not (tmp_path / "none").exists()


def test_a_model_trained_on_v1_reports_v2(tmp_path: Path) -> None:
    """The card pins the snapshot read besides the content hash; the hash decides: the same
    arrays under another snapshot id (a copy into another repository) are not a mismatch."""
    pytest.importorskip("keras")
    sys.path.insert(0, str(REPO / "tests" / "training"))
    from planted import TINY, build_planted

    import fnstore
    from fnstore.io.icechunk import copy_to_icechunk
    from fnstore.model.card import read_card

    folder = build_planted(tmp_path)
    url, twin = f"icechunk://{tmp_path / 'repo'}", f"icechunk://{tmp_path / 'twin'}"
    copy_to_icechunk(folder, url)
    copy_to_icechunk(folder, twin)
    v1 = open_store(url)
    model = tmp_path / "m"
    fnstore.train(
        url, model, "PLANT", ["C1"], hyperparameters=TINY, epochs=1, steps_per_epoch=2,
        valid_steps=1, batch_size=8, seed=1, annotations=False, metadata=False, verbose=0,
        honest=False,
    )  # fmt: skip
    pinned = read_card(model)["store"]
    assert (pinned["version"], pinned["snapshot_id"]) == (1, v1.snapshot_id)
    assert pinned["content_hash"] == current_version(v1.attrs)["content_hash"]

    def predict(store: str, out: str, *extra: str) -> tuple[int, str]:
        args = ["predict", str(model), store, str(tmp_path / out), "--cell", "C1", "--quiet"]
        result = CliRunner().invoke(main, [*args, *extra])
        return result.exit_code, result.output

    assert open_store(twin).snapshot_id != v1.snapshot_id
    code, out = predict(twin, "p0")
    assert code == 0 and "Warning" not in out, out

    (tmp_path / "tss.bed").write_text("chrS\t100\t900\n")
    frag = write_yaml(tmp_path / "frag.yaml", {"annotations": {"tss": str(tmp_path / "tss.bed")}})
    v2 = add_to_store(url, frag)
    code, out = predict(url, "p1", "--strict")
    assert code == 1 and out.startswith("Error: ") and len(out.strip().splitlines()) == 1, out
    assert f"version 1 (snapshot {v1.snapshot_id})" in out
    assert f"version 2 (snapshot {v2.snapshot_id})" in out
    code, out = predict(url, "p2")
    warnings = [line for line in out.splitlines() if line.startswith("Warning: ")]
    assert code == 0 and len(warnings) == 1 and v2.snapshot_id in warnings[0], out
    code, out = predict(f"{url}@v1", "p3", "--strict")  # the pinned version itself
    assert code == 0 and "Warning" not in out, out
