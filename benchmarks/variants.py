"""Benchmark: ``fnstore variants`` (batched, fast path, streaming) against a per-variant loop.

A FactorNet-2017 model (random weights: speed does not depend on training) reading the
store's tracks, annotations and metadata scores ``--n`` random SNVs (REF from the store's
genome, ALT another base, sorted like a VCF). Timed:

* ``fnstore variants`` end to end through the Python API: reading the table, cutting the
  windows, scoring both alleles, writing a Parquet table (variants/s, and the peak RSS of
  the process, which includes TensorFlow and the model);
* the baseline: a loop calling ``model.predict`` on the REF window and then on the ALT
  window of each variant, on the first ``--loop-n`` variants. Its windows are cut before the
  clock starts, so it is timed at its most favourable; its rate is extrapolated to ``--n``.

The script also prints the largest difference between the loop's and the table's
probabilities (same windows, two code paths).

    python benchmarks/variants.py                        # bundled example store, 100k SNVs
    python benchmarks/variants.py --store chr20.zarr --cell GM12878 --n 100000
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


def rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def random_snvs(store, n: int, seed: int, path: Path) -> Path:
    """``n`` SNVs on the store's chromosomes, REF from the genome, as a sorted table."""
    rng = np.random.default_rng(seed)
    lengths = np.asarray(store.chrom_lengths, dtype=np.int64)
    chrom = np.sort(rng.choice(len(lengths), n, p=lengths / lengths.sum()))
    rows = []
    for c in range(len(lengths)):
        pos = np.sort(rng.integers(1000, lengths[c] - 1000, int((chrom == c).sum())))
        seq = np.asarray(
            store.sequence_array[store.chrom_offsets[c] : store.chrom_offsets[c] + lengths[c]]
        )
        for p in pos.tolist():
            ref = int(seq[p])
            if ref > 3:
                continue
            alt = (ref + 1 + int(rng.integers(0, 3))) % 4
            rows.append(f"{store.chroms[c]}\t{p + 1}\t{'ACGT'[ref]}\t{'ACGT'[alt]}\n")
    path.write_text("chrom\tpos\tref\talt\n" + "".join(rows))
    return path


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--store", help="store to use (default: build the bundled example)")
    ap.add_argument("--cell", default="GM12878")
    ap.add_argument("--n", type=int, default=100_000, help="SNVs scored by fnstore variants")
    ap.add_argument("--loop-n", type=int, default=1000, help="SNVs scored by the baseline loop")
    ap.add_argument("--batch-size", type=int, default=4096)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    import keras

    from fnstore.build import build_store
    from fnstore.io.vcf import VariantFile
    from fnstore.model.architecture import build_model
    from fnstore.model.card import make_card
    from fnstore.model.folder import load_model_dir, save_model_dir
    from fnstore.predict.inputs import resolve_inputs
    from fnstore.store.read import open_store
    from fnstore.variants.alleles import allele_inputs
    from fnstore.variants.run import write_variant_effects

    tmp = Path(tempfile.mkdtemp(prefix="fnstore-variants-bench-"))
    store_path = args.store
    if store_path is None:
        store_path = tmp / "example.zarr"
        build_store(str(REPO / "fnstore" / "example" / "spec.yaml"), store_path, progress=False)
    store = open_store(store_path)
    keras.utils.set_random_seed(args.seed)
    tfs = list(dict.fromkeys(t.tf for t in store.tasks))[:1]
    n_extra = len(store.annotation_names) + len(store.meta_feature_names)
    model = build_model(len(store.tracks), len(tfs), n_extra, "factornet-2017")
    card = make_card(
        tasks=[{"tf": t} for t in tfs],
        window=int(model.inputs[0].shape[1]),
        tracks=list(store.tracks),
        annotations=list(store.annotation_names),
        meta_features=list(store.meta_feature_names),
    )
    model_dir = save_model_dir(tmp / "model", model, card)
    snvs = random_snvs(store, args.n, args.seed, tmp / "snvs.tsv")
    n_rows = VariantFile(snvs).count_records()
    print(f"store {store_path}: {', '.join(store.chroms)}; {n_rows:,} SNVs; cell {args.cell}")
    print(f"model factornet-2017, window {card['window']}, {n_extra} extra features")

    rss_before = rss_mib()
    t0 = time.perf_counter()
    result = write_variant_effects(
        model_dir,
        store,
        snvs,
        tmp / "effects.parquet",
        args.cell,
        batch_size=args.batch_size,
        progress=False,
    )
    fast_s = time.perf_counter() - t0
    rss_after = rss_mib()
    fast_rate = result.n_records / fast_s
    print(
        f"fnstore variants ({result.method}): {result.n_records:,} SNVs in {fast_s:.1f} s = "
        f"{fast_rate:,.0f} variants/s; peak RSS {rss_after:,.0f} MiB "
        f"({rss_before:,.0f} MiB before the run)"
    )

    import pandas as pd

    table = pd.read_parquet(tmp / "effects.parquet")
    loaded, _ = load_model_dir(model_dir)
    inputs = resolve_inputs(store, card, args.cell)
    batch = next(VariantFile(snvs).batches(args.loop_n))
    alleles = allele_inputs(store, inputs, batch)
    feeds = []
    for j in range(len(alleles.rows)):
        ex = None if alleles.extra is None else alleles.extra[j : j + 1]
        for x in (alleles.ref_x[j : j + 1], alleles.alt_x[j : j + 1]):
            feeds.append(x if ex is None else [x, ex])
    loaded.predict(feeds[0], verbose=0)  # build the predict function outside the clock
    t0 = time.perf_counter()
    probs = [float(loaded.predict(f, verbose=0)[0, 0]) for f in feeds]
    loop_s = time.perf_counter() - t0
    loop_rate = len(alleles.rows) / loop_s
    diff = np.abs(np.asarray(probs[0::2]) - table["ref_prob"].to_numpy()[: len(alleles.rows)])
    diff = max(
        diff.max(),
        np.abs(np.asarray(probs[1::2]) - table["alt_prob"].to_numpy()[: len(alleles.rows)]).max(),
    )
    print(
        f"per-variant loop (2 x model.predict): {len(alleles.rows):,} SNVs in {loop_s:.1f} s = "
        f"{loop_rate:,.1f} variants/s; {result.n_records:,} SNVs extrapolated: "
        f"{result.n_records / loop_rate / 60:,.1f} min"
    )
    print(f"speed-up {fast_rate / loop_rate:,.0f}x; largest |difference| {diff:.2e}")


if __name__ == "__main__":
    main()
