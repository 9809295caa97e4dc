"""No leaks: temporary FASTA indexes and ``processes`` workers never outlive a build."""

from __future__ import annotations

import gc
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
import pytest
import yaml

from fnstore.build import build_store
from fnstore.errors import InputError
from fnstore.io.fasta import inspect_fasta

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def private_tmp(tmp_path, monkeypatch) -> Path:
    """A private temporary folder, so leftovers of this test alone are seen."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


def _fai_dirs(folder: Path) -> list[Path]:
    return sorted(folder.glob("fnstore-fai-*"))


def test_fai_folder_removed_after_a_build(tmp_path, toy, private_tmp):
    assert not Path(toy["genome"]["fasta"] + ".fai").exists()
    build_store(toy, tmp_path / "out.zarr")
    gc.collect()
    assert _fai_dirs(private_tmp) == []


def test_fai_folder_removed_after_an_input_error(tmp_path, toy, private_tmp):
    toy["labels"][0]["conservative"] = str(tmp_path / "missing.narrowPeak")
    with pytest.raises(InputError):
        build_store(toy, tmp_path / "out.zarr")
    gc.collect()
    assert _fai_dirs(private_tmp) == []


def test_fai_folder_removed_when_indexing_fails(tmp_path, private_tmp):
    import gzip

    bad = tmp_path / "plain-gzip.fa.gz"  # gzip, not BGZF: samtools cannot index it
    with gzip.open(bad, "wt") as fh:
        fh.write(">chrA\nACGT\n")
    with pytest.raises(InputError, match="BGZF"):
        inspect_fasta(bad)
    assert _fai_dirs(private_tmp) == []


@pytest.mark.faults
def test_fai_folder_removed_on_ctrl_c(tmp_path, toy):
    """Interrupted while the index is in use (a live FastaInfo): removed at exit."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    script = (
        "import fnstore.io.fasta as f\n"
        f"info = f.inspect_fasta({toy['genome']['fasta']!r})\n"
        "import os; assert os.path.exists(info.fai)\n"
        "raise KeyboardInterrupt\n"
    )
    env = {**os.environ, "TMPDIR": str(folder), "PYTHONPATH": str(REPO)}
    proc = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True)
    assert "KeyboardInterrupt" in proc.stderr
    assert _fai_dirs(folder) == []


def _workers(parent: psutil.Process) -> list[psutil.Process]:
    out = []
    for child in parent.children(recursive=True):
        try:
            cmd = " ".join(child.cmdline())
        except psutil.Error:
            continue
        if "spawn_main" in cmd and "resource_tracker" not in cmd:
            out.append(child)
    return out


@pytest.mark.faults
def test_process_workers_die_with_a_killed_build(tmp_path, toy):
    toy["chunks"] = {"positions": 1024, "bins": 64}  # many small units
    spec = tmp_path / "spec.yaml"
    spec.write_text(yaml.safe_dump(toy))
    script = (
        "from fnstore.build import build_store\n"
        f"build_store({str(spec)!r}, {str(tmp_path / 'out.zarr')!r}, scheduler='processes', workers=2)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen([sys.executable, "-c", script], env=env)
    parent = psutil.Process(proc.pid)
    workers: list[psutil.Process] = []
    deadline = time.monotonic() + 120
    while not workers and proc.poll() is None and time.monotonic() < deadline:
        workers = _workers(parent)
        time.sleep(0.05)
    assert workers, "the build started no worker process"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    gone, alive = psutil.wait_procs(workers, timeout=60)
    for p in alive:
        p.kill()
    assert not alive, f"worker processes outlived their killed parent: {[p.pid for p in alive]}"
