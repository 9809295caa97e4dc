"""Remote stores on S3: the example store uploaded to a moto server on 127.0.0.1 reads as the
folder does for ``info``, ``export``, ``predict`` and ``validate``; a wrong endpoint, a missing
bucket and a damaged chunk are each one ``Error:``/problem line, never a traceback.

Skipped when moto (with its server extra) or s3fs is not installed (``pip install
'fnstore[test]'`` brings both)."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from tiny_models import tiny_model_for

from fnstore.cli import main
from fnstore.store.read import open_store

s3fs = pytest.importorskip("s3fs")
moto_server = pytest.importorskip("moto.server")

REPO = Path(__file__).resolve().parents[2]
URL = "s3://bucket/example.zarr"
#: what moto accepts as credentials (anything) and what keeps botocore off the real AWS
CREDENTIALS = {"key": "x", "secret": "y"}


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    """A moto S3 server on a free port of 127.0.0.1 (its request log silenced)."""
    werkzeug = logging.getLogger("werkzeug")
    level = werkzeug.level
    werkzeug.setLevel(logging.ERROR)
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()
        werkzeug.setLevel(level)


@pytest.fixture(scope="module")
def options(endpoint: str) -> dict[str, str]:
    return {"endpoint_url": endpoint, **CREDENTIALS}


@pytest.fixture(scope="module")
def bucket(example_store_path: Path, options: dict[str, str]):
    """The example store uploaded to ``s3://bucket/example.zarr``; the s3fs filesystem."""
    fs = s3fs.S3FileSystem(**options)
    fs.mkdir("bucket")
    fs.put(str(example_store_path), "bucket/example.zarr", recursive=True)
    return fs


def cli(args: list[str], options: dict[str, str] | None = None):
    extra = ["--storage-options", json.dumps(options)] if options is not None else []
    done = CliRunner().invoke(main, [*args, *extra])
    assert done.exit_code == 0, done.output
    return done


def files_of(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` by relative path (a predictions .zarr included)."""
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_s3_info_equals_the_folder(bucket, options, example_store) -> None:
    remote = open_store(URL, storage_options=options)
    assert remote.tasks == example_store.tasks and remote.n_bins == example_store.n_bins
    got = json.loads(cli(["info", URL, "--json"], options).output)
    want = example_store.info()
    assert got["path"] == URL and got["size_bytes"] is None
    assert {k: v for k, v in got.items() if k not in ("path", "size_bytes")} == {
        k: v for k, v in want.items() if k not in ("path", "size_bytes")
    }


def test_s3_exports_equal_the_folder(bucket, options, example_store, tmp_path: Path) -> None:
    exports = (
        ("bound.bed", ["--what", "labels", "--tf", "YY1", "--format", "bed"]),
        ("seqs.npz", ["--what", "sequence", "--tf", "YY1", "--label", "B", "--window", "400"]),
    )
    for name, args in exports:
        cli(["export", URL, str(tmp_path / "s3" / name), *args], options)
        cli(["export", str(example_store.path), str(tmp_path / "dir" / name), *args])
    s3, folder = files_of(tmp_path / "s3"), files_of(tmp_path / "dir")
    assert {"bound.bed", "seqs.npz"} <= set(s3) and s3 == folder
    assert len(s3["bound.bed"].splitlines()) > 100  # bound YY1 bins, not an empty file


def test_s3_predict_equals_the_folder(bucket, options, example_store, tmp_path: Path) -> None:
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    pytest.importorskip("keras")
    model = tiny_model_for(example_store, tmp_path / "model")
    for src, out in ((URL, "s3"), (str(example_store.path), "dir")):
        cli(
            ["predict", str(model), src, str(tmp_path / out), "--cell", "GM12878", "--quiet"],
            options,
        )
    s3, folder = files_of(tmp_path / "s3"), files_of(tmp_path / "dir")
    assert "F.YY1.GM12878.tab.gz" in s3 and any(k.endswith(".bw") for k in s3)
    assert s3 == folder


def test_s3_validate_finds_a_damaged_chunk(bucket, options, example_store_path: Path) -> None:
    assert cli(["validate", URL, "--deep"], options).output.strip().endswith(f"{URL}: OK")
    bucket.put(str(example_store_path), "bucket/damaged.zarr", recursive=True)
    chunk = "bucket/damaged.zarr/labels/c/0/0"
    bucket.pipe(chunk, bucket.cat(chunk)[:-7])
    damaged = URL.replace("example", "damaged")
    done = CliRunner().invoke(
        main, ["validate", damaged, "--json", "--storage-options", json.dumps(options)]
    )
    assert done.exit_code == 1
    problems = json.loads(done.output)["problems"]
    assert problems and all("labels/c/0/0" in p for p in problems), problems


@pytest.mark.faults
@pytest.mark.parametrize(
    "url, endpoint_of", [(URL, "unreachable"), ("s3://nobucket/example.zarr", "moto")]
)
def test_s3_wrong_endpoint_or_bucket_is_one_line(bucket, options, url, endpoint_of) -> None:
    """Run as a real process: the tracebacks this guards against were printed by asyncio's
    unraisable-exception hook after the command's own error, on stderr."""
    given = dict(options)
    if endpoint_of == "unreachable":
        given["endpoint_url"] = "http://127.0.0.1:1"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run(
        [sys.executable, "-m", "fnstore.cli", "info", url, "--storage-options", json.dumps(given)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert done.returncode == 1 and done.stdout == ""
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"Error: {url}: "), done.stderr
    if endpoint_of == "moto":  # the endpoint answers: nothing is there
        assert lines[0] == f"Error: {url}: no such store (no zarr.json there)", lines[0]
