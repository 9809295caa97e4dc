"""``fnstore evaluate --report DIR``: what people look at and pass on.

One folder holds the metrics table (``report.md``, ``metrics.csv``), the ROC and PR
curves of every prediction file side by side (``roc.png``, ``pr.png``) and the curve points
themselves (``curves.csv``) for whoever wants to redraw them. Markdown rather than HTML:
it renders on GitHub, in Jupyter and in any editor, and the PNGs beside it open anywhere.
Each file is written atomically.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from fnstore.evaluate.metrics import fdr_key
from fnstore.evaluate.plots import plot_curves
from fnstore.io.files import atomic_write

REPORT_FILE = "report.md"
METRICS_FILE = "metrics.csv"
CURVES_FILE = "curves.csv"


def metric_columns(fdrs: Sequence[float]) -> list[str]:
    """The report's metric columns, in order.

    Parameters
    ----------
    fdrs
        FDR levels of the recall columns.

    Returns
    -------
    list of str
        Result keys.
    """
    return ["auroc", "auprc", *(fdr_key(f) for f in fdrs), "n", "n_positive"]


def markdown_table(results: Sequence[dict[str, Any]], fdrs: Sequence[float]) -> str:
    """One row per prediction file: its name and every metric (floats to 4 decimals).

    Parameters
    ----------
    results
        Per-file results of :func:`fnstore.evaluate.evaluate`.
    fdrs
        FDR levels of the recall columns.

    Returns
    -------
    str
        A Markdown table.
    """
    cols = metric_columns(fdrs)
    lines = ["| prediction | " + " | ".join(cols) + " |", "|---" * (len(cols) + 1) + "|"]
    for r in results:
        cells = [f"{r[c]:.4f}" if isinstance(r[c], float) else f"{r[c]:,}" for c in cols]
        lines.append(f"| {Path(r['prediction']).name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def write_report(
    results: Sequence[dict[str, Any]], fdrs: Sequence[float], out: str | os.PathLike
) -> list[Path]:
    """Write the report folder ``out`` (created if needed).

    Parameters
    ----------
    results
        Per-file results of :func:`fnstore.evaluate.evaluate` with ``curves=True``.
    fdrs
        FDR levels of the recall columns.
    out
        The report folder.

    Returns
    -------
    list of pathlib.Path
        ``report.md``, ``metrics.csv``, ``curves.csv``, ``roc.png`` and ``pr.png``.
    """
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    roc, pr = plot_curves(results, folder)
    first = results[0]
    cols = metric_columns(fdrs)
    with atomic_write(folder / METRICS_FILE, newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["prediction", *cols])
        w.writerows([[r["prediction"], *(r[c] for c in cols)] for r in results])
    with atomic_write(folder / CURVES_FILE, newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["prediction", "curve", "x", "y"])
        for r in results:
            c = r["curves"]
            w.writerows(
                [r["prediction"], "roc", x, y] for x, y in zip(c["fpr"], c["tpr"], strict=True)
            )
            w.writerows(
                [r["prediction"], "pr", x, y]
                for x, y in zip(c["recall"], c["precision"], strict=True)
            )
    text = [
        f"# {first['tf']} in {first['cell']}",
        "",
        f"Store `{first['store']}`; every non-blacklisted, non-ambiguous labelled bin; auPRC is "
        "the Davis-Goadrich interpolated area of the ENCODE-DREAM scorer.",
        "",
        markdown_table(results, fdrs),
        "",
        f"![ROC]({roc.name}) ![PR]({pr.name})",
        "",
        f"Curve points: [{CURVES_FILE}]({CURVES_FILE}); metrics: [{METRICS_FILE}]({METRICS_FILE}).",
        "",
    ]
    with atomic_write(folder / REPORT_FILE) as fh:
        fh.write("\n".join(text))
    return [folder / REPORT_FILE, folder / METRICS_FILE, folder / CURVES_FILE, roc, pr]
