"""Outputs are never lost or half-replaced: a killed ``train`` leaves a whole model under
its name, ``--overwrite`` replaces only what fnstore made, one writer per output, model
folders changed after writing are refused, and unfinished predictions are refused."""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

pytest.importorskip("keras")

from fnstore.cli import main  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "PYTHONPATH": str(REPO), "TF_CPP_MIN_LOG_LEVEL": "2"}
#: a tiny model on the example store: a few seconds of training
TINY = "--epochs 2 --steps-per-epoch 3 --valid-steps 1 --window 200 --lstm 0 --kernels 4"
TINY += " --kernel-width 8 --dense 4 --batch-size 16 --seed 3 --quiet"


def train_args(store: Path, model: Path) -> list[str]:
    return ["train", str(store), str(model), "--tf", "YY1", "--cells", "GM12878"]


def train_cmd(store: Path, model: Path, *extra: str) -> list[str]:
    args = [*train_args(store, model), *TINY.split(), *extra]
    return [sys.executable, "-m", "fnstore.cli", *args]


def weights(model_dir: Path) -> list[np.ndarray]:
    from fnstore.model.folder import load_model_dir

    model, _ = load_model_dir(model_dir)
    return model.get_weights()


def one_line_error(result, *parts: str) -> str:
    """The CLI failed with one ``Error:`` line (no traceback) containing ``parts``."""
    assert result.exit_code == 1, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.output
    for part in parts:
        assert part in lines[0], lines[0]
    return lines[0]


@pytest.fixture(scope="module")
def trained(example_store_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One tiny model trained by the CLI in a subprocess (the reference run)."""
    model = tmp_path_factory.mktemp("trained") / "m"
    subprocess.run(train_cmd(example_store_path, model), env=ENV, check=True, timeout=600)
    return model


@pytest.fixture()
def model_copy(trained: Path, tmp_path: Path) -> Path:
    shutil.copytree(trained, tmp_path / "m")
    return tmp_path / "m"


# ----------------------------------------------------------------- kills and reruns


@pytest.mark.faults
def test_killed_overwrite_leaves_a_whole_model_and_rerun_is_identical(
    example_store_path: Path, trained: Path, model_copy: Path
) -> None:
    reference = weights(trained)
    delay = random.uniform(0.5, 8.0)
    proc = subprocess.Popen(
        train_cmd(example_store_path, model_copy, "--overwrite"),
        env=ENV,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(delay)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    # whatever the moment: the old or the new model, whole and loadable, under the name
    for a, b in zip(weights(model_copy), reference, strict=True):
        assert a.shape == b.shape, f"killed after {delay:.2f} s"
    subprocess.run(
        train_cmd(example_store_path, model_copy, "--overwrite"), env=ENV, check=True, timeout=600
    )
    for a, b in zip(weights(model_copy), reference, strict=True):
        np.testing.assert_array_equal(a, b)  # same seed, same model
    leftovers = [p.name for p in model_copy.parent.iterdir() if p.name.startswith(".")]
    assert leftovers == [], leftovers  # the killed run's temporary folder and lock are gone


def test_existing_model_is_refused_without_overwrite(
    example_store_path: Path, model_copy: Path
) -> None:
    before = (model_copy / "model.keras").read_bytes()
    result = CliRunner().invoke(main, train_args(example_store_path, model_copy))
    one_line_error(result, str(model_copy), "already holds a model", "--overwrite")
    assert (model_copy / "model.keras").read_bytes() == before


@pytest.mark.parametrize("kind", ["file", "other folder", "model plus notes"])
def test_train_overwrite_replaces_only_a_model_folder(
    example_store_path: Path, model_copy: Path, tmp_path: Path, kind: str
) -> None:
    target = {
        "file": tmp_path / "f",
        "other folder": tmp_path / "d",
        "model plus notes": model_copy,
    }
    path = target[kind]
    if kind == "file":
        path.write_text("mine\n")
    else:
        path.mkdir(exist_ok=True)
        (path / "notes.txt").write_text("mine\n")
    result = CliRunner().invoke(main, [*train_args(example_store_path, path), "--overwrite"])
    one_line_error(result, str(path), "not a model folder", "--overwrite replaces only")
    assert (path if kind == "file" else path / "notes.txt").read_text() == "mine\n"


def test_build_overwrite_replaces_only_an_fnstore_store(tmp_path: Path) -> None:
    spec = REPO / "fnstore" / "example" / "spec.yaml"
    folder, plain = tmp_path / "data", tmp_path / "data.zip"
    folder.mkdir()
    (folder / "keep.txt").write_text("mine\n")
    plain.write_text("not a zip\n")
    for path, holds in ((folder, "a folder holding 1 entry (keep.txt)"), (plain, "a file of")):
        result = CliRunner().invoke(main, ["build", str(spec), str(path), "--overwrite"])
        one_line_error(result, str(path), "not an fnstore store", holds)
    assert (folder / "keep.txt").read_text() == "mine\n" and plain.read_text() == "not a zip\n"


# ----------------------------------------------------------------- one writer per output


def hold_lock(path: Path) -> subprocess.Popen:
    code = (
        "import sys, time\nfrom fnstore.io.lock import output_lock\n"
        "with output_lock(sys.argv[1]):\n    print('held', flush=True)\n    time.sleep(120)\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code, str(path)], env=ENV, stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout.readline().strip() == "held"
    return proc


@pytest.mark.faults
def test_second_writer_is_refused(
    example_store_path: Path, model_copy: Path, tmp_path: Path
) -> None:
    spec = REPO / "fnstore" / "example" / "spec.yaml"
    commands = {
        model_copy: [*train_args(example_store_path, model_copy), "--overwrite"],
        tmp_path / "s.zarr": ["build", str(spec), str(tmp_path / "s.zarr")],
        tmp_path / "p": [
            "predict",
            str(model_copy),
            str(example_store_path),
            str(tmp_path / "p"),
            "--cell",
            "GM12878",
        ],
    }
    for output, args in commands.items():
        holder = hold_lock(output)
        try:
            result = CliRunner().invoke(main, args)
            one_line_error(result, str(output), f"in use by PID {holder.pid}")
        finally:
            holder.kill()
            holder.wait()
    assert not (tmp_path / "s.zarr").exists() and not (tmp_path / "p").exists()


# ----------------------------------------------------------------- integrity of model folders


def predict_args(model: Path, store: Path, out: Path) -> list[str]:
    return ["predict", str(model), str(store), str(out), "--cell", "GM12878", "--quiet"]


def test_renamed_task_is_refused(
    example_store_path: Path, model_copy: Path, tmp_path: Path
) -> None:
    card_path = model_copy / "model_card.json"
    card = json.loads(card_path.read_text())
    card["tasks"][0]["tf"] = "CTCF"
    card_path.write_text(json.dumps(card, indent=2))
    result = CliRunner().invoke(main, predict_args(model_copy, example_store_path, tmp_path / "p"))
    one_line_error(result, f"{card_path}: changed since the model was written (sha256 differs)")


def test_tampered_weights_are_refused(
    example_store_path: Path, model_copy: Path, tmp_path: Path
) -> None:
    weights_path = model_copy / "model.keras"
    data = bytearray(weights_path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    weights_path.write_bytes(bytes(data))
    result = CliRunner().invoke(main, predict_args(model_copy, example_store_path, tmp_path / "p"))
    one_line_error(result, f"{weights_path}: changed since the model was written (sha256 differs)")


def test_model_without_checksums_still_loads(model_copy: Path, trained: Path) -> None:
    card_path = model_copy / "model_card.json"
    card = json.loads(card_path.read_text())
    assert set(card.pop("sha256")) == {"model.keras", "model_card.json"}
    card_path.write_text(json.dumps(card))
    for a, b in zip(weights(model_copy), weights(trained), strict=True):
        np.testing.assert_array_equal(a, b)


# ----------------------------------------------------------------- unfinished predictions


class Stop(Exception):
    pass


@pytest.mark.faults
def test_incomplete_prediction_is_refused_until_resumed(
    example_store_path: Path, trained: Path, tmp_path: Path
) -> None:
    from fnstore.predict.run import predict

    out = tmp_path / "p"

    def interrupt(i: int) -> None:
        raise Stop(i)

    with pytest.raises(Stop):
        predict(trained, example_store_path, out, "GM12878", chunk_bins=4096, on_chunk=interrupt)
    zarr_path = out / "F.YY1.GM12878.zarr"
    message = "incomplete prediction (interrupted run?): finish it with fnstore predict --resume"
    runner = CliRunner()
    ens = runner.invoke(
        main, ["ensemble", str(tmp_path / "e.zarr"), str(zarr_path), str(zarr_path)]
    )
    one_line_error(ens, f"{zarr_path}: {message}")
    ev = ["evaluate", str(zarr_path), str(example_store_path), "--tf", "YY1", "--cell", "GM12878"]
    one_line_error(runner.invoke(main, ev), f"{zarr_path}: {message}")
    predict(trained, example_store_path, out, "GM12878", chunk_bins=4096, resume=True)
    assert runner.invoke(main, ev).exit_code == 0
    ens = runner.invoke(
        main, ["ensemble", str(tmp_path / "e.zarr"), str(zarr_path), str(zarr_path)]
    )
    assert ens.exit_code == 0, ens.output


def test_predict_and_ensemble_overwrite_only_their_outputs(
    example_store_path: Path, trained: Path, tmp_path: Path
) -> None:
    out = tmp_path / "p"
    foreign = out / "F.YY1.GM12878.zarr"
    foreign.mkdir(parents=True)
    (foreign / "keep.txt").write_text("mine\n")
    result = CliRunner().invoke(
        main, [*predict_args(trained, example_store_path, out), "--overwrite"]
    )
    one_line_error(result, str(foreign), "not an fnstore prediction output")
    assert (foreign / "keep.txt").read_text() == "mine\n"
    shutil.rmtree(foreign)
    assert CliRunner().invoke(main, predict_args(trained, example_store_path, out)).exit_code == 0
    table = out / "F.YY1.GM12878.tab.gz"
    notes = tmp_path / "notes.tsv"
    notes.write_text("just some words\n")
    for target in (notes, out / "F.YY1.GM12878.bw"):
        result = CliRunner().invoke(
            main, ["ensemble", str(target), str(table), str(table), "--overwrite"]
        )
        one_line_error(result, str(target), "not a prediction file")
    assert notes.read_text() == "just some words\n"
    again = CliRunner().invoke(main, ["ensemble", str(notes), str(table), "--overwrite"])
    assert again.exit_code == 1  # still refused; a real prediction file is replaced:
    first = tmp_path / "e.tab.gz"
    assert CliRunner().invoke(main, ["ensemble", str(first), str(table)]).exit_code == 0
    result = CliRunner().invoke(main, ["ensemble", str(first), str(table), "--overwrite"])
    assert result.exit_code == 0, result.output


@pytest.mark.faults
def test_folder_swap_without_rename_exchange(tmp_path: Path, monkeypatch) -> None:
    """Where the filesystem has no exchange: two renames through a backup that the next
    write restores when a kill fell between them."""
    from fnstore.io import outputs

    monkeypatch.setattr(outputs, "_exchange", lambda a, b: False)
    final = tmp_path / "out"
    for text in ("old", "new"):
        with outputs.temporary_folder(final) as work:
            (work / "f").write_text(text)
    assert (final / "f").read_text() == "new" and sorted(os.listdir(tmp_path)) == ["out"]
    final.rename(tmp_path / ".out.fnstore-previous")  # killed between the two renames
    with pytest.raises(RuntimeError), outputs.temporary_folder(final):
        raise RuntimeError
    assert (final / "f").read_text() == "new" and sorted(os.listdir(tmp_path)) == ["out"]
