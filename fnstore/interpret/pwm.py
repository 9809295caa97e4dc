"""Position probability matrices: from counts, their information, core and consensus (pure NumPy)."""

from __future__ import annotations

import numpy as np


def counts_to_pwm(counts: np.ndarray, pseudocount: float = 0.0) -> np.ndarray:
    """Row-normalised probabilities from base counts ``(..., width, 4)`` (uniform where empty)."""
    c = np.asarray(counts, dtype=np.float64) + pseudocount
    total = c.sum(axis=-1, keepdims=True)
    return np.where(total > 0, c / np.where(total > 0, total, 1.0), 0.25)


def information_content(pwm: np.ndarray, background: np.ndarray | None = None) -> np.ndarray:
    """Per-column relative entropy (bits) of ``pwm`` against ``background`` (uniform)."""
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
    """Upper-case base where one base has >= ``min_probability``, else ``n``."""
    best = np.argmax(pwm, axis=1)
    return "".join("ACGT"[b] if pwm[i, b] >= min_probability else "n" for i, b in enumerate(best))
