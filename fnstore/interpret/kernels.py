"""A model's first convolution as arrays: its weights, strand order and activations.

The Keras model is only asked for the weights; everything after that is NumPy, so the
motif analysis (:mod:`~fnstore.interpret.kernel_sites`) runs without TensorFlow.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from fnstore.errors import InputError
from fnstore.model.card import CONV_LAYER
from fnstore.model.tracks import rc_channel_order


@dataclass
class ConvKernels:
    """First-layer weights: ``kernel`` ``(width, channels, n_kernels)``, ``bias`` ``(n_kernels,)``.

    Convolution is cross-correlation (Keras 3), so ``kernel[i]`` weighs the i-th base of
    the window slice in reading order.
    """

    kernel: np.ndarray
    bias: np.ndarray
    activation: str = "relu"

    @property
    def width(self) -> int:
        return int(self.kernel.shape[0])

    @property
    def n_kernels(self) -> int:
        return int(self.kernel.shape[2])


def conv_kernels(model: Any, layer_name: str = CONV_LAYER) -> ConvKernels:
    """The first convolution's weights of a Keras model (by name, else the first Conv1D).

    Parameters
    ----------
    model : keras.Model
        A model whose first convolution has stride 1, dilation 1 and ``valid`` padding.
    layer_name : str
        Name of the layer to read.

    Returns
    -------
    ConvKernels
        float32 weights, bias (zeros when the layer has none) and activation name.

    Raises
    ------
    InputError
        When there is no such layer or its settings are unsupported.
    """
    layer = None
    try:
        layer = model.get_layer(layer_name)
    except ValueError:
        layer = next((lay for lay in _all_layers(model) if type(lay).__name__ == "Conv1D"), None)
    if layer is None:
        raise InputError("model", f"no {layer_name!r} layer and no Conv1D layer")
    config = layer.get_config()
    strides = config.get("strides", (1,))
    dilation = config.get("dilation_rate", (1,))
    if tuple(np.atleast_1d(strides)) != (1,) or tuple(np.atleast_1d(dilation)) != (1,):
        raise InputError("model", f"layer {layer.name!r}: only stride 1, dilation 1 is supported")
    if config.get("padding", "valid") != "valid":
        raise InputError("model", f"layer {layer.name!r}: only 'valid' padding is supported")
    weights = [np.asarray(w, dtype=np.float32) for w in layer.get_weights()]
    kernel = weights[0]
    bias = weights[1] if len(weights) > 1 else np.zeros(kernel.shape[2], np.float32)
    activation = config.get("activation", "relu")
    return ConvKernels(kernel, bias, activation if isinstance(activation, str) else "relu")


def _all_layers(model: Any) -> list[Any]:
    out = []
    for layer in getattr(model, "layers", []):
        out.append(layer)
        out += _all_layers(layer) if hasattr(layer, "layers") else []
    return out


def rc_order_of(model: Any, n_channels: int) -> list[int]:
    """Channel permutation the model uses for its reverse strand (ACGT reversed, tracks kept).

    Parameters
    ----------
    model : keras.Model
        The model; its ``ReverseComplement`` layer is used when it has one.
    n_channels : int
        Input channels, 4 + number of tracks.

    Returns
    -------
    list of int
        Input channel read for each reverse-strand channel.
    """
    for layer in _all_layers(model):
        order = getattr(layer, "order", None)
        if type(layer).__name__ == "ReverseComplement" and order is not None:
            return [int(v) for v in order]
    return rc_channel_order(n_channels - 4)


def conv_activations(x: np.ndarray, conv: ConvKernels) -> np.ndarray:
    """Activations ``(n, L - width + 1, n_kernels)`` of the first layer on inputs ``x``.

    Parameters
    ----------
    x : numpy.ndarray
        Windows ``(n, L, C)``, C matching the kernels.
    conv : ConvKernels
        The layer's weights.

    Returns
    -------
    numpy.ndarray
        float32; ReLU applied unless the layer is linear.
    """
    view = sliding_window_view(x, conv.width, axis=1)  # (n, P, C, w)
    z = np.tensordot(view, conv.kernel, axes=([3, 2], [0, 1])) + conv.bias
    if conv.activation == "linear":
        return z.astype(np.float32, copy=False)
    return np.maximum(z, 0.0, dtype=np.float32)
