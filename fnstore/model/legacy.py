"""Import a published FactorNet model (Keras 1.1.1 on Theano) as an fnstore Keras 3 model.

A FactorNet model folder holds ``model.json`` (Keras 1 architecture), ``best_model.hdf5``
and/or ``final_model.hdf5`` (weights), ``chip.txt`` (output TFs), ``bigwig.txt`` (signal
tracks), ``feature.txt`` (``bigwig``/``meta``/``gencode``) and, for meta models,
``meta.txt``. The importer reads the architecture from ``model.json``, builds the same
network with :func:`fnstore.model.build_model` and converts the weights. Four
things differ between the two Keras generations and are handled here:

* Theano's convolution flips the kernel along its length (a true convolution); Keras 3
  cross-correlates, so convolution kernels are reversed along the length axis.
* Keras 1 stores LSTM weights per gate (``W_i, U_i, b_i, W_c, ..., W_f, ..., W_o``);
  Keras 3 concatenates them in gate order i, f, c, o.
* Keras 1 ``hard_sigmoid`` is ``clip(0.2x + 0.5, 0, 1)``; Keras 3's uses ``x / 6``. The
  LSTM gates therefore use :func:`fnstore.model.keras1_hard_sigmoid`.
* FactorNet fed the reverse-complement window as a second input; fnstore models compute
  it inside (same flip and channel order as FactorNet's data iterator, ``_fwd``/``_rev``
  tracks swapped), so the imported model takes one ``x`` input.

The extra input (metadata, then GENCODE flags) is concatenated after the first dense
layer of each strand and followed by a second dense layer, as in ``model.json``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fnstore.errors import InputError
from fnstore.model.card import CONV_LAYER, read_json
from fnstore.model.legacy_weights import check_published, convert_weights, read_keras1_weights

#: FactorNet's GENCODE feature order (utils.py: cpg, cds, intron, promoter, utr5, utr3),
#: named like the store's annotation tracks.
GENCODE_ANNOTATIONS = ("cpgisland", "cds", "intron", "promoter", "utr5", "utr3")

WEIGHT_FILES = {"best": "best_model.hdf5", "final": "final_model.hdf5"}

# --------------------------------------------------------------------------- reading


@dataclass
class LegacyArchitecture:
    """What ``model.json`` says, in fnstore terms."""

    window: int
    n_channels: int
    n_extra: int
    n_tasks: int
    hyperparameters: dict[str, Any]
    #: Keras 1 layer name -> fnstore layer name, for layers that carry weights
    layer_map: dict[str, str]
    keras_version: str
    inner_activation: str


@dataclass
class LegacyModel:
    """A FactorNet model folder, read but not yet converted."""

    path: Path
    architecture: LegacyArchitecture
    weights_file: Path
    tasks: list[str]
    bigwig_names: list[str]
    features: list[str]
    meta_names: list[str]
    annotations: list[str] = field(default_factory=list)

    @property
    def n_tracks(self) -> int:
        return len(self.bigwig_names)


def _read_names(path: Path, required: bool) -> list[str]:
    """Names from a FactorNet text file: last whitespace field of each non-empty line.

    Model folders list bare names; data folders put a file name first (``file name``),
    so the last field is the name in both.
    """
    if not path.is_file():
        if required:
            raise InputError(path, "missing (needed to import a FactorNet model)")
        return []
    return [line.split()[-1] for line in path.read_text().splitlines() if line.strip()]


def _layer_config(layer: Mapping[str, Any]) -> dict[str, Any]:
    return dict(layer.get("config") or {})


def _parse_architecture(
    model_json: Mapping[str, Any], source: str = "model.json"
) -> LegacyArchitecture:
    """Map a Keras 1 FactorNet ``model.json`` onto :class:`fnstore.model.ModelConfig`.

    Only the FactorNet layer sequence is accepted (conv, dropout, time-distributed dense,
    max pool + bidirectional LSTM or global max pool, dropout, flatten, dense, optional
    concat with an extra input and dense, sigmoid dense, average); anything else raises
    :class:`InputError` rather than importing a different network silently.
    """
    if not isinstance(model_json, Mapping):
        raise InputError(source, "not a Keras model (expected a JSON object)")
    if model_json.get("class_name") not in ("Model", "Sequential"):
        raise InputError(source, f"not a Keras model (class_name {model_json.get('class_name')!r})")
    cfg = model_json.get("config") or {}
    layer_list = cfg.get("layers") if isinstance(cfg, dict) else None
    if not layer_list or not isinstance(layer_list, list):
        raise InputError(source, "no layers in model config")
    for i, layer in enumerate(layer_list):
        if not isinstance(layer, Mapping):
            raise InputError(source, f"layer {i} is not a JSON object")
        for key in ("name", "class_name"):
            if not isinstance(layer.get(key), str):
                raise InputError(source, f"layer {i} has no {key!r}")
    reader = _Keras1Layers(source, {layer["name"]: layer for layer in layer_list})
    try:
        for layer in layer_list:
            reader.read(layer)
        return reader.architecture(str(model_json.get("keras_version", "unknown")))
    except (KeyError, IndexError, TypeError, ValueError, AttributeError) as exc:
        # a field of an otherwise FactorNet-shaped layer is missing or of the wrong type
        raise InputError(
            source, f"malformed Keras 1 model config ({type(exc).__name__}: {exc})"
        ) from None


@dataclass
class _Keras1Layers:
    """What the layers of a Keras 1 ``model.json`` say, gathered one layer at a time."""

    source: str
    by_name: dict[str, Mapping[str, Any]]
    hyper: dict[str, Any] = field(default_factory=dict)
    layer_map: dict[str, str] = field(default_factory=dict)
    seq_shapes: list[list[Any]] = field(default_factory=list)
    extra_inputs: list[str] = field(default_factory=list)
    inner_activation: str = "hard_sigmoid"
    n_tasks: int = 0
    saw_lstm: bool = False

    def bad(self, problem: str) -> InputError:
        return InputError(self.source, problem)

    def inbound(self, layer: Mapping[str, Any]) -> list[str]:
        nodes = layer.get("inbound_nodes") or []
        return [n[0] for node in nodes for n in node]

    def upstream_kind(self, layer: Mapping[str, Any]) -> str | None:
        """Class of the first layer feeding ``layer``, looking through dropouts."""
        sources = self.inbound(layer)
        while sources:
            source = self.by_name.get(sources[0], {})
            if source.get("class_name") != "Dropout":
                return source.get("class_name")
            sources = self.inbound(source)
        return None

    def read(self, layer: Mapping[str, Any]) -> None:
        kind, name, c = layer["class_name"], layer["name"], _layer_config(layer)
        handler = {
            "InputLayer": self._input,
            "Convolution1D": self._conv,
            "Dropout": self._dropout,
            "TimeDistributed": self._time_distributed,
            "MaxPooling1D": self._max_pool,
            "GlobalMaxPooling1D": self._global_pool,
            "Bidirectional": self._bidirectional,
            "Flatten": lambda layer, name, c: None,
            "Dense": self._dense,
            "Merge": self._merge,
        }.get(kind)
        if handler is None:
            raise self.bad(f"unsupported Keras 1 layer {kind} ({name})")
        handler(layer, name, c)

    def _input(self, layer: Mapping[str, Any], name: str, c: dict[str, Any]) -> None:
        shape = c.get("batch_input_shape") or []
        if len(shape) == 3:
            self.seq_shapes.append(shape)
        elif len(shape) == 2:
            self.extra_inputs.append(name)
        else:
            raise self.bad(f"input {name!r} has unexpected shape {shape}")

    def _conv(self, layer: Mapping[str, Any], name: str, c: dict[str, Any]) -> None:
        if c.get("border_mode") != "valid" or c.get("subsample_length", 1) != 1:
            raise self.bad(f"{name}: only valid, stride-1 convolutions are supported")
        if c.get("activation") != "relu" or not c.get("bias", True):
            raise self.bad(f"{name}: expected a relu convolution with bias")
        self.hyper["n_kernels"] = int(c["nb_filter"])
        self.hyper["kernel_width"] = int(c["filter_length"])
        self.layer_map[name] = CONV_LAYER

    def _dropout(self, layer: Mapping[str, Any], name: str, c: dict[str, Any]) -> None:
        # Which dropout it is follows from what feeds it (newer FactorNet versions add
        # dropouts after the extra-input concat and before the sigmoid).
        sources = self.inbound(layer)
        before = self.by_name.get(sources[0], {}) if sources else {}
        kind_before = before.get("class_name")
        knob = {
            "Convolution1D": "conv_dropout",
            "Bidirectional": "recurrent_dropout",
            "GlobalMaxPooling1D": "recurrent_dropout",
            "Merge": "extra_dropout",
            "Dense": "dense_dropout",
        }.get(kind_before)
        if knob is None:
            raise self.bad(f"{name}: dropout after {kind_before} is not part of FactorNet")
        self.hyper[knob] = float(c.get("p", 0.0))

    def _time_distributed(self, layer: Mapping[str, Any], name: str, c: dict[str, Any]) -> None:
        inner = c.get("layer") or {}
        ic = _layer_config(inner)
        if inner.get("class_name") != "Dense" or ic.get("activation") != "relu":
            raise self.bad(f"{name}: only TimeDistributed(Dense(relu)) is supported")
        self.hyper["position_dense"] = int(ic["output_dim"])
        self.layer_map[name] = "position_dense"

    def _max_pool(self, layer: Mapping[str, Any], name: str, c: dict[str, Any]) -> None:
        pool, stride = int(c["pool_length"]), int(c.get("stride") or c["pool_length"])
        if pool != stride or c.get("border_mode", "valid") != "valid":
            raise self.bad(f"{name}: only non-overlapping valid pooling is supported")
        self.hyper["pool_size"] = pool

    def _global_pool(self, layer: Mapping[str, Any], name: str, c: dict[str, Any]) -> None:
        self.hyper["lstm_units"] = 0

    def _bidirectional(self, layer: Mapping[str, Any], name: str, c: dict[str, Any]) -> None:
        inner = c.get("layer") or {}
        ic = _layer_config(inner)
        if inner.get("class_name") != "LSTM" or c.get("merge_mode", "concat") != "concat":
            raise self.bad(f"{name}: only Bidirectional(LSTM, merge_mode='concat') is supported")
        if ic.get("activation") != "tanh" or not ic.get("return_sequences"):
            raise self.bad(f"{name}: expected a tanh LSTM returning sequences")
        self.inner_activation = str(ic.get("inner_activation", "hard_sigmoid"))
        if self.inner_activation not in ("hard_sigmoid", "sigmoid"):
            raise self.bad(f"{name}: unsupported inner_activation {self.inner_activation!r}")
        self.hyper["lstm_units"] = int(ic["output_dim"])
        self.hyper["lstm_dropout"] = float(ic.get("dropout_W", 0.0))
        self.hyper["lstm_recurrent_dropout"] = float(ic.get("dropout_U", 0.0))
        self.layer_map[name] = "bilstm"
        self.saw_lstm = True

    def _dense(self, layer: Mapping[str, Any], name: str, c: dict[str, Any]) -> None:
        if c.get("activation") == "sigmoid":
            self.n_tasks = int(c["output_dim"])
            self.layer_map[name] = "task_sigmoid"
        elif c.get("activation") == "relu":
            after_join = self.upstream_kind(layer) == "Merge"
            self.hyper["extra_dense_units" if after_join else "dense_units"] = int(c["output_dim"])
            self.layer_map[name] = "extra_dense" if after_join else "dense"
        else:
            raise self.bad(f"{name}: unexpected dense activation {c.get('activation')!r}")

    def _merge(self, layer: Mapping[str, Any], name: str, c: dict[str, Any]) -> None:
        mode = c.get("mode")
        sources = self.inbound(layer)
        if mode == "concat":
            if len(sources) != 2 or sources[1] not in self.extra_inputs:
                raise self.bad(f"{name}: expected concat([dense, extra input]), got {sources}")
        elif mode != "ave":
            raise self.bad(f"{name}: unsupported merge mode {mode!r}")

    def architecture(self, keras_version: str) -> LegacyArchitecture:
        """The checked whole: two equal sequence inputs, conv, dense and sigmoid layers."""
        hyper, layer_map, seq_shapes = self.hyper, self.layer_map, self.seq_shapes
        if len(seq_shapes) != 2 or seq_shapes[0] != seq_shapes[1]:
            raise self.bad(
                "expected two sequence inputs (forward and reverse complement) of equal shape"
            )
        if len(self.extra_inputs) > 1:
            raise self.bad("more than one non-sequence input")
        mapped = set(layer_map.values())
        if not self.n_tasks or CONV_LAYER not in mapped or "dense" not in mapped:
            raise self.bad("not a FactorNet architecture (conv, dense and sigmoid layers expected)")
        if not self.saw_lstm:
            hyper.setdefault("lstm_units", 0)
        hyper.setdefault("position_dense", 0)
        window = seq_shapes[0][1]
        if window is None:
            raise self.bad("sequence input has no fixed length")
        n_extra = 0
        if self.extra_inputs:
            extra = _layer_config(self.by_name[self.extra_inputs[0]])
            n_extra = int(extra["batch_input_shape"][1])
            if "extra_dense" not in mapped:
                raise self.bad("extra input is not followed by a dense layer")
        if hyper.get("extra_dense_units") == hyper.get("dense_units"):
            hyper.pop("extra_dense_units", None)
        return LegacyArchitecture(
            window=int(window),
            n_channels=int(seq_shapes[0][2]),
            n_extra=n_extra,
            n_tasks=self.n_tasks,
            hyperparameters=hyper,
            layer_map=layer_map,
            keras_version=keras_version,
            inner_activation=self.inner_activation,
        )


def _read_legacy_dir(path: str | os.PathLike, weights: str = "auto") -> LegacyModel:
    """Read a FactorNet model folder. ``weights``: ``auto`` (best, else final), ``best``,
    ``final`` or a path to an HDF5 file."""
    folder = Path(path)
    if not folder.is_dir():
        raise InputError(folder, "no such FactorNet model folder")
    json_path = folder / "model.json"
    model_json = read_json(json_path, "missing (needed to import a FactorNet model)")
    arch = _parse_architecture(model_json, str(json_path))

    if weights == "auto":
        candidates = [folder / WEIGHT_FILES["best"], folder / WEIGHT_FILES["final"]]
        found = [p for p in candidates if p.is_file()]
        if not found:
            raise InputError(folder, "no best_model.hdf5 or final_model.hdf5")
        weights_file = found[0]
    else:
        weights_file = folder / WEIGHT_FILES[weights] if weights in WEIGHT_FILES else Path(weights)
        if not weights_file.is_file():
            raise InputError(weights_file, "missing weights file")

    tasks = _read_names(folder / "chip.txt", required=True)
    bigwigs = _read_names(folder / "bigwig.txt", required=False)
    features = _read_names(folder / "feature.txt", required=False)
    meta = _read_names(folder / "meta.txt", required="meta" in features)
    annotations = list(GENCODE_ANNOTATIONS) if "gencode" in features else []

    if len(tasks) != arch.n_tasks:
        raise InputError(
            folder / "chip.txt", f"{len(tasks)} TFs but model.json has {arch.n_tasks} outputs"
        )
    if 4 + len(bigwigs) != arch.n_channels:
        raise InputError(
            folder / "bigwig.txt",
            f"{len(bigwigs)} tracks but model.json takes {arch.n_channels} channels (4 + tracks)",
        )
    if "meta" not in features:
        meta = []
    if len(meta) + len(annotations) != arch.n_extra:
        raise InputError(
            folder / "feature.txt",
            f"{len(meta)} metadata + {len(annotations)} GENCODE features but model.json's "
            f"extra input has {arch.n_extra}",
        )
    return LegacyModel(
        path=folder,
        architecture=arch,
        weights_file=weights_file,
        tasks=tasks,
        bigwig_names=bigwigs,
        features=features,
        meta_names=meta,
        annotations=annotations,
    )


def _legacy_model_config(
    legacy: LegacyModel, keras1_hard_sigmoid: bool = True
) -> tuple[Any, dict[str, Any]]:
    """``(ModelConfig, overrides)`` that rebuild ``legacy`` with the factornet-2017 preset."""
    from fnstore.model.config import model_config
    from fnstore.model.tracks import strand_pairs_for as strand_pairs_for_tracks

    arch = legacy.architecture
    overrides = dict(arch.hyperparameters)
    overrides["window"] = arch.window
    if arch.inner_activation == "hard_sigmoid":
        overrides["lstm_recurrent_activation"] = (
            "keras1_hard_sigmoid" if keras1_hard_sigmoid else "hard_sigmoid"
        )
    else:
        overrides["lstm_recurrent_activation"] = arch.inner_activation
    overrides["strand_pairs"] = strand_pairs_for_tracks(legacy.bigwig_names)
    return model_config("factornet-2017", **overrides), overrides


def import_legacy(
    legacy_dir: str | os.PathLike,
    model_dir: str | os.PathLike | None = None,
    *,
    track_aliases: Mapping[str, str] | None = None,
    weights: str = "auto",
    flip_kernels: bool = True,
    keras1_hard_sigmoid: bool = True,
    overwrite: bool = False,
) -> tuple[Any, dict[str, Any]]:
    """Convert a FactorNet model folder into ``(keras_model, card)``; save it to
    ``model_dir`` when given.

    ``model_dir`` is written like ``train``'s output (:func:`fnstore.model.folder.model_output`):
    under its lock, into a temporary folder swapped in only when complete, and over an
    existing model folder only with ``overwrite`` (anything else there is refused).
    ``track_aliases`` renames legacy bigWig names to store track names in the card
    (e.g. ``{"DGF": "DNase"}``); unknown names keep their legacy spelling.
    ``flip_kernels`` and ``keras1_hard_sigmoid`` exist to demonstrate (in tests) that
    both conversions are needed; leave them on. The weights are checked against the
    published models (:mod:`fnstore.model.legacy_weights`): the card's ``legacy`` block
    says ``published`` true or false and records the weights' SHA-256.

    Parameters
    ----------
    legacy_dir : str or os.PathLike
        The FactorNet model folder (``model.json``, weights HDF5 and name lists).
    model_dir : str or os.PathLike, optional
        Where to save the converted model folder; None: only return it.
    track_aliases : mapping of str to str, optional
        Legacy bigWig name -> store track name; a legacy name the model lacks is an
        :class:`InputError`.
    weights : str
        ``"auto"`` (best, else final), ``"best"``, ``"final"`` or a path to an HDF5 file.
    flip_kernels : bool
        Flip convolution kernels (Theano convolved, Keras 3 cross-correlates).
    keras1_hard_sigmoid : bool
        Keep the Keras 1 ``hard_sigmoid`` in the LSTM (else Keras 3's differs).
    overwrite : bool, default False
        Replace ``model_dir`` when it holds a model.

    Returns
    -------
    tuple
        ``(keras.Model, card dict)``.

    Raises
    ------
    InputError
        For a malformed or inconsistent folder, weights that differ from a published
        model's, or a ``model_dir`` that cannot be replaced.
    """
    from fnstore.model.folder import model_output, save_model_dir

    options = {"weights": weights, "flip_kernels": flip_kernels}
    if model_dir is None:
        return _convert(legacy_dir, track_aliases, keras1_hard_sigmoid, **options)
    with model_output(model_dir, overwrite) as work:  # written whole, swapped in when done
        model, card = _convert(legacy_dir, track_aliases, keras1_hard_sigmoid, **options)
        save_model_dir(work, model, card)
    return model, card


def _convert(
    legacy_dir: str | os.PathLike,
    track_aliases: Mapping[str, str] | None,
    keras1_hard_sigmoid: bool,
    weights: str,
    flip_kernels: bool,
) -> tuple[Any, dict[str, Any]]:
    """Read, check and convert a FactorNet folder: ``(keras_model, card)``."""
    from fnstore.model.architecture import build_model
    from fnstore.model.card import make_card

    legacy = _read_legacy_dir(legacy_dir, weights)
    arch = legacy.architecture
    aliases = dict(track_aliases or {})
    unknown = sorted(set(aliases) - set(legacy.bigwig_names))
    if unknown:
        raise InputError(
            "track_aliases",
            f"no legacy track named {', '.join(unknown)} "
            f"(tracks: {', '.join(legacy.bigwig_names) or 'none'})",
        )
    provenance = check_published(legacy.path / "model.json", legacy.weights_file)
    config, _ = _legacy_model_config(legacy, keras1_hard_sigmoid)
    model = build_model(
        legacy.n_tracks,
        arch.n_tasks,
        arch.n_extra,
        config=config,
        name=f"factornet_{legacy.path.name}"[:64],
    )
    converted = convert_weights(
        arch.layer_map,
        read_keras1_weights(legacy.weights_file),
        flip_kernels,
        str(legacy.weights_file),
    )
    for layer_name, values in converted.items():
        layer = model.get_layer(layer_name)
        expected = [tuple(w.shape) for w in layer.get_weights()]
        got = [tuple(v.shape) for v in values]
        if expected != got:
            raise InputError(
                legacy.weights_file,
                f"layer {layer_name}: weight shapes {got}, model needs {expected}",
            )
        layer.set_weights(values)

    card = make_card(
        tasks=[{"tf": tf} for tf in legacy.tasks],
        window=arch.window,
        tracks=[aliases.get(n, n) for n in legacy.bigwig_names],
        annotations=legacy.annotations,
        meta_features=legacy.meta_names,
        preset="factornet-2017",
        hyperparameters=config.to_dict(),
        track_aliases=aliases,
        legacy={
            "source": str(legacy.path.resolve()),
            "name": legacy.path.name,
            "keras_version": arch.keras_version,
            "backend": "theano",
            "weights_file": legacy.weights_file.name,
            **provenance,
            "features": legacy.features,
            "bigwig_names": legacy.bigwig_names,
            "extra_input_order": "meta_features then annotations",
            "flip_kernels": flip_kernels,
            "recurrent_activation": config.lstm_recurrent_activation,
        },
    )
    return model, card


def parse_track_aliases(values: Sequence[str]) -> dict[str, str]:
    """``["DGF=DNase", "Unique35=mappability"]`` -> ``{"DGF": "DNase", ...}``.

    Parameters
    ----------
    values : sequence of str
        ``LEGACY=TRACK`` items; each value may hold several, comma-separated. Anything
        else is an :class:`InputError` naming ``--track-alias``.

    Returns
    -------
    dict of str to str
        Legacy name -> track name (a later item wins).
    """
    out: dict[str, str] = {}
    for value in values:
        for item in value.split(","):
            if not item:
                continue
            old, sep, new = item.partition("=")
            if not sep or not old.strip() or not new.strip():
                raise InputError("--track-alias", f"expected LEGACY=TRACK, got {item!r}")
            out[old.strip()] = new.strip()
    return out
