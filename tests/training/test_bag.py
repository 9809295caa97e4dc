"""``--seeds N``: N members averaged into one model folder that predict uses like any other."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from planted import TINY

pytest.importorskip("keras")

OPTIONS = {
    "hyperparameters": TINY,
    "epochs": 1,
    "steps_per_epoch": 3,
    "valid_steps": 1,
    "batch_size": 16,
    "seed": 5,
    "annotations": False,
    "metadata": False,
    "verbose": 0,
}


def test_a_bag_is_the_mean_of_its_members_and_predicts_fast(
    planted_store: Path, tmp_path: Path
) -> None:
    import fnstore
    from fnstore.io.predictions import read_predictions
    from fnstore.model.bag import bag_members
    from fnstore.model.folder import load_model_dir
    from fnstore.predict import predict
    from fnstore.predict.scoring import BagScorer, make_scorer

    result = fnstore.train(planted_store, tmp_path / "bag", "PLANT", ["C1"], seeds=3, **OPTIONS)
    model, card = load_model_dir(tmp_path / "bag")
    members = bag_members(model)
    assert [m.name for m in members] == ["member_0", "member_1", "member_2"]
    assert card["training"]["bag"]["seeds"] == [5, 6, 7]
    assert len(result.history["loss"]) == 3  # one epoch per member, back to back

    # member 0 is the single model of the same seed
    fnstore.train(planted_store, tmp_path / "one", "PLANT", ["C1"], **OPTIONS)
    single, _ = load_model_dir(tmp_path / "one")
    for a, b in zip(members[0].get_weights(), single.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)

    x = np.random.default_rng(0).random((4, TINY["window"], 4)).astype("float32")
    mean = np.mean([np.asarray(m.predict_on_batch(x)) for m in members], axis=0)
    np.testing.assert_allclose(np.asarray(model.predict_on_batch(x)), mean, atol=1e-6)
    assert make_scorer(model, 50)[0].__class__ is BagScorer

    fast = predict(tmp_path / "bag", planted_store, tmp_path / "fast", "C1", progress=False)
    predict(
        tmp_path / "bag", planted_store, tmp_path / "naive", "C1", method="naive", progress=False
    )
    assert fast.method == "fast" and fast.fallback is None
    st = fnstore.open_store(planted_store)

    _, a = read_predictions(next((tmp_path / "fast").glob("*.zarr")), st)
    _, b = read_predictions(next((tmp_path / "naive").glob("*.zarr")), st)
    np.testing.assert_allclose(a, b, atol=1e-5)
    assert result.honest["results"][0]["n"] > 0
