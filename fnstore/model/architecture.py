"""The FactorNet architecture in pure Keras 3, its loss, motif initialisation and model folders.

One sequence input ``x`` ``(batch, L, 4 + n_tracks)`` (one-hot ACGT, then signal tracks in
model-card order) and an optional ``extra`` input ``(batch, n_extra)`` (cell metadata, then
annotation flags). The reverse-complement strand is computed *inside* the model, so every
caller (trainer, predictor, saliency, export) feeds one array and can never pair a window
with the wrong reverse complement. Both strands run through the same layer objects
(shared weights) and their sigmoid outputs are averaged, so predictions are exactly
strand-symmetric, as in FactorNet's Siamese design.

Per strand::

    Conv1D(relu, valid) -> Dropout -> Dense on the last axis (relu) -> MaxPool1D
    -> Bidirectional LSTM (return_sequences) -> Dropout -> Flatten -> Dense(relu)
    [-> concat(extra) -> Dropout -> Dense(relu)] -> Dropout -> Dense(n_tasks, sigmoid)

With ``lstm_units=0`` the pool/LSTM/flatten block becomes a global max pool, which is
what FactorNet's ``-r 0`` did. The per-position dense layer is a plain ``Dense`` on the
last axis rather than ``TimeDistributed(Dense)``: identical maths, much faster
(docs/design.md).

Importing this module imports Keras; only Keras-using commands import it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import keras
from keras import layers, ops

from fnstore.backend import keep_tensorflow_unloaded
from fnstore.errors import InputError
from fnstore.model.card import CONV_LAYER
from fnstore.model.config import ModelConfig, model_config
from fnstore.model.tracks import rc_channel_order


@keras.saving.register_keras_serializable(package="fnstore", name="keras1_hard_sigmoid")
def keras1_hard_sigmoid(x: Any) -> Any:
    """Keras 1 / Theano ``hard_sigmoid``: ``clip(0.2 x + 0.5, 0, 1)``.

    Keras 3's ``hard_sigmoid`` is ``clip(x / 6 + 0.5, 0, 1)``; legacy FactorNet LSTMs were
    trained with this steeper one and give different outputs with the Keras 3 version.

    Parameters
    ----------
    x : tensor
        Any shape.

    Returns
    -------
    tensor
        Same shape, values in [0, 1].
    """
    return ops.clip(0.2 * x + 0.5, 0.0, 1.0)


@keras.saving.register_keras_serializable(package="fnstore", name="masked_binary_crossentropy")
def masked_binary_crossentropy(y_true: Any, y_pred: Any) -> Any:
    """Binary cross-entropy that ignores labels equal to -1 (missing task for this bin).

    Returns one value per sample: the mean over that sample's observed tasks (0 when it
    has none), so a multi-task batch with holes is not pulled towards 0 or 1 by them.

    Parameters
    ----------
    y_true : tensor
        ``(batch, n_tasks)`` labels: 0, 1, or -1 for missing.
    y_pred : tensor
        ``(batch, n_tasks)`` probabilities (clipped to ``[eps, 1 - eps]``).

    Returns
    -------
    tensor
        ``(batch,)`` losses.
    """
    y_pred = ops.convert_to_tensor(y_pred)
    y_true = ops.cast(y_true, y_pred.dtype)
    observed = ops.greater_equal(y_true, 0.0)
    mask = ops.cast(observed, y_pred.dtype)
    target = ops.where(observed, y_true, ops.zeros_like(y_true))
    eps = keras.config.epsilon()
    p = ops.clip(y_pred, eps, 1.0 - eps)
    bce = -(target * ops.log(p) + (1.0 - target) * ops.log(1.0 - p))
    total = ops.sum(bce * mask, axis=-1)
    count = ops.sum(mask, axis=-1)
    return total / ops.maximum(count, 1.0)


@keras.saving.register_keras_serializable(package="fnstore", name="ReverseComplement")
class ReverseComplement(layers.Layer):
    """Reverse complement of ``(batch, L, 4 + n_tracks)``: flip length, permute channels."""

    def __init__(
        self, n_tracks: int = 0, strand_pairs: Sequence[Sequence[int]] = (), **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.n_tracks = int(n_tracks)
        self.strand_pairs = [tuple(int(v) for v in p) for p in strand_pairs]
        self.order = rc_channel_order(self.n_tracks, self.strand_pairs)

    def call(self, x: Any) -> Any:
        """Reverse-complement a batch.

        Parameters
        ----------
        x : tensor
            ``(batch, L, 4 + n_tracks)``.

        Returns
        -------
        tensor
            Same shape: flipped along ``L``, channels permuted by :func:`rc_channel_order`.
        """
        return ops.take(ops.flip(x, axis=1), self.order, axis=-1)

    def compute_output_shape(self, input_shape: Any) -> Any:
        """The layer keeps its input's shape.

        Parameters
        ----------
        input_shape : tuple
            Shape of the batch :meth:`call` is given.

        Returns
        -------
        output_shape : tuple
            ``input_shape`` unchanged.
        """
        return input_shape

    def get_config(self) -> dict[str, Any]:
        """Keras serialisation config.

        Returns
        -------
        dict
            The base layer config plus ``n_tracks`` and ``strand_pairs`` (lists).
        """
        config = super().get_config()
        config.update(n_tracks=self.n_tracks, strand_pairs=[list(p) for p in self.strand_pairs])
        return config


@keras.saving.register_keras_serializable(package="fnstore", name="CodesToOneHot")
class CodesToOneHot(layers.Layer):
    """Base codes ``(batch, L)`` (A=0, C=1, G=2, T=3, N=4) and tracks ``(batch, L, T)`` to
    the model's ``x``: one-hot ACGT (N all zeros) then the tracks, on the device.

    The host then ships one byte a base and two a track value instead of a float one-hot
    row: about 5x fewer bytes per example to copy and queue (docs/backends.md). The
    reverse complement stays inside the model (:class:`ReverseComplement`).
    """

    def call(self, codes: Any, tracks: Any = None) -> Any:
        """One-hot encode ``codes`` and append ``tracks``.

        Parameters
        ----------
        codes : tensor
            ``(batch, L)`` integer codes 0-4.
        tracks : tensor, optional
            ``(batch, L, T)`` signal values.

        Returns
        -------
        tensor
            ``(batch, L, 4 + T)`` in the layer's compute dtype.
        """
        # five classes, N's column dropped: an N row is all zeros on every backend
        hot = ops.one_hot(ops.cast(codes, "int32"), 5, dtype=self.compute_dtype)[..., :4]
        if tracks is None:
            return hot
        return ops.concatenate([hot, ops.cast(tracks, self.compute_dtype)], axis=-1)

    def compute_output_shape(self, codes_shape: Any, tracks_shape: Any = None) -> Any:
        """``(batch, L, 4 + T)``.

        Parameters
        ----------
        codes_shape, tracks_shape : tuple
            Shapes of the inputs.

        Returns
        -------
        output_shape : tuple
            The one-hot window's shape.
        """
        n = 4 + (int(tracks_shape[-1]) if tracks_shape is not None else 0)
        return (*codes_shape, n)


def training_model(model: keras.Model, feed: str = "onehot", float32_out: bool = False) -> Any:
    """``model`` behind the inputs the trainer ships to the device.

    ``feed="codes"``: inputs ``codes`` ``(L,)`` uint8, ``tracks`` ``(L, T)`` float16 (when the
    model has tracks) and ``extra``, one-hot encoded by :class:`CodesToOneHot`. With
    ``float32_out`` the output is cast to float32 (a mixed-precision model's loss needs
    it). The layers, and so the weights, are ``model``'s own: train the wrapper, save
    ``model``; model files keep their one input contract.

    Parameters
    ----------
    model : keras.Model
        A model built by :func:`build_model`.
    feed : {"onehot", "codes"}
        What the host ships.
    float32_out : bool
        Cast the output to float32.

    Returns
    -------
    keras.Model
        ``model`` itself when there is nothing to wrap.
    """
    if feed == "onehot" and not float32_out:
        return model
    window, n_tracks, n_extra = model_input_sizes(model)
    if feed == "codes":
        codes = keras.Input(shape=(window,), dtype="uint8", name="codes")
        tracks = keras.Input(shape=(window, n_tracks), dtype="float16", name="tracks")
        inputs = [codes, tracks] if n_tracks else [codes]
        x = CodesToOneHot(name="codes_to_one_hot")(codes, tracks if n_tracks else None)
    else:
        x = keras.Input(shape=(window, 4 + n_tracks), name="x")
        inputs = [x]
    if n_extra:
        inputs.append(keras.Input(shape=(n_extra,), name="extra"))
        out = model([x, inputs[-1]])
    else:
        out = model(x)
    if float32_out:
        out = layers.Activation("linear", dtype="float32", name="float32_out")(out)
    return keras.Model(inputs, out, name=f"{model.name}_feed")


CUSTOM_OBJECTS = {
    "keras1_hard_sigmoid": keras1_hard_sigmoid,
    "masked_binary_crossentropy": masked_binary_crossentropy,
    "ReverseComplement": ReverseComplement,
    "CodesToOneHot": CodesToOneHot,
}


_RECURRENT_ACTIVATIONS = {
    "sigmoid": "sigmoid",
    "hard_sigmoid": "hard_sigmoid",  # Keras 3's: clip(x/6 + 0.5)
    "keras1_hard_sigmoid": keras1_hard_sigmoid,  # Keras 1 / Theano: clip(0.2x + 0.5)
}


def build_model(
    n_tracks: int,
    n_tasks: int = 1,
    n_extra: int = 0,
    preset: str = "factornet-2017",
    *,
    config: ModelConfig | None = None,
    name: str = "factornet",
    **overrides: Any,
) -> keras.Model:
    """Build the Siamese FactorNet model (uncompiled).

    Parameters
    ----------
    n_tracks
        Signal tracks after the four one-hot channels of ``x``.
    n_tasks
        Outputs (one sigmoid per TF).
    n_extra
        Width of the ``extra`` input (cell metadata then annotation flags); 0: no input.
    preset, overrides
        A :data:`~fnstore.model.config.PRESETS` name and field overrides, used when
        ``config`` is None.
    config
        A full :class:`ModelConfig`; wins over ``preset``/``overrides``.
    name
        The Keras model's name.

    Returns
    -------
    keras.Model
        Inputs ``x`` and, when ``n_extra > 0``, ``extra``; output ``(batch, n_tasks)``
        probabilities, the mean of the forward- and reverse-strand sigmoids.
    """
    cfg = config if config is not None else model_config(preset, **overrides)
    cfg.validate()
    if n_tracks < 0 or n_tasks < 1 or n_extra < 0:
        raise InputError(
            "model", f"bad sizes n_tracks={n_tracks} n_tasks={n_tasks} n_extra={n_extra}"
        )
    keep_tensorflow_unloaded()  # Bidirectional's serializer would import TensorFlow to probe
    x_in = keras.Input(shape=(cfg.window, 4 + n_tracks), name="x")
    extra_in = keras.Input(shape=(n_extra,), name="extra") if n_extra else None
    x_rc = ReverseComplement(n_tracks, cfg.strand_pairs, name="reverse_complement")(x_in)

    # Layers are created once and called on both strands: that is the weight sharing.
    trunk = _trunk_layers(cfg)
    concat = layers.Concatenate(name="concat_extra") if n_extra else None
    head = _head_layers(cfg, n_tasks, bool(n_extra))

    def strand(h: Any) -> Any:
        for layer in trunk:
            h = layer(h)
        if concat is not None:
            h = concat([h, extra_in])
        for layer in head:
            h = layer(h)
        return h

    out = layers.Average(name="strand_average")([strand(x_in), strand(x_rc)])
    # A single-input model takes a bare array; with ``extra`` a list or a dict by input name.
    inputs = [x_in, extra_in] if extra_in is not None else x_in
    return keras.Model(inputs=inputs, outputs=out, name=name)


def _trunk_layers(cfg: ModelConfig) -> list[layers.Layer]:
    """Convolution to the first dense layer: the part of a strand that sees only ``x``."""
    trunk: list[layers.Layer] = [
        layers.Conv1D(
            cfg.n_kernels, cfg.kernel_width, padding="valid", activation="relu", name=CONV_LAYER
        ),
        layers.Dropout(cfg.conv_dropout, name="conv_dropout"),
    ]
    if cfg.position_dense:
        trunk.append(layers.Dense(cfg.position_dense, activation="relu", name="position_dense"))
    if cfg.lstm_units:
        lstm = layers.LSTM(
            cfg.lstm_units,
            return_sequences=True,
            dropout=cfg.lstm_dropout,
            recurrent_dropout=cfg.lstm_recurrent_dropout,
            recurrent_activation=_RECURRENT_ACTIVATIONS[cfg.lstm_recurrent_activation],
            name="lstm",
        )
        trunk += [
            layers.MaxPooling1D(cfg.pool_size, strides=cfg.pool_size, padding="valid", name="pool"),
            layers.Bidirectional(lstm, merge_mode="concat", name="bilstm"),
            layers.Dropout(cfg.recurrent_dropout, name="recurrent_dropout"),
            layers.Flatten(name="flatten"),
        ]
    else:
        trunk += [
            layers.GlobalMaxPooling1D(name="global_pool"),
            layers.Dropout(cfg.recurrent_dropout, name="recurrent_dropout"),
        ]
    trunk.append(layers.Dense(cfg.dense_units, activation="relu", name="dense"))
    return trunk


def _head_layers(cfg: ModelConfig, n_tasks: int, has_extra: bool) -> list[layers.Layer]:
    """After the (optional) join with ``extra``: dense, dropouts and the task sigmoids."""
    head: list[layers.Layer] = []
    if has_extra:
        if cfg.extra_dropout:
            head.append(layers.Dropout(cfg.extra_dropout, name="extra_dropout"))
        head.append(
            layers.Dense(
                cfg.extra_dense_units or cfg.dense_units, activation="relu", name="extra_dense"
            )
        )
    if cfg.dense_dropout:
        head.append(layers.Dropout(cfg.dense_dropout, name="dense_dropout"))
    head.append(layers.Dense(n_tasks, activation="sigmoid", name="task_sigmoid"))
    return head


def model_input_sizes(model: keras.Model) -> tuple[int, int, int]:
    """``(window, n_tracks, n_extra)`` of a model built by :func:`build_model`.

    Parameters
    ----------
    model : keras.Model
        A model with an ``x`` input ``(batch, window, 4 + n_tracks)`` (else its first
        input is taken as ``x``) and optionally an ``extra`` input.

    Returns
    -------
    tuple of int
        Window in bp, signal tracks, and ``extra`` width (0 without that input).
    """
    shapes = {t.name.split(":")[0]: t.shape for t in model.inputs}
    x_shape = shapes.get("x", model.inputs[0].shape)
    n_extra = int(shapes["extra"][-1]) if "extra" in shapes else 0
    return int(x_shape[1]), int(x_shape[2]) - 4, n_extra
