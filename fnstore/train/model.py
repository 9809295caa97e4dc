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
last axis rather than ``TimeDistributed(Dense)``: identical maths, ~20x faster.

Importing this module imports Keras; only Keras-using commands import it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import keras
import numpy as np
from keras import layers, ops

from fnstore.errors import InputError
from fnstore.train.tracks import rc_channel_order

MODEL_FILE = "model.keras"
CARD_FILE = "model_card.json"
CARD_FORMAT = "fnstore-model"
CARD_FORMAT_VERSION = 1

#: name of the first convolution layer (motif kernels); interpretation code looks it up
CONV_LAYER = "motif_conv"

# --------------------------------------------------------------------------- custom objects


@keras.saving.register_keras_serializable(package="fnstore", name="keras1_hard_sigmoid")
def keras1_hard_sigmoid(x: Any) -> Any:
    """Keras 1 / Theano ``hard_sigmoid``: ``clip(0.2 x + 0.5, 0, 1)``.

    Keras 3's ``hard_sigmoid`` is ``clip(x / 6 + 0.5, 0, 1)``; legacy FactorNet LSTMs were
    trained with this steeper one and give different outputs with the Keras 3 version.
    """
    return ops.clip(0.2 * x + 0.5, 0.0, 1.0)


@keras.saving.register_keras_serializable(package="fnstore", name="masked_binary_crossentropy")
def masked_binary_crossentropy(y_true: Any, y_pred: Any) -> Any:
    """Binary cross-entropy that ignores labels equal to -1 (missing task for this bin).

    Returns one value per sample: the mean over that sample's observed tasks (0 when it
    has none), so a multi-task batch with holes is not pulled towards 0 or 1 by them.
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
        return ops.take(ops.flip(x, axis=1), self.order, axis=-1)

    def compute_output_shape(self, input_shape: Any) -> Any:
        return input_shape

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(n_tracks=self.n_tracks, strand_pairs=[list(p) for p in self.strand_pairs])
        return config


CUSTOM_OBJECTS = {
    "keras1_hard_sigmoid": keras1_hard_sigmoid,
    "masked_binary_crossentropy": masked_binary_crossentropy,
    "ReverseComplement": ReverseComplement,
}

_RECURRENT_ACTIVATIONS = {
    "sigmoid": "sigmoid",
    "hard_sigmoid": "hard_sigmoid",  # Keras 3's: clip(x/6 + 0.5)
    "keras1_hard_sigmoid": keras1_hard_sigmoid,  # Keras 1 / Theano: clip(0.2x + 0.5)
}

# --------------------------------------------------------------------------- configuration


@dataclass
class ModelConfig:
    """Every architecture hyperparameter; stored in the model card as ``hyperparameters``.

    Defaults are the ``factornet-2017`` preset: the architecture of the published
    ENCODE-DREAM FactorNet models (Keras 1.1.1 ``model.json``; 3 of the 4 released models
    use exactly these values, REST uses 64 kernels, dense 128 and dropout 0.5).
    """

    window: int = 1002
    n_kernels: int = 32
    kernel_width: int = 34
    conv_dropout: float = 0.1
    #: units of the per-position dense layer after the convolution (0 drops the layer)
    position_dense: int = 32
    pool_size: int = 17
    #: LSTM units per direction; 0 replaces pool + LSTM + flatten by a global max pool
    lstm_units: int = 32
    lstm_dropout: float = 0.1
    lstm_recurrent_dropout: float = 0.1
    #: "sigmoid" (Keras 3 default, cuDNN-friendly), "hard_sigmoid" (Keras 3's) or
    #: "keras1_hard_sigmoid" (what Keras 1 FactorNet models were trained with)
    lstm_recurrent_activation: str = "sigmoid"
    #: dropout after the recurrent block ("-p dropout" of FactorNet)
    recurrent_dropout: float = 0.2
    dense_units: int = 64
    #: dropout after concatenating the extra input, before the second dense layer
    extra_dropout: float = 0.0
    #: units of the dense layer after the extra input joins (None: same as dense_units)
    extra_dense_units: int | None = None
    #: dropout just before the sigmoid layer
    dense_dropout: float = 0.0
    #: track index pairs swapped on the reverse strand (``_fwd``/``_rev`` tracks)
    strand_pairs: list[tuple[int, int]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["strand_pairs"] = [list(p) for p in self.strand_pairs]
        return d

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ModelConfig:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise InputError("hyperparameters", f"unknown model option(s): {', '.join(unknown)}")
        values = dict(data)
        if "strand_pairs" in values:
            values["strand_pairs"] = [tuple(int(v) for v in p) for p in values["strand_pairs"]]
        config = cls(**values)
        config.validate()
        return config

    def validate(self) -> None:
        def bad(problem: str) -> InputError:
            return InputError("hyperparameters", problem)

        for name in ("window", "n_kernels", "kernel_width", "pool_size", "dense_units"):
            if int(getattr(self, name)) <= 0:
                raise bad(f"{name} must be positive, got {getattr(self, name)}")
        for name in ("position_dense", "lstm_units"):
            if int(getattr(self, name)) < 0:
                raise bad(f"{name} must be >= 0, got {getattr(self, name)}")
        for f in fields(self):
            if "dropout" in f.name and not 0.0 <= float(getattr(self, f.name)) < 1.0:
                raise bad(f"{f.name} must be in [0, 1), got {getattr(self, f.name)}")
        if self.lstm_recurrent_activation not in _RECURRENT_ACTIVATIONS:
            raise bad(
                f"lstm_recurrent_activation must be one of {sorted(_RECURRENT_ACTIVATIONS)}, "
                f"got {self.lstm_recurrent_activation!r}"
            )
        conv_len = self.window - self.kernel_width + 1
        if conv_len < 1:
            raise bad(f"window {self.window} is shorter than kernel_width {self.kernel_width}")
        if self.lstm_units and conv_len < self.pool_size:
            raise bad(f"window {self.window} leaves {conv_len} positions, fewer than pool_size")


#: Named starting points; any field can be overridden.
PRESETS: dict[str, dict[str, Any]] = {
    # The released ENCODE-DREAM models (Keras 1.1.1 model.json of EGR1/GABPA/HNF4A).
    "factornet-2017": {},
    # Table S1 of the FactorNet paper (-L 1000 -w 26 -k 32 -r 32 -d 128 -p 0.5, pool w/2);
    # the 0.1 dropout after the metadata concat follows the published make_meta_model.
    "paper": {
        "window": 1000,
        "kernel_width": 26,
        "pool_size": 13,
        "n_kernels": 32,
        "position_dense": 32,
        "lstm_units": 32,
        "dense_units": 128,
        "recurrent_dropout": 0.5,
        "dense_dropout": 0.5,
        "extra_dropout": 0.1,
    },
}


def model_config(preset: str = "factornet-2017", **overrides: Any) -> ModelConfig:
    """A validated :class:`ModelConfig` from a preset name plus overrides."""
    if preset not in PRESETS:
        raise InputError("preset", f"unknown preset {preset!r} (choose from {sorted(PRESETS)})")
    values = {**ModelConfig().to_dict(), **PRESETS[preset], **overrides}
    return ModelConfig.from_dict(values)


# --------------------------------------------------------------------------- model


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

    ``config`` (a full :class:`ModelConfig`) wins over ``preset``/``overrides``. Inputs are
    ``x`` and, when ``n_extra > 0``, ``extra``; the output is ``(batch, n_tasks)``
    probabilities, the mean of the forward- and reverse-strand sigmoids.
    """
    cfg = config if config is not None else model_config(preset, **overrides)
    cfg.validate()
    if n_tracks < 0 or n_tasks < 1 or n_extra < 0:
        raise InputError(
            "model", f"bad sizes n_tracks={n_tracks} n_tasks={n_tasks} n_extra={n_extra}"
        )

    x_in = keras.Input(shape=(cfg.window, 4 + n_tracks), name="x")
    inputs = [x_in]
    extra_in = None
    if n_extra:
        extra_in = keras.Input(shape=(n_extra,), name="extra")
        inputs.append(extra_in)
    x_rc = ReverseComplement(n_tracks, cfg.strand_pairs, name="reverse_complement")(x_in)

    # Layers are created once and called on both strands: that is the weight sharing.
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

    head: list[layers.Layer] = []
    concat = None
    if n_extra:
        concat = layers.Concatenate(name="concat_extra")
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
    return keras.Model(inputs=inputs if n_extra else x_in, outputs=out, name=name)


def model_input_sizes(model: keras.Model) -> tuple[int, int, int]:
    """``(window, n_tracks, n_extra)`` of a model built by :func:`build_model`."""
    shapes = {t.name.split(":")[0]: t.shape for t in model.inputs}
    x_shape = shapes.get("x", model.inputs[0].shape)
    n_extra = int(shapes["extra"][-1]) if "extra" in shapes else 0
    return int(x_shape[1]), int(x_shape[2]) - 4, n_extra


# --------------------------------------------------------------------------- motif init


def init_kernels_from_motifs(
    model: keras.Model,
    motifs: Sequence[Any],
    *,
    mode: str = "log-odds",
    first_kernel: int = 0,
    pseudocount: float = 0.001,
    background: Sequence[float] | None = None,
    scale: float = 1.0,
    layer_name: str = CONV_LAYER,
) -> list[int]:
    """Write each motif and its reverse complement into two first-layer kernels.

    ``motifs`` are :class:`fnstore.motifs.Motif` objects or ``(width, 4)`` probability
    arrays. Motif ``k`` goes to kernels ``first_kernel + 2k`` (forward) and ``+ 2k + 1``
    (reverse complement), centred in the kernel width (a motif wider than the kernel is
    cropped to its centre). The sequence channels get the PWM, signal-track channels and
    the bias are zeroed, so the kernel starts as a pure sequence detector.

    ``mode="log-odds"`` (default) writes ``log2((p + pseudocount) / background)`` with rows
    renormalised: FactorNet's ``-mo`` injection, a PWM scanner whose score is the motif
    log-likelihood ratio. ``mode="centred"`` writes ``p - 0.25``, a bounded alternative
    whose response to random sequence averages zero. ``scale`` multiplies either.

    Keras 3 convolution is cross-correlation, so PWMs are written in reading order (no
    flip; FactorNet reversed them only because Theano convolution flips kernels).
    Returns the kernel indices written.
    """
    from fnstore.motifs import log_odds, reverse_complement

    if mode not in ("log-odds", "centred"):
        raise InputError("motif init", f"mode must be 'log-odds' or 'centred', got {mode!r}")
    conv = model.get_layer(layer_name)
    kernel, bias = (np.array(w) for w in conv.get_weights())
    width, channels, n_kernels = kernel.shape
    if first_kernel < 0 or first_kernel + 2 * len(motifs) > n_kernels:
        raise InputError(
            "motif init",
            f"{len(motifs)} motifs need {2 * len(motifs)} kernels from {first_kernel}, "
            f"the layer has {n_kernels}",
        )
    written = []
    for k, motif in enumerate(motifs):
        pwm = np.asarray(getattr(motif, "pwm", motif), dtype=np.float64)
        if pwm.ndim != 2 or pwm.shape[1] != 4:
            raise InputError("motif init", f"motif {k}: PWM must be (width, 4), got {pwm.shape}")
        if pwm.shape[0] > width:
            cut = (pwm.shape[0] - width) // 2
            pwm = pwm[cut : cut + width]
        weights = log_odds(pwm, background, pseudocount) if mode == "log-odds" else pwm - 0.25
        weights = weights * scale
        start = (width - weights.shape[0]) // 2
        for j, w in enumerate((weights, reverse_complement(weights))):
            idx = first_kernel + 2 * k + j
            kernel[:, :, idx] = 0.0
            kernel[start : start + w.shape[0], :4, idx] = w
            bias[idx] = 0.0
            written.append(idx)
    conv.set_weights([kernel, bias])
    return written


# --------------------------------------------------------------------------- model folders


def make_card(
    *,
    tasks: Sequence[Mapping[str, Any]],
    window: int,
    tracks: Sequence[str],
    annotations: Sequence[str] = (),
    meta_features: Sequence[str] = (),
    preset: str | None = None,
    hyperparameters: Mapping[str, Any] | None = None,
    **more: Any,
) -> dict[str, Any]:
    """A model card with every field of the schema present (unknown extras kept)."""
    from fnstore import __version__

    card: dict[str, Any] = {
        "format": CARD_FORMAT,
        "format_version": CARD_FORMAT_VERSION,
        "fnstore_version": __version__,
        "tasks": [dict(t) for t in tasks],
        "window": int(window),
        "tracks": list(tracks),
        "annotations": list(annotations),
        "meta_features": list(meta_features),
        "preset": preset,
        "hyperparameters": dict(hyperparameters or {}),
        "seed": None,
        "train_cells": [],
        "store": None,
        "validation": {},
        "track_aliases": {},
    }
    card.update(more)
    return card


def check_card_matches_model(card: Mapping[str, Any], model: keras.Model, source: str) -> None:
    """Raise :class:`InputError` when the card's sizes disagree with the model's inputs/outputs."""
    window, n_tracks, n_extra = model_input_sizes(model)
    n_tasks = int(model.outputs[0].shape[-1])
    problems = []
    if int(card.get("window", -1)) != window:
        problems.append(f"window {card.get('window')} but the model takes {window}")
    if len(card.get("tracks", [])) != n_tracks:
        problems.append(f"{len(card.get('tracks', []))} tracks but the model takes {n_tracks}")
    n_card_extra = len(card.get("meta_features", [])) + len(card.get("annotations", []))
    if n_card_extra != n_extra:
        problems.append(f"{n_card_extra} meta/annotation features but the model takes {n_extra}")
    if len(card.get("tasks", [])) != n_tasks:
        problems.append(f"{len(card.get('tasks', []))} tasks but the model has {n_tasks} outputs")
    if problems:
        raise InputError(source, "model card does not match the model: " + "; ".join(problems))


def save_model_dir(path: str | os.PathLike, model: keras.Model, card: Mapping[str, Any]) -> Path:
    """Write ``model.keras`` and ``model_card.json`` into folder ``path`` (created if needed).

    The card is completed with ``format``/``format_version``/``fnstore_version`` and
    checked against the model's input and output sizes before anything is written.
    """
    from fnstore import __version__

    out = Path(path)
    full = dict(card)
    full["format"] = CARD_FORMAT
    full["format_version"] = CARD_FORMAT_VERSION
    full.setdefault("fnstore_version", __version__)
    full.setdefault("track_aliases", {})
    check_card_matches_model(full, model, str(out / CARD_FILE))
    out.mkdir(parents=True, exist_ok=True)
    model.save(out / MODEL_FILE)
    tmp = out / (CARD_FILE + ".tmp")
    tmp.write_text(json.dumps(full, indent=2, default=_json_default) + "\n")
    os.replace(tmp, out / CARD_FILE)
    return out


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def read_card(path: str | os.PathLike) -> dict[str, Any]:
    """Read and check ``model_card.json`` of model folder ``path`` (no Keras work)."""
    card_path = Path(path) / CARD_FILE
    if not Path(path).is_dir():
        raise InputError(path, "no such model folder")
    if not card_path.is_file():
        raise InputError(card_path, "missing (not an fnstore model folder)")
    try:
        card = json.loads(card_path.read_text())
    except json.JSONDecodeError as exc:
        raise InputError(card_path, f"not valid JSON ({exc})") from None
    if not isinstance(card, dict) or card.get("format") != CARD_FORMAT:
        raise InputError(card_path, f"'format' is not {CARD_FORMAT!r}")
    version = card.get("format_version")
    if not isinstance(version, int) or version > CARD_FORMAT_VERSION or version < 1:
        raise InputError(
            card_path, f"format_version {version!r} is not supported (this fnstore reads 1)"
        )
    return card


def load_model_dir(path: str | os.PathLike, compile: bool = False) -> tuple[keras.Model, dict]:
    """Load a model folder: ``(keras_model, card)``; the card is checked against the model."""
    card = read_card(path)
    model_path = Path(path) / MODEL_FILE
    if not model_path.is_file():
        raise InputError(model_path, "missing")
    try:
        model = keras.saving.load_model(model_path, compile=compile, custom_objects=CUSTOM_OBJECTS)
    except (OSError, ValueError) as exc:
        raise InputError(model_path, f"cannot load Keras model ({exc})") from None
    check_card_matches_model(card, model, str(Path(path) / CARD_FILE))
    return model, card
