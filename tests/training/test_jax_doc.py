"""The JAX training loop in docs/api.md runs as written, on the example store."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def doc_snippet() -> str:
    text = (REPO / "docs" / "api.md").read_text()
    match = re.search(r"<!-- jax-loop -->\n```python\n(.*?)```", text, re.S)
    assert match, "docs/api.md lost its <!-- jax-loop --> block"
    return match.group(1)


def test_jax_loop_in_the_docs_runs(example_store_path: Path, tmp_path: Path) -> None:
    pytest.importorskip("jax")
    (tmp_path / "example.zarr").symlink_to(example_store_path)
    env = {**os.environ, "PYTHONPATH": str(REPO), "JAX_PLATFORMS": "cpu"}
    out = subprocess.run(
        [sys.executable, "-c", doc_snippet()],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,
        env=env,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    losses = [float(v) for v in re.findall(r"epoch \d: loss ([\d.]+)", out.stdout)]
    assert len(losses) == 2 and all(0 < v < 5 for v in losses), out.stdout
