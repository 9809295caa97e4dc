"""Remote stores: HTTP reads through a local ``http.server`` for ``info`` and ``export``,
``--storage-options`` checked, and a missing fsspec backend named in one line."""

from __future__ import annotations

import functools
import http.server
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from fnstore.cli import main
from fnstore.errors import StoreError
from fnstore.store import backends
from fnstore.store.read import open_store


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:  # no request lines in the test output
        pass


@pytest.fixture(scope="module")
def served(example_store_path: Path) -> Iterator[str]:
    handler = functools.partial(_Quiet, directory=str(example_store_path.parent))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/{example_store_path.name}"
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
