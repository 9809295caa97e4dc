"""``--json``: every command that prints a summary can print it as JSON, stdout holding only
the JSON (progress and notes on stderr)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from fnstore.cli import main

EXAMPLE_SPEC = Path(__file__).resolve().parents[2] / "fnstore" / "example" / "spec.yaml"


def _json(args: list[str]) -> dict:
    result = CliRunner().invoke(main, args)
    assert result.exit_code in (0, 1), result.output + result.stderr
    return json.loads(result.stdout)


def test_build_validate_export_print_json(tmp_path: Path) -> None:
    store = str(tmp_path / "ex.zarr")
    built = _json(["build", str(EXAMPLE_SPEC), store, "--json"])
    assert built["n_bins"] > 0 and built["chunks_built"] == built["chunks_total"]
    assert _json(["validate", store, "--json"]) == {"path": store, "ok": True, "problems": []}
    out = tmp_path / "yy1.bed"
    exported = _json(["export", store, str(out), "--what", "labels", "--tf", "YY1", "--json"])
    assert exported["what"] == "labels" and exported["rows"] > 0 and out.exists()


def test_failed_validate_is_json_with_exit_code_1(example_store_path: Path, tmp_path: Path) -> None:
    import shutil

    copy = tmp_path / "ex.zarr"
    shutil.copytree(example_store_path, copy)
    chunk = sorted(p for p in (copy / "labels" / "c").rglob("*") if p.is_file())[0]
    chunk.unlink()
    result = CliRunner().invoke(main, ["validate", str(copy), "--json"])
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["ok"] is False and any("labels" in p for p in report["problems"])


def test_predict_prints_json(example_store_path: Path, tmp_path: Path) -> None:
    pytest.importorskip("keras")
    from tiny_models import tiny_model_for

    import fnstore

    model = tiny_model_for(fnstore.open_store(example_store_path), tmp_path / "m")
    report = _json(
        [
            "predict", str(model), str(example_store_path), str(tmp_path / "p"),
            "--cell", "GM12878", "--chroms", "chr20_slice", "--json",
        ]
    )  # fmt: skip
    assert report["n_rows"] > 0 and report["cell"] == "GM12878"
