"""fnstore.io.files: one hash, one text opener that sniffs gzip, atomic writes."""

from __future__ import annotations

import gzip
import hashlib
import os
import subprocess
import sys

import pytest

from fnstore.errors import InputError
from fnstore.io.files import (
    atomic_gzip,
    atomic_path,
    atomic_write,
    open_text,
    read_text,
    sha256_files,
    sha256sum,
    sweep_temporaries,
)


def test_hashes_match_hashlib(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.write_bytes(b"x" * 3_000_000)
    b.write_bytes(b"yz")
    assert sha256sum(a) == hashlib.sha256(a.read_bytes()).hexdigest()
    both = hashlib.sha256(a.read_bytes() + b.read_bytes()).hexdigest()
    assert sha256_files([a, b]) == both


@pytest.mark.parametrize("name", ["rows.txt", "rows.txt.gz", "rows.gz.txt"])
def test_open_text_sniffs_gzip_by_content(tmp_path, name):
    path = tmp_path / name
    data = "chr1\t0\t10\n"
    if name == "rows.gz.txt":  # gzip content under a plain name
        path.write_bytes(gzip.compress(data.encode()))
    elif name.endswith(".gz"):
        path.write_bytes(gzip.compress(data.encode()))
    else:
        path.write_text(data)
    with open_text(path) as fh:
        assert fh.read() == data
    assert read_text(path) == data


def test_missing_file_is_one_line_error(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        open_text(tmp_path / "nope.bed")


def test_atomic_write_appears_only_when_complete(tmp_path):
    target = tmp_path / "out.tsv"
    target.write_text("old\n")
    with pytest.raises(RuntimeError), atomic_write(target) as fh:
        fh.write("half")
        raise RuntimeError("killed")
    assert target.read_text() == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.tsv"]
    with atomic_write(target) as fh:
        fh.write("new\n")
    assert target.read_text() == "new\n"


def test_atomic_path_keeps_suffix_and_gzip_is_reproducible(tmp_path):
    target = tmp_path / "model.keras"
    with atomic_path(target) as tmp:
        assert tmp.name.endswith(".model.keras") and tmp.parent == tmp_path
        tmp.write_bytes(b"weights")
    assert target.read_bytes() == b"weights"
    blobs = []
    for name in ("a.tab.gz", "b.tab.gz"):
        with atomic_gzip(tmp_path / name) as fh:
            fh.write(b"chr1\t0\t200\t0.5\n")
        blobs.append((tmp_path / name).read_bytes())
    assert blobs[0] == blobs[1]


def test_sweep_removes_only_dead_processes_temporaries(tmp_path):
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    dead_pid = int(dead.stdout)
    stale = tmp_path / f".tmp-{dead_pid}-abcd.out.bw"
    live = tmp_path / f".tmp-{os.getpid()}-abcd.out.bw"
    stale.write_bytes(b"")
    live.write_bytes(b"")
    assert sweep_temporaries(tmp_path) == [stale]
    assert live.exists() and not stale.exists()
