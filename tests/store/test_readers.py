"""Every array of a store reads the same through zarrs (Rust) and zarrita (JavaScript).

tensorstore (C++) is checked in ``test_portable.py``; these complete the readers table in
``docs/schema.md``. Each reader must do the decoding itself: zarrs runs as zarr-python's codec
pipeline with ``codec_pipeline.strict`` set, which removes its fall-back to zarr-python's own
codecs (a read zarrs cannot do raises instead of quietly succeeding in Python); zarrita runs in
Node on a copy of ``tests/store/js`` installed from its pinned ``package-lock.json``, finds the
arrays from the root's consolidated metadata as a JavaScript client would, and prints a SHA-256
of each array's element bytes, which is compared with NumPy's. Node 20 has no ``Float16Array``,
so zarrita refuses float16 there: the test pins exactly that (and nothing else) as the one
failure, and the example built with ``signal_dtype: float32`` must read fully (in zarrs and
tensorstore too).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import zarr

from fnstore.store.names import NAME_ARRAYS, NAMES_ATTR, decode_names
from fnstore.store.read import open_store

JS_DIR = Path(__file__).parent / "js"
EXAMPLE_DIR = Path(__file__).resolve().parents[2] / "fnstore" / "example"


def _arrays(folder: Path) -> list[str]:
    return sorted(
        p.parent.relative_to(folder).as_posix()
        for p in folder.rglob("zarr.json")
        if json.loads(p.read_text())["node_type"] == "array"
    )


def _store_names(store) -> dict[str, list[str]]:
    """What each name array must decode to, from fnstore's own reader."""
    return {
        "chrom": store.chroms,
        "cell": store.cells,
        "track": store.tracks,
        "task": [t.name for t in store.tasks],
        "task_tf": [t.tf for t in store.tasks],
        "task_cell": [t.cell for t in store.tasks],
        "annotation": store.annotation_names,
        "meta_feature": store.meta_feature_names,
    }


def _le_sha256(data: np.ndarray) -> str:
    """SHA-256 of the C-order little-endian element bytes (what read_store.mjs hashes)."""
    data = np.ascontiguousarray(data, dtype=data.dtype.newbyteorder("<"))
    return hashlib.sha256(data.tobytes()).hexdigest()


@pytest.fixture(scope="session")
def float32_store_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled example built with ``signal_dtype: float32`` (for JavaScript consumers)."""
    import yaml

    from fnstore.build import build_store

    spec = yaml.safe_load((EXAMPLE_DIR / "spec.yaml").read_text())
    spec["genome"]["fasta"] = str(EXAMPLE_DIR / spec["genome"]["fasta"])
    spec["blacklist"] = [str(EXAMPLE_DIR / b) for b in spec["blacklist"]]
    for cell in spec["cells"].values():
        cell["tracks"] = {k: str(EXAMPLE_DIR / v) for k, v in cell.get("tracks", {}).items()}
        cell["metadata"] = str(EXAMPLE_DIR / cell["metadata"])
    spec["labels"] = [{"peaks_dir": str(EXAMPLE_DIR / e["peaks_dir"])} for e in spec["labels"]]
    spec["annotations"] = {k: str(EXAMPLE_DIR / v) for k, v in spec["annotations"].items()}
    spec["signal_dtype"] = "float32"
    path = tmp_path_factory.mktemp("example-float32") / "example-float32.zarr"
    build_store(spec, path, progress=False)
    return path


@pytest.mark.parametrize("store", ["example_store_path", "float32_store_path"])
def test_zarrs_reads_every_array_bit_exactly(store: str, request: pytest.FixtureRequest) -> None:
    pytest.importorskip("zarrs")
    folder: Path = request.getfixturevalue(store)
    paths = _arrays(folder)
    assert set(NAME_ARRAYS) <= set(paths) and "signals/ATAC" in paths
    want = {p: zarr.open_array(str(folder / p), mode="r")[...] for p in paths}
    assert want["signals/ATAC"].dtype == ("float32" if "float32" in store else "float16")
    names = _store_names(open_store(folder))
    options = {"codec_pipeline.path": "zarrs.ZarrsCodecPipeline", "codec_pipeline.strict": True}
    with zarr.config.set(options):
        for path in paths:
            arr = zarr.open_array(str(folder / path), mode="r")
            pipeline = arr._async_array.codec_pipeline
            # zarrs' Rust pipeline is there and zarr-python's fall-back is not
            assert type(pipeline).__name__ == "ZarrsCodecPipeline", path
            assert pipeline.impl is not None and pipeline.python_impl is None, path
            got = arr[...]
            assert got.dtype == want[path].dtype and got.shape == want[path].shape, path
            assert got.tobytes() == want[path].tobytes(), path
            if path in NAME_ARRAYS:
                assert decode_names(got) == names[path] == arr.attrs[NAMES_ATTR], path


def test_tensorstore_reads_the_float32_store(float32_store_path: Path) -> None:
    """test_portable.py reads the (float16) example store; this the float32 build."""
    ts = pytest.importorskip("tensorstore")
    for path in _arrays(float32_store_path):
        spec = {
            "driver": "zarr3",
            "kvstore": {"driver": "file", "path": str(float32_store_path / path)},
        }
        got = ts.open(spec, read=True).result().read().result()
        want = zarr.open_array(str(float32_store_path / path), mode="r")[...]
        assert got.dtype == want.dtype and got.tobytes() == want.tobytes(), path


def test_zarrs_strict_has_no_python_fall_back(tmp_path: Path) -> None:
    """Why ``strict``: without it a schema-1 name array (zarr-python ``string``) still "reads"."""
    zarrs = pytest.importorskip("zarrs")
    arr = zarr.open_group(str(tmp_path / "v1.zarr"), mode="w").create_array(
        "cell", shape=(2,), dtype=str
    )
    arr[:] = np.asarray(["GM12878", "HepG2"], dtype=object)
    path = str(tmp_path / "v1.zarr" / "cell")
    with zarr.config.set({"codec_pipeline.path": "zarrs.ZarrsCodecPipeline"}):
        assert list(zarr.open_array(path, mode="r")[...]) == ["GM12878", "HepG2"]  # Python did it
    options = {"codec_pipeline.path": "zarrs.ZarrsCodecPipeline", "codec_pipeline.strict": True}
    with zarr.config.set(options), pytest.raises(zarrs.pipeline.UnsupportedDataTypeError):
        zarr.open_array(path, mode="r")[...]


@pytest.fixture(scope="session")
def zarrita_script(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``read_store.mjs`` with zarrita installed beside it from the pinned lock file."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.skip("node/npm not installed")
    folder = tmp_path_factory.mktemp("zarrita")
    for name in ("package.json", "package-lock.json", "read_store.mjs"):
        shutil.copy(JS_DIR / name, folder / name)
    command = [npm, "ci", "--prefix", str(folder), "--no-audit", "--no-fund", "--ignore-scripts"]
    try:
        subprocess.run(command, capture_output=True, text=True, check=True, timeout=300)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as err:
        pytest.skip(f"npm could not install zarrita (offline?): {err.stderr or err}"[:300])
    return folder / "read_store.mjs"


def _zarrita_read(script: Path, store: Path) -> dict:
    done = subprocess.run(
        ["node", str(script), str(store)], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def _check_zarrita(report: dict, folder: Path) -> list[str]:
    """Compare zarrita's report with zarr-python; return the arrays zarrita could not read."""
    store_names = _store_names(open_store(folder))
    assert report["reader"] == "zarrita 0.7.5" and report["node"].startswith("v")
    assert sorted(report["arrays"]) == _arrays(folder)  # every array found, nothing else
    failed = []
    for path, entry in report["arrays"].items():
        want = zarr.open_array(str(folder / path), mode="r")[...]
        assert entry["dtype"] == want.dtype.name, path
        if "error" in entry:
            failed.append(path)
            continue
        assert tuple(entry["shape"]) == want.shape, path
        assert entry["sha256"] == _le_sha256(want), path
        if path in NAME_ARRAYS:
            assert entry["names"] == decode_names(want) == store_names[path], path
        else:
            assert "names" not in entry, path
    return failed


def test_zarrita_reads_every_array_but_float16_on_node_20(
    zarrita_script: Path, example_store_path: Path
) -> None:
    report = _zarrita_read(zarrita_script, example_store_path)
    failed = _check_zarrita(report, example_store_path)
    float16 = [p for p, e in report["arrays"].items() if e["dtype"] == "float16"]
    assert float16 == ["signals/ATAC"]  # the example's signals are float16 (auto)
    if report["float16_array"]:  # a Node with Float16Array (not Node 20) reads them too
        assert failed == []
    else:
        assert failed == float16
        for path in failed:
            assert "float16" in report["arrays"][path]["error"], path


def test_zarrita_reads_a_float32_store_fully(
    zarrita_script: Path, float32_store_path: Path
) -> None:
    report = _zarrita_read(zarrita_script, float32_store_path)
    assert report["arrays"]["signals/ATAC"]["dtype"] == "float32"
    assert _check_zarrita(report, float32_store_path) == []
