"""Keras 1 HDF5 weights of a FactorNet model: checked against the published models, read,
and converted to the layout of fnstore's Keras 3 layers.

Why a registry of hashes: FactorNet's HDF5 files carry no checksum, and HDF5 reads flipped
bytes inside a weight array as other numbers, so a damaged download would import and
predict wrongly without a word. ``legacy_models.json`` (beside this module, written by
``scripts/legacy_registry.py`` from the released model folders) holds the SHA-256 of every
published model's ``model.json`` and weight files. A ``model.json`` found there whose
weights hash differently is refused; an unknown ``model.json`` (a model trained by the
user, or an edited architecture) imports, and the card says ``"published": false``.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from fnstore.errors import InputError
from fnstore.io.files import sha256sum
from fnstore.model.card import CONV_LAYER

REGISTRY_FILE = Path(__file__).with_name("legacy_models.json")


@functools.cache
def published_models() -> dict[str, dict[str, Any]]:
    """The registry: model folder name -> ``{"model.json": sha256, "weights": {file: sha256}}``.

    Returns
    -------
    dict
        One entry per published FactorNet model folder.
    """
    return dict(json.loads(REGISTRY_FILE.read_text())["models"])


def check_published(
    model_json: str | os.PathLike, weights_file: str | os.PathLike
) -> dict[str, Any]:
    """Compare a legacy model's files with the published ones.

    Parameters
    ----------
    model_json : str or os.PathLike
        The folder's ``model.json``.
    weights_file : str or os.PathLike
        The HDF5 weights about to be imported.

    Returns
    -------
    dict
        ``{"published": bool, "weights_sha256": str}`` and, for a published model,
        ``"published_model"`` (its folder name).

    Raises
    ------
    InputError
        Naming ``weights_file`` when ``model_json`` is a published one and the weights
        are none of that model's published weight files.
    """
    arch_hash, weights_hash = sha256sum(model_json), sha256sum(weights_file)
    same_arch = {
        name: entry
        for name, entry in published_models().items()
        if entry["model.json"] == arch_hash
    }
    for name, entry in sorted(same_arch.items()):
        if weights_hash in entry["weights"].values():
            return {"published": True, "published_model": name, "weights_sha256": weights_hash}
    if same_arch:
        folder = Path(model_json).parent.name
        names = [folder] if folder in same_arch else sorted(same_arch)
        raise InputError(
            weights_file,
            f"differs from the published FactorNet weights for {' or '.join(names)}: "
            "damaged or modified",
        )
    return {"published": False, "weights_sha256": weights_hash}


def read_keras1_weights(path: str | os.PathLike) -> dict[str, dict[str, np.ndarray]]:
    """``{layer: {weight_name: array}}`` from a Keras 1 HDF5 weights file.

    Handles files from ``save_weights`` (layers at the root) and ``model.save`` (under
    ``model_weights``); weight names keep Keras 1's spelling (``dense_2_W``).

    Parameters
    ----------
    path : str or os.PathLike
        The HDF5 file.

    Returns
    -------
    dict
        Layer name -> weight name -> array, for layers that have weights.

    Raises
    ------
    InputError
        Naming ``path`` when HDF5 cannot read it or a listed layer or weight is absent.
    """
    import h5py

    try:
        with h5py.File(path, "r") as h5:
            root = h5["model_weights"] if "model_weights" in h5 else h5
            if "layer_names" not in root.attrs:
                raise InputError(path, "not a Keras weights file (no layer_names attribute)")
            out: dict[str, dict[str, np.ndarray]] = {}
            for raw in root.attrs["layer_names"]:
                lname = raw.decode() if isinstance(raw, bytes) else str(raw)
                group = root[lname]
                names = [
                    n.decode() if isinstance(n, bytes) else str(n)
                    for n in group.attrs.get("weight_names", [])
                ]
                if names:
                    out[lname] = {n: np.asarray(group[n]) for n in names}
            return out
    except OSError as exc:
        raise InputError(path, f"cannot read HDF5 weights ({exc})") from None
    except (KeyError, TypeError, ValueError) as exc:  # a listed layer or weight is absent
        raise InputError(
            path, f"damaged Keras weights file ({type(exc).__name__}: {exc})"
        ) from None


# --------------------------------------------------------------------------- conversion


def _pick(weights: Mapping[str, np.ndarray], suffix: str, layer: str, source: str) -> np.ndarray:
    hits = [v for k, v in weights.items() if k.endswith(suffix)]
    if len(hits) != 1:
        raise InputError(source, f"layer {layer}: expected one weight ending in {suffix!r}")
    return hits[0]


def _convert_conv_kernel(w: np.ndarray, flip_kernels: bool = True) -> np.ndarray:
    """Keras 1 ``(width, 1, in, out)`` Theano kernel -> Keras 3 ``(width, in, out)``."""
    if w.ndim != 4 or w.shape[1] != 1:
        raise ValueError(f"expected a (width, 1, in, out) kernel, got {w.shape}")
    k = w[:, 0, :, :]
    return np.ascontiguousarray(k[::-1] if flip_kernels else k)


def _convert_lstm(weights: Mapping[str, np.ndarray], prefix: str, source: str) -> list[np.ndarray]:
    """Per-gate Keras 1 LSTM weights (gates i, c, f, o) -> Keras 3 ``[kernel, recurrent, bias]``
    with gates concatenated in Keras 3 order i, f, c, o."""
    order = ("i", "f", "c", "o")
    parts = {}
    for kind in ("W", "U", "b"):
        parts[kind] = [_pick(weights, f"{prefix}_{kind}_{gate}", prefix, source) for gate in order]
    return [np.concatenate(parts[k], axis=-1) for k in ("W", "U", "b")]


def convert_weights(
    layer_map: Mapping[str, str],
    legacy: Mapping[str, Mapping[str, np.ndarray]],
    flip_kernels: bool = True,
    source: str = "weights",
) -> dict[str, list[np.ndarray]]:
    """Keras 1 weights by layer -> ``{fnstore layer name: weights for set_weights}``.

    Parameters
    ----------
    layer_map : mapping of str to str
        Keras 1 layer name -> fnstore layer name, for the layers that carry weights.
    legacy : mapping
        What :func:`read_keras1_weights` returned.
    flip_kernels : bool, default True
        Reverse convolution kernels along their length (Theano convolved).
    source : str
        The weights file, named in errors.

    Returns
    -------
    dict
        fnstore layer name -> list of arrays in Keras 3 order.
    """
    out: dict[str, list[np.ndarray]] = {}
    for k1_name, ours in layer_map.items():
        if k1_name not in legacy:
            raise InputError(source, f"no weights for layer {k1_name}")
        w = legacy[k1_name]
        if ours == CONV_LAYER:
            try:
                kernel = _convert_conv_kernel(_pick(w, "_W", k1_name, source), flip_kernels)
            except ValueError as exc:
                raise InputError(source, f"layer {k1_name}: {exc}") from None
            out[ours] = [kernel, _pick(w, "_b", k1_name, source)]
        elif ours == "bilstm":
            fwd = [k for k in w if k.startswith("forward_")]
            bwd = [k for k in w if k.startswith("backward_")]
            if not fwd or not bwd:
                raise InputError(source, f"layer {k1_name}: forward/backward LSTM weights missing")
            fwd_prefix = fwd[0].rsplit("_", 2)[0]
            bwd_prefix = bwd[0].rsplit("_", 2)[0]
            out[ours] = _convert_lstm(w, fwd_prefix, source) + _convert_lstm(w, bwd_prefix, source)
        else:
            out[ours] = [_pick(w, "_W", k1_name, source), _pick(w, "_b", k1_name, source)]
    return out
