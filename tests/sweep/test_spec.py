"""Sweep specs: expansion, names, and every bad spec refused before anything trains."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tiny import FAST, tiny_spec

from fnstore.errors import InputError
from fnstore.sweep import sweep
from fnstore.sweep.spec import load_sweep_spec, run_name


def test_grid_seeds_and_runs_expand_with_stable_names(example_store_path: Path) -> None:
    spec = tiny_spec(example_store_path, grid={"learning_rate": [0.001, 0.01]}, runs=[])
    plan = load_sweep_spec(spec)
    names = [r.name for r in plan.runs]
    assert len(names) == 8 == len(set(names))
    assert names[0] == "YY1.GM12878.learning_rate-0.001.s0"
    assert names == [r.name for r in load_sweep_spec(spec).runs]
    run = plan.runs[0]
    # model fields go into hyperparameters; the sweep keeps honest validation on
    assert run.keywords["hyperparameters"] == {"window": 400, "lstm_units": 0}
    assert run.keywords["learning_rate"] == 0.001 and run.train_keywords()["seed"] == 0
    assert run.keywords["valid_chroms"] == ["chr20_slice:3600000-4500000"]
    assert plan.param_keys == ["learning_rate"] and plan.tfs == ["YY1", "ZNF143"]


def test_runs_entries_pin_tfs_and_cells(example_store_path: Path) -> None:
    spec = tiny_spec(example_store_path, runs=[{"tfs": "ZNF143", "cells": "GM12878,HepG2"}])
    spec["defaults"] = {**FAST, "tracks": []}
    names = [r.name for r in load_sweep_spec(spec).runs]
    assert names == ["ZNF143.GM12878+HepG2.s0", "ZNF143.GM12878+HepG2.s1"]


def test_names_are_filesystem_safe_and_bounded() -> None:
    name = run_name(["A/B"], ["C D"], {"hyperparameters": {"n_kernels": 8}, "x": "a" * 200}, 3)
    assert "/" not in name and " " not in name and len(name) <= 120
    assert run_name(["T"], ["C"], {"lr": 0.5, "flag": True}, 0) == "T.C.flag-true.lr-0.5.s0"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"no_such_key": 1}, "no_such_key"),
        ({"tfs": ["NOPE"]}, "unknown TF 'NOPE'"),
        ({"cells": ["NOCELL"]}, "unknown cell 'NOCELL'"),
        ({"cells": ["HepG2"], "tfs": ["SPI1"]}, "no SPI1 labels in HepG2"),
        ({"grid": {"learning_rate": [-1.0]}}, "learning_rate: must be > 0"),
        ({"grid": {"not_a_knob": [1]}}, "not_a_knob"),
        ({"defaults": {"seed": 3}}, "use seeds:"),
        ({"defaults": {"honest": False}}, "honest is set by the sweep"),
        ({"grid": {"n_kernels": [0]}}, "n_kernels"),
        ({"heldout": [{"cell": "NOCELL", "chroms": ["chr20_slice"]}]}, "unknown cell"),
        ({"heldout": [{"cell": "GM12878", "chroms": ["chrX"]}]}, "chrX"),
        ({"ensemble": {"top_k": 0}}, "ensemble"),
    ],
)
def test_bad_specs_are_one_error(
    example_store_path: Path, tmp_path: Path, change: dict, message: str
) -> None:
    with pytest.raises(InputError, match=message.replace("(", r"\(")):
        sweep(tiny_spec(example_store_path, **change), tmp_path / "out", echo=None)
    assert not (tmp_path / "out").exists()


def test_duplicate_yaml_keys_are_refused(example_store_path: Path, tmp_path: Path) -> None:
    path = tmp_path / "sweep.yaml"
    path.write_text(f"store: {example_store_path}\ntfs: [YY1]\ncells: [GM12878]\ntfs: [ZNF143]\n")
    with pytest.raises(InputError, match="duplicate key 'tfs'"):
        load_sweep_spec(path)


def test_output_folder_holding_something_else_is_refused(
    example_store_path: Path, tmp_path: Path
) -> None:
    spec = tiny_spec(example_store_path)
    (tmp_path / "foreign").mkdir()
    (tmp_path / "foreign" / "notes.txt").write_text("mine")
    with pytest.raises(InputError, match="not a sweep folder"):
        sweep(spec, tmp_path / "foreign", echo=None)
    other = tmp_path / "other"
    other.mkdir()
    record = {"format": "fnstore-sweep", "store_id": "another", "store": "/elsewhere.zarr"}
    (other / "sweep.json").write_text(json.dumps(record))
    with pytest.raises(InputError, match="sweep of another store"):
        sweep(spec, other, echo=None)


def test_dry_run_lists_the_runs_and_writes_nothing(
    example_store_path: Path, tmp_path: Path
) -> None:
    result = sweep(tiny_spec(example_store_path), tmp_path / "out", dry_run=True, echo=None)
    assert set(result.states.values()) == {"todo"} and len(result.states) == 6
    assert "6 of 6 runs would train" in result.summary()
    assert not (tmp_path / "out").exists()
