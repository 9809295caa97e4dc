"""Shell completion as docs/cli.md documents it (click's ``_FNSTORE_COMPLETE``)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
RUN = "from fnstore.cli import main; main(prog_name='fnstore')"


def complete(words: str, env_var: str = "bash_complete") -> str:
    n = len(words.split()) - (0 if words.endswith(" ") else 1)
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "_FNSTORE_COMPLETE": env_var,
        "COMP_WORDS": words,
        "COMP_CWORD": str(n),
    }
    out = subprocess.run(
        [sys.executable, "-c", RUN], capture_output=True, text=True, timeout=120, env=env
    )
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_bash_completes_commands_and_choices() -> None:
    assert "plain,export" in complete("fnstore exp").splitlines()
    choices = complete("fnstore export a.zarr out --what s").splitlines()
    assert choices == ["plain,signals", "plain,sequence"]
    assert "_fnstore_completion" in complete("fnstore", "bash_source")
    assert "_FNSTORE_COMPLETE=bash_source fnstore" in (REPO / "docs" / "cli.md").read_text()
