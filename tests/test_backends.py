"""Every Keras backend installed (JAX, PyTorch): train (2 epochs, codes fed to the device),
predict (fast = naive, to rounding); a model saved under TensorFlow predicts the
same under the others and one saved under them the same under TensorFlow; TensorFlow is
never imported there; data parallel on two virtual devices equals one."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("keras")
OTHERS = [b for b in ("jax", "torch") if importlib.util.find_spec(b) is not None]
REPO = Path(__file__).resolve().parents[1]

SCRIPT = r"""
import json, sys
import numpy as np
import fnstore
from fnstore.io.predictions import read_predictions
from fnstore.predict import predict
store, tf_model, out, regions = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
import keras
if keras.backend.backend() == "torch":
    # a plain ``.numpy()``, as before the fix: raises "Can't call numpy() on Tensor that
    # requires grad" unless inference runs under no_grad (issue 18 item 5)
    plain = keras.ops.convert_to_numpy
    keras.ops.convert_to_numpy = lambda t: t.numpy() if hasattr(t, "requires_grad") else plain(t)
st = fnstore.open_store(store)
res = fnstore.train(store, out + "/m", "YY1", ["GM12878"], epochs=2, feed="codes",
                    steps_per_epoch=2, valid_steps=1, verbose=0,
                    hyperparameters={"window": 400, "lstm_units": 0})
runs = {}
for name, model in (("own", out + "/m"), ("tf", tf_model)):
    for method in ("fast", "naive"):
        d = f"{out}/{name}-{method}"
        predict(model, st, d, "GM12878", regions=regions, method=method, progress=False)
        _, s = read_predictions(next(__import__("pathlib").Path(d).glob("F.YY1*.zarr")), st)
        np.save(f"{d}.npy", s)
print(json.dumps({"backend": keras.backend.backend(), "tensorflow": "tensorflow" in sys.modules,
                  "honest": res.honest["results"][0]["n"]}))
"""


@pytest.mark.parametrize(
    "backend", OTHERS or [pytest.param("jax", marks=pytest.mark.skip("no other backend installed"))]
)
def test_train_predict_and_cross_backend_equality(
    backend: str, example_store_path: Path, tmp_path: Path
) -> None:
    from tiny_models import tiny_model_for

    import fnstore
    from fnstore.io.predictions import read_predictions
    from fnstore.predict import predict

    st = fnstore.open_store(example_store_path)
    tf_model = tiny_model_for(st, tmp_path / "tf-model")
    # 12,000 of the example's 90,000 bins: the per-bin path is slow off TensorFlow on a CPU
    regions = tmp_path / "regions.bed"
    starts = [*range(1_000_000, 1_300_000, 50), *range(3_000_000, 3_300_000, 50)]
    regions.write_text("".join(f"chr20_slice\t{a}\t{a + 200}\n" for a in starts))
    predict(tf_model, st, tmp_path / "tf-run", "GM12878", regions=regions, progress=False)
    _, on_tf = read_predictions(next((tmp_path / "tf-run").glob("F.YY1*.zarr")), st)

    env = {**os.environ, "KERAS_BACKEND": backend, "PYTHONPATH": str(REPO)}
    out = tmp_path / backend
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(example_store_path), str(tf_model), str(out), str(regions)],
        env=env, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report == {"backend": backend, "tensorflow": False, "honest": report["honest"]}
    assert report["honest"] > 0
    # fast = naive up to rounding (PyTorch: at most 1.2e-7 over the example, docs/backends.md)
    _close(np.load(out / "own-fast.npy"), np.load(out / "own-naive.npy"))
    _close(np.load(out / "tf-fast.npy"), np.load(out / "tf-naive.npy"))
    # saved under TensorFlow, predicted under the other backend
    np.testing.assert_allclose(np.load(out / "tf-fast.npy"), on_tf, atol=1e-5)
    # saved under the other backend, predicted here under TensorFlow
    predict(out / "m", st, tmp_path / "back-run", "GM12878", regions=regions, progress=False)
    _, back = read_predictions(next((tmp_path / "back-run").glob("F.YY1*.zarr")), st)
    np.testing.assert_allclose(back, np.load(out / "own-fast.npy"), atol=1e-5)


def _close(a: np.ndarray, b: np.ndarray) -> None:
    np.testing.assert_allclose(a, b, atol=1e-5)


def test_backend_option_refuses_what_cannot_be(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from fnstore.backend import current_backend
    from fnstore.cli import main

    other = next(b for b in ("jax", "torch") if b != current_backend())
    res = CliRunner().invoke(main, ["--backend", other, "info", str(tmp_path)])
    assert res.exit_code == 1 and res.output.startswith("Error: --backend: ")


DATA_PARALLEL = r"""
import json, sys
import keras
import numpy as np
import fnstore
import fnstore.backend as backend
from fnstore.errors import InputError
store, out = sys.argv[1], sys.argv[2]
seen, plain = [], backend.data_parallel

def spy(devices, batch_size=0):  # what the scope really holds, once entered
    scope = plain(devices, batch_size)
    class Spy:
        def __enter__(self):
            scope.__enter__()
            d = keras.distribution.distribution()
            seen.append(None if d is None else len(d.device_mesh.devices.ravel()))
        def __exit__(self, *exc):
            return scope.__exit__(*exc)
    return Spy()

backend.data_parallel = spy
weights = {}
for devices in (1, 2):
    fnstore.train(store, f"{out}/m{devices}", "YY1", ["GM12878"], tracks=[], epochs=1,
                  steps_per_epoch=3, valid_steps=1, verbose=0, devices=devices, batch_size=32,
                  hyperparameters={"window": 400, "lstm_units": 0})
    m = keras.saving.load_model(f"{out}/m{devices}/model.keras", compile=False)
    weights[devices] = m.get_weights()
refused = []
for kw in ({"devices": 3, "batch_size": 33}, {"devices": 2, "batch_size": 33}):
    try:
        fnstore.train(store, f"{out}/bad", "YY1", ["GM12878"], tracks=[], epochs=1,
                      steps_per_epoch=1, valid_steps=1, verbose=0, **kw)
    except InputError as exc:
        refused.append(str(exc).split(":")[0])
diff = max(float(np.max(np.abs(a - b))) for a, b in zip(weights[1], weights[2]))
print(json.dumps({"seen": seen, "diff": diff, "refused": refused}))
"""


@pytest.mark.skipif("jax" not in OTHERS, reason="JAX not installed")
def test_data_parallel_on_two_virtual_devices_equals_one(
    example_store_path: Path, tmp_path: Path
) -> None:
    """``--devices 2`` (Keras DataParallel over two virtual CPU devices) trains the same
    weights as one device at the same global batch, up to float rounding."""
    env = {
        **os.environ,
        "KERAS_BACKEND": "jax",
        "PYTHONPATH": str(REPO),
        "XLA_FLAGS": "--xla_force_host_platform_device_count=2",
    }
    done = subprocess.run(
        [sys.executable, "-c", DATA_PARALLEL, str(example_store_path), str(tmp_path)],
        env=env, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["seen"] == [None, 2]
    assert report["refused"] == ["--devices", "--batch-size"]
    assert report["diff"] < 1e-5


JOB_SCRIPT = r"""
import json, sys
import numpy as np
import fnstore, keras
from fnstore.errors import InputError
store, out = sys.argv[1], sys.argv[2]
kw = dict(tracks=[], epochs=1, steps_per_epoch=3, valid_steps=1, verbose=0, batch_size=32,
          hyperparameters={"window": 400, "lstm_units": 0})
refused = None
try:  # one device of a two-process job: each process would fit its own share alone
    fnstore.train(store, out + "-bad", "YY1", ["GM12878"], devices=1, **kw)
except InputError as exc:
    refused = str(exc)
fnstore.train(store, out, "YY1", ["GM12878"], devices=2, **kw)
import jax
print(json.dumps({"rank": jax.process_index(), "world": jax.process_count(), "refused": refused,
                  "tensorflow": "tensorflow" in sys.modules}))
"""


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("localhost", 0))
        return int(s.getsockname()[1])


@pytest.mark.skipif("jax" not in OTHERS, reason="JAX not installed")
def test_two_process_job_equals_two_devices_in_one_process(
    example_store_path: Path, tmp_path: Path
) -> None:
    """Two JAX processes of one CPU device each (``jax.distributed`` over localhost, as on
    two hosts) train exactly the weights of one process with two virtual devices: each rank
    feeds its half of every global batch. ``--devices`` short of the job's is refused."""
    import keras

    import fnstore.model.architecture  # noqa: F401  (registers the layers for loading)

    base = {**os.environ, "KERAS_BACKEND": "jax", "PYTHONPATH": str(REPO)}
    cmd = [sys.executable, "-c", JOB_SCRIPT, str(example_store_path)]
    one = {**base, "XLA_FLAGS": "--xla_force_host_platform_device_count=2"}
    port = _free_port()
    job = {
        "KERAS_DISTRIBUTION_JOB_ADDRESSES": f"localhost:{port},localhost:{port + 1}",
        "KERAS_DISTRIBUTION_NUM_PROCESSES": "2",
    }
    ranks = [
        subprocess.Popen(
            [*cmd, str(tmp_path / f"rank{r}")],
            env={**base, **job, "KERAS_DISTRIBUTION_PROCESS_ID": str(r)},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        for r in range(2)
    ]
    reports = []
    for proc in ranks:
        out, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, err[-3000:]
        reports.append(json.loads(out.strip().splitlines()[-1]))
    assert [(r["rank"], r["world"]) for r in reports] == [(0, 2), (1, 2)]
    assert all("--devices 2" in r["refused"] and not r["tensorflow"] for r in reports)
    done = subprocess.run(
        [*cmd, str(tmp_path / "one")], env=one, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr[-3000:]
    weights = {
        name: keras.saving.load_model(tmp_path / name / "model.keras", compile=False).get_weights()
        for name in ("one", "rank0", "rank1")
    }
    for name in ("rank0", "rank1"):
        pairs = zip(weights["one"], weights[name], strict=True)
        diff = max(float(np.abs(a - b).max()) for a, b in pairs)
        assert diff <= 1e-6, (name, diff)
