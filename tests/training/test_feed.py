"""Feeding the device cheaply: uint8 codes + float16 tracks one-hot encoded in the model
give the very windows the sampler builds, train the same weights, and change nothing in
the saved model; mixed precision keeps float32 outputs and a float32 model file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from fnstore.model.architecture import CodesToOneHot  # noqa: E402
from fnstore.training.keras_data import as_codes  # noqa: E402
from fnstore.training.sampler import Sampler  # noqa: E402

TINY = {"window": 400, "lstm_units": 0, "n_kernels": 8, "dense_units": 8}


@pytest.mark.parametrize("dtype", ["float16", "float32"])
def test_codes_rebuild_the_sampler_windows_exactly(example_store, dtype) -> None:
    sampler = Sampler(
        example_store, "YY1", ["GM12878"], batch_size=64, reverse_complement=True, dtype=dtype
    )
    inputs, _ = sampler.batch(0)
    x = inputs["x"].copy()
    x[3, 5:9, :4] = 0  # N bases: all-zero one-hot rows
    fed = as_codes({**inputs, "x": x})
    assert fed["codes"].dtype == np.uint8 and fed["tracks"].dtype == np.float16
    assert set(np.unique(fed["codes"])) <= {0, 1, 2, 3, 4} and (fed["codes"][3, 5:9] == 4).all()
    assert fed["codes"].nbytes + fed["tracks"].nbytes <= x.astype(np.float32).nbytes / 5 + 1
    rebuilt = CodesToOneHot()(fed["codes"], fed["tracks"])
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(rebuilt), x.astype(np.float32))


def _train(store, out: Path, **kw):
    import fnstore

    return fnstore.train(
        store, out, "YY1", ["GM12878"], epochs=1, steps_per_epoch=3, valid_steps=1, verbose=0,
        batch_size=32, honest=False, motifs=("none",), hyperparameters=TINY, **kw,
    )  # fmt: skip


def test_codes_feed_trains_the_same_model_and_saves_the_plain_one(example_store, tmp_path) -> None:
    from fnstore.model.folder import load_model_dir

    _train(example_store, tmp_path / "onehot")
    _train(example_store, tmp_path / "codes", feed="codes")
    plain, _ = load_model_dir(tmp_path / "onehot")
    coded, card = load_model_dir(tmp_path / "codes")
    assert [t.name.split(":")[0] for t in coded.inputs] == [
        t.name.split(":")[0] for t in plain.inputs
    ]
    for a, b in zip(plain.get_weights(), coded.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, atol=1e-6)
    # the checkpoint is the fed model: it loads in safe mode through the registered layer
    ckpt = keras.saving.load_model(tmp_path / "codes" / "checkpoint.keras", safe_mode=True)
    assert ckpt.get_layer("codes_to_one_hot") is not None


def test_mixed_precision_trains_and_saves_float32(example_store, tmp_path) -> None:
    from fnstore.model.folder import load_model_dir

    res = _train(example_store, tmp_path / "mixed", mixed_precision="mixed_bfloat16")
    assert np.isfinite(res.history["loss"]).all()
    model, _ = load_model_dir(tmp_path / "mixed")
    assert {w.dtype for w in model.weights} == {"float32"}
    assert all(layer.dtype_policy.name == "float32" for layer in model.layers)
    assert keras.config.dtype_policy().name == "float32"  # the global policy restored
