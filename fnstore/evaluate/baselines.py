"""Baselines a trained model must beat: the best motif match in each bin.

A binding model that ranks bins worse than a plain scan for its TF's motif has learned
nothing useful, whatever its balanced validation reads; ENCODE-DREAM participants used the
scan as their floor. The score of a bin is the highest log-odds (PWM against a uniform
background, either strand) of any motif placement wholly inside the bin's ``bin_size`` bp.
Pure NumPy over the store's base codes; N (code 4) adds nothing to a placement's score.
"""

from __future__ import annotations

import numpy as np

from fnstore.store.read import Store

#: pseudo-probability keeping log-odds finite for zero PWM entries
_FLOOR = 1e-4


def log_odds_table(pwm: np.ndarray) -> np.ndarray:
    """``(width, 5)`` log2 odds of each base (A, C, G, T, N) at each motif position.

    Parameters
    ----------
    pwm
        ``(width, 4)`` probabilities of A, C, G, T.

    Returns
    -------
    numpy.ndarray
        float64; the N column is 0.
    """
    p = np.clip(np.asarray(pwm, dtype=np.float64), _FLOOR, None)
    p = p / p.sum(axis=1, keepdims=True)
    table = np.zeros((p.shape[0], 5))
    table[:, :4] = np.log2(p / 0.25)
    return table


def placement_scores(codes: np.ndarray, pwm: np.ndarray) -> np.ndarray:
    """Best-strand log-odds of the motif placed at each start of ``codes``.

    Parameters
    ----------
    codes
        uint8 base codes (A=0, C=1, G=2, T=3, N=4).
    pwm
        ``(width, 4)`` probabilities.

    Returns
    -------
    numpy.ndarray
        float32, length ``len(codes) - width + 1`` (empty when the sequence is shorter).
    """
    forward = log_odds_table(pwm)
    reverse = forward[::-1][:, [3, 2, 1, 0, 4]]  # the reverse complement's table
    width, n = forward.shape[0], codes.size - forward.shape[0] + 1
    if n <= 0:
        return np.zeros(0, dtype=np.float32)
    fwd = np.zeros(n)
    rev = np.zeros(n)
    for j in range(width):  # one gather per motif position: O(width * n)
        window = codes[j : j + n]
        fwd += forward[j][window]
        rev += reverse[j][window]
    return np.maximum(fwd, rev).astype(np.float32)


def bin_motif_scores(store: Store, bins: np.ndarray, pwm: np.ndarray) -> np.ndarray:
    """The best motif placement inside each of ``bins`` (sorted global indices).

    Parameters
    ----------
    store
        The store whose sequence to scan.
    bins
        Global bin indices, ascending and unique.
    pwm
        ``(width, 4)`` probabilities; wider than a bin is an error.

    Returns
    -------
    numpy.ndarray
        float32 score per bin, in the order given.
    """
    bins = np.asarray(bins, dtype=np.int64)
    width = int(np.asarray(pwm).shape[0])
    if width > store.bin_size:
        raise ValueError(f"motif of {width} bp is wider than a {store.bin_size} bp bin")
    out = np.zeros(bins.size, dtype=np.float32)
    if bins.size == 0:
        return out
    chrom_of, starts = store.bin_coords(bins)
    for c in np.unique(chrom_of).tolist():
        rows = np.flatnonzero(chrom_of == c)
        lo = int(starts[rows].min())
        hi = int(starts[rows].max()) + store.bin_size
        scores = placement_scores(store.sequence(store.chroms[c], lo, hi), pwm)
        first = starts[rows] - lo  # placements [first, first + bin_size - width] lie inside
        bounds = np.empty(2 * rows.size, dtype=np.int64)
        bounds[0::2] = first
        bounds[1::2] = first + store.bin_size - width + 1
        # reduceat over (start, stop) pairs: the max of each bin's own placements; the
        # last bin's stop is the end of ``scores``, so it is left to reduceat
        out[rows] = np.maximum.reduceat(scores, bounds[:-1])[0::2]
    return out
