"""The tiny sweep the sweep tests share: 2 TFs x 1 cell set x 2 seeds on the bundled
example, plus one run per seed that fails (a motif without a motif file)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

#: the validation region, also the held-out target (so both score the same bins)
TAIL = "chr20_slice:3600000-4500000"
FAST = {"epochs": 1, "steps_per_epoch": 3, "valid_steps": 2, "window": 400, "lstm_units": 0}


def tiny_spec(store: Path, **more: Any) -> dict[str, Any]:
    """The tiny sweep's spec on ``store`` (the bundled example), ``more`` keys replaced."""
    spec = {
        "store": str(store),
        "tfs": ["YY1", "ZNF143"],
        "cells": ["GM12878"],
        "seeds": [0, 1],
        "defaults": dict(FAST),
        "runs": [{}, {"tfs": "YY1", "motifs": ["nosuch"]}],
        "validation": {"valid_chroms": [TAIL]},
        "heldout": [{"cell": "GM12878", "name": "tail", "chroms": [TAIL]}],
        "ensemble": {"top_k": 2},
    }
    spec.update(more)
    return spec
