"""The leaderboard's honest columns judge a run by the cells ``fnstore train`` warns by."""

from __future__ import annotations

import pytest

from fnstore.sweep.leaderboard import MARGIN_KEY, MOTIF_KEY, honest_for_tf
from fnstore.sweep.run import best_run_warnings
from fnstore.training.honest import CLEAR_MARGIN, TRAINING_CELLS_MARGIN


def _row(tf: str, cell: str, role: str, auprc: float, scan: float) -> dict:
    return {
        "tf": tf,
        "cell": cell,
        "role": role,
        "auprc": auprc,
        "auroc": 0.8,
        "motif_baseline": {"motif": "MA1", "auprc": scan},
    }


def test_cells_never_trained_on_decide_the_honest_columns() -> None:
    honest = {
        "results": [
            _row("REST", "K562", "train-cell", 0.16, 0.07),
            _row("REST", "HepG2", "train-cell", 0.15, 0.07),
            _row("REST", "MCF-7", "unseen-cell", 0.26, 0.25),
            _row("CTCF", "K562", "train-cell", 0.50, 0.30),
        ]
    }
    rest = honest_for_tf(honest, "REST")
    assert rest["auprc"] == pytest.approx(0.26) and rest[MOTIF_KEY] == pytest.approx(0.25)
    ctcf = honest_for_tf(honest, "CTCF")
    assert ctcf["auprc"] == pytest.approx(0.50) and ctcf[MOTIF_KEY] == pytest.approx(0.30)
    assert honest_for_tf(None, "REST")["auprc"] is None
    # so the sweep warns about the REST pick as train does
    assert rest[MARGIN_KEY] == CLEAR_MARGIN and ctcf[MARGIN_KEY] == TRAINING_CELLS_MARGIN
    best = [
        {
            "tf": tf,
            "run": f"{tf}.s0",
            "honest_auprc": h["auprc"],
            "honest_motif_scan_auprc": h[MOTIF_KEY],
            "honest_margin": h[MARGIN_KEY],
        }
        for tf, h in (("REST", rest), ("CTCF", ctcf))
    ]
    # REST ties its scan in the unseen cell; CTCF's 1.7x in training cells alone is short of
    # the training-cell bar
    lines = best_run_warnings(best)
    assert [line.split(":")[0] for line in lines] == ["REST", "CTCF"]
    assert f"needs {TRAINING_CELLS_MARGIN:g}x" in lines[1]
    best[1]["honest_auprc"] = 0.80
    assert [line.split(":")[0] for line in best_run_warnings(best)] == ["REST"]
