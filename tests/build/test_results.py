"""build_store's and validate_store's result objects: fields, to_dict, summary, old uses."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
import zarr

from fnstore.build import BuildResult, build_store
from fnstore.store.layout import PROGRESS_ARRAY
from fnstore.store.read import open_store
from fnstore.store.validate import ValidateResult, layout_of, validate_store


def test_build_result_to_dict_and_summary(tmp_path: Path, toy: dict) -> None:
    result = build_store(toy, tmp_path / "t.zarr")
    assert isinstance(result, BuildResult)
    d = result.to_dict()
    json.dumps(d)
    store = open_store(tmp_path / "t.zarr")
    assert d["store"] == str(tmp_path / "t.zarr")
    assert (d["n_chroms"], d["n_bins"], d["n_cells"]) == (
        len(store.chroms),
        store.n_bins,
        len(store.cells),
    )
    assert d["n_tasks"] == len(store.tasks) and d["n_tracks"] == len(store.tracks)
    assert d["chunks_built"] == d["chunks_total"] > 0 and not d["already_complete"]
    assert str(result) == result.summary()
    assert result.summary().startswith(
        f"{tmp_path / 't.zarr'}: {len(store.chroms)} chromosome(s), "
    )
    again = build_store(toy, tmp_path / "t.zarr", resume=True)
    assert again.already_complete and again.summary().endswith("already complete; nothing to do")


def test_zip_build_reports_the_zip_and_leaves_no_temporaries(tmp_path: Path, toy: dict) -> None:
    result = build_store(toy, tmp_path / "t.zip")
    assert result.store == str(tmp_path / "t.zip")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in", "t.zip"]  # inputs and the zip
    with zipfile.ZipFile(tmp_path / "t.zip") as zf:
        assert "zarr.json" in zf.namelist()
    assert validate_store(tmp_path / "t.zip").ok


def test_validate_result_faces(tmp_path: Path, toy: dict) -> None:
    build_store(toy, tmp_path / "t.zarr")
    good = validate_store(tmp_path / "t.zarr")
    assert isinstance(good, ValidateResult)
    assert good.ok and list(good) == [] and not good
    assert good.to_dict() == {"path": str(tmp_path / "t.zarr"), "ok": True, "problems": []}
    assert good.summary() == f"{tmp_path / 't.zarr'}: OK"
    root = zarr.open_group(str(tmp_path / "t.zarr"), mode="r+")
    # written as a build writes (every chunk kept): zarr would delete an all-fill chunk
    root[PROGRESS_ARRAY].with_config({"write_empty_chunks": True})[0] = 0
    bad = validate_store(tmp_path / "t.zarr")
    assert not bad.ok and len(bad) == 1 and bad  # truthy when problems, like the old list
    assert bad[0] == f"1 of {root[PROGRESS_ARRAY].size} build chunks were never written"
    assert bad.to_dict()["problems"] == [bad[0]] and bad.summary() == f"Error: {bad[0]}"


def test_layout_of_a_store_predicts_its_arrays(tmp_path: Path, toy: dict) -> None:
    build_store(toy, tmp_path / "t.zarr")
    store = open_store(tmp_path / "t.zarr")
    layout = layout_of(store)
    np.testing.assert_array_equal(layout.offsets, store.chrom_offsets)
    np.testing.assert_array_equal(layout.first_bins, store.chrom_first_bin)
    for name, shape in layout.array_shapes().items():
        assert store.root[name].shape == shape, name


@pytest.mark.parametrize("letters", ["UBAX", "UB?A"])
def test_dream_letters_are_checked(letters: str) -> None:
    from fnstore.store.labels import letters_to_codes

    with pytest.raises(ValueError, match="B, U or A"):
        letters_to_codes(letters)
    assert letters_to_codes("UBA").tolist() == [0, 1, 2]
