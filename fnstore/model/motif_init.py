"""First-layer kernels initialised from motifs (FactorNet's ``-mo`` option)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import keras
import numpy as np

from fnstore.errors import InputError
from fnstore.model.card import CONV_LAYER


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

    ``motifs`` are :class:`fnstore.io.meme.Motif` objects or ``(width, 4)`` probability
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

    Parameters
    ----------
    model : keras.Model
        Changed in place: the weights of ``layer_name``.
    motifs : sequence
        :class:`~fnstore.io.meme.Motif` objects or ``(width, 4)`` ACGT probability arrays.
    mode : str
        ``"log-odds"`` or ``"centred"``.
    first_kernel : int
        First kernel written; the layer needs ``first_kernel + 2 * len(motifs)`` kernels.
    pseudocount : float
        Added to probabilities before the log-odds.
    background : sequence of float, optional
        ACGT background frequencies for the log-odds; None: uniform.
    scale : float
        Factor applied to the weights.
    layer_name : str
        The Conv1D layer to write; default the first convolution.

    Returns
    -------
    list of int
        The kernel indices written, forward then reverse complement per motif.
    """
    from fnstore.io.meme import log_odds, reverse_complement

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
