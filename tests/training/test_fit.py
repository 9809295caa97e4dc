"""Training end to end: a planted motif is learned, a real chr20 CTCF run writes every
artefact, and data-parallel training runs on two logical CPU devices."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("keras")

from planted import TINY


def test_learns_planted_motif(planted_store: Path, tmp_path: Path) -> None:
    import fnstore

    out = fnstore.train(
        planted_store,
        tmp_path / "m",
        "PLANT",
        ["C1"],
        hyperparameters=TINY,
        epochs=5,
        patience=5,
        batch_size=32,
        negatives=1,
        learning_rate=0.01,
        seed=1,
        max_shift=20,
        annotations=False,
        metadata=False,
        verbose=0,
    )
    h = out["history"]
    assert h["loss"][-1] < h["loss"][0] and min(h["val_loss"]) < h["val_loss"][0]
    row = out["validation"]["tasks"]["PLANT"]
    assert row["n_positive"] > 20
    assert row["auroc"] > 0.9 and row["auprc"] > 0.85


def test_chr20_ctcf_cli_writes_every_artefact(chr20_store_path: Path, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from fnstore.cli import main
    from fnstore.model.folder import load_model_dir

    motif_file = (
        Path(__file__).resolve().parents[3] / "shared" / "data" / "motifs" / "HOCOMOCOv9.meme"
    )
    args = [
        "train",
        str(chr20_store_path),
        str(tmp_path / "ctcf"),
        "--tf",
        "CTCF",
        "--cells",
        "K562,HepG2",
        "--tracks",
        "DNase",
        "--epochs",
        "2",
        "--steps-per-epoch",
        "3",
        "--valid-steps",
        "2",
        "--batch-size",
        "32",
        "--window",
        "200",
        "--kernels",
        "8",
        "--kernel-width",
        "20",
        "--pool",
        "10",
        "--lstm",
        "4",
        "--dense",
        "8",
        "--quiet",
    ]
    if motif_file.exists():
        args += ["--motif", "CTCF", "--motif-file", str(motif_file)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert "CTCF: balanced validation sample" in result.output
    assert "CTCF in K562 (train-cell): honest auROC" in result.output
    folder = tmp_path / "ctcf"
    for name in (
        "model.keras",
        "model_card.json",
        "checkpoint.keras",
        "history.csv",
        "learning_curve.png",
    ):
        assert (folder / name).stat().st_size > 0, name
    assert (folder / "learning_curve.png").read_bytes()[:4] == b"\x89PNG"
    assert len((folder / "history.csv").read_text().splitlines()) == 3
    model, card = load_model_dir(folder)
    assert card["tasks"] == [{"tf": "CTCF"}] and card["window"] == 200
    assert card["tracks"] == ["DNase"] and card["train_cells"] == ["K562", "HepG2"]
    assert len(card["annotations"]) == 7 and len(card["meta_features"]) == 8
    assert card["store"]["schema_version"] == 2 and card["store"]["store_id"]
    assert "auroc" in card["validation"]["tasks"]["CTCF"]
    honest = card["honest_validation"]
    assert [(r["cell"], r["role"]) for r in honest["results"]] == [
        ("K562", "train-cell"),
        ("HepG2", "train-cell"),
        ("A549", "unseen-cell"),  # CTCF-labelled with DNase, never trained on
    ]
    # the true bin distribution of the validation tail, not the balanced sample
    assert honest["results"][0]["n"] > 50 * card["validation"]["n_examples"]
    assert card["hyperparameters"]["n_kernels"] == 8 and card["seed"] == 0
    assert model.outputs[0].shape[-1] == 1
    # a cell without the requested track is one clear line, not a traceback
    bad = CliRunner().invoke(
        main,
        [
            "train",
            str(chr20_store_path),
            str(tmp_path / "bad"),
            "--tf",
            "CTCF",
            "--cells",
            "K562",
            "--tracks",
            "ATAC",
            "--quiet",
        ],
    )
    assert bad.exit_code == 1 and "ATAC" in bad.output and "Traceback" not in bad.output


MIRRORED = """
import json, sys
import tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
import fnstore
out = fnstore.train(sys.argv[1], sys.argv[2], "PLANT", ["C1"], hyperparameters=json.loads(sys.argv[3]),
                    epochs=1, batch_size=32, steps_per_epoch=4, valid_steps=2, devices=2,
                    annotations=False, metadata=False, verbose=0)
print("REPLICAS", tf.distribute.get_strategy().num_replicas_in_sync, json.dumps(out["history"]))
"""


def test_mirrored_two_logical_cpus(planted_store: Path, tmp_path: Path) -> None:
    env = dict(os.environ, KERAS_BACKEND="tensorflow", TF_CPP_MIN_LOG_LEVEL="2")
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            MIRRORED,
            str(planted_store),
            str(tmp_path / "mirrored"),
            json.dumps(TINY),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    card = json.loads((tmp_path / "mirrored" / "model_card.json").read_text())
    assert card["training"]["devices"] == 2
    assert np.isfinite(card["validation"]["loss"])


def test_lazy_exports_do_not_import_tensorflow() -> None:
    code = (
        "import sys, fnstore; fnstore.Sampler; import fnstore.training.fit; "
        "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_same_run_same_model_while_other_threads_draw_random(
    planted_store: Path, tmp_path: Path
) -> None:
    """A dask worker's other threads draw from Python's global ``random``; that must not
    reach the model's initial weights, dropout seeds or batch order."""
    import random
    import threading

    import fnstore
    from fnstore.model.folder import load_model_dir

    options = {
        "hyperparameters": {**TINY, "conv_dropout": 0.2},
        "epochs": 2,
        "steps_per_epoch": 3,
        "valid_steps": 1,
        "batch_size": 16,
        "seed": 4,
        "annotations": False,
        "metadata": False,
        "verbose": 0,
        "honest": False,
    }
    fnstore.train(planted_store, tmp_path / "quiet", "PLANT", ["C1"], **options)
    stop = threading.Event()

    def draw() -> None:
        while not stop.is_set():
            random.random()

    noisy = threading.Thread(target=draw, daemon=True)
    noisy.start()
    try:
        fnstore.train(planted_store, tmp_path / "noisy", "PLANT", ["C1"], **options)
    finally:
        stop.set()
        noisy.join()
    a, _ = load_model_dir(tmp_path / "quiet")
    b, _ = load_model_dir(tmp_path / "noisy")
    for wa, wb in zip(a.get_weights(), b.get_weights(), strict=True):
        np.testing.assert_array_equal(wa, wb)
