"""The fast scorer's rewritten BiLSTM gives the model's scores bit for bit (TensorFlow),
for both Keras cell implementations and every recurrent activation fnstore builds."""

from __future__ import annotations

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from fnstore.model.architecture import build_model  # noqa: E402
from fnstore.predict.head_lstm import (  # noqa: E402
    InferenceBiLSTM,
    rewritable,
    rewrite_fast_head,
)
from fnstore.predict.scoring import WindowScorer  # noqa: E402


def _stretch(n: int, window: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = np.zeros(((n - 1) * 50 + window, 5), dtype=np.float32)
    x[np.arange(len(x)), rng.integers(0, 4, len(x))] = 1.0
    x[:, 4] = rng.gamma(0.5, 2.0, len(x))
    return x


@pytest.mark.parametrize(
    ("recurrent_dropout", "activation"),
    [(0.1, "sigmoid"), (0.0, "sigmoid"), (0.1, "hard_sigmoid"), (0.0, "keras1_hard_sigmoid")],
)
def test_fast_scores_equal_the_model_exactly(recurrent_dropout, activation):
    """recurrent_dropout > 0 makes Keras run cell implementation 1, 0 implementation 2."""
    keras.utils.set_random_seed(3)
    model = build_model(
        1, 2, 0, "paper", window=300, lstm_units=8,
        lstm_recurrent_dropout=recurrent_dropout, lstm_recurrent_activation=activation,
    )  # fmt: skip
    bilstm = model.get_layer("bilstm")
    assert bilstm.forward_layer.cell.implementation == (1 if recurrent_dropout else 2)
    n = 40
    x = _stretch(n, 300)
    fast = WindowScorer(model, 50, "fast", batch_size=32)
    naive = WindowScorer(model, 50, "naive", batch_size=32)
    head_lstm = fast.head_model.get_layer(index=1)
    # Keras 3's hard_sigmoid is left to Keras: its rewrite was 6e-8 off (head_lstm.py)
    mirrored = rewrite_fast_head() and activation != "hard_sigmoid"
    assert isinstance(head_lstm, InferenceBiLSTM) == mirrored
    # the rewrite shares the model's weights rather than copying them
    assert {id(w) for w in head_lstm.weights} <= {id(w) for w in bilstm.weights}
    diff = np.abs(fast.score([(x, n, None)])[0] - naive.score([(x, n, None)])[0]).max()
    assert diff <= (0.0 if rewrite_fast_head() else 1e-6)


def test_layer_equals_keras_bidirectional_on_its_own():
    keras.utils.set_random_seed(0)
    bilstm = keras.layers.Bidirectional(
        keras.layers.LSTM(5, return_sequences=True, recurrent_dropout=0.2), merge_mode="concat"
    )
    x = np.random.default_rng(1).normal(size=(7, 11, 3)).astype(np.float32)
    want = keras.ops.convert_to_numpy(bilstm(x, training=False))
    got = keras.ops.convert_to_numpy(InferenceBiLSTM(bilstm)(x))
    assert got.shape == want.shape == (7, 11, 10)
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-6)


def test_what_is_not_mirrored_is_left_to_keras():
    lstm = keras.layers.LSTM(4, return_sequences=True)
    assert rewritable(keras.layers.Bidirectional(lstm, merge_mode="concat"))
    assert not rewritable(keras.layers.Bidirectional(lstm, merge_mode="sum"))
    assert not rewritable(keras.layers.Bidirectional(keras.layers.LSTM(4), merge_mode="concat"))
    assert not rewritable(keras.layers.Bidirectional(keras.layers.GRU(4, return_sequences=True)))
    assert not rewritable(lstm)
    hard = keras.layers.LSTM(4, return_sequences=True, recurrent_activation="hard_sigmoid")
    assert not rewritable(keras.layers.Bidirectional(hard, merge_mode="concat"))
    with pytest.raises(ValueError, match="not a Bidirectional LSTM"):
        InferenceBiLSTM(lstm)
