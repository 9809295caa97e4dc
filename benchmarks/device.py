"""Benchmark: does the device wait for the sampler? One command on any accelerator (or CPU).

For the ``paper`` and ``factornet-2017`` presets, trains a fixed number of steps

(a) from the sampler, the way ``fnstore train`` does (``model.fit`` on the sampler's
    ``keras.utils.PyDataset``: one reader thread gathering ahead, ``--feed`` batches), and
(b) from the very same batches, already converted and staged in device memory
    (``train_on_batch`` over device tensors: the step with no host work at all),

then predicts a fixed region (``--predict-bins`` consecutive bins, fast exact path). It
prints samples/s of (a) and (b), their ratio (a)/(b) (1.0: the feed costs nothing), the
sampler's share of (a)'s wall time (gathering runs in a reader thread, so a share below 1
can hide behind compute), the peak device memory and the prediction rate. Without an
accelerator it says so in one line and uses small step counts, so it finishes in a couple
of minutes on a laptop CPU; on one GPU the defaults finish in well under 5 minutes,
compiles included. Results: ``benchmarks/results/device-*.md``.

    python benchmarks/device.py                         # bundled example store, codes feed
    KERAS_BACKEND=jax python benchmarks/device.py --steps 300 --feed onehot
    python benchmarks/device.py --store chr20.zarr --tf CTCF --cell GM12878
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import threading
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")  # honest JAX peak memory
os.environ.setdefault("TF_FORCE_GPU_ALLOW_GROWTH", "true")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

PRESETS = ("paper", "factornet-2017")
EXAMPLE_SPEC = Path(__file__).resolve().parents[1] / "fnstore" / "example" / "spec.yaml"


def parse_args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--store", help="store to sample from (default: build the bundled example)")
    ap.add_argument("--tf", default="YY1")
    ap.add_argument("--cell", default="GM12878")
    ap.add_argument("--presets", nargs="+", default=list(PRESETS))
    ap.add_argument("--steps", type=int, help="timed steps per path (default 300; 12 on CPU)")
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--feed", choices=("codes", "onehot"), default="codes")
    ap.add_argument("--mixed-precision", default="off")
    ap.add_argument("--predict-bins", type=int, help="bins predicted (default 20000; 2000 on CPU)")
    ap.add_argument("--backend", help="Keras backend (default: $KERAS_BACKEND, else tensorflow)")
    return ap.parse_args()


def timed_dataset(sampler, feed: str):  # noqa: ANN001, ANN201
    """The trainer's PyDataset, adding up the seconds its reader spends gathering batches."""
    from fnstore.training.keras_data import SamplerDataset

    class Timed(SamplerDataset):
        seconds = 0.0
        lock = threading.Lock()

        def __getitem__(self, index: int):  # noqa: ANN204
            t0 = time.perf_counter()
            batch = super().__getitem__(index)
            with self.lock:
                Timed.seconds += time.perf_counter() - t0
            return batch

    return Timed(sampler, feed=feed, workers=1, use_multiprocessing=False, max_queue_size=10)


def as_keras_batch(batch, feed: str):  # noqa: ANN001, ANN201
    """A sampler batch as the trainer's dataset hands it to Keras."""
    from fnstore.training.keras_data import as_codes, model_inputs

    inputs, y = batch
    return model_inputs(as_codes(inputs) if feed == "codes" else inputs), y


def ListDataset(batches):  # noqa: ANN001, ANN201, N802
    """A PyDataset over batches held in RAM (one reader thread, as the trainer's)."""
    import keras

    class _List(keras.utils.PyDataset):
        def __len__(self) -> int:
            return len(batches)

        def __getitem__(self, i: int):  # noqa: ANN204
            return batches[i]

    return _List(workers=1, use_multiprocessing=False, max_queue_size=10)


def bench_preset(preset: str, store, args: argparse.Namespace) -> dict:  # noqa: ANN001
    import keras

    from fnstore.backend import peak_device_memory
    from fnstore.model.architecture import (
        build_model,
        masked_binary_crossentropy,
        training_model,
    )
    from fnstore.model.config import model_config
    from fnstore.training.keras_data import as_codes, as_keras_dataset
    from fnstore.training.sampler import Sampler

    cfg = model_config(preset)
    warm = 3
    knobs = {"batch_size": args.batch_size, "window": cfg.window, "seed": 0, "max_shift": 20}
    sampler = Sampler(store, args.tf, [args.cell], max_batches=args.steps, **knobs)
    if len(sampler) < args.steps:  # a small store: more negatives per positive fill the steps
        more = (1 + sampler.negatives) * (args.steps / len(sampler)) * 1.1
        sampler = Sampler(
            store, args.tf, [args.cell], max_batches=args.steps, negatives=more, **knobs
        )
    cfg.strand_pairs = list(sampler.strand_pairs)
    if args.mixed_precision != "off":
        keras.config.set_dtype_policy(args.mixed_precision)
    keras.utils.set_random_seed(0)
    model = build_model(sampler.n_tracks, 1, sampler.n_extra, config=cfg)
    trainable = training_model(model, args.feed, float32_out=args.mixed_precision != "off")
    keras.config.set_dtype_policy("float32")
    trainable.compile(optimizer=keras.optimizers.Adam(1e-3), loss=masked_binary_crossentropy)
    n_examples = sampler.batch_size * args.steps

    # compile: a few steps of epoch 0 trace the train step (not timed); (a) is epoch 1
    warm_data = as_keras_dataset(sampler, feed=args.feed)
    trainable.fit(warm_data, epochs=1, steps_per_epoch=warm, verbose=0, shuffle=False)
    sampler.epoch = 1
    timed = timed_dataset(sampler, args.feed)
    t0 = time.perf_counter()
    trainable.fit(timed, epochs=1, verbose=0, shuffle=False)
    fed = time.perf_counter() - t0
    gather = timed.seconds

    # (c) the same fit loop from batches already gathered in host RAM: (a)/(c) is the
    # sampler's own cost, (c)/(b) what the fit loop and host-to-device copies cost
    in_ram = [as_keras_batch(sampler.batch(i, epoch=1), args.feed) for i in range(args.steps)]
    t0 = time.perf_counter()
    trainable.fit(ListDataset(in_ram), epochs=1, verbose=0, shuffle=False)
    from_ram = time.perf_counter() - t0
    del in_ram

    def staged_batch(i: int):  # noqa: ANN202
        inputs, y = sampler.batch(i, epoch=1)
        inputs = as_codes(inputs) if args.feed == "codes" else inputs
        arrays = {k: keras.ops.convert_to_tensor(v) for k, v in inputs.items()}
        return (next(iter(arrays.values())) if len(arrays) == 1 else arrays), (
            keras.ops.convert_to_tensor(y)
        )

    staged = [staged_batch(i) for i in range(args.steps)]
    for x, y in staged[:warm]:
        trainable.train_on_batch(x, y)
    t0 = time.perf_counter()
    for x, y in staged:
        loss = trainable.train_on_batch(x, y)
    float(np.asarray(loss))  # wait for the device
    on_device = time.perf_counter() - t0
    first, _ = sampler.batch(0, epoch=1)
    shipped = as_codes(first) if args.feed == "codes" else first
    bytes_per_example = sum(v[0].nbytes for v in shipped.values())
    del staged
    rate_pred = bench_predict(model, args.predict_bins)
    return {
        "preset": preset,
        "params": model.count_params(),
        "fed": n_examples / fed,
        "staged": n_examples / on_device,
        "ram": n_examples / from_ram,
        "share": gather / fed,
        "bytes": bytes_per_example,
        "memory": peak_device_memory(),
        "predict": rate_pred,
    }


def bench_predict(model, bins: int) -> float:  # noqa: ANN001
    """Windows/s of the fast exact scorer over ``bins`` consecutive bins (best of 2)."""
    from fnstore.model.architecture import model_input_sizes
    from fnstore.predict.scoring import WindowScorer

    window, n_tracks, n_extra = model_input_sizes(model)
    rng = np.random.default_rng(0)
    length = (bins - 1) * 50 + window
    x = np.zeros((length, 4 + n_tracks), dtype=np.float32)
    x[np.arange(length), rng.integers(0, 4, length)] = 1.0
    x[:, 4:] = rng.gamma(0.5, 2.0, size=(length, n_tracks))
    extra = np.zeros((bins, n_extra), np.float32) if n_extra else None
    scorer = WindowScorer(model, 50, "fast", batch_size=4096)
    items = [(x, bins, extra)]
    scorer.score(items)  # trace and compile
    best = 0.0
    for _ in range(2):
        t0 = time.perf_counter()
        scorer.score(items)
        best = max(best, bins / (time.perf_counter() - t0))
    return best


def main() -> None:
    args = parse_args()
    from fnstore.backend import accelerator, select_backend

    if args.backend:
        select_backend(args.backend)
    import keras

    from fnstore.store.read import open_store

    device = accelerator()
    if device is None:
        print(
            "NO ACCELERATOR FOUND: measuring on CPU with small step counts; these figures "
            "say nothing about a GPU (run this script where one is lent)."
        )
    args.steps = args.steps or (300 if device else 12)
    args.predict_bins = args.predict_bins or (20000 if device else 2000)
    t_start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        if args.store:
            store = open_store(args.store)
        else:
            from fnstore.build import build_store

            build_store(str(EXAMPLE_SPEC), Path(tmp) / "example.zarr", progress=False)
            store = open_store(Path(tmp) / "example.zarr")
        rows = [bench_preset(p, store, args) for p in args.presets]
    print(
        f"backend {keras.backend.backend()}, device {device or 'CPU only'}, "
        f"{os.cpu_count()} CPUs; store {args.store or 'bundled example'} ({args.tf}, {args.cell}); "
        f"batch {args.batch_size}, {args.steps} timed steps per path, feed {args.feed}, "
        f"mixed precision {args.mixed_precision}"
    )
    print(
        "| preset | parameters | bytes/example shipped | (a) sampler-fed samples/s | "
        "(b) pre-staged samples/s | (a)/(b) | (c) fit from RAM samples/s | (a)/(c) | "
        "sampler share of (a) | peak device memory | predict windows/s |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        memory = f"{r['memory'] / 2**20:,.0f} MiB" if r["memory"] is not None else "n/a (CPU)"
        print(
            f"| {r['preset']} | {r['params']:,} | {r['bytes']:,} | {r['fed']:,.0f} | "
            f"{r['staged']:,.0f} | {r['fed'] / r['staged']:.3f} | {r['ram']:,.0f} | "
            f"{r['fed'] / r['ram']:.3f} | {r['share']:.1%} | {memory} | "
            f"{r['predict']:,.0f} |"
        )
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak host RSS {rss:,.0f} MiB; total {time.perf_counter() - t_start:.0f} s")


if __name__ == "__main__":
    main()
