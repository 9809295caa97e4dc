"""Shared training fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest
from planted import build_planted


@pytest.fixture(scope="module")
def planted_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The planted-motif store (see :mod:`planted`), built once per test module."""
    return build_planted(tmp_path_factory.mktemp("planted"))
