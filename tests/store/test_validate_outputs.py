"""``fnstore validate`` on outputs: exported and predicted files (``.sha256`` sidecars),
Zarr predictions groups (hash in the attributes), model folders; a flipped byte is one
``Error: <file>: changed since it was written (sha256 differs)`` line, and the readers of
predictions (evaluate, ensemble) refuse the changed file too."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from fnstore.cli import main
from fnstore.errors import InputError
from fnstore.export import export
from fnstore.io.digests import CHANGED, sidecar_path
from fnstore.io.predictions import read_predictions, write_predictions
from fnstore.predict.ensemble import ensemble

pytestmark = pytest.mark.faults


def validate(path: Path) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["validate", str(path)])
    return result.exit_code, result.stdout, result.stderr


def flip_byte(path: Path, offset: int | None = None) -> None:
    data = bytearray(path.read_bytes())
    i = len(data) // 2 if offset is None else offset
    data[i] ^= 0x01
    path.write_bytes(bytes(data))


def assert_changed(path: Path, file: Path | None = None) -> None:
    code, out, err = validate(path)
    assert code == 1 and out == ""
    assert err == f"Error: {file or path}: {CHANGED}\n"


@pytest.fixture
def predictions(example_store, tmp_path: Path) -> dict[str, Path]:
    bins = np.arange(0, example_store.n_bins, 7)
    scores = np.linspace(0, 1, bins.size, dtype=np.float32)
    return {
        fmt: write_predictions(tmp_path / f"p.{fmt}", example_store, bins, scores, "YY1", "HepG2")
        for fmt in ("tab.gz", "bedGraph", "zarr")
    }


def test_example_store_still_validates(example_store_path):
    code, out, _ = validate(example_store_path)
    assert code == 0 and out == f"{example_store_path}: OK\n"


@pytest.mark.parametrize("what", ["sequence", "labels", "bins"])
def test_exported_file_ok_then_flipped_byte(example_store_path, tmp_path, what):
    out = tmp_path / {"sequence": "s.fa", "labels": "l.bed", "bins": "b.tsv.gz"}[what]
    export(example_store_path, out, what, chroms="chr20_slice", tf="YY1", cell="HepG2")
    side = sidecar_path(out)
    assert side.read_text().endswith(f"  {out.name}\n")
    assert validate(out) == (0, f"{out}: OK\n", "")
    assert validate(side)[0] == 0  # the sidecar's name stands for its file
    flip_byte(out)
    assert_changed(out)
    assert_changed(side, file=out)


def test_export_folder_files_each_have_a_hash(example_store_path, tmp_path):
    res = export(example_store_path, tmp_path / "dream", "labels", tf="YY1,ZNF143")
    assert len(res.files) == 2
    for f in res.files:
        assert validate(f)[0] == 0
    flip_byte(res.files[1], 100)
    assert validate(res.files[0])[0] == 0
    assert_changed(res.files[1])


def test_file_without_sidecar_is_not_accepted(tmp_path):
    f = tmp_path / "x.tab.gz"
    f.write_bytes(b"data")
    code, _, err = validate(f)
    assert code == 1 and err == f"Error: {f}: no recorded sha256 (x.tab.gz.sha256 is missing)\n"


def test_malformed_sidecar_is_one_line(tmp_path):
    f = tmp_path / "x.bed"
    f.write_text("chr1\t0\t10\n")
    sidecar_path(f).write_text("not a hash\n")
    code, _, err = validate(f)
    assert code == 1 and err == f"Error: {sidecar_path(f)}: not a sha256sum line for x.bed\n"


@pytest.mark.parametrize("fmt", ["tab.gz", "bedGraph"])
def test_text_predictions_refused_by_readers_when_changed(example_store, predictions, fmt):
    path = predictions[fmt]
    assert validate(path)[0] == 0
    read_predictions(path, example_store)  # accepted as written
    text = path.read_bytes()
    if fmt == "bedGraph":  # a plausible edit: another score in the first row
        path.write_bytes(text.replace(b"\t0\n", b"\t1\n", 1))
    else:
        flip_byte(path)
    assert_changed(path)
    with pytest.raises(InputError, match="changed since it was written"):
        read_predictions(path, example_store)
    with pytest.raises(InputError, match="changed since it was written"):
        ensemble(path.with_name(f"e.{fmt}"), [path, path])


def test_zarr_predictions_changed_value(example_store, predictions, tmp_path):
    import zarr

    path = predictions["zarr"]
    assert validate(path) == (0, f"{path}: OK\n", "")
    read_predictions(path, example_store)
    root = zarr.open_group(str(path), mode="r+")
    root["score"][3] = 0.5  # rewritten through zarr: chunks decode, the values differ
    assert_changed(path)
    with pytest.raises(InputError, match="changed since it was written"):
        read_predictions(path, example_store)
    with pytest.raises(InputError, match="changed since it was written"):
        ensemble(tmp_path / "e.zarr", [path, path])


def test_zarr_predictions_flipped_byte_is_one_line(predictions):
    path = predictions["zarr"]
    chunk = next(p for p in (path / "score").rglob("*") if p.is_file() and p.name != "zarr.json")
    flip_byte(chunk)
    code, _, err = validate(path)
    assert code == 1 and err.startswith(f"Error: {path}: ") and err.count("\n") == 1


def test_ensemble_outputs_have_hashes(predictions, tmp_path):
    for fmt in ("tab.gz", "zarr"):
        out = ensemble(tmp_path / f"e.{fmt}", [predictions[fmt], predictions[fmt]])
        assert out.n_rows > 0 and validate(tmp_path / f"e.{fmt}")[0] == 0


def test_model_folder(example_store, tmp_path):
    import json

    from tiny_models import tiny_model_for

    model = tiny_model_for(example_store, tmp_path / "m")
    assert validate(model) == (0, f"{model}: OK\n", "")
    card = model / "model_card.json"
    saved = card.read_bytes()
    data = json.loads(saved)
    data["window"] = 1000
    card.write_text(json.dumps(data))
    code, _, err = validate(model)
    assert (
        code == 1
        and err == f"Error: {card}: changed since the model was written (sha256 differs)\n"
    )
    card.write_bytes(saved)
    flip_byte(model / "model.keras")
    code, _, err = validate(model)
    assert code == 1 and err.startswith(f"Error: {model / 'model.keras'}: changed since")


def test_rewrite_killed_before_its_sidecar_leaves_no_stale_hash(
    example_store_path, tmp_path, monkeypatch
):
    import fnstore.export.run as run

    out = tmp_path / "l.bed"
    export(example_store_path, out, "labels", tf="YY1", cell="HepG2")
    monkeypatch.setattr(
        run,
        "write_sidecars",
        lambda files: (_ for _ in ()).throw(OSError(28, "No space left on device")),
    )
    with pytest.raises(OSError):  # the new file is in place, its hash never written
        export(example_store_path, out, "labels", tf="YY1", cell="GM12878")
    assert not sidecar_path(out).exists()  # the old one went with the old file
    code, _, err = validate(out)
    assert code == 1 and "no recorded sha256" in err
