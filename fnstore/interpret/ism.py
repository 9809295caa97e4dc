"""In-silico mutagenesis (ISM): every single-base substitution of a window, scored.

Why ISM and not gradients for these models: a FactorNet model averages a forward and a
reverse-complement strand, and gradient attributions of such Siamese models are unreliable
(saturated ReLUs, the two strands' gradients cancelling); the effect of actually changing
a base is what a variant would do. For a window of ``L`` bases that is ``3 L`` mutated
windows (N positions are left alone: effect 0 at every base).

Effects are ``(window, position, base, task)``: ``score(window with base b at position i)
- score(window)``, so the reference base's entry is exactly 0. ``method="fast"`` scores the
``3 L`` mutants (and the reference, in the same batch) through the exact fast path of
:mod:`fnstore.predict.scoring` as one-window items, the path ``fnstore predict`` and
``fnstore variants`` use; ``"naive"`` feeds the same arrays to ``model.predict``. They agree
to float rounding (tested to 1e-5). Mutants are built ``chunk`` positions at a time, so
memory stays ``3 * chunk`` windows whatever ``L``.

For TF-MoDISco-lite the effects are turned into *hypothetical contributions* the usual way
for ISM: each position's four effects minus their mean (the reference base then carries
minus the mean effect of mutating it), written channels-first ``(N, 4, L)`` as ``modisco
motifs`` reads them (see docs/variants.md).

Importing this module does not import Keras; plotting imports matplotlib/logomaker lazily.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from fnstore.errors import InputError

#: positions mutated per scoring call (3 mutants each)
DEFAULT_CHUNK = 128

ScoreFn = Callable[[np.ndarray, np.ndarray | None], np.ndarray]


def substitutions(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Position and new base of every single-base substitution of one window.

    Parameters
    ----------
    x : numpy.ndarray
        ``(L, C)`` window, one-hot bases in its first four channels (N: all zero).

    Returns
    -------
    positions, bases : numpy.ndarray
        int64, position-major with bases ascending; 3 per known base, none at N.
    """
    onehot = x[:, :4] > 0
    known = np.flatnonzero(onehot.any(axis=1))
    alt = ~onehot[known]
    pos = np.repeat(known, 3)
    bases = np.nonzero(alt)[1]
    return pos, bases.astype(np.int64)


def _window_ism(
    score: ScoreFn, x: np.ndarray, extra: np.ndarray | None, chunk: int
) -> tuple[np.ndarray, np.ndarray]:
    """``(reference score (T,), effects (L, 4, T))`` of one window."""
    pos, bases = substitutions(x)
    ref_score: np.ndarray | None = None
    effects: np.ndarray | None = None
    for a in range(0, max(pos.size, 1), 3 * chunk):
        p, b = pos[a : a + 3 * chunk], bases[a : a + 3 * chunk]
        first = 1 if ref_score is None else 0
        batch = np.repeat(x[None], p.size + first, axis=0)
        rows = np.arange(first, first + p.size)
        batch[rows, p, :4] = 0.0
        batch[rows, p, b] = 1.0
        extras = None if extra is None else np.repeat(extra[None], len(batch), axis=0)
        out = np.asarray(score(batch, extras), dtype=np.float32)
        if ref_score is None:
            ref_score = out[0]
            effects = np.zeros((x.shape[0], 4, out.shape[1]), dtype=np.float32)
        effects[p, b] = out[first:] - ref_score
    assert ref_score is not None and effects is not None
    return ref_score, effects


def ism(
    x: np.ndarray,
    extra: np.ndarray | None = None,
    *,
    scorer: Any = None,
    model: Any = None,
    chunk: int = DEFAULT_CHUNK,
    batch_size: int = 1024,
) -> tuple[np.ndarray, np.ndarray]:
    """Reference scores and ISM effects of windows, fast (``scorer``) or naive (``model``).

    Parameters
    ----------
    x : numpy.ndarray
        ``(n, L, C)`` float32 windows.
    extra : numpy.ndarray, optional
        ``(n, n_extra)`` rows when the model takes an ``extra`` input.
    scorer : WindowScorer or BagScorer, optional
        From :func:`fnstore.predict.scoring.make_scorer`: the fast method.
    model : keras.Model, optional
        Scored with ``model.predict`` (the naive method) when no scorer is given.
    chunk : int
        Positions mutated per scoring call.
    batch_size : int
        ``model.predict`` batch size (naive).

    Returns
    -------
    ref, effects : numpy.ndarray
        float32 ``(n, T)`` and ``(n, L, 4, T)``; the reference base's effect is 0.
    """
    if scorer is None and model is None:
        raise InputError("ism", "give a scorer (fast) or a model (naive)")
    if scorer is not None:
        from fnstore.variants.score import score_windows

        def score(xs: np.ndarray, ex: np.ndarray | None) -> np.ndarray:
            return score_windows(scorer, xs, ex)
    else:

        def score(xs: np.ndarray, ex: np.ndarray | None) -> np.ndarray:
            feed = xs if ex is None else [xs, ex]
            return model.predict(feed, batch_size=batch_size, verbose=0)

    refs, effects = [], []
    for i in range(len(x)):
        r, e = _window_ism(score, x[i], None if extra is None else extra[i], chunk)
        refs.append(r)
        effects.append(e)
    return np.stack(refs), np.stack(effects)


def hypothetical_contributions(effects: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Mean-centred ISM effects per position (0 at N positions), for TF-MoDISco.

    Parameters
    ----------
    effects : numpy.ndarray
        ``(n, L, 4)`` effects of one task.
    x : numpy.ndarray
        ``(n, L, C)`` the windows (one-hot bases first).

    Returns
    -------
    numpy.ndarray
        float32 ``(n, L, 4)``; times the one-hot sequence it gives the contribution of
        each present base.
    """
    hyp = effects - effects.mean(axis=-1, keepdims=True)
    known = x[..., :4].sum(axis=-1, keepdims=True) > 0
    return np.where(known, hyp, 0.0).astype(np.float32)


def plot_logos(
    contributions: np.ndarray,
    titles: list[str],
    path: str | os.PathLike,
    width: int,
) -> Path:
    """One logo per window of its present bases' contributions, central ``width`` bases.

    Parameters
    ----------
    contributions : numpy.ndarray
        ``(k, L, 4)`` contribution of each present base (hypothetical x one-hot).
    titles : list of str
        One title per window.
    path : str or os.PathLike
        The PNG.
    width : int
        Bases drawn around each window's centre.

    Returns
    -------
    pathlib.Path
        The PNG written.
    """
    import logomaker
    import pandas as pd

    from fnstore.evaluate.plots import new_figure, save_figure

    k, length = contributions.shape[:2]
    lo = max(0, length // 2 - width // 2)
    hi = min(length, lo + width)
    fig = new_figure((float(np.clip((hi - lo) * 0.08, 6, 30)), 1.8 * max(k, 1) + 0.4))
    axes = np.atleast_1d(fig.subplots(max(k, 1), 1, squeeze=False)[:, 0])
    for ax, contrib, title in zip(axes, contributions, titles, strict=False):
        frame = pd.DataFrame(contrib[lo:hi], columns=list("ACGT"), index=np.arange(lo, hi))
        with warnings.catch_warnings():  # an all-zero matrix makes logomaker warn about ylim
            warnings.simplefilter("ignore", UserWarning)
            logomaker.Logo(frame, ax=ax, color_scheme="classic", show_spines=False)
        ax.axhline(0, color="0.6", lw=0.5)
        ax.set_title(title, fontsize=8)
        ax.set_ylabel("ISM contribution", fontsize=7)
        ax.tick_params(labelsize=6)
    axes[-1].set_xlabel("position in window", fontsize=7)
    fig.tight_layout()
    return save_figure(fig, path, dpi=100)
