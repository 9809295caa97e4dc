"""Saliency: gradients of a model's output with respect to its input, per base and per strand.

For a window ``x`` ``(L, 4 + n_tracks)`` the model returns ``(f(x) + f(rc(x))) / 2``,
``f`` being one strand's sigmoid. We report the gradient of each strand's output with
respect to the *forward* input (the reverse strand's gradient flows back through the
model's own reverse-complement layer, so both are in forward coordinates and directly
comparable), their mean (= the gradient of the model's output), and gradient x input,
which is non-zero only at the base actually present and on the signal tracks: the usual
"letters scaled by importance" picture.

Gradients need automatic differentiation, which Keras 3 does not expose backend-neutrally;
:func:`_gradients` differentiates through :mod:`fnstore.backend` (TensorFlow, JAX or
PyTorch). Everything else is NumPy, and plotting
imports matplotlib/logomaker lazily.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from fnstore.errors import InputError

#: the layer that averages the two strands in fnstore models (fnstore.model)
STRAND_AVERAGE_LAYER = "strand_average"
#: above this many bases the PNG draws summed importance as a line instead of letters
MAX_LETTERS = 1500


def _strand_outputs_model(model: Any) -> Any | None:
    """A model with the same inputs returning ``[forward, reverse]`` strand outputs, or None.

    fnstore models end with an ``Average`` layer named ``strand_average`` over the two
    strands' sigmoids; its inputs are the per-strand outputs.
    """
    import keras

    try:
        layer = model.get_layer(STRAND_AVERAGE_LAYER)
    except ValueError:
        return None
    inputs = layer.input
    if not isinstance(inputs, list | tuple) or len(inputs) != 2:
        return None
    return keras.Model(inputs=model.inputs, outputs=list(inputs))


def _feed(model: Any, x: Any, extra: Any | None) -> dict[str, Any] | Any:
    names = [t.name.split(":")[0] for t in model.inputs]
    if len(names) == 1:
        return x
    if extra is None:
        raise InputError("saliency", f"the model takes inputs {names}; no extra input was given")
    return {"x": x, "extra": extra}


def _gradients(
    model: Any, x: np.ndarray, extra: np.ndarray | None, task: int
) -> tuple[np.ndarray, np.ndarray]:
    """``(outputs (n, S), gradients (S, n, L, C))`` of each of the model's S outputs for ``task``.

    Per-sample gradients come from differentiating the batch sum: samples do not
    interact in inference mode; any Keras backend (:func:`fnstore.backend.output_gradients`).
    """
    from fnstore.backend import output_gradients

    return output_gradients(model, _feed, x, extra, task)


def input_saliency(
    model: Any, x: np.ndarray, extra: np.ndarray | None = None, task: int = 0
) -> dict[str, np.ndarray]:
    """Gradients and gradient x input of output ``task`` for windows ``x`` ``(n, L, C)``.

    Returns ``output`` ``(n,)``, ``output_strands`` ``(n, 2)`` (forward, reverse),
    ``grad`` / ``grad_x_input`` ``(n, L, C)`` of the model output, and
    ``grad_strands`` / ``grad_x_input_strands`` ``(n, 2, L, C)`` of each strand's output,
    in forward coordinates. A model without a ``strand_average`` layer gets NaN strands.

    Parameters
    ----------
    model : keras.Model
        A fnstore model (TensorFlow backend).
    x : numpy.ndarray
        Windows ``(n, L, C)``.
    extra : numpy.ndarray, optional
        ``(n, n_extra)`` rows when the model takes an ``extra`` input.
    task : int
        Model output to explain.

    Returns
    -------
    dict of str to numpy.ndarray
        float32 arrays as listed above.

    Raises
    ------
    InputError
        For a bad shape or task, a missing ``extra``, or a backend other than TensorFlow.
    """
    x = np.asarray(x, dtype=np.float32)
    if x.ndim != 3:
        raise InputError("saliency", f"windows must be (n, L, channels), got shape {x.shape}")
    n_tasks = int(model.outputs[0].shape[-1])
    if not 0 <= task < n_tasks:
        raise InputError("saliency", f"task {task} out of range (model has {n_tasks} outputs)")
    strands = _strand_outputs_model(model)
    if strands is not None:
        out, grads = _gradients(strands, x, extra, task)
        output, grad = out.mean(axis=1), grads.mean(axis=0)
        out_strands, grad_strands = out, np.moveaxis(grads, 0, 1)
    else:
        out, grads = _gradients(model, x, extra, task)
        output, grad = out[:, 0], grads[0]
        out_strands = np.full((x.shape[0], 2), np.nan, np.float32)
        grad_strands = np.full((x.shape[0], 2, *x.shape[1:]), np.nan, np.float32)
    return {
        "output": output.astype(np.float32),
        "output_strands": out_strands.astype(np.float32),
        "grad": grad.astype(np.float32),
        "grad_x_input": (grad * x).astype(np.float32),
        "grad_strands": grad_strands.astype(np.float32),
        "grad_x_input_strands": (grad_strands * x[:, None]).astype(np.float32),
    }


def tile_windows(start: int, end: int, window: int) -> np.ndarray:
    """Window starts covering ``[start, end)``: one centred window, or half-overlapping tiles.

    Parameters
    ----------
    start, end : int
        The region, 0-based half-open.
    window : int
        Window length in bp.

    Returns
    -------
    numpy.ndarray
        int64 window starts, ascending (the first may be negative).
    """
    length = end - start
    if length <= window:
        return np.array([(start + end) // 2 - window // 2], dtype=np.int64)
    n = -(-(length - window) // (window // 2)) + 1
    return np.round(np.linspace(start, end - window, n)).astype(np.int64)


def _nearest_bin(store: Any, chrom: str, centre: int) -> int:
    """Global index of the bin of ``chrom`` whose centre is nearest to ``centre``."""
    lo, hi = store.bin_range(chrom)
    if hi <= lo:
        raise InputError(chrom, "chromosome has no bins")
    k = int(round((centre - store.bin_size / 2) / store.stride))
    return lo + min(max(k, 0), hi - lo - 1)


def region_saliency(
    model: Any,
    card: Mapping[str, Any],
    store: Any,
    cell: str,
    chrom: str,
    start: int,
    end: int,
    task: int = 0,
) -> dict[str, Any]:
    """Saliency of ``chrom:start-end`` in ``cell`` (per base, the window centred nearest).

    A region up to the model's window length is analysed in one window centred on it; a
    longer region is tiled by half-overlapping windows and each base takes the values of
    the window whose centre is nearest. The ``extra`` input uses the bin nearest each
    window's centre.

    Parameters
    ----------
    model : keras.Model
        The model (TensorFlow backend).
    card : Mapping
        Its model card.
    store : Store
        The store to read inputs from.
    cell : str
        Cell whose signals feed the model.
    chrom : str
        Chromosome name.
    start, end : int
        The region, 0-based half-open, on the chromosome.
    task : int
        Model output to explain.

    Returns
    -------
    dict
        Region, task and TF; ``channels``, ``positions``, ``window_starts``,
        ``window_of_base``, window ``output`` and ``output_strands``; per base ``x``,
        ``grad``, ``grad_x_input`` ``(n_bases, C)`` and their ``_strands`` forms
        ``(2, n_bases, C)``.
    """
    from fnstore.predict.inputs import extra_for_bins, read_stretch, resolve_inputs

    length = int(store.chrom_lengths[store.chrom_index(chrom)])
    if not 0 <= start < end <= length:
        raise InputError("--region", f"{chrom}:{start}-{end} is outside {chrom} (length {length})")
    inputs = resolve_inputs(store, card, cell)
    window, tracks = inputs.window, list(inputs.store_tracks)
    starts = tile_windows(start, end, window)
    x = np.stack([read_stretch(store, inputs, chrom, int(s), int(s) + window) for s in starts])
    bins = np.array([_nearest_bin(store, chrom, int(s) + window // 2) for s in starts])
    extra = extra_for_bins(store, inputs, bins)
    sal = input_saliency(model, x, extra, task)

    pos = np.arange(start, end)
    which = np.argmin(np.abs(pos[:, None] - (starts[None, :] + window // 2)), axis=1)
    col = pos - starts[which]
    tasks = card.get("tasks") or [{}]
    result: dict[str, Any] = {
        "chrom": chrom,
        "start": start,
        "end": end,
        "cell": cell,
        "tf": str(tasks[task].get("tf", task)),
        "task": task,
        "channels": np.array(["A", "C", "G", "T", *tracks]),
        "positions": pos,
        "window_starts": starts,
        "window_of_base": which,
        "output": sal["output"],
        "output_strands": sal["output_strands"],
        "x": x[which, col],
    }
    for key in ("grad", "grad_x_input"):
        result[key] = sal[key][which, col]
        result[key + "_strands"] = np.moveaxis(sal[key + "_strands"][which, :, col], 0, 1)
    return result


def _write_saliency(
    result: Mapping[str, Any], out: str | os.PathLike, plot: bool = True
) -> dict[str, Path]:
    """Write ``.npz`` (and ``.png``): ``OUT.npz``/``OUT.png`` if OUT ends in ``.npz``, else
    ``OUT/saliency.npz`` and ``OUT/saliency.png``."""
    target = Path(out)
    if target.suffix == ".npz":
        target.parent.mkdir(parents=True, exist_ok=True)
        npz, png = target, target.with_suffix(".png")
    else:
        target.mkdir(parents=True, exist_ok=True)
        npz, png = target / "saliency.npz", target / "saliency.png"
    np.savez_compressed(npz, **{k: np.asarray(v) for k, v in result.items()})
    paths = {"npz": npz}
    if plot:
        paths["png"] = _plot_saliency(result, png)
    return paths


def _plot_saliency(
    result: Mapping[str, Any], path: str | os.PathLike, max_letters: int = MAX_LETTERS
) -> Path:
    """Letters scaled by gradient x input, each strand's importance, then each signal track."""
    from fnstore.evaluate.plots import new_figure, save_figure

    pos = np.asarray(result["positions"])
    channels = [str(c) for c in result["channels"]]
    gxi = np.asarray(result["grad_x_input"])
    strands = np.asarray(result["grad_x_input_strands"])
    x = np.asarray(result["x"])
    tracks = channels[4:]
    n_panels = 2 + len(tracks)
    width = float(np.clip(pos.size * 0.09, 8, 40))
    fig = new_figure((width, 1.6 * n_panels + 0.6))
    axes = fig.subplots(
        n_panels,
        1,
        sharex=True,
        gridspec_kw={"height_ratios": [2.2] + [1] * (n_panels - 1)},
    )
    ax = axes[0]
    if pos.size <= max_letters:
        import logomaker
        import pandas as pd

        frame = pd.DataFrame(gxi[:, :4], columns=list("ACGT"), index=pos)
        with warnings.catch_warnings():  # an all-zero matrix makes logomaker warn about ylim
            warnings.simplefilter("ignore", UserWarning)
            logomaker.Logo(frame, ax=ax, color_scheme="classic", show_spines=False)
    else:
        ax.fill_between(pos, gxi[:, :4].sum(axis=1), step="mid", lw=0)
    ax.axhline(0, color="0.6", lw=0.5)
    outputs = np.asarray(result["output"]).ravel()
    ax.set_title(
        f"{result['tf']} in {result['cell']}  {result['chrom']}:{result['start']}-"
        f"{result['end']}  output={float(outputs.mean()):.3f}",
        fontsize=9,
    )
    ax.set_ylabel("grad x input", fontsize=8)
    ax = axes[1]
    for s, label in enumerate(("forward strand", "reverse strand")):
        ax.plot(pos, strands[s, :, :4].sum(axis=1), lw=0.8, label=label)
    ax.axhline(0, color="0.6", lw=0.5)
    ax.legend(fontsize=6, loc="upper right")
    ax.set_ylabel("per strand", fontsize=8)
    for t, name in enumerate(tracks):
        ax = axes[2 + t]
        ax.fill_between(pos, x[:, 4 + t], step="mid", color="0.4", lw=0)
        ax.set_ylabel(name, fontsize=8)
        twin = ax.twinx()
        twin.plot(pos, gxi[:, 4 + t], color="tab:red", lw=0.7)
        twin.set_ylabel("grad x input", fontsize=6, color="tab:red")
        twin.tick_params(labelsize=6)
    for ax in axes:
        ax.tick_params(labelsize=7)
    axes[-1].set_xlim(pos[0] - 0.5, pos[-1] + 0.5)
    axes[-1].ticklabel_format(axis="x", useOffset=False, style="plain")
    axes[-1].set_xlabel(str(result["chrom"]), fontsize=8)
    fig.tight_layout()
    return save_figure(fig, path, dpi=100)


def run_saliency(
    model_dir: str | os.PathLike,
    store_path: str | os.PathLike,
    cell: str,
    region: str,
    out: str | os.PathLike,
    *,
    tf: str | None = None,
    plot: bool = True,
) -> dict[str, Any]:
    """``fnstore saliency``: load a model folder and a store, analyse ``region``, write files.

    Parameters
    ----------
    model_dir : str or os.PathLike
        A trained model folder.
    store_path : str or os.PathLike
        The store.
    cell : str
        Cell whose signals feed the model.
    region : str
        ``CHROM:START-END``.
    out : str or os.PathLike
        ``OUT.npz``, or a folder for ``saliency.npz`` / ``saliency.png``.
    tf : str, optional
        Task to explain; default the model's first.
    plot : bool
        Also write the PNG.

    Returns
    -------
    dict
        ``files`` (kind -> path), ``output`` (per window) and ``tf``.
    """
    from fnstore.interpret.regions import parse_region
    from fnstore.model.folder import load_model_dir
    from fnstore.store.read import open_store

    chrom, start, end = parse_region(region)
    model, card = load_model_dir(model_dir)
    task = _task_index(card, tf)
    store = open_store(store_path)
    result = region_saliency(model, card, store, cell, chrom, start, end, task)
    paths = _write_saliency(result, out, plot=plot)
    return {
        "files": {k: str(v) for k, v in paths.items()},
        "output": [float(v) for v in result["output"]],
        "tf": result["tf"],
    }


def _task_index(card: Mapping[str, Any], tf: str | None) -> int:
    """Index of ``tf`` among the card's tasks (0 when not given)."""
    names: Sequence[str] = [str(t.get("tf")) for t in card.get("tasks", [])]
    if tf is None:
        return 0
    if tf not in names:
        raise InputError("--tf", f"{tf!r} is not a task of this model ({', '.join(names)})")
    return names.index(tf)
