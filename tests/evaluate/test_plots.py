"""The one plotting policy: headless figures, atomic saves, the caller's backend untouched."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from fnstore.evaluate.plots import new_figure, plot_paths, save_figure

REPO = Path(__file__).resolve().parents[2]


def test_save_figure_writes_a_png_atomically(tmp_path: Path) -> None:
    fig = new_figure((2, 2))
    fig.subplots().plot([0, 1], [1, 0])
    out = save_figure(fig, tmp_path / "line.png", dpi=50)
    assert out == tmp_path / "line.png"
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert [p.name for p in tmp_path.iterdir()] == ["line.png"]  # no temporary left behind


def test_failed_save_leaves_nothing_under_the_final_name(tmp_path: Path) -> None:
    fig = new_figure((2, 2))
    with pytest.raises(ValueError):
        save_figure(fig, tmp_path / "plot.unknown-format")
    assert list(tmp_path.iterdir()) == []


def test_plotting_keeps_the_callers_backend_and_pyplot_state() -> None:
    code = """
import matplotlib
matplotlib.use("svg")
import matplotlib.pyplot as plt
from fnstore.evaluate.plots import new_figure, save_figure
import tempfile, os
fig = new_figure((2, 2))
fig.subplots().plot([0, 1])
save_figure(fig, os.path.join(tempfile.mkdtemp(), "x.png"))
print(matplotlib.get_backend(), plt.get_fignums())
"""
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=REPO
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["svg", "[]"]


def test_plot_paths() -> None:
    assert plot_paths("out/CTCF") == (Path("out/CTCF.roc.png"), Path("out/CTCF.pr.png"))
    assert plot_paths("out/") == (Path("out/roc.png"), Path("out/pr.png"))
