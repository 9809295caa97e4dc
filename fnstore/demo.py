"""``fnstore demo``: build -> train -> predict -> evaluate on the bundled real example.

The demo is a thin sequence of public API calls, the same ones the commands make, so
that it doubles as a worked example of the Python API and fails the same way a user's
run would. Its data (``fnstore/example/``, see the README there) are 4.5 Mb of hg19
chr20 renamed ``chr20_slice``; only GM12878 has an accessibility track, so the model is
trained on GM12878 and scored on the last 20 % of the slice, which no training window
overlaps (it is also the validation region that picks the best epoch). That is a held-out
*region*, not a held-out chromosome or cell: the numbers show the pipeline working end to
end, not how well FactorNet generalises.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from fnstore.errors import InputError
from fnstore.notebook import html_repr
from fnstore.store.regions import Region

EXAMPLE_DIR = Path(__file__).resolve().parent / "example"
EXAMPLE_SPEC = EXAMPLE_DIR / "spec.yaml"

#: the only cell with an accessibility track in the example
CELL = "GM12878"
#: TFs the demo model learns (multi-task: one sigmoid output each)
TFS = ("ZNF143", "YY1", "SPI1")
#: the last HOLDOUT_FRACTION of the slice is predicted and scored; the rest is for training
HOLDOUT_FRACTION = 0.2
#: ``chr20_slice:x`` is hg19 ``chr20:SLICE_OFFSET + x`` (see fnstore/example/README.md)
SLICE_OFFSET = 2_000_000
DEFAULT_EPOCHS = 8
#: fit options: the full demo uses the sampler's defaults (every bound bin plus as many fresh
#: negatives per epoch); --quick caps the batches so the whole demo takes about a minute
FULL: dict[str, Any] = {}
QUICK: dict[str, Any] = {"steps_per_epoch": 6, "valid_steps": 2}

Echo = Callable[[str], None]


@dataclass
class DemoResult:
    """What the demo wrote and measured; :func:`format_summary` prints it."""

    outdir: Path
    store: Path
    model_dir: Path
    train_region: Region
    holdout: Region
    regions: Path
    training: dict[str, Any] = field(default_factory=dict)
    predictions: dict[str, Path] = field(default_factory=dict)
    curves: list[Path] = field(default_factory=list)
    metrics: list[dict[str, Any]] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)

    _repr_html_ = html_repr  # how a notebook shows it (fnstore.notebook)


def _split_regions(store: Any, fraction: float = HOLDOUT_FRACTION) -> tuple[Region, Region]:
    """(train, held-out): the slice's first ``1 - fraction`` and its last ``fraction``,
    cut at a multiple of the bin stride (as the sampler's default one-chromosome split)."""
    chrom = store.chroms[0]
    length = int(store.chrom_lengths[0])
    cut = int(length * (1 - fraction)) // store.stride * store.stride
    return Region(chrom, 0, cut), Region(chrom, cut, length)


def _write_region_bins(store: Any, region: Region, path: Path) -> Path:
    """A BED of every store bin wholly inside ``region``: the rows ``fnstore predict --regions``
    scores, in the ENCODE-DREAM ladder-file shape (200 bp bins every 50 bp)."""
    lo, hi = store.bin_range(region.chrom)
    starts = (np.arange(hi - lo, dtype=np.int64)) * store.stride
    keep = (starts >= region.start) & (starts + store.bin_size <= region.end)
    with open(path, "w") as fh:
        for s in starts[keep]:
            fh.write(f"{region.chrom}\t{s}\t{s + store.bin_size}\n")
    return path


# --------------------------------------------------------------------------- steps


def _build_step(outdir: Path) -> Path:
    from fnstore.build import build_store

    store = outdir / "example.zarr"
    build_store(str(EXAMPLE_SPEC), str(store), overwrite=True, progress=False)
    return store


def _train_step(
    store: Path, model_dir: Path, holdout: Region, epochs: int, quick: bool, seed: int
) -> dict[str, Any]:
    """A multi-task model of the three TFs on GM12878; ``holdout`` is the validation region,
    so no training window overlaps it. Returns :func:`fnstore.training.fit.train`'s summary."""
    from fnstore.training.fit import train

    return train(
        store,
        model_dir,
        tfs=list(TFS),
        cells=[CELL],
        epochs=epochs,
        seed=seed,
        valid_chroms=[str(holdout)],
        patience=epochs,
        verbose=2,
        overwrite=True,
        **(QUICK if quick else FULL),
    )


def _predict_step(store: Path, model_dir: Path, regions: Path, outdir: Path) -> dict[str, Path]:
    """Score every held-out bin; one ``F.<TF>.GM12878.tab.gz`` (and bigWig, bedGraph, Zarr) per TF."""
    from fnstore.predict.run import predict

    result = predict(
        model_dir,
        store,
        outdir / "predictions",
        CELL,
        regions=regions,
        overwrite=True,
        progress=False,
    )
    return {tf: files["table"] for tf, files in result.files.items()}


def _evaluate_step(
    store: Path, predictions: dict[str, Path], outdir: Path
) -> tuple[list[dict[str, Any]], list[Path]]:
    from fnstore.evaluate.plots import plot_curves
    from fnstore.evaluate.score import evaluate

    results: list[dict[str, Any]] = []
    curves: list[Path] = []
    for tf, path in predictions.items():
        res = evaluate([path], store, tf, CELL, allow_partial=True, curves=True)
        curves += plot_curves(res, outdir / "curves" / f"{tf}.{CELL}")
        results += res.results
    return results, curves


def run_demo(
    outdir: str | Path,
    epochs: int | None = None,
    quick: bool = False,
    seed: int = 0,
    echo: Echo = print,
) -> DemoResult:
    """Run the whole demo into ``outdir``; ``echo`` receives one progress line per step.

    Parameters
    ----------
    outdir : str or pathlib.Path
        Folder for the store, model, predictions and curves; created if missing
        (an existing file there is an :class:`~fnstore.errors.InputError`).
    epochs : int, optional
        Training epochs, at least 1; default 1 with ``quick``, else ``DEFAULT_EPOCHS`` (8).
    quick : bool, default False
        Cap the batches per epoch (about a minute in all) instead of the sampler's defaults.
    seed : int, default 0
        Training seed.
    echo : callable, default print
        Called with one line of text as each of the four steps starts.

    Returns
    -------
    DemoResult
        The paths written, the training summary, held-out metrics per TF and the
        seconds per step; :func:`format_summary` turns it into the closing report.
    """
    from fnstore.store.read import open_store

    # TensorFlow's C++ start-up chatter (CPU features, oneDNN) hides the demo's own output
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    out = Path(outdir)
    if epochs is None:
        epochs = 1 if quick else DEFAULT_EPOCHS
    if epochs < 1:
        raise InputError("--epochs", f"must be at least 1, got {epochs}")
    if out.exists() and not out.is_dir():
        raise InputError(out, "exists and is not a folder")
    out.mkdir(parents=True, exist_ok=True)
    seconds: dict[str, float] = {}

    t = time.perf_counter()
    echo(f"[1/4] build: a store from the bundled example ({EXAMPLE_SPEC})")
    store_path = _build_step(out)
    store = open_store(store_path)
    train, holdout = _split_regions(store)
    regions = _write_region_bins(store, holdout, out / "holdout_bins.bed")
    seconds["build"] = time.perf_counter() - t

    result = DemoResult(out, store_path, out / "model", train, holdout, regions)
    t = time.perf_counter()
    echo(
        f"[2/4] train: a {len(TFS)}-task model ({', '.join(TFS)}) on {CELL}, {train}, "
        f"{epochs} epoch(s){', quick' if quick else ''}"
    )
    result.training = _train_step(store_path, result.model_dir, holdout, epochs, quick, seed)
    seconds["train"] = time.perf_counter() - t

    t = time.perf_counter()
    echo(f"[3/4] predict: every bin of the held-out region {holdout} in {CELL}")
    result.predictions = _predict_step(store_path, result.model_dir, regions, out)
    seconds["predict"] = time.perf_counter() - t

    t = time.perf_counter()
    echo("[4/4] evaluate: against the ChIP-seq labels of the held-out region")
    result.metrics, result.curves = _evaluate_step(store_path, result.predictions, out)
    seconds["evaluate"] = time.perf_counter() - t
    result.seconds = seconds
    return result


# --------------------------------------------------------------------------- report


def format_summary(r: DemoResult) -> str:
    """Metrics, an honest caveat, the files written and what to run next.

    Parameters
    ----------
    r : DemoResult
        The outcome of :func:`run_demo` to report on.

    Returns
    -------
    summary : str
        Several lines of text, starting with an empty one.
    """
    lines = ["", f"Held-out metrics: {CELL}, {r.holdout} (hg19 {_hg19(r.holdout)}):", ""]
    header = f"{'TF':<8} {'scored':>7} {'bound':>6} {'auROC':>7} {'auPRC':>7} {'R@10%FDR':>9}"
    lines += [header, "-" * len(header)]
    for m in r.metrics:
        lines.append(
            f"{m['tf']:<8} {m['n']:>7,} {m['n_positive']:>6,} {m['auroc']:>7.3f} "
            f"{m['auprc']:>7.3f} {m.get('recall_at_10_fdr', float('nan')):>9.3f}"
        )
    lines += [
        "",
        "scored: bound and unbound bins (ambiguous and blacklisted bins are left out, as in",
        "ENCODE-DREAM); auPRC: the Davis-Goadrich area the challenge's scorer reported.",
        "",
        "Read these numbers as a working pipeline, not as FactorNet's accuracy: the example is",
        "one 4.5 Mb window with accessibility data for GM12878 only, so the held-out part is the",
        "neighbouring last 20% of the same slice in the same cell, not another chromosome or",
        "cell. No training window overlaps it, but it was also the validation set that chose",
        "the best epoch, and training saw only about a thousand bound bins for a minute.",
        "",
        "Files written:",
        f"  store        {r.store}",
        f"  model        {r.model_dir}/  (model.keras, model_card.json)",
    ]
    for key, label in (("learning_curve", "training"), ("history_csv", "training")):
        if r.training.get(key):
            lines.append(f"  {label:<12} {r.training[key]}")
    lines.append(f"  regions      {r.regions}")
    lines += [f"  predictions  {p}" for p in r.predictions.values()]
    lines.append(
        f"               (and .bw, .bedGraph.gz, .zarr of each in {r.outdir / 'predictions'})"
    )
    lines += [f"  curves       {p}" for p in r.curves]
    total = sum(r.seconds.values())
    steps = ", ".join(f"{k} {v:.0f} s" for k, v in r.seconds.items())
    tf0 = next(iter(r.predictions), TFS[0])
    pred0 = r.predictions.get(tf0, "PRED")
    lines += [
        "",
        f"Time: {total:.0f} s ({steps}).",
        "",
        "Next:",
        f"  fnstore info {r.store}",
        f"  fnstore evaluate {pred0} {r.store} --tf {tf0} --cell {CELL} --allow-partial",
        f"  fnstore predict {r.model_dir} {r.store} {r.outdir / 'all'} --cell {CELL}"
        "   # the whole slice",
        "  Your own data: a build spec like "
        f"{EXAMPLE_SPEC.name} (see docs/tutorial.md), then fnstore build / train / predict.",
    ]
    return "\n".join(lines)


def _hg19(region: Region) -> str:
    return f"chr20:{region.start + SLICE_OFFSET:,}-{region.end + SLICE_OFFSET:,}"
