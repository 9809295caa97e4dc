"""The sweep's summary: the best run per TF, and a warning when it does not clear its scan."""

from __future__ import annotations

from pathlib import Path

from fnstore.sweep.run import SweepResult, best_run_warnings
from fnstore.training.honest import CLEAR_MARGIN


def _row(tf: str, run: str, model: float, scan: float | None) -> dict:
    return {
        "tf": tf,
        "run": run,
        "best": True,
        "honest_auprc": model,
        "honest_motif_scan_auprc": scan,
    }


def test_a_best_run_that_does_not_clearly_beat_its_scan_is_warned() -> None:
    rows = [
        _row("REST", "r1", 0.2 * (1 + CLEAR_MARGIN) / 2, 0.2),  # above the scan, below the margin
        _row("CTCF", "c1", 0.2 * CLEAR_MARGIN + 0.01, 0.2),
        _row("JUND", "j1", 0.01, None),  # no motif: train's card already says so
    ]
    [line] = best_run_warnings(rows)
    assert line.startswith("REST: even the best run, r1") and "not clearly better" in line
    summary = SweepResult(Path("out"), {"r1": "todo"}, leaderboard=rows).summary()
    assert "best CTCF: c1" in summary
    assert summary.splitlines()[-1] == f"Warning: {line}"


def test_no_warning_when_every_best_run_clears_its_scan() -> None:
    rows = [_row("CTCF", "c1", 0.5, 0.2)]
    assert best_run_warnings(rows) == []
    assert "Warning" not in SweepResult(Path("out"), {}, leaderboard=rows).summary()
