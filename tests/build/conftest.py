"""The ``toy`` spec shared by the build tests: a small valid store whose files a test can break."""

from __future__ import annotations

from pathlib import Path

import pytest
from synthetic import TOY_LENGTHS, toy_spec

LENGTHS = TOY_LENGTHS


@pytest.fixture
def toy(tmp_path: Path) -> dict:
    """A small, valid spec whose files each test can break."""
    d = tmp_path / "in"
    d.mkdir()
    return toy_spec(d)
