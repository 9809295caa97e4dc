"""The flat public face of ``fnstore``: what it lists, and that importing it stays light."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import fnstore

REPO = Path(__file__).resolve().parents[1]
PUBLIC = {
    "open_store",
    "Store",
    "build_store",
    "load_spec",
    "validate_store",
    "Sampler",
    "train",
    "BuildResult",
    "EvaluateResult",
    "EnsembleResult",
    "ValidateResult",
}


def test_all_and_dir_list_the_public_api() -> None:
    assert PUBLIC <= set(fnstore.__all__)
    assert PUBLIC <= set(dir(fnstore))
    assert "import_module" not in dir(fnstore)


def test_every_public_name_resolves() -> None:
    from fnstore.build import build_store
    from fnstore.store.validate import ValidateResult

    for name in fnstore.__all__:
        assert getattr(fnstore, name) is not None, name
    assert fnstore.build_store is build_store and fnstore.ValidateResult is ValidateResult


def test_unknown_attribute_raises() -> None:
    try:
        fnstore.no_such_name  # noqa: B018
    except AttributeError as exc:
        assert "no_such_name" in str(exc)
    else:
        raise AssertionError("expected AttributeError")


def test_import_fnstore_is_light() -> None:
    """Neither importing fnstore nor reaching the store/build API loads the heavy stacks."""
    code = (
        "import sys, fnstore\n"
        "fnstore.open_store, fnstore.validate_store, fnstore.BuildResult, fnstore.EvaluateResult\n"
        "heavy = {'tensorflow', 'keras', 'matplotlib', 'dask'}\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & heavy))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=REPO
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
