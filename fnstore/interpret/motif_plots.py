"""Pictures of kernel motifs: sequence logos and signal footprints.

Drawn through :mod:`fnstore.evaluate.plots` (headless, atomic saves); matplotlib and
logomaker are imported only when a picture is made.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from fnstore.evaluate.plots import new_figure, save_figure
from fnstore.interpret.kernel_sites import KernelMotif
from fnstore.interpret.pwm import information_content

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def _logo_frame(pwm: np.ndarray) -> Any:
    import pandas as pd

    ic = information_content(pwm)
    return pd.DataFrame(np.asarray(pwm) * ic[:, None], columns=list("ACGT"))


def _panel_grid(n: int, columns: int, panel: tuple[float, float]) -> tuple[Figure, Any]:
    """A figure of ``n`` panels of ``panel`` inches in at most ``columns`` columns; spare
    panels hidden. Returns the figure and the visible axes in reading order."""
    cols = max(1, min(columns, n))
    rows = -(-n // cols)
    fig = new_figure((cols * panel[0], rows * panel[1]))
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    for ax in axes[n:]:
        ax.axis("off")
    return fig, axes[:n]


def plot_logos(motifs: Sequence[KernelMotif], path: str | os.PathLike, columns: int = 4) -> Path:
    """Information-content sequence logos (logomaker), one panel per kernel, titled by best match.

    Parameters
    ----------
    motifs : sequence of KernelMotif
        At least one; all of the same width.
    path : str or os.PathLike
        PNG to write the logos to.
    columns : int
        Logo panels per row.

    Returns
    -------
    written : pathlib.Path
        ``path``.
    """
    import logomaker

    width = motifs[0].pwm.shape[0]
    fig, axes = _panel_grid(len(motifs), columns, (max(3.0, width * 0.18), 1.6))
    for ax, m in zip(axes, motifs, strict=True):
        logomaker.Logo(_logo_frame(m.pwm), ax=ax, color_scheme="classic", show_spines=False)
        ax.set_ylim(0, 2)
        ax.set_yticks([0, 1, 2])
        ax.axvspan(m.core[0] - 0.5, m.core[1] - 0.5, color="0.92", zorder=-1)
        title = f"{m.name} (n={m.n_sites:,})"
        if m.matches:
            best = m.matches[0]
            title += f"  {best.alt_name or best.name} {best.strand} r={best.score:.2f}"
        ax.set_title(title, fontsize=8)
        ax.tick_params(labelsize=6)
    fig.tight_layout()
    return save_figure(fig, path, dpi=110)


def plot_footprints(
    motifs: Sequence[KernelMotif],
    tracks: Sequence[str],
    flank: int,
    path: str | os.PathLike,
    columns: int = 4,
) -> Path:
    """Mean signal of each track around each kernel's hits (kernel span shaded).

    Parameters
    ----------
    motifs : sequence of KernelMotif
        At least one.
    tracks : sequence of str
        Track names, the columns of each footprint.
    flank : int
        Bases of footprint either side of the kernel span.
    path : str or os.PathLike
        PNG to write the footprints to.
    columns : int
        Footprint panels per row; spare cells of the grid stay blank.

    Returns
    -------
    pathlib.Path
        ``path``, once written.
    """
    fig, axes = _panel_grid(len(motifs), columns, (3.2, 1.8))
    for ax, m in zip(axes, motifs, strict=True):
        pos = np.arange(-flank, m.footprint.shape[0] - flank)
        for t, name in enumerate(tracks):
            ax.plot(pos, m.footprint[:, t], lw=1, label=name)
        ax.axvspan(0, m.pwm.shape[0], color="0.9", zorder=-1)
        ax.set_title(m.name, fontsize=8)
        ax.tick_params(labelsize=6)
    axes[0].legend(fontsize=6)
    fig.tight_layout()
    return save_figure(fig, path, dpi=110)
