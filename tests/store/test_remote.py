"""Remote stores: HTTP reads through a local ``http.server`` for ``info``, ``export``,
``predict`` and ``validate`` (outputs identical to the folder store's), ``--storage-options``
checked, and a missing fsspec backend named in one line. S3 is tests/store/test_remote_s3.py."""

from __future__ import annotations

import functools
import http.server
import json
import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from tiny_models import tiny_model_for

from fnstore.cli import main
from fnstore.errors import StoreError
from fnstore.store import backends
from fnstore.store.read import open_store


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:  # no request lines in the test output
        pass


class _Server(http.server.ThreadingHTTPServer):
    # the default listen backlog of 5 drops the connections fsspec opens at once (a HEAD per
    # file to size a listing), and each dropped SYN waits out a TCP retransmit (1 s, 3 s...)
    request_queue_size = 128


@pytest.fixture(scope="module")
def served(example_store_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The URL of a copy of the example store, beside ``damaged.zarr`` (one chunk cut short)."""
    site = tmp_path_factory.mktemp("site")
    shutil.copytree(example_store_path, site / "example.zarr")
    shutil.copytree(example_store_path, site / "damaged.zarr")
    chunk = site / "damaged.zarr" / "labels" / "c" / "0" / "0"
    chunk.write_bytes(chunk.read_bytes()[:-7])
    handler = functools.partial(_Quiet, directory=str(site))
    server = _Server(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/example.zarr"
    finally:
        server.shutdown()
        thread.join()


def test_http_info_and_export_equal_the_folder(served: str, example_store, tmp_path: Path) -> None:
    pytest.importorskip("aiohttp")
    remote = open_store(served)
    assert remote.tasks == example_store.tasks and remote.cells == example_store.cells
    run = CliRunner().invoke
    shown = run(main, ["info", served, "--json", "--storage-options", '{"block_size": 0}'])
    assert shown.exit_code == 0, shown.output
    got, want = json.loads(shown.output), example_store.info()
    assert got["size_bytes"] is None and got["path"] == served
    assert {k: v for k, v in got.items() if k not in ("path", "size_bytes")} == {
        k: v for k, v in want.items() if k not in ("path", "size_bytes")
    }
    for src, out in ((served, "http.tsv"), (str(example_store.path), "dir.tsv")):
        done = run(main, ["export", src, str(tmp_path / out), "--what", "features"])
        assert done.exit_code == 0, done.output
    assert (tmp_path / "http.tsv").read_bytes() == (tmp_path / "dir.tsv").read_bytes()


def test_http_predict_equals_the_folder(served: str, example_store, tmp_path: Path) -> None:
    pytest.importorskip("aiohttp")
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    pytest.importorskip("keras")
    model = tiny_model_for(example_store, tmp_path / "model")
    for src, out in ((served, "http"), (str(example_store.path), "dir")):
        args = ["predict", str(model), src, str(tmp_path / out), "--cell", "GM12878", "--quiet"]
        done = CliRunner().invoke(main, args)
        assert done.exit_code == 0, done.output
    files = {
        out: {
            p.relative_to(tmp_path / out).as_posix(): p.read_bytes()
            for p in sorted((tmp_path / out).rglob("*"))
            if p.is_file()
        }
        for out in ("http", "dir")
    }
    assert "F.ZNF143.GM12878.tab.gz" in files["http"] and files["http"] == files["dir"]


def test_http_validate_compares_sizes_with_the_manifest(served: str) -> None:
    """An HTTP folder listing has no sizes: each file's is asked for, so a chunk cut short is
    found without a deep decode."""
    pytest.importorskip("aiohttp")
    run = CliRunner().invoke
    assert run(main, ["validate", served, "--deep"]).output.strip().endswith(f"{served}: OK")
    damaged = served.replace("example.zarr", "damaged.zarr")
    done = run(main, ["validate", damaged, "--json", "--no-checksums"])
    assert done.exit_code == 1, done.output
    problems = json.loads(done.output)["problems"]
    assert problems and all("labels/c/0/0" in p for p in problems), problems


def test_storage_options_reach_fsspec(served: str, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("aiohttp")
    monkeypatch.setenv(backends.STORAGE_OPTIONS_ENV, '{"headers": {"X-Test": "1"}}')
    assert backends.zarr_store(served, "r").fs.kwargs["headers"] == {"X-Test": "1"}
    given = backends.zarr_store(served, "r", {"headers": {"X-Other": "2"}})
    assert given.fs.kwargs["headers"] == {"X-Other": "2"}
    monkeypatch.setenv(backends.STORAGE_OPTIONS_ENV, "{not json")
    with pytest.raises(StoreError, match="FNSTORE_STORAGE_OPTIONS: not JSON"):
        open_store(served)
    monkeypatch.delenv(backends.STORAGE_OPTIONS_ENV)
    bad = CliRunner().invoke(main, ["info", served, "--storage-options", "[1]"])
    assert bad.exit_code == 2 and "must be a JSON object" in bad.output


def test_a_missing_backend_package_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    import builtins

    real = builtins.__import__

    def no_remote(name: str, *args: object, **kwargs: object) -> object:
        if name in ("aiohttp", "s3fs"):
            raise ImportError(name)
        return real(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_remote)
    for url, package in (("https://example.org/s.zarr", "aiohttp"), ("s3://b/s.zarr", "s3fs")):
        with pytest.raises(StoreError) as err:
            open_store(url)
        assert f"needs the {package} package" in str(err.value)
        assert "fnstore[remote]" in str(err.value) and "\n" not in str(err.value)
