"""The Keras 3 FactorNet model: shapes, strand symmetry, masked loss, motif init, model folders."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("KERAS_BACKEND", "tensorflow")

keras = pytest.importorskip("keras")

from fnstore.errors import InputError  # noqa: E402
from fnstore.model.architecture import build_model, keras1_hard_sigmoid, masked_binary_crossentropy  # noqa: E402
from fnstore.model.card import CONV_LAYER, make_card  # noqa: E402
from fnstore.model.config import ModelConfig, model_config  # noqa: E402
from fnstore.model.folder import load_model_dir, save_model_dir  # noqa: E402
from fnstore.model.motif_init import init_kernels_from_motifs  # noqa: E402
from fnstore.model.tracks import rc_channel_order  # noqa: E402
from fnstore.model.tracks import strand_pairs_for as strand_pairs_for_tracks  # noqa: E402

#: a small architecture so generic tests run in well under a second each
SMALL = {
    "window": 120,
    "kernel_width": 10,
    "pool_size": 6,
    "n_kernels": 8,
    "position_dense": 8,
    "lstm_units": 4,
    "dense_units": 8,
}


def one_hot_batch(rng: np.random.Generator, n: int, length: int, n_tracks: int) -> np.ndarray:
    seq = np.eye(4, dtype=np.float32)[rng.integers(0, 4, size=(n, length))]
    tracks = rng.gamma(0.5, 1.0, size=(n, length, n_tracks)).astype(np.float32)
    return np.concatenate([seq, tracks], axis=-1)


def run(model, x: np.ndarray, extra: np.ndarray | None = None) -> np.ndarray:
    inputs = x if extra is None else {"x": x, "extra": extra}
    return np.asarray(model(inputs, training=False))


@pytest.mark.parametrize(
    ("preset", "window", "width", "pool"),
    [("factornet-2017", 1002, 34, 17), ("paper", 1000, 26, 13)],
)
def test_presets_full_size(preset: str, window: int, width: int, pool: int) -> None:
    keras.utils.set_random_seed(0)
    model = build_model(n_tracks=2, preset=preset)
    conv = model.get_layer(CONV_LAYER)
    assert tuple(conv.kernel.shape) == (width, 6, 32)
    assert model.get_layer("bilstm").output.shape[1] == (window - width + 1) // pool
    assert model.get_layer("bilstm").forward_layer.units == 32
    x = one_hot_batch(np.random.default_rng(0), 2, window, 2)
    assert run(model, x).shape == (2, 1)
    cfg = model_config(preset)
    assert (cfg.window, cfg.kernel_width, cfg.pool_size) == (window, width, pool)


def test_legacy_preset_values() -> None:
    cfg = model_config("factornet-2017")
    assert (cfg.n_kernels, cfg.position_dense, cfg.lstm_units, cfg.dense_units) == (32, 32, 32, 64)
    assert (cfg.conv_dropout, cfg.recurrent_dropout, cfg.dense_dropout) == (0.1, 0.2, 0.0)
    assert (cfg.lstm_dropout, cfg.lstm_recurrent_dropout) == (0.1, 0.1)
    paper = model_config("paper")
    assert (paper.dense_units, paper.recurrent_dropout, paper.dense_dropout) == (128, 0.5, 0.5)


@pytest.mark.parametrize(("n_tasks", "n_extra"), [(1, 0), (1, 6), (5, 0), (5, 14)])
def test_shapes_single_multi_extra(n_tasks: int, n_extra: int) -> None:
    keras.utils.set_random_seed(1)
    model = build_model(1, n_tasks=n_tasks, n_extra=n_extra, **SMALL)
    names = [t.name.split(":")[0] for t in model.inputs]
    assert names == (["x", "extra"] if n_extra else ["x"])
    rng = np.random.default_rng(1)
    x = one_hot_batch(rng, 3, SMALL["window"], 1)
    extra = rng.normal(size=(3, n_extra)).astype(np.float32) if n_extra else None
    out = run(model, x, extra)
    assert out.shape == (3, n_tasks)
    assert ((out > 0) & (out < 1)).all()


def test_no_lstm_and_no_position_dense() -> None:
    model = build_model(
        0,
        n_tasks=2,
        lstm_units=0,
        position_dense=0,
        **{k: v for k, v in SMALL.items() if k not in ("lstm_units", "position_dense")},
    )
    names = {layer.name for layer in model.layers}
    assert "bilstm" not in names and "position_dense" not in names and "global_pool" in names
    x = one_hot_batch(np.random.default_rng(2), 2, SMALL["window"], 0)
    assert run(model, x).shape == (2, 2)


def test_options_are_overridable_and_checked() -> None:
    cfg = model_config("paper", n_kernels=12, lstm_recurrent_activation="keras1_hard_sigmoid")
    assert cfg.n_kernels == 12 and cfg.window == 1000
    assert ModelConfig.from_dict(cfg.to_dict()) == cfg
    assert json.loads(json.dumps(cfg.to_dict())) == cfg.to_dict()
    with pytest.raises(InputError, match="unknown model option"):
        model_config(n_kernel=3)
    with pytest.raises(InputError, match="unknown preset"):
        model_config("danq")
    with pytest.raises(InputError, match="recurrent_dropout"):
        model_config(recurrent_dropout=1.5)
    with pytest.raises(InputError, match="lstm_recurrent_activation"):
        model_config(lstm_recurrent_activation="relu")
    with pytest.raises(InputError, match="shorter than kernel_width"):
        model_config(window=20)


def test_reverse_complement_symmetry() -> None:
    """Averaging the strands makes f(x) == f(RC(x)), with _fwd/_rev tracks swapped."""
    keras.utils.set_random_seed(3)
    tracks = ["DNase", "cuts_fwd", "cuts_rev"]
    pairs = strand_pairs_for_tracks(tracks)
    assert pairs == [(1, 2)]
    model = build_model(3, n_tasks=2, strand_pairs=pairs, **SMALL)
    x = one_hot_batch(np.random.default_rng(3), 4, SMALL["window"], 3)
    rc = x[:, ::-1][:, :, [3, 2, 1, 0, 4, 6, 5]]
    np.testing.assert_allclose(run(model, rc), run(model, x), atol=1e-6)
    # The test can fail: forgetting the strand swap breaks the symmetry.
    wrong = x[:, ::-1][:, :, [3, 2, 1, 0, 4, 5, 6]]
    assert np.abs(run(model, wrong) - run(model, x)).max() > 1e-4
    assert rc_channel_order(3, pairs) == [3, 2, 1, 0, 4, 6, 5]


def test_keras1_hard_sigmoid() -> None:
    z = np.array([-3.0, -1.0, 0.0, 1.0, 2.0, 3.0], dtype=np.float32)
    np.testing.assert_allclose(
        np.asarray(keras1_hard_sigmoid(z)), [0, 0.3, 0.5, 0.7, 0.9, 1.0], atol=1e-7
    )
    assert float(keras.activations.hard_sigmoid(np.float32(1.0))) == pytest.approx(1 / 6 + 0.5)


def test_masked_loss_ignores_missing() -> None:
    y = np.array([[1, -1, 0], [-1, -1, -1]], dtype=np.float32)
    p = np.array([[0.8, 0.3, 0.1], [0.5, 0.5, 0.5]], dtype=np.float32)
    loss = np.asarray(masked_binary_crossentropy(y, p))
    expected = -(np.log(0.8) + np.log(0.9)) / 2
    np.testing.assert_allclose(loss, [expected, 0.0], rtol=1e-5)
    p2 = p.copy()
    p2[0, 1] = 0.999  # changing a masked prediction changes nothing
    np.testing.assert_allclose(np.asarray(masked_binary_crossentropy(y, p2)), loss)
    full = np.asarray(
        masked_binary_crossentropy(np.array([[1, 0]], "f4"), np.array([[0.8, 0.1]], "f4"))
    )
    np.testing.assert_allclose(full, [expected], rtol=1e-5)


def test_training_step_with_masked_labels() -> None:
    keras.utils.set_random_seed(4)
    model = build_model(1, n_tasks=3, n_extra=2, **SMALL)
    # eager: one tiny step does not repay the ~10 s graph/XLA compile on CPU
    model.compile(optimizer="adam", loss=masked_binary_crossentropy, run_eagerly=True)
    rng = np.random.default_rng(4)
    x = one_hot_batch(rng, 8, SMALL["window"], 1)
    extra = rng.normal(size=(8, 2)).astype(np.float32)
    y = rng.integers(-1, 2, size=(8, 3)).astype(np.float32)
    history = model.fit({"x": x, "extra": extra}, y, batch_size=8, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"]).all()


def test_motif_init_writes_pwm_and_reverse_complement() -> None:
    from fnstore.io.meme import Motif, log_odds, reverse_complement

    model = build_model(2, **SMALL)
    pwm = np.array(
        [[0.7, 0.1, 0.1, 0.1], [0.0, 0.0, 1.0, 0.0], [0.1, 0.6, 0.2, 0.1], [0.25, 0.25, 0.25, 0.25]]
    )
    written = init_kernels_from_motifs(model, [Motif("m", pwm), pwm[::-1]], first_kernel=2)
    assert written == [2, 3, 4, 5]
    kernel, bias = (np.asarray(w) for w in model.get_layer(CONV_LAYER).get_weights())
    start = (SMALL["kernel_width"] - 4) // 2
    lo = log_odds(pwm)
    np.testing.assert_allclose(kernel[start : start + 4, :4, 2], lo, rtol=1e-6)
    np.testing.assert_allclose(kernel[start : start + 4, :4, 3], reverse_complement(lo), rtol=1e-6)
    np.testing.assert_allclose(kernel[start : start + 4, :4, 4], log_odds(pwm[::-1]), rtol=1e-6)
    outside = np.ones(SMALL["kernel_width"], bool)
    outside[start : start + 4] = False
    assert (kernel[outside, :, 2:6] == 0).all() and (kernel[:, 4:, 2:6] == 0).all()
    assert (bias[2:6] == 0).all()

    init_kernels_from_motifs(model, [pwm], mode="centred")
    kernel = np.asarray(model.get_layer(CONV_LAYER).kernel)
    np.testing.assert_allclose(kernel[start : start + 4, :4, 0], pwm - 0.25, rtol=1e-6)
    # the forward kernel fires most on the motif's consensus, the RC kernel on its RC
    consensus = np.eye(4)[[0, 2, 1, 0]]
    assert (kernel[start : start + 4, :4, 0] * consensus).sum() == pytest.approx(
        (kernel[start : start + 4, :4, 1] * consensus[::-1, ::-1]).sum()
    )
    with pytest.raises(InputError, match="kernels"):
        init_kernels_from_motifs(model, [pwm] * 5)


def test_save_load_round_trip(tmp_path: Path) -> None:
    keras.utils.set_random_seed(5)
    model = build_model(
        2,
        n_tasks=2,
        n_extra=3,
        lstm_recurrent_activation="keras1_hard_sigmoid",
        strand_pairs=[(0, 1)],
        **SMALL,
    )
    cfg = model_config(**SMALL)
    card = make_card(
        tasks=[{"tf": "CTCF"}, {"tf": "REST"}],
        window=SMALL["window"],
        tracks=["a_fwd", "a_rev"],
        annotations=["cds"],
        meta_features=["GEPC1", "GEPC2"],
        preset="factornet-2017",
        hyperparameters=cfg.to_dict(),
        seed=5,
    )
    save_model_dir(tmp_path / "m", model, card)
    loaded, loaded_card = load_model_dir(tmp_path / "m")
    assert loaded_card["format"] == "fnstore-model" and loaded_card["format_version"] == 1
    assert loaded_card["tasks"] == card["tasks"] and loaded_card["seed"] == 5
    rng = np.random.default_rng(5)
    x = one_hot_batch(rng, 3, SMALL["window"], 2)
    extra = rng.normal(size=(3, 3)).astype(np.float32)
    np.testing.assert_array_equal(run(loaded, x, extra), run(model, x, extra))
    cell = loaded.get_layer("bilstm").forward_layer.cell
    assert cell.recurrent_activation is keras1_hard_sigmoid


def test_model_dir_errors(tmp_path: Path) -> None:
    model = build_model(0, **SMALL)
    card = make_card(tasks=[{"tf": "CTCF"}], window=SMALL["window"], tracks=[])
    with pytest.raises(InputError, match="1 tracks but the model takes 0"):
        save_model_dir(tmp_path / "bad", model, {**card, "tracks": ["DNase"]})
    assert not (tmp_path / "bad").exists()
    save_model_dir(tmp_path / "m", model, card)
    card_path = tmp_path / "m" / "model_card.json"
    stored = json.loads(card_path.read_text())
    card_path.write_text(json.dumps({**stored, "format": "something-else"}))
    with pytest.raises(InputError, match="'format' is not"):
        load_model_dir(tmp_path / "m")
    card_path.write_text(json.dumps({**stored, "format_version": 2}))
    with pytest.raises(InputError, match="format_version 2"):
        load_model_dir(tmp_path / "m")
    card_path.write_text("{not json")
    with pytest.raises(InputError, match="not valid JSON"):
        load_model_dir(tmp_path / "m")
    with pytest.raises(InputError, match="no such model folder"):
        load_model_dir(tmp_path / "nothing")
