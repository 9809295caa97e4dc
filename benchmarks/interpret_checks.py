"""Long interpretation checks on real chr20 data (minutes; not part of the test suite).

1. The published FactorNet HNF4A model, imported with ``import-legacy``: do its first-layer
   kernels, turned into PWMs by ``fnstore motifs`` on HepG2 windows, match HNF4A (or its
   paralogue HNF4G) in HOCOMOCO v9?
2. Optionally (``--ctcf-model DIR``, or ``--train-ctcf`` to train a small one here), a CTCF
   model trained on chr20 HepG2: is CTCF among its kernels' best matches?

The store is built here from ../shared/data (chr20, HepG2 + GM12878, CTCF and HNF4A peaks).
The real data have no DNase and no mappability track: the ATAC Tn5-cut bigWig stands in for
DNase in both cells and Unique35 is a constant 1 (mappable) track, so only the sequence
channels carry information, which is what a motif check needs.

    python benchmarks/interpret_checks.py [--shared ../shared/data] [--work /tmp/fn-interp]
        [--n-windows 2000] [--ctcf-model DIR | --train-ctcf]

Results (2 CPU cores, HOCOMOCO v9, 2000 windows): the legacy HNF4A model has 4 kernels whose
best match is HNF4A_f1 (r = 0.85-0.96, E down to 7e-6), and they are 3 of its 4 kernels
that best separate bound from random windows, and the model itself ranks 500 HNF4A-bound
HepG2 bins above 2000 random unbound ones with auROC 0.81; a CTCF model trained with --train-ctcf
(validation auROC 0.94) has 7 kernels whose best match is CTCF_f2 (r = 0.74-0.95), its 7
most bound-discriminating kernels.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

HERE = Path(__file__).resolve().parent


def constant_bigwig(out: Path, chrom_sizes: dict[str, int], value: float = 1.0) -> Path:
    import pyBigWig

    bw = pyBigWig.open(str(out), "w")
    bw.addHeader(list(chrom_sizes.items()))
    for chrom, length in chrom_sizes.items():
        bw.addEntries([chrom], [0], ends=[length], values=[value])
    bw.close()
    return out


def build_chr20_store(shared: Path, work: Path) -> Path:
    from fnstore.build import build_store

    store = work / "chr20-interp.zarr"
    if store.exists():
        return store
    atac = shared / "atac" / "esATAC_chr20_ATAC_Tn5cuts.derived.bw"
    unique35 = constant_bigwig(work / "unique35.bw", {"chr20": 63_025_520})
    cells = {
        c: {
            "tracks": {"DNase": str(atac), "Unique35": str(unique35)},
            "metadata": str(shared / "cells" / f"{c}.meta.txt"),
        }
        for c in ("HepG2", "GM12878")
    }
    spec = {
        "name": "chr20-interp",
        "assembly": "hg19",
        "genome": {
            "fasta": str(shared / "hg19" / "hg19_chr20.fa.gz"),
            "chrom_sizes": str(shared / "hg19" / "hg19.autoX.chrom.sizes"),
        },
        "blacklist": [str(shared / "annotations" / "blacklist.bed.gz")],
        "cells": cells,
        "labels": [
            {
                "peaks_dir": str(shared / "peaks"),
                "tfs": ["HNF4A", "CTCF"],
                "cells": ["HepG2", "GM12878"],
            }
        ],
    }
    build_store(spec, store, progress=False)
    return store


def bound_vs_random_auroc(
    model_dir: Path,
    store_path: Path,
    tf: str,
    cell: str,
    n_bound: int = 500,
    n_random: int = 2000,
    seed: int = 0,
) -> float:
    """auROC of a model's scores on ``n_bound`` bound (B) vs ``n_random`` unbound (U)
    non-blacklisted bins of ``cell`` (the check in tests/test_legacy_real.py)."""
    import numpy as np

    from fnstore.evaluate.metrics import roc_auc
    from fnstore.model.folder import load_model_dir
    from fnstore.predict.inputs import resolve_inputs
    from fnstore.predict.run import score_bins
    from fnstore.predict.scoring import make_scorer
    from fnstore.store.labels import BOUND, UNBOUND
    from fnstore.store.read import open_store

    store = open_store(store_path)
    model, card = load_model_dir(model_dir)
    labels = store.labels(tasks=[store.task_index(tf, cell)], bins=slice(None))[:, 0]
    usable = ~store.blacklist(np.arange(store.n_bins))
    rng = np.random.default_rng(seed)
    bound = rng.choice(np.flatnonzero((labels == BOUND) & usable), n_bound, replace=False)
    random = rng.choice(np.flatnonzero((labels == UNBOUND) & usable), n_random, replace=False)
    scorer, _ = make_scorer(model, store.stride)
    inputs = resolve_inputs(store, card, cell)
    scores = score_bins(store, inputs, scorer, np.concatenate([bound, random]))[:, 0]
    return roc_auc(np.r_[np.ones(n_bound), np.zeros(n_random)], scores)


def rank_of(summary: dict, names: set[str]) -> list[tuple[int, int, dict]]:
    """(kernel, rank, match) for every match whose TF is in ``names``."""
    found = []
    for k in summary["kernels"]:
        for r, m in enumerate(k["matches"], start=1):
            if (m["alt_name"] or m["name"].split("_")[0]) in names:
                found.append((k["kernel"], r, m))
    return found


def report(label: str, summary: dict, names: set[str], seconds: float) -> dict:
    hits = rank_of(summary, names)
    top1 = sorted({k for k, r, _ in hits if r == 1})
    print(
        f"\n== {label}: {summary['n_windows']} windows ({summary['n_bound_windows']} bound), "
        f"{seconds:.0f} s"
    )
    kernels = sorted(summary["kernels"], key=lambda k: -(k["auroc_bound_vs_random"] or 0))
    for k in kernels[:10]:
        best = k["matches"][0] if k["matches"] else None
        name = (best["alt_name"] or best["name"]) if best else "-"
        print(
            f"  kernel {k['kernel']:>2}  auROC {k['auroc_bound_vs_random']:.3f}  "
            f"{k['consensus']:<24} best {name:<8} r={best['score'] if best else 0:.2f} "
            f"E={best['e_value'] if best else float('nan'):.2g}"
        )
    print(f"  kernels whose best match is {'/'.join(sorted(names))}: {top1}")
    print(f"  all ranks: {[(k, r, m['name'], round(m['score'], 2)) for k, r, m in hits]}")
    return {
        "label": label,
        "top1_kernels": top1,
        "hits": [(k, r, m["name"], m["score"], m["e_value"]) for k, r, m in hits],
    }


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--shared", default=str(HERE.parent.parent / "shared" / "data"))
    ap.add_argument("--work", default="/tmp/fnstore-interpret-checks")
    ap.add_argument("--n-windows", type=int, default=2000)
    ap.add_argument("--top", type=int, default=5)
    ap.add_argument("--ctcf-model", help="A CTCF model folder trained on chr20 (optional).")
    ap.add_argument(
        "--train-ctcf",
        action="store_true",
        help="Train a small CTCF model (no LSTM, ~7 min on 2 CPU cores) to check.",
    )
    ap.add_argument("--ctcf-cell", default="HepG2")
    args = ap.parse_args()

    from fnstore.interpret.kernel_motifs import run_kernel_motifs
    from fnstore.model.legacy import import_legacy

    shared, work = Path(args.shared), Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    db = shared / "motifs" / "HOCOMOCOv9.meme"
    t = time.time()
    store = build_chr20_store(shared, work)
    print(f"store {store} ready in {time.time() - t:.0f} s")
    results = []

    legacy = work / "hnf4a-legacy"
    if not (legacy / "model_card.json").exists():
        import_legacy(
            shared / "legacy_models" / "HNF4A_onePeak_Unique35_DGF",
            legacy,
            track_aliases={"DGF": "DNase"},
        )
    t = time.time()
    auroc = bound_vs_random_auroc(legacy, store, "HNF4A", "HepG2")
    print(
        f"legacy HNF4A model, chr20 HepG2: auROC {auroc:.3f} "
        f"(500 HNF4A-bound vs 2000 random unbound bins, {time.time() - t:.0f} s)"
    )
    t = time.time()
    summary = run_kernel_motifs(
        legacy,
        store,
        work / "hnf4a-motifs",
        cell="HepG2",
        n_windows=args.n_windows,
        db=db,
        top=args.top,
    )
    results.append(
        report("legacy HNF4A model, HepG2 windows", summary, {"HNF4A", "HNF4G"}, time.time() - t)
    )
    results[-1]["auroc_bound_vs_random"] = auroc

    if args.train_ctcf and not args.ctcf_model:
        from fnstore.training.fit import train

        args.ctcf_model = str(work / "ctcf-model")
        t = time.time()
        fit = train(
            store,
            args.ctcf_model,
            "CTCF",
            args.ctcf_cell,
            epochs=14,
            patience=4,
            batch_size=64,
            steps_per_epoch=200,
            valid_steps=20,
            annotations=False,
            metadata=False,
            hyperparameters={"lstm_units": 0},
            verbose=2,
        )
        auroc = fit["validation"]["tasks"]["CTCF"]["auroc"]
        print(f"trained {args.ctcf_model} in {time.time() - t:.0f} s, validation auROC {auroc:.3f}")
    if args.ctcf_model:
        t = time.time()
        summary = run_kernel_motifs(
            args.ctcf_model,
            store,
            work / "ctcf-motifs",
            cell=args.ctcf_cell,
            n_windows=args.n_windows,
            db=db,
            top=args.top,
        )
        results.append(report("trained CTCF model", summary, {"CTCF"}, time.time() - t))
    (work / "interpret_checks.json").write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nwrote {work / 'interpret_checks.json'}")


if __name__ == "__main__":
    main()
