"""Score prediction files against a store's labels, the ENCODE-DREAM way.

A bin counts when its label for the (TF, cell) task is bound or unbound and it is not
blacklisted; ambiguous bins, bins without a label and blacklisted bins are left out, as
in the challenge. By default every counted bin must have a prediction: silently scoring a
subset (one chromosome of several, a truncated file) would give numbers that look
comparable and are not. ``allow_partial=True`` scores the predicted bins only and reports
how many were left out.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from fnstore.errors import InputError
from fnstore.evaluate.metrics import DEFAULT_FDRS, binary_counts, fdr_key, score_all
from fnstore.evaluate.plots import plot_curves, plot_paths, short_path
from fnstore.io.predictions import read_predictions, read_predictions_zarr_attrs
from fnstore.notebook import html_repr
from fnstore.store.labels import AMBIGUOUS, BOUND, MISSING, countable
from fnstore.store.read import Store, open_store
from fnstore.store.versions import check_pin

__all__ = [
    "EvaluateResult",
    "curve_points",
    "evaluate",
    "format_table",
    "plot_curves",
    "plot_paths",
    "results_for_json",
]

#: points kept per curve for plots (enough for a smooth line at any zoom a PNG allows)
CURVE_POINTS = 1000


@dataclass(frozen=True)
class EvaluateResult(Sequence[dict[str, Any]]):
    """The per-file results of :func:`evaluate`, in the order the files were given.

    A read-only sequence of the per-file dicts (so ``(res,) = evaluate(...)`` and
    ``results[0]["auroc"]`` work as with the list ``evaluate`` used to return), plus the
    shared faces: :meth:`to_dict` and :meth:`summary`.
    """

    results: list[dict[str, Any]]
    fdrs: tuple[float, ...] = DEFAULT_FDRS

    _repr_html_ = html_repr  # how a notebook shows it (fnstore.notebook)

    def __getitem__(self, i: Any) -> Any:
        return self.results[i]

    def __len__(self) -> int:
        return len(self.results)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form: the FDR levels and the per-file results without curve points.

        Returns
        -------
        dict
            ``{"fdrs": [...], "results": [...]}``.
        """
        return {"fdrs": list(self.fdrs), "results": results_for_json(self.results)}

    def summary(self) -> str:
        """The aligned table ``fnstore evaluate`` prints.

        Returns
        -------
        str
            Multi-line table, see :func:`format_table`.
        """
        return format_table(self.results, self.fdrs)


def evaluate(
    pred_paths: Sequence[str | os.PathLike],
    store: Store | str | os.PathLike,
    tf: str,
    cell: str,
    fdrs: Sequence[float] = DEFAULT_FDRS,
    allow_partial: bool = False,
    curves: bool = False,
    strict: bool = False,
) -> EvaluateResult:
    """Score prediction files against the labels of one (TF, cell) task.

    Parameters
    ----------
    pred_paths
        Prediction files (ENCODE-DREAM tables, bedGraphs or ``.zarr``) on the store's bins.
    store
        The store, open or as a path.
    tf, cell
        The task whose labels to score against.
    fdrs
        FDR levels at which to report recall.
    allow_partial
        Score only the predicted bins instead of refusing files that miss labelled bins.
    curves
        Also keep thinned ROC and PR points (for :func:`plot_curves`).
    strict
        Refuse predictions whose model was trained on other data than this store's
        version (recorded by ``fnstore predict``); otherwise a ``Warning:`` line.

    Returns
    -------
    EvaluateResult
        One result dict per prediction file, in the order given; iterating or indexing it
        gives those dicts, as the list this function used to return did.

    Notes
    -----
    Keys of each dict: ``prediction``, ``tf``, ``cell``, the metrics of :func:`fnstore.evaluate.metrics.score_all`
    (``n`` bins scored, ``n_positive``, ``n_negative``, ``auroc``, ``auprc``,
    ``average_precision``, ``recall_at_<pct>_fdr``), ``n_rows`` (rows in the file),
    ``excluded`` (predicted bins left out: ``blacklisted``, ``ambiguous``, ``unlabelled``),
    ``n_unpredicted`` (countable bins the file has no score for; non-zero only with
    ``allow_partial``), ``store`` and ``store_id``. With ``curves=True`` also ``curves``:
    thinned ROC and PR points for :func:`plot_curves`.
    """
    st = store if isinstance(store, Store) else open_store(store)
    task = _TaskLabels(st, tf, cell)
    for path in pred_paths:
        check_pin(_model_data(path), st.store_id, st.attrs, str(path), strict, st.snapshot_id)
    results = [task.score(path, fdrs, allow_partial, curves) for path in pred_paths]
    return EvaluateResult(results, tuple(fdrs))


def _model_data(path: str | os.PathLike) -> dict[str, Any] | None:
    """The training data a prediction's model pinned, as ``fnstore predict`` recorded it in
    the Zarr group (the file itself, or the one written beside a table or bedGraph)."""
    p = Path(path)
    stem = p.name.removesuffix(".gz").removesuffix(".tab").removesuffix(".bedGraph")
    group = p if p.suffix == ".zarr" else p.with_name(f"{stem}.zarr")
    try:
        return read_predictions_zarr_attrs(group).get("model_data")
    except Exception:  # no record (another tool's file): nothing to compare
        return None


class _TaskLabels:
    """One task's labels and the bins that count, read once for every prediction file."""

    def __init__(self, st: Store, tf: str, cell: str) -> None:
        self.st, self.tf, self.cell = st, tf, cell
        self.labels = np.asarray(st.labels(tasks=[st.task_index(tf, cell)])[:, 0])
        self.blacklisted = np.asarray(st.blacklist(), dtype=bool)
        self.countable = countable(self.labels, self.blacklisted)

    def _unpredicted(self, path: str | os.PathLike, bins: np.ndarray, allow_partial: bool) -> int:
        """Countable bins without a score; refused unless ``allow_partial``."""
        predicted = np.zeros(self.st.n_bins, dtype=bool)
        predicted[bins] = True
        unpredicted = self.countable & ~predicted
        n_unpredicted = int(unpredicted.sum())
        if n_unpredicted and not allow_partial:
            first = int(np.flatnonzero(unpredicted)[0])
            raise InputError(
                path,
                f"{n_unpredicted:,} of the {int(self.countable.sum()):,} labelled bins of "
                f"{self.tf}.{self.cell} have no prediction (first: {_bin_name(self.st, first)}); "
                "use --allow-partial to score only the predicted bins",
            )
        return n_unpredicted

    def score(
        self,
        path: str | os.PathLike,
        fdrs: Sequence[float],
        allow_partial: bool,
        curves: bool,
    ) -> dict[str, Any]:
        """The result dict of one prediction file (see :func:`evaluate`)."""
        st, tf, cell = self.st, self.tf, self.cell
        bins, scores = read_predictions(path, st)
        lab, bl, use = self.labels[bins], self.blacklisted[bins], self.countable[bins]
        n_unpredicted = self._unpredicted(path, bins, allow_partial)
        y = lab[use] == BOUND
        try:
            metrics = score_all(y, scores[use], fdrs)
        except InputError as exc:
            raise InputError(
                path, f"cannot score against {tf}.{cell} in {st.path}: {exc.problem}"
            ) from None
        row: dict[str, Any] = {"prediction": str(path), "tf": tf, "cell": cell, **metrics}
        row.update(
            {
                "n_rows": int(bins.size),
                "excluded": {
                    "blacklisted": int(bl.sum()),
                    "ambiguous": int(np.count_nonzero(~bl & (lab == AMBIGUOUS))),
                    "unlabelled": int(np.count_nonzero(~bl & (lab == MISSING))),
                },
                "n_unpredicted": n_unpredicted,
                "store": st.path,
                "store_id": st.store_id,
            }
        )
        if curves:
            row["curves"] = curve_points(y, scores[use])
        return row


def _bin_name(st: Store, b: int) -> str:
    chrom, start = st.bin_coords(np.array([b]))
    s = int(start[0])
    return f"{st.chroms[int(chrom[0])]}:{s}-{s + st.bin_size}"


def curve_points(y: np.ndarray, s: np.ndarray, max_points: int = CURVE_POINTS) -> dict[str, Any]:
    """ROC and PR curves thinned to about ``max_points`` each, as plain lists (JSON-able).

    A whole-genome curve has millions of thresholds; keeping the points where either
    coordinate crosses a 1/max_points grid preserves the shape at a thousandth of the size.

    Parameters
    ----------
    y : numpy.ndarray
        1-D labels, bool or 0/1, both classes present.
    s : numpy.ndarray
        1-D scores, one per label.
    max_points : int
        Grid resolution per curve; each curve keeps at most about this many points per
        coordinate.

    Returns
    -------
    dict
        ``fpr``, ``tpr`` (ROC), ``recall``, ``precision`` (PR) as lists of float, and
        ``positive_fraction`` (the PR curve of random scores).
    """
    c = binary_counts(y, s)
    fpr = np.concatenate([[0.0], c.fps / c.n_neg])
    tpr = np.concatenate([[0.0], c.tps / c.n_pos])
    recall = c.tps / c.n_pos
    precision = c.tps / (c.tps + c.fps)
    grid = np.linspace(0.0, 1.0, max_points + 1)

    def keep(*monotone: np.ndarray) -> np.ndarray:
        last = monotone[0].size - 1
        idx = [np.array([0, last])] + [np.minimum(np.searchsorted(m, grid), last) for m in monotone]
        return np.unique(np.concatenate(idx))

    roc_idx = keep(fpr, tpr)
    pr_idx = keep(recall)
    return {
        "fpr": fpr[roc_idx].tolist(),
        "tpr": tpr[roc_idx].tolist(),
        "recall": recall[pr_idx].tolist(),
        "precision": precision[pr_idx].tolist(),
        "positive_fraction": c.n_pos / (c.n_pos + c.n_neg),
    }


def format_table(results: Sequence[dict[str, Any]], fdrs: Sequence[float] = DEFAULT_FDRS) -> str:
    """Plain-text aligned table, one row per prediction file, for the terminal.

    Parameters
    ----------
    results : sequence of dict
        Per-file results of :func:`evaluate`, all for one task.
    fdrs : sequence of float
        FDR levels whose recall columns to show; must be among those the results were
        scored at.

    Returns
    -------
    str
        The table with a heading and footnotes; ``(no results)`` when ``results`` is empty.
    """
    if not results:
        return "(no results)"
    r0 = results[0]
    headers = ["prediction", "scored", "bound", "auROC", "auPRC", "AP"]
    headers += [f"R@{f * 100:g}%FDR" for f in fdrs]
    headers += ["ambig.", "blackl.", "unpred."]
    rows = []
    for r in results:
        ex = r["excluded"]
        row = [
            short_path(r["prediction"]),
            f"{r['n']:,}",
            f"{r['n_positive']:,}",
            f"{r['auroc']:.4f}",
            f"{r['auprc']:.4f}",
            f"{r['average_precision']:.4f}",
        ]
        row += [f"{r[fdr_key(f)]:.4f}" for f in fdrs]
        row += [f"{ex['ambiguous']:,}", f"{ex['blacklisted']:,}", f"{r['n_unpredicted']:,}"]
        rows.append(row)
    widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(headers)]

    def line(cells: list[str]) -> str:
        first = cells[0].ljust(widths[0])
        rest = [c.rjust(w) for c, w in zip(cells[1:], widths[1:], strict=True)]
        return "  ".join([first, *rest]).rstrip()

    out = [
        f"{r0['tf']} in {r0['cell']} (store {r0['store']})",
        "",
        line(headers),
        line(["-" * w for w in widths]),
    ]
    out += [line(row) for row in rows]
    out += [
        "",
        "auPRC: Davis-Goadrich interpolated area (the ENCODE-DREAM scorer's); "
        "AP: step-wise average precision (scikit-learn's).",
        "scored = labelled bound/unbound bins with a prediction; ambiguous and blacklisted "
        "bins are not scored.",
    ]
    if any(r["n_unpredicted"] for r in results):
        out.append("unpred. = labelled bins without a prediction, left out (--allow-partial).")
    return "\n".join(out)


def results_for_json(results: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Results without the (bulky) curve points.

    Parameters
    ----------
    results : sequence of dict
        Per-file results of :func:`evaluate`.

    Returns
    -------
    list of dict
        Shallow copies without the ``curves`` key.
    """
    return [{k: v for k, v in r.items() if k != "curves"} for r in results]
