"""Scores of REF and ALT windows through the exact fast path, and the effect table of a batch.

Both alleles' windows go through one :meth:`fnstore.predict.scoring.WindowScorer.score`
call as one-window items, so they share the scorer's traced function, its batching and its
fallback rules with ``fnstore predict`` (a model without the fast layout is scored naively,
with the reason reported). Effects: ``diff = alt_prob - ref_prob`` and the log-odds ratio
``logit(alt_prob) - logit(ref_prob)`` (probabilities clipped to ``[1e-7, 1 - 1e-7]`` so a
saturated sigmoid stays finite); both change sign exactly when REF and ALT are swapped.

Importing this module does not import Keras (the scorer arrives built).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from fnstore.io.vcf import VariantBatch
from fnstore.variants.alleles import AlleleInputs

#: columns of the effect table, in order (one row per variant row and model task)
COLUMNS = (
    "chrom",
    "pos",
    "id",
    "ref",
    "alt",
    "allele",
    "cell",
    "tf",
    "status",
    "ref_match",
    "blacklisted",
    "ref_prob",
    "alt_prob",
    "diff",
    "log_odds_ratio",
)
#: probabilities are clipped this far from 0 and 1 for the log-odds ratio
EPS = 1e-7


def score_windows(scorer: Any, x: np.ndarray, extra: np.ndarray | None) -> np.ndarray:
    """Scores ``(n, n_tasks)`` float32 of ``n`` whole windows through ``scorer``.

    Parameters
    ----------
    scorer : WindowScorer or BagScorer
        From :func:`fnstore.predict.scoring.make_scorer`.
    x : numpy.ndarray
        ``(n, L, C)`` float32 windows of the scorer's length.
    extra : numpy.ndarray or None
        ``(n, n_extra)`` rows, or None for a model without ``extra`` input.

    Returns
    -------
    numpy.ndarray
        One row of task probabilities per window.
    """
    if len(x) == 0:
        return np.zeros((0, scorer.n_tasks), dtype=np.float32)
    items = [(x[i], 1, None if extra is None else extra[i : i + 1]) for i in range(len(x))]
    return np.concatenate(scorer.score(items)).astype(np.float32, copy=False)


def log_odds_ratio(ref: np.ndarray, alt: np.ndarray) -> np.ndarray:
    """``logit(alt) - logit(ref)`` in float64, probabilities clipped by :data:`EPS`.

    Parameters
    ----------
    ref, alt : numpy.ndarray
        Probabilities of the same shape.

    Returns
    -------
    numpy.ndarray
        float64 log-odds ratios (NaN where an input is NaN).
    """
    r = np.clip(np.asarray(ref, np.float64), EPS, 1 - EPS)
    a = np.clip(np.asarray(alt, np.float64), EPS, 1 - EPS)
    return (np.log(a) - np.log1p(-a)) - (np.log(r) - np.log1p(-r))


def score_alleles(scorer: Any, alleles: AlleleInputs) -> tuple[np.ndarray, np.ndarray]:
    """REF and ALT probabilities ``(n_scored, n_tasks)`` of a batch's scorable rows.

    Parameters
    ----------
    scorer : WindowScorer or BagScorer
        From :func:`fnstore.predict.scoring.make_scorer`.
    alleles : AlleleInputs
        From :func:`fnstore.variants.alleles.allele_inputs`.

    Returns
    -------
    ref, alt : numpy.ndarray
        float32 probabilities, rows in ``alleles.rows`` order.
    """
    n = len(alleles.rows)
    x = np.concatenate([alleles.ref_x, alleles.alt_x])
    extra = None if alleles.extra is None else np.concatenate([alleles.extra, alleles.extra])
    probs = score_windows(scorer, x, extra)
    return probs[:n], probs[n:]


def effect_table(
    batch: VariantBatch,
    alleles: AlleleInputs,
    ref: np.ndarray,
    alt: np.ndarray,
    cell: str,
    tasks: Sequence[tuple[int, str]],
) -> Any:
    """The batch's rows of the effect table: one per variant row and task, tasks innermost.

    Parameters
    ----------
    batch : VariantBatch
        The variant rows.
    alleles : AlleleInputs
        Their status and flags.
    ref, alt : numpy.ndarray
        From :func:`score_alleles`: ``(len(alleles.rows), n_model_tasks)``.
    cell : str
        The cell whose signals were used.
    tasks : sequence of (int, str)
        Model output column and name of each task written.

    Returns
    -------
    pandas.DataFrame
        The columns of :data:`COLUMNS`; probabilities NaN for rows not scored.
    """
    import pandas as pd

    n, k = len(batch), len(tasks)
    cols = [c for c, _ in tasks]
    ref_full = np.full((n, k), np.nan, dtype=np.float32)
    alt_full = np.full((n, k), np.nan, dtype=np.float32)
    ref_full[alleles.rows] = ref[:, cols]
    alt_full[alleles.rows] = alt[:, cols]

    def per_task(values: Sequence[Any] | np.ndarray) -> np.ndarray:
        return np.repeat(np.asarray(values), k)

    with np.errstate(invalid="ignore"):
        lor = log_odds_ratio(ref_full, alt_full).ravel()
    frame = {
        "chrom": per_task(np.asarray(batch.chrom, dtype=object)),
        "pos": per_task(np.asarray(batch.pos, dtype=np.int64)),
        "id": per_task(np.asarray(batch.ids, dtype=object)),
        "ref": per_task(np.asarray(batch.ref, dtype=object)),
        "alt": per_task(np.asarray(batch.alt, dtype=object)),
        "allele": per_task(np.asarray(batch.allele, dtype=np.int64)),
        "cell": np.full(n * k, cell, dtype=object),
        "tf": np.tile(np.asarray([name for _, name in tasks], dtype=object), n),
        "status": per_task(alleles.status.astype(object)),
        "ref_match": per_task(alleles.ref_match),
        "blacklisted": per_task(alleles.blacklisted),
        "ref_prob": ref_full.ravel(),
        "alt_prob": alt_full.ravel(),
        "diff": (alt_full - ref_full).ravel(),
        "log_odds_ratio": lor,
    }
    return pd.DataFrame(frame, columns=list(COLUMNS))


def empty_table() -> Any:
    """The effect table with no rows (its columns typed as in a batch's rows).

    Returns
    -------
    pandas.DataFrame
        Zero rows, the columns of :data:`COLUMNS`.
    """
    return effect_table(
        VariantBatch(),
        AlleleInputs(
            *(np.zeros(0, dtype=t) for t in (object, bool, bool, np.int64)),
            *(np.zeros((0, 1, 4), np.float32) for _ in range(2)),
            None,
        ),
        np.zeros((0, 0), np.float32),
        np.zeros((0, 0), np.float32),
        "",
        [],
    )
