"""Where the real hg19 chr20 data lives, if anywhere (a plain module: test files and
benchmarks import it; ``conftest`` modules are not importable by name once a subfolder has
its own)."""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def shared_data_dir() -> Path | None:
    """The real data folder, or None; ``FNSTORE_SHARED_DATA=none`` runs the suite as a fresh
    clone without it would."""
    env = os.environ.get("FNSTORE_SHARED_DATA")
    if env is not None and env.lower() in {"", "none", "0"}:
        return None
    candidates = [Path(env)] if env else []
    candidates += [REPO.parent / "shared" / "data", Path("/work/shared/data")]
    for c in candidates:
        if (c / "hg19" / "hg19_chr20.fa.gz").exists():
            return c
    return None
