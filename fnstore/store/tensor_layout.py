"""Axis order and dtype of one-hot windows for other frameworks, shared by the training
sampler's batches and ``export --what sequence``.

Keras (and JAX's ``conv_general_dilated`` with ``"NWC"``) want windows as ``N x L x C``
(batch, length, channels); PyTorch's ``Conv1d`` and DeepSEA/Basset-style code want
``N x C x L``. The sampler gathers ``NLC`` in one compiled pass and export builds ``NLC``
from base codes, so both convert here, once, at the edge.
"""

from __future__ import annotations

import numpy as np

from fnstore.errors import InputError

LAYOUTS = ("NLC", "NCL")


def check_layout(layout: str, option: str = "layout") -> str:
    """``layout`` upper-cased, or an error naming the choices.

    Parameters
    ----------
    layout : str
        ``"NLC"`` or ``"NCL"`` (any case).
    option : str
        The option or argument name for the error.

    Returns
    -------
    str
        ``"NLC"`` or ``"NCL"``.

    Raises
    ------
    InputError
        For anything else.
    """
    value = str(layout).upper()
    if value not in LAYOUTS:
        raise InputError(option, f"must be NLC or NCL, got {layout!r}")
    return value


def to_layout(x: np.ndarray, layout: str, dtype: str | np.dtype | None = None) -> np.ndarray:
    """Windows ``(N, L, C)`` in ``layout`` and ``dtype`` (C-contiguous; no copy when unchanged).

    Parameters
    ----------
    x : numpy.ndarray
        ``(N, L, C)`` windows.
    layout : {"NLC", "NCL"}
        The axis order wanted.
    dtype : str or numpy.dtype, optional
        The dtype wanted (default: ``x``'s).

    Returns
    -------
    numpy.ndarray
        ``(N, L, C)`` or ``(N, C, L)``.
    """
    if layout == "NCL":
        x = x.transpose(0, 2, 1)
    return np.ascontiguousarray(x, dtype=dtype)
