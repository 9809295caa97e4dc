"""Every figure fnstore draws goes through here: one headless policy, one atomic save.

Figures are :class:`matplotlib.figure.Figure` objects with their own Agg canvas, never
pyplot figures, so plotting works without a display, never switches the backend of the
program that imports fnstore (``matplotlib.use`` would) and leaves nothing registered in
pyplot to leak. :func:`save_figure` writes through :func:`fnstore.io.files.atomic_path`,
so a killed run never leaves a truncated PNG under its final name. matplotlib is imported
only when a figure is made: ``import fnstore.evaluate`` stays light.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fnstore.io.files import atomic_path

if TYPE_CHECKING:
    from matplotlib.figure import Figure

#: resolution of saved figures unless a caller asks otherwise
DEFAULT_DPI = 110


def new_figure(figsize: tuple[float, float]) -> Figure:
    """An empty figure of ``figsize`` inches drawn by its own Agg canvas (no pyplot).

    Parameters
    ----------
    figsize
        Width and height in inches.

    Returns
    -------
    matplotlib.figure.Figure
        Add axes with ``fig.subplots(...)``; save with :func:`save_figure`.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize)
    FigureCanvasAgg(fig)
    return fig


def save_figure(fig: Figure, path: str | os.PathLike, dpi: int = DEFAULT_DPI) -> Path:
    """Write ``fig`` to ``path`` atomically (format from the suffix) and release it.

    Parameters
    ----------
    fig
        A figure from :func:`new_figure`.
    path
        Target file; its folder must exist.
    dpi
        Resolution of raster formats.

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=dpi)
    fig.clear()
    return Path(path)


# --------------------------------------------------------------------------- ROC and PR


def short_path(path: str, width: int = 40) -> str:
    """``path`` cut from the left to ``width`` characters, for legends and tables.

    Parameters
    ----------
    path : str
        Any string, usually a file path.
    width : int
        Maximum length of the result, ``...`` included.

    Returns
    -------
    str
        ``path`` itself when short enough, else ``...`` and its last characters.
    """
    return path if len(path) <= width else "..." + path[-(width - 3) :]


def plot_paths(prefix: str | os.PathLike) -> tuple[Path, Path]:
    """``(roc, pr)`` PNG paths: ``out/CTCF`` -> ``out/CTCF.roc.png``, ``out/`` -> ``out/roc.png``.

    Parameters
    ----------
    prefix : str or os.PathLike
        File prefix, or an existing folder (the plots go inside it).

    Returns
    -------
    roc, pr : pathlib.Path
        Where :func:`plot_curves` writes the ROC and the PR plot.
    """
    p = str(prefix)
    sep = "" if p.endswith(("/", os.sep, "_", "-", ".")) or os.path.isdir(p) else "."
    if os.path.isdir(p) and not p.endswith(("/", os.sep)):
        p += os.sep
    return Path(f"{p}{sep}roc.png"), Path(f"{p}{sep}pr.png")


def _curve_axes(title: str, xlabel: str, ylabel: str) -> tuple[Figure, Any]:
    fig = new_figure((5.5, 5.5))
    fig.set_layout_engine("constrained")
    ax = fig.subplots()
    ax.set(xlim=(0, 1), ylim=(0, 1.01), title=title, xlabel=xlabel, ylabel=ylabel)
    return fig, ax


def _draw_curves(
    ax: Any, results: Sequence[dict[str, Any]], xy: tuple[str, str], metric: str
) -> None:
    """One line per result, labelled with its file and its ``metric`` (the legend's area)."""
    for r in results:
        c = r["curves"]
        label = f"{short_path(r['prediction'])} ({r[metric]:.3f})"
        ax.plot(c[xy[0]], c[xy[1]], lw=1.5, label=label)


def plot_curves(results: Sequence[dict[str, Any]], out_png_prefix: str | os.PathLike) -> list[Path]:
    """Write one ROC and one PR plot comparing every result; returns the two PNG paths.

    Parameters
    ----------
    results
        Per-file results of :func:`fnstore.evaluate.evaluate` with ``curves=True`` (all for
        the same task).
    out_png_prefix
        ``PREFIX`` of ``PREFIX.roc.png`` and ``PREFIX.pr.png`` (see :func:`plot_paths`).

    Returns
    -------
    list of pathlib.Path
        The ROC and the PR plot.
    """
    if not results:
        raise ValueError("no results to plot")
    if any("curves" not in r for r in results):
        raise ValueError("plot_curves needs results from evaluate(..., curves=True)")
    roc_png, pr_png = plot_paths(out_png_prefix)
    roc_png.parent.mkdir(parents=True, exist_ok=True)
    task = f"{results[0]['tf']} in {results[0]['cell']}"

    fig, ax = _curve_axes(f"ROC: {task}", "False positive rate", "True positive rate")
    ax.plot([0, 1], [0, 1], color="0.7", lw=1, ls="--", label="random (0.5)")
    _draw_curves(ax, results, ("fpr", "tpr"), "auroc")
    ax.legend(title="auROC", loc="lower right", fontsize="small")
    save_figure(fig, roc_png, dpi=120)

    fig, ax = _curve_axes(f"PR: {task}", "Recall", "Precision")
    base = results[0]["curves"]["positive_fraction"]
    ax.axhline(base, color="0.7", lw=1, ls="--", label=f"random ({base:.3f})")
    _draw_curves(ax, results, ("recall", "precision"), "auprc")
    ax.legend(title="auPRC (Davis-Goadrich)", loc="upper right", fontsize="small")
    save_figure(fig, pr_png, dpi=120)
    return [roc_png, pr_png]
