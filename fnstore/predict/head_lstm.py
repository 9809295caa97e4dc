"""The fast scorer's BiLSTM, rewritten for inference: same scores bit for bit, ~15 % faster.

The per-window head is ~85 % of the fast path's time (docs/backends.md), and its LSTM is
most of the head. Keras's LSTM cell computes, at every step, the input's projection
``x_t @ W`` next to the recurrent one ``h @ U``; with recurrent dropout (every fnstore
preset) it even runs implementation 1, eight small matmuls a step, and draws dropout masks
it does not use at inference. The input projections do not depend on the recurrence, so
:class:`InferenceBiLSTM` computes them for all steps in one matmul per gate and leaves each
step only ``h @ U`` and the gates. Every output element is formed by the same float
operations in the same order as in Keras's cell (a row's dot product does not depend on how
many rows a matmul has), so the head's scores equal the model's exactly
(``tests/predict/test_head_lstm.py``), which is what keeps the fast and per-bin paths'
difference at 0.

Importing this module imports Keras.
"""

from __future__ import annotations

from typing import Any

import keras
from keras import layers, ops

#: Keras LSTM cell implementations whose arithmetic is mirrored here (1: per gate, with
#: recurrent dropout; 2: one fused kernel)
IMPLEMENTATIONS = (1, 2)
#: (activation, recurrent activation) names found exact in both implementations. Keras 3's
#: ``hard_sigmoid`` (``relu6(x + 3) / 6``) is not: TensorFlow's graph optimiser regroups
#: the added constant differently in the model's loop, 6e-8 off in implementation 1.
EXACT_ACTIVATIONS = {("tanh", "sigmoid"), ("tanh", "keras1_hard_sigmoid")}


def rewrite_fast_head() -> bool:
    """Whether the fast scorer runs :class:`InferenceBiLSTM` on this backend: on
    TensorFlow (~15 % faster, bit-identical); JAX compiles Keras's own loop already.

    Returns
    -------
    bool
        True on TensorFlow.
    """
    return keras.backend.backend() == "tensorflow"


def rewritable(bilstm: Any) -> bool:
    """Whether :class:`InferenceBiLSTM` reproduces ``bilstm`` exactly.

    Parameters
    ----------
    bilstm
        A Keras layer.

    Returns
    -------
    bool
        True for a ``Bidirectional(LSTM(return_sequences=True), merge_mode="concat")`` of
        float32 cells in a mirrored implementation with activations of
        :data:`EXACT_ACTIVATIONS`, without state.
    """
    if not isinstance(bilstm, layers.Bidirectional) or bilstm.merge_mode != "concat":
        return False
    for lstm in (bilstm.forward_layer, bilstm.backward_layer):
        if not isinstance(lstm, layers.LSTM) or not lstm.return_sequences or lstm.stateful:
            return False
        cell = lstm.cell
        if cell.implementation not in IMPLEMENTATIONS or cell.compute_dtype != "float32":
            return False
        names = (_name(cell.activation), _name(cell.recurrent_activation))
        if names not in EXACT_ACTIVATIONS:
            return False
    return bilstm.backward_layer.go_backwards and not bilstm.forward_layer.go_backwards


def _name(function: Any) -> str:
    return str(getattr(function, "__name__", function))


def _gate_inputs(cell: Any, steps: Any) -> list[list[Any]]:
    """Each step's input part of the gate pre-activations, from one matmul over all
    ``steps`` ``(T, rows, F)``: per gate ``x @ W_g + b_g`` (implementation 1), or one
    ``x @ W`` (implementation 2, whose bias is added after the recurrent part)."""
    n_steps, width = steps.shape[0], steps.shape[2]
    flat = ops.reshape(steps, (-1, width))
    if cell.implementation == 1:
        kernels = ops.split(cell.kernel, 4, axis=1)
        biases = ops.split(cell.bias, 4, axis=0) if cell.use_bias else [None] * 4
        gates = []
        for k, b in zip(kernels, biases, strict=True):
            x = ops.matmul(flat, k)
            if b is not None:
                x = x + b
            gates.append(ops.unstack(ops.reshape(x, (n_steps, -1, cell.units)), axis=0))
        return [list(step) for step in zip(*gates, strict=True)]
    x = ops.reshape(ops.matmul(flat, cell.kernel), (n_steps, -1, 4 * cell.units))
    return [[step] for step in ops.unstack(x, axis=0)]


def _run(cell: Any, steps: Any) -> list[Any]:
    """The cell over ``steps`` ``(T, rows, F)`` from a zero state: the output of each step."""
    act, rec = cell.activation, cell.recurrent_activation
    units = cell.units
    inputs = _gate_inputs(cell, steps)
    h = c = ops.zeros_like(inputs[0][0][:, :units])
    if cell.implementation == 1:
        u_i, u_f, u_c, u_o = (
            cell.recurrent_kernel[:, g * units : (g + 1) * units] for g in range(4)
        )
    outputs = []
    for x in inputs:
        if cell.implementation == 1:
            x_i, x_f, x_c, x_o = x
            i = rec(x_i + ops.matmul(h, u_i))
            f = rec(x_f + ops.matmul(h, u_f))
            c = f * c + i * act(x_c + ops.matmul(h, u_c))
            o = rec(x_o + ops.matmul(h, u_o))
        else:
            z = ops.add(x[0], ops.matmul(h, cell.recurrent_kernel))
            if cell.use_bias:
                z = ops.add(z, cell.bias)
            z0, z1, z2, z3 = ops.split(z, 4, axis=1)
            i, f, o = rec(z0), rec(z1), rec(z3)
            c = f * c + i * act(z2)
        h = o * act(c)
        outputs.append(h)
    return outputs


class InferenceBiLSTM(layers.Layer):
    """A model's ``Bidirectional(LSTM)`` for inference, sharing its weights (see module).

    Parameters
    ----------
    bilstm
        The model's layer; :func:`rewritable` must hold for it.
    **kwargs
        Passed to :class:`keras.layers.Layer` (``name``).
    """

    def __init__(self, bilstm: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not rewritable(bilstm):
            raise ValueError(f"{bilstm.name}: not a Bidirectional LSTM this layer mirrors")
        self.bilstm = bilstm

    def call(self, x: Any) -> Any:
        """The BiLSTM's output sequence, as the model's layer gives it at inference.

        Parameters
        ----------
        x : tensor
            ``(rows, T, F)`` pooled features.

        Returns
        -------
        tensor
            ``(rows, T, 2 * units)``: forward outputs then backward ones (``concat``).
        """
        steps = ops.transpose(x, (1, 0, 2))
        forward = _run(self.bilstm.forward_layer.cell, steps)
        backward = _run(self.bilstm.backward_layer.cell, ops.flip(steps, axis=0))[::-1]
        return ops.concatenate([ops.stack(forward, axis=1), ops.stack(backward, axis=1)], axis=-1)

    def compute_output_shape(self, input_shape: tuple[Any, ...]) -> tuple[Any, ...]:
        """Keras's shape inference for the functional head model.

        Parameters
        ----------
        input_shape : tuple
            ``(rows, T, F)``.

        Returns
        -------
        tuple
            ``(rows, T, 2 * units)``.
        """
        units = self.bilstm.forward_layer.cell.units
        return (*input_shape[:2], 2 * units)


__all__ = ["InferenceBiLSTM", "rewritable", "rewrite_fast_head"]
