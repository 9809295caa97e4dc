"""Position probability matrices: from counts, their information, core and consensus (pure NumPy)."""

from __future__ import annotations

import numpy as np


def counts_to_pwm(counts: np.ndarray, pseudocount: float = 0.0) -> np.ndarray:
    """Row-normalised probabilities from base counts ``(..., width, 4)`` (uniform where empty).

    Parameters
    ----------
    counts : numpy.ndarray
        Base counts, last axis A, C, G, T.
    pseudocount : float
        Added to every count first.

    Returns
    -------
    numpy.ndarray
        float64 of the same shape; rows sum to 1.
    """
    c = np.asarray(counts, dtype=np.float64) + pseudocount
    total = c.sum(axis=-1, keepdims=True)
    return np.where(total > 0, c / np.where(total > 0, total, 1.0), 0.25)


def information_content(pwm: np.ndarray, background: np.ndarray | None = None) -> np.ndarray:
    """Per-column relative entropy (bits) of ``pwm`` against ``background`` (uniform).

    Parameters
    ----------
    pwm : numpy.ndarray
        ``(width, 4)`` base probabilities, columns A, C, G, T.
    background : numpy.ndarray, optional
        Base frequencies ``(4,)``; default uniform.

    Returns
    -------
    numpy.ndarray
        ``(width,)`` float64, 0 to 2 bits against a uniform background.
    """
    p = np.asarray(pwm, dtype=np.float64)
    bg = np.full(4, 0.25) if background is None else np.asarray(background, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(p > 0, p * np.log2(p / bg), 0.0)
    return terms.sum(axis=-1)


def trim_pwm(pwm: np.ndarray, min_information: float = 0.3, min_width: int = 4) -> tuple[int, int]:
    """``(start, end)`` of the core of ``pwm`` between its first and last informative columns.

    A kernel is usually wider than its motif; the flat flanks would only dilute a
    column-correlation comparison. At least ``min_width`` columns (centred on the most
    informative one) are kept.

    Parameters
    ----------
    pwm : numpy.ndarray
        ``(width, 4)`` base probabilities, columns A, C, G, T.
    min_information : float
        Bits a column needs to count as informative.
    min_width : int
        Fewest columns kept (fewer only when the PWM is narrower).

    Returns
    -------
    start, end : int
        Half-open column range.
    """
    ic = information_content(pwm)
    width = ic.size
    keep = np.flatnonzero(ic >= min_information)
    start, end = (int(keep[0]), int(keep[-1]) + 1) if keep.size else (0, 0)
    if end - start < min_width:
        centre = int(np.argmax(ic)) if not keep.size else (start + end) // 2
        start = max(0, min(centre - min_width // 2, width - min_width))
        end = min(width, start + min_width)
    return start, end


def consensus(pwm: np.ndarray, min_probability: float = 0.5) -> str:
    """Upper-case base where one base has >= ``min_probability``, else ``n``.

    Parameters
    ----------
    pwm : numpy.ndarray
        ``(width, 4)`` base probabilities, columns A, C, G, T.
    min_probability : float
        Probability a base needs to be written.

    Returns
    -------
    str
        One character per column.
    """
    best = np.argmax(pwm, axis=1)
    return "".join("ACGT"[b] if pwm[i, b] >= min_probability else "n" for i, b in enumerate(best))
