"""Benchmark: naive per-bin prediction (FactorNet's way) against fnstore's fast exact method.

Both methods score the same windows of one model (random weights: speed and exactness do
not depend on training) and the script prints windows/s of each, the speed-up and the
largest absolute difference between their outputs, and the hours one cell of all of hg19
would take at each rate (one window per bin of the store's stride). The input is real chr20 sequence and
signal when ``--store`` is given, else a random one-hot stretch with a gamma "signal".

    python benchmarks/predict.py                       # factornet-2017 architecture, 4000 bins
    python benchmarks/predict.py --store chr20.zarr --cell GM12878 --start 30000000
"""

from __future__ import annotations

import argparse
import os
import time
from typing import Any

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

#: bases of hg19's assembled chromosomes chr1-22, X, Y (UCSC chrom.sizes, no random/Un contigs)
HG19_BASES = 3_095_677_412


def synthetic_stretch(length: int, n_tracks: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = np.zeros((length, 4 + n_tracks), dtype=np.float32)
    x[np.arange(length), rng.integers(0, 4, length)] = 1.0
    x[:, 4:] = rng.gamma(0.5, 2.0, size=(length, n_tracks))
    return x


def head_windows_per_second(scorer: Any, batch: int, repeats: int) -> float | None:
    """Windows/s of the fast path's per-window part alone (its head on both strands of
    ``batch`` windows of pooled features, as the scorer runs it): the part no two windows
    share. None for a model without one."""
    if scorer.method != "fast" or scorer.global_pool or scorer.n_extra:
        return None
    rng = np.random.default_rng(0)
    pooled = rng.random((2 * batch, scorer.n_pool, scorer.n_features), dtype=np.float32)
    scorer._head_in_batches([pooled])
    best = 0.0
    for _ in range(repeats):
        t0 = time.perf_counter()
        scorer._head_in_batches([pooled])
        best = max(best, batch / (time.perf_counter() - t0))
    return best


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--bins", type=int, default=4000, help="consecutive bins (windows) to score")
    ap.add_argument("--preset", default="factornet-2017")
    ap.add_argument("--window", type=int, default=None, help="override the preset's window")
    ap.add_argument("--tracks", type=int, default=1, help="signal tracks (synthetic input)")
    ap.add_argument("--batch-size", type=int, default=1024)
    ap.add_argument("--piece-bins", type=int, default=None, help="fast method: bins per stretch")
    ap.add_argument("--store", help="read real input from this store instead")
    ap.add_argument("--cell", default="GM12878")
    ap.add_argument(
        "--track", default="ATAC", help="store track for the model's one signal channel"
    )
    ap.add_argument("--chrom", default="chr20")
    ap.add_argument("--start", type=int, default=30_000_000, help="first bin start (store input)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--repeats", type=int, default=3, help="timed runs per method (best is kept)")
    args = ap.parse_args()

    import keras

    from fnstore.model.architecture import build_model
    from fnstore.predict.scoring import DEFAULT_PIECE_BINS, WindowScorer

    keras.utils.set_random_seed(args.seed)
    overrides = {"window": args.window} if args.window else {}
    n_tracks = 1 if args.store else args.tracks
    model = build_model(n_tracks, 1, 0, args.preset, **overrides)
    window = int(model.inputs[0].shape[1])
    step = 50
    length = (args.bins - 1) * step + window
    if args.store:
        from fnstore.predict.inputs import ModelInputs, read_stretch, window_offset
        from fnstore.store.read import open_store

        store = open_store(args.store)
        step = store.stride
        length = (args.bins - 1) * step + window
        inputs = ModelInputs(args.cell, window, (args.track,), np.zeros(0, np.float32), ())
        first = args.start + window_offset(window, store.bin_size)
        stretch = read_stretch(store, inputs, args.chrom, first, first + length)
        source = f"{args.store} {args.cell} {args.chrom}:{args.start:,} ({args.track})"
    else:
        stretch = synthetic_stretch(length, n_tracks, args.seed)
        source = f"random sequence + {n_tracks} gamma track(s)"
    items = [(stretch, args.bins, None)]

    scorers = {
        m: WindowScorer(model, step, m, args.batch_size, args.piece_bins or DEFAULT_PIECE_BINS)
        for m in ("naive", "fast")
    }
    outputs, rates = {}, {m: 0.0 for m in scorers}
    for m, scorer in scorers.items():
        outputs[m] = scorer.score(items)[0]  # the first run traces and compiles
    # alternate the methods and keep each one's best run: the machine may be shared
    for _ in range(args.repeats):
        for m, scorer in scorers.items():
            t0 = time.perf_counter()
            scorer.score(items)
            rates[m] = max(rates[m], args.bins / (time.perf_counter() - t0))
    results = {m: (outputs[m], rates[m]) for m in scorers}
    head_rate = head_windows_per_second(scorers["fast"], args.batch_size, args.repeats)

    diff = float(np.abs(results["naive"][0] - results["fast"][0]).max())
    naive_rate, fast_rate = results["naive"][1], results["fast"][1]
    print(
        f"model: {args.preset} window={window} ({model.count_params():,} parameters); "
        f"input: {source}; {args.bins:,} bins, stride {step}; batch {args.batch_size}"
    )
    print(f"naive (one full window per bin): {naive_rate:10.1f} windows/s")
    print(f"fast  (shared convolution)     : {fast_rate:10.1f} windows/s")
    print(f"threads: {os.cpu_count()} CPUs visible; best of {args.repeats} runs each")
    print(f"speed-up: {fast_rate / naive_rate:.2f}x   max |naive - fast| = {diff:.3g}")
    if head_rate:
        print(
            f"fast path's per-window head (BiLSTM + dense, both strands) alone: {head_rate:.1f} "
            f"windows/s = {fast_rate / head_rate:.0%} of fast's time; no exact fast path can beat "
            f"{head_rate / naive_rate:.2f}x while that head runs once per window"
        )
    windows = HG19_BASES // step  # one window per bin, every `step` bp
    print(
        f"hg19 ({HG19_BASES / 1e9:.2f} Gbp, {windows / 1e6:.1f} M windows a cell at stride {step}): "
        f"{windows / fast_rate / 3600:.1f} h fast, {windows / naive_rate / 3600:.1f} h naive, "
        "per cell and TF-model on this machine"
    )


if __name__ == "__main__":
    main()
