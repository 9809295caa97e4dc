"""``build --overwrite`` builds beside the old store and swaps it in only when complete.

A failed or killed overwrite leaves the old store whole and readable; a killed one stays
in ``STORE.building``, which ``--resume`` finishes (then swaps in) and ``--overwrite``
starts over. Stores are compared array by array with a fresh build of the new spec.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml
from click.testing import CliRunner
from synthetic import write_gz

from fnstore.build import build_store, builder
from fnstore.cli import main
from fnstore.errors import InputError
from fnstore.store.read import open_store

pytestmark = pytest.mark.faults

REPO = Path(__file__).resolve().parents[2]


def _arrays(path: Path) -> dict[str, np.ndarray]:
    store = open_store(path)
    names = ["sequence", "bin_chrom", "bin_start", "blacklist", "labels", "annotations", "metadata"]
    out = {n: store.root[n][...] for n in names}
    out.update({f"signals/{t}": store.root["signals"][t][...] for t in store.tracks})
    return out


def _assert_same(a: Path, b: Path) -> None:
    x, y = _arrays(a), _arrays(b)
    assert x.keys() == y.keys()
    for name in x:
        np.testing.assert_array_equal(x[name], y[name], err_msg=name)


@pytest.fixture
def old_and_new(tmp_path: Path, toy: dict) -> tuple[Path, Path, Path]:
    """``(store, new_spec, reference)``: a store built from ``toy``, a spec whose blacklist
    differs, and a fresh build of that spec to compare with."""
    store = tmp_path / "s.zarr"
    build_store(toy, store)
    new = dict(toy, blacklist=[str(write_gz(tmp_path / "bl2.bed.gz", "chrA\t100\t9000\n"))])
    spec = tmp_path / "new.yaml"
    spec.write_text(yaml.safe_dump(new))
    reference = tmp_path / "ref.zarr"
    build_store(spec, reference)
    assert not np.array_equal(_arrays(store)["blacklist"], _arrays(reference)["blacklist"])
    return store, spec, reference


def _kill_half_way(spec: Path, store: Path, *flags: str) -> None:
    """Run ``build`` in a child that SIGKILLs itself after half of its work units."""
    code = (
        "import os, signal, sys\n"
        "import fnstore.build.builder as b\n"
        "real = b._execute\n"
        "def execute(plan, store, todo, *a, **k):\n"
        "    real(plan, store, todo[: len(todo) // 2], *a, **k)\n"
        "    os.kill(os.getpid(), signal.SIGKILL)\n"
        "b._execute = execute\n"
        "from fnstore.cli import main\n"
        "main(sys.argv[1:])\n"
    )
    args = ["build", str(spec), str(store), "--quiet", *flags]
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.run([sys.executable, "-c", code, *args], env=env, capture_output=True)
    assert proc.returncode == -signal.SIGKILL, proc.stderr.decode()


def test_failed_overwrite_keeps_the_old_store(old_and_new, monkeypatch) -> None:
    store, spec, _ = old_and_new
    before = _arrays(store)

    def fail(*args, **kwargs):
        raise InputError("x.bw", "unreadable block")

    monkeypatch.setattr(builder, "_execute", fail)
    with pytest.raises(InputError, match="unreadable block"):
        build_store(spec, store, overwrite=True)
    after = _arrays(store)
    for name in before:
        np.testing.assert_array_equal(before[name], after[name], err_msg=name)
    assert not Path(f"{store}.building").exists()


def test_killed_overwrite_keeps_the_old_store_and_resumes(old_and_new) -> None:
    store, spec, reference = old_and_new
    before = _arrays(store)
    _kill_half_way(spec, store, "--overwrite")
    after = _arrays(store)  # still the complete old store: readers accept it
    for name in before:
        np.testing.assert_array_equal(before[name], after[name], err_msg=name)
    assert Path(f"{store}.building").is_dir()

    plain = CliRunner().invoke(main, ["build", str(spec), str(store), "--quiet"])
    assert plain.exit_code == 1 and "--resume" in plain.output
    result = CliRunner().invoke(main, ["build", str(spec), str(store), "--resume", "--quiet"])
    assert result.exit_code == 0, result.output
    assert str(store) in result.output
    assert not Path(f"{store}.building").exists()
    _assert_same(store, reference)
    assert open_store(store).provenance["resumed"] is True
    assert CliRunner().invoke(main, ["validate", str(store)]).exit_code == 0


def test_overwrite_after_a_killed_overwrite_starts_over(old_and_new) -> None:
    store, spec, reference = old_and_new
    _kill_half_way(spec, store, "--overwrite")
    result = CliRunner().invoke(main, ["build", str(spec), str(store), "--overwrite", "--quiet"])
    assert result.exit_code == 0, result.output
    assert not Path(f"{store}.building").exists()
    _assert_same(store, reference)
    assert open_store(store).provenance["resumed"] is False


def test_a_foreign_building_folder_is_refused(old_and_new) -> None:
    store, spec, _ = old_and_new
    foreign = Path(f"{store}.building")
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    result = CliRunner().invoke(main, ["build", str(spec), str(store), "--overwrite", "--quiet"])
    assert result.exit_code == 1
    lines = [ln for ln in result.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and "s.zarr.building: not an fnstore store" in lines[0]
    assert (foreign / "notes.txt").read_text() == "mine"
