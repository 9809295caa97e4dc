"""Binary-classification metrics for bin-level TF binding predictions (pure NumPy).

Every metric is computed from one sort of the scores: the cumulative true/false positive
counts at each *distinct* score, highest first. Grouping tied scores into one threshold is
what makes the results independent of the order of tied rows, matching scikit-learn
(``roc_auc_score``, ``average_precision_score``) and the ENCODE-DREAM scorer.

The ENCODE-DREAM challenge ranked submissions by auROC, auPRC and recall at 10% and 50%
FDR; its auPRC was the Davis & Goadrich (2006) interpolated area as computed by the R
package PRROC (``pr.curve(...)$auc.davis.goadrich``), reproduced by
:func:`auprc_davis_goadrich`. scikit-learn's step-wise :func:`average_precision` is
reported alongside because most Python code quotes that number instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from fnstore.errors import InputError

#: FDR levels reported by default (the challenge used 10% and 50%).
DEFAULT_FDRS: tuple[float, ...] = (0.05, 0.10, 0.25, 0.50)


class MetricInputError(InputError, ValueError):
    """Input no metric is defined on; an :class:`InputError` for the CLI and a
    ``ValueError`` for code that treats metrics like scikit-learn's."""


@dataclass(frozen=True)
class Counts:
    """Cumulative counts at each distinct score, highest score first.

    ``tps[i]`` / ``fps[i]`` are the positives / negatives with score >= ``thresholds[i]``.
    """

    tps: np.ndarray
    fps: np.ndarray
    thresholds: np.ndarray
    n_pos: int
    n_neg: int


def _validate(y: np.ndarray | Sequence, s: np.ndarray | Sequence) -> tuple[np.ndarray, np.ndarray]:
    """Labels as bool, scores as float; refuse input no metric is defined on."""
    y = np.asarray(y)
    s = np.asarray(s)
    if y.ndim != 1 or s.ndim != 1:
        raise MetricInputError(
            "labels", f"expected 1-D labels and scores, got shapes {y.shape} and {s.shape}"
        )
    if y.shape != s.shape:
        raise MetricInputError("labels", f"{y.size} labels but {s.size} scores")
    if y.size == 0:
        raise MetricInputError("labels", "no labelled rows to score")
    if y.dtype != np.bool_:
        if not np.issubdtype(y.dtype, np.number):
            raise MetricInputError("labels", f"labels must be 0/1 or boolean, got dtype {y.dtype}")
        bad = (y != 0) & (y != 1)
        if bad.any():
            raise MetricInputError("labels", f"labels must be 0/1, found {y[bad][0]!r}")
        y = y == 1
    if s.dtype not in (np.float32, np.float64):
        if not (np.issubdtype(s.dtype, np.number) or s.dtype == np.bool_):
            raise MetricInputError("scores", f"scores must be numeric, got dtype {s.dtype}")
        s = s.astype(np.float64)
    if np.isnan(s).any():
        raise MetricInputError("scores", f"{int(np.isnan(s).sum())} scores are NaN")
    n_pos = int(np.count_nonzero(y))
    if n_pos == 0:
        raise MetricInputError(
            "labels", f"all {y.size} rows are negative (no bound bins): metrics are undefined"
        )
    if n_pos == y.size:
        raise MetricInputError(
            "labels", f"all {y.size} rows are positive (no unbound bins): metrics are undefined"
        )
    return y, s


def binary_counts(y: np.ndarray | Sequence, s: np.ndarray | Sequence) -> Counts:
    """Validate and sort once; every metric below is a cheap function of the result.

    Parameters
    ----------
    y : array_like
        1-D labels, boolean or 0/1 (1 = bound); at least one of each class.
    s : array_like
        1-D scores, one per label, higher = more likely bound; no NaN.

    Returns
    -------
    Counts
        Cumulative true/false positive counts at each distinct score, highest first.

    Raises
    ------
    MetricInputError
        On mismatched shapes, empty input, non-0/1 labels, NaN scores or a single class.
    """
    y, s = _validate(y, s)
    order = np.argsort(s)[::-1]  # tie order is irrelevant: ties are grouped below
    s_sorted = s[order]
    y_sorted = y[order]
    # last row of each run of equal scores (!= rather than diff so +-inf ties stay tied)
    last = np.flatnonzero(s_sorted[1:] != s_sorted[:-1])
    last = np.append(last, s_sorted.size - 1)
    tps = np.cumsum(y_sorted, dtype=np.int64)[last]
    fps = (last + 1) - tps
    return Counts(tps, fps, s_sorted[last], int(tps[-1]), int(fps[-1]))


# --------------------------------------------------------------------------- areas


def _roc_auc(c: Counts) -> float:
    tpr = np.concatenate([[0.0], c.tps / c.n_pos])
    fpr = np.concatenate([[0.0], c.fps / c.n_neg])
    return float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1])) / 2.0)


def roc_auc(y: np.ndarray | Sequence, s: np.ndarray | Sequence) -> float:
    """Area under the ROC curve; a tie between a positive and a negative counts one half.

    Equals the Mann-Whitney U statistic / (n_pos * n_neg) and ``sklearn.metrics.roc_auc_score``.

    Parameters
    ----------
    y, s : array_like
        Labels and scores whose ROC area to take, as for :func:`binary_counts`.

    Returns
    -------
    auroc : float
        In [0, 1]; 0.5 for random scores.
    """
    return _roc_auc(binary_counts(y, s))


def _average_precision(c: Counts) -> float:
    precision = c.tps / (c.tps + c.fps)
    recall = c.tps / c.n_pos
    return float(np.sum(np.diff(recall, prepend=0.0) * precision))


def average_precision(y: np.ndarray | Sequence, s: np.ndarray | Sequence) -> float:
    """scikit-learn's average precision: sum over thresholds of (R_n - R_{n-1}) * P_n.

    A step function, no interpolation; equals ``sklearn.metrics.average_precision_score``.

    Parameters
    ----------
    y, s : array_like
        Labels and scores (see :func:`binary_counts`) whose precision to average.

    Returns
    -------
    average_precision : float
        Step-wise area in [0, 1].
    """
    return _average_precision(binary_counts(y, s))


def _auprc_davis_goadrich(c: Counts) -> float:
    # Davis & Goadrich: between consecutive PR points A -> B the curve is traced one true
    # positive at a time, false positives growing at the local skew h = dFP / dTP, so
    # precision(x) = (TP_A + x) / (TP_A + FP_A + x (1 + h)), x = 0..dTP; the area is the
    # trapezoid rule over those points (widths 1 / n_pos). From the origin (precision 0/0)
    # the curve is flat at the first point's precision, as in PRROC. Segments with dTP = 0
    # add nothing, so the number of trapezoids is exactly n_pos: vectorised with repeat.
    tp_prev = np.concatenate([[0], c.tps[:-1]]).astype(np.float64)
    fp_prev = np.concatenate([[0], c.fps[:-1]]).astype(np.float64)
    d = (c.tps - tp_prev).astype(np.int64)
    keep = d > 0
    tp_prev, fp_prev, d = tp_prev[keep], fp_prev[keep], d[keep]
    h = (c.fps[keep] - fp_prev) / d
    seg = np.repeat(np.arange(d.size), d)
    x = np.arange(seg.size) - np.repeat(np.cumsum(d) - d, d) + 1.0  # 1..d within a segment
    a, f, k = tp_prev[seg], fp_prev[seg], 1.0 + h[seg]
    p_hi = (a + x) / (a + f + x * k)
    lo_num = a + x - 1.0
    lo_den = a + f + (x - 1.0) * k
    at_origin = lo_den == 0.0  # only (TP, FP) = (0, 0): flat extension, limit 1 / (1 + h)
    p_lo = np.where(at_origin, 1.0 / k, lo_num / np.where(at_origin, 1.0, lo_den))
    return float(np.sum(p_lo + p_hi) / (2.0 * c.n_pos))


def auprc_davis_goadrich(y: np.ndarray | Sequence, s: np.ndarray | Sequence) -> float:
    """Interpolated area under the precision-recall curve (Davis & Goadrich 2006).

    This is the auPRC the ENCODE-DREAM challenge scorer reported (PRROC's
    ``auc.davis.goadrich``). Unlike linear interpolation in PR space, which overstates the
    area, the interpolation follows the achievable curve between two operating points.

    Parameters
    ----------
    y, s : array_like
        Labels and scores to trace the PR curve of; :func:`binary_counts` says what each may be.

    Returns
    -------
    auprc : float
        Interpolated area in [0, 1].
    """
    return _auprc_davis_goadrich(binary_counts(y, s))


def _recall_at_fdr(c: Counts, fdr: float) -> float:
    if not 0.0 <= fdr <= 1.0:
        raise MetricInputError("fdr", f"FDR must be between 0 and 1, got {fdr}")
    ok = c.fps <= fdr * (c.tps + c.fps)  # FP / (TP + FP) <= fdr without dividing
    return float(c.tps[ok].max() / c.n_pos) if ok.any() else 0.0


def recall_at_fdr(y: np.ndarray | Sequence, s: np.ndarray | Sequence, fdr: float) -> float:
    """Largest recall at any score threshold whose FDR (1 - precision) is <= ``fdr``.

    Tied scores are one threshold (all tied rows are called together); 0.0 when no
    threshold reaches the FDR. Same as the ENCODE-DREAM scorer's recall at FDR.

    Parameters
    ----------
    y, s : array_like
        Labels and scores to threshold, as :func:`binary_counts` takes them.
    fdr : float
        Largest false discovery rate allowed, in [0, 1] (0.1 = 10%).

    Returns
    -------
    recall : float
        Fraction of positives called at the best such threshold, in [0, 1].
    """
    return _recall_at_fdr(binary_counts(y, s), fdr)


# --------------------------------------------------------------------------- curves


def roc_curve(
    y: np.ndarray | Sequence, s: np.ndarray | Sequence
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(fpr, tpr, thresholds)`` at every distinct score, highest threshold first.

    Starts at (0, 0) with threshold +inf, like scikit-learn with ``drop_intermediate=False``.

    Parameters
    ----------
    y, s : array_like
        Labels and scores to trace the ROC curve from (as for :func:`binary_counts`).

    Returns
    -------
    fpr, tpr, thresholds : numpy.ndarray
        float64 arrays of equal length (distinct scores + 1).
    """
    c = binary_counts(y, s)
    fpr = np.concatenate([[0.0], c.fps / c.n_neg])
    tpr = np.concatenate([[0.0], c.tps / c.n_pos])
    thr = np.concatenate([[np.inf], c.thresholds.astype(np.float64)])
    return fpr, tpr, thr


def pr_curve(
    y: np.ndarray | Sequence, s: np.ndarray | Sequence
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(precision, recall, thresholds)`` at every distinct score, highest threshold first.

    Only real operating points (no artificial recall-0 point); note scikit-learn's
    ``precision_recall_curve`` lists the same points in the opposite order plus (1, 0).

    Parameters
    ----------
    y, s : array_like
        Labels, and the scores whose distinct values are the thresholds; see :func:`binary_counts`.

    Returns
    -------
    precision, recall, thresholds : numpy.ndarray
        float64 arrays, one entry per distinct score.
    """
    c = binary_counts(y, s)
    return c.tps / (c.tps + c.fps), c.tps / c.n_pos, c.thresholds.astype(np.float64)


def fdr_key(fdr: float) -> str:
    """Result key for recall at an FDR: 0.1 -> ``recall_at_10_fdr`` (the challenge's names).

    Parameters
    ----------
    fdr : float
        FDR as a fraction.

    Returns
    -------
    str
        The key under which :func:`score_all` stores recall at that FDR.
    """
    return f"recall_at_{fdr * 100:g}_fdr"


def score_all(
    y: np.ndarray | Sequence, s: np.ndarray | Sequence, fdrs: Sequence[float] = DEFAULT_FDRS
) -> dict[str, float | int]:
    """Every metric from one sort: n, n_positive, n_negative, auroc, auprc (Davis-Goadrich),
    average_precision and ``recall_at_<pct>_fdr`` for each FDR.

    Parameters
    ----------
    y, s : array_like
        Labels and scores, validated as by :func:`binary_counts` and sorted once for all metrics.
    fdrs : sequence of float
        FDR levels (fractions) at which to report recall; default :data:`DEFAULT_FDRS`.

    Returns
    -------
    scores : dict
        Metric name to value; counts are int, the rest float.
    """
    c = binary_counts(y, s)
    out: dict[str, float | int] = {
        "n": c.n_pos + c.n_neg,
        "n_positive": c.n_pos,
        "n_negative": c.n_neg,
        "auroc": _roc_auc(c),
        "auprc": _auprc_davis_goadrich(c),
        "average_precision": _average_precision(c),
    }
    for fdr in fdrs:
        out[fdr_key(fdr)] = _recall_at_fdr(c, float(fdr))
    return out
