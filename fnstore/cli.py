"""The ``fnstore`` command line: parse, call the API, print.

Heavy libraries (TensorFlow/Keras, matplotlib) are imported inside the commands that need
them, so ``fnstore --help`` and ``fnstore info`` start instantly. Every expected failure
is an :class:`fnstore.errors.FnstoreError` and is printed as one line with exit code 1.
"""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from typing import Any

import click

from fnstore import __version__
from fnstore.errors import FnstoreError


def one_line_errors(func: Callable[..., Any]) -> Callable[..., Any]:
    """Turn expected errors into ``Error: <file>: <problem>`` and exit 1, never a traceback."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except FnstoreError as exc:
            click.echo(f"Error: {exc}", err=True)
            sys.exit(1)
        except KeyboardInterrupt:
            click.echo("Interrupted.", err=True)
            sys.exit(130)

    return wrapper


def split_csv(values: tuple[str, ...] | str | None) -> list[str] | None:
    """Accept ``--x a,b --x c`` and return ``[a, b, c]`` (None when not given)."""
    if not values:
        return None
    if isinstance(values, str):
        values = (values,)
    return [v for value in values for v in value.split(",") if v]


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="fnstore")
def main() -> None:
    """fnstore: build a FactorNet-style Zarr store once, train many models against it,
    predict, evaluate and export.

    \b
    Quick start on the bundled example:
      fnstore demo /tmp/fnstore-demo
    """


# ----------------------------------------------------------------- store: build / info / validate


@main.command()
@click.argument("spec", required=False, type=click.Path(dir_okay=False))
@click.argument("store", required=False, type=str)
@click.option(
    "--from-factornet",
    "factornet_dir",
    type=click.Path(file_okay=False),
    help="Build from a FactorNet data folder (data/<cell>/chip.txt, bigwig.txt, meta.txt).",
)
@click.option(
    "--genome", type=click.Path(dir_okay=False), help="Genome FASTA for --from-factornet."
)
@click.option("--overwrite", is_flag=True, help="Replace an existing store.")
@click.option("--resume", is_flag=True, help="Finish an interrupted build of the same spec.")
@click.option(
    "--scheduler",
    default="threads",
    show_default=True,
    help="'threads', 'sync', 'processes' or a dask.distributed scheduler ADDRESS.",
)
@click.option(
    "--workers", type=int, default=None, help="Threads/processes for the local scheduler."
)
@click.option("--quiet", is_flag=True, help="No progress bar.")
@one_line_errors
def build(
    spec: str | None,
    store: str | None,
    factornet_dir: str | None,
    genome: str | None,
    overwrite: bool,
    resume: bool,
    scheduler: str,
    workers: int | None,
    quiet: bool,
) -> None:
    """Build STORE (a path, a .zip, or an fsspec URL) from a YAML build SPEC.

    \b
    Example:
      fnstore build fnstore/example/spec.yaml example.zarr
      fnstore build --from-factornet FactorNet/data --genome hg19.fa factornet.zarr
    """
    from fnstore.build import build_store

    if store is None and spec is not None and factornet_dir:
        spec, store = None, spec
    if store is None:
        raise click.UsageError("missing STORE")
    if factornet_dir:
        from fnstore.build.factornet import spec_from_factornet

        spec_obj: Any = spec_from_factornet(factornet_dir, genome)
    elif spec is None:
        raise click.UsageError("give a SPEC file or --from-factornet DIR")
    else:
        spec_obj = spec
    summary = build_store(
        spec_obj,
        store,
        overwrite=overwrite,
        resume=resume,
        scheduler=scheduler,
        workers=workers,
        progress=not quiet,
    )
    click.echo(summary)


@main.command()
@click.argument("store", type=str)
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.option(
    "--no-counts", is_flag=True, help="Skip per-task B/U/A counts (faster on huge stores)."
)
@one_line_errors
def info(store: str, as_json: bool, no_counts: bool) -> None:
    """Summarise a store: chromosomes, bins, cells, tracks, tasks with B/U/A counts, size.

    \b
    Example:
      fnstore info chr20.zarr
      fnstore info chr20.zarr --json | jq .tasks
    """
    from fnstore.report import format_info
    from fnstore.store import open_store

    summary = open_store(store).info(counts=not no_counts)
    click.echo(json.dumps(summary, indent=2) if as_json else format_info(summary))


@main.command()
@click.argument("store", type=str)
@click.option(
    "--checksums/--no-checksums",
    default=True,
    show_default=True,
    help="Re-hash the input files recorded in the provenance, where they still exist.",
)
@one_line_errors
def validate(store: str, checksums: bool) -> None:
    """Check a store: schema version, shapes, completeness, recorded checksums.

    \b
    Example:
      fnstore validate chr20.zarr
    """
    from fnstore.validate import validate_store

    problems = validate_store(store, checksums=checksums)
    if problems:
        for p in problems:
            click.echo(f"FAIL {p}", err=True)
        sys.exit(1)
    click.echo(f"{store}: OK")


# ----------------------------------------------------------------- train
# (commands of fnstore/train: `train`)


@main.command()
@click.argument("store", type=str)
@click.argument("model_dir", type=click.Path(file_okay=False))
@click.option(
    "--tf", "tfs", multiple=True, required=True, help="TF to model (repeat for multi-task)."
)
@click.option("--cells", multiple=True, required=True, help="Training cells, comma-separated.")
@click.option(
    "--preset",
    default="factornet-2017",
    show_default=True,
    type=click.Choice(["factornet-2017", "paper"]),
    help="Architecture preset.",
)
@click.option("--window", type=int, help="Window length L.")
@click.option("--kernels", "n_kernels", type=int, help="Convolution kernels.")
@click.option("--kernel-width", type=int, help="Convolution kernel width.")
@click.option("--conv-dropout", type=float, help="Dropout after the convolution.")
@click.option("--position-dense", type=int, help="Per-position dense units (0 drops it).")
@click.option("--pool", "pool_size", type=int, help="Max-pool size.")
@click.option(
    "--lstm", "lstm_units", type=int, help="LSTM units per direction (0: global max pool)."
)
@click.option("--lstm-dropout", type=float, help="LSTM input dropout.")
@click.option("--lstm-recurrent-dropout", type=float, help="LSTM recurrent dropout.")
@click.option(
    "--lstm-recurrent-activation",
    type=click.Choice(["sigmoid", "hard_sigmoid", "keras1_hard_sigmoid"]),
)
@click.option("--recurrent-dropout", type=float, help="Dropout after the recurrent block.")
@click.option("--dense", "dense_units", type=int, help="Dense units.")
@click.option("--extra-dropout", type=float, help="Dropout after joining metadata/annotations.")
@click.option("--extra-dense", "extra_dense_units", type=int, help="Dense units after the join.")
@click.option("--dense-dropout", type=float, help="Dropout before the sigmoid.")
@click.option(
    "--motif", "motifs", multiple=True, help="Initialise kernels from this motif (name or TF)."
)
@click.option("--motif-file", type=click.Path(dir_okay=False), help="MEME file for --motif.")
@click.option("--epochs", type=int, default=20, show_default=True)
@click.option("--patience", type=int, default=3, show_default=True, help="Early-stopping patience.")
@click.option("--batch-size", type=int, default=128, show_default=True, help="Global batch size.")
@click.option(
    "--negatives", type=float, default=1.0, show_default=True, help="Negatives per positive."
)
@click.option("--learning-rate", type=float, default=1e-3, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option(
    "--valid-chroms",
    multiple=True,
    help="Validation chromosomes or CHROM:START-END (default chr11, or the last 10% of a one-chromosome store).",
)
@click.option(
    "--valid-fraction",
    type=float,
    default=0.1,
    show_default=True,
    help="Held-out tail of a one-chromosome store.",
)
@click.option("--valid-cell", help="Held-out cell for cross-cell validation.")
@click.option(
    "--tracks", multiple=True, help="Signal tracks, comma-separated (default: all the cells have)."
)
@click.option("--annotations/--no-annotations", default=True, show_default=True)
@click.option("--metadata/--no-metadata", default=True, show_default=True)
@click.option(
    "--max-shift", type=int, default=50, show_default=True, help="Random window shift (bp)."
)
@click.option(
    "--rc/--no-rc",
    "reverse_complement",
    default=False,
    show_default=True,
    help="Reverse-complement half the training windows (the model is strand-symmetric anyway).",
)
@click.option(
    "--one-per-peak", is_flag=True, help="One random bin per run of bound bins as positives."
)
@click.option("--steps-per-epoch", type=int, help="Cap batches per epoch (quick runs).")
@click.option("--valid-steps", type=int, help="Cap validation batches.")
@click.option("--workers", type=int, default=0, show_default=True, help="Batch reader workers.")
@click.option("--processes", is_flag=True, help="Workers are processes, not threads.")
@click.option("--devices", type=int, default=1, show_default=True, help="Data-parallel devices.")
@click.option(
    "--memory-budget",
    default="2GiB",
    show_default=True,
    help="Sampler chunk cache size (sequence at two bases per byte, signals as stored). If an "
    "epoch's chunks do not fit, each epoch is read in random groups of chunks that do.",
)
@click.option("--quiet", is_flag=True, help="No progress bars.")
@one_line_errors
def train(
    store: str,
    model_dir: str,
    tfs: tuple[str, ...],
    cells: tuple[str, ...],
    preset: str,
    motifs: tuple[str, ...],
    motif_file: str | None,
    epochs: int,
    patience: int,
    batch_size: int,
    negatives: float,
    learning_rate: float,
    seed: int,
    valid_chroms: tuple[str, ...],
    valid_fraction: float,
    valid_cell: str | None,
    tracks: tuple[str, ...],
    annotations: bool,
    metadata: bool,
    max_shift: int,
    reverse_complement: bool,
    one_per_peak: bool,
    steps_per_epoch: int | None,
    valid_steps: int | None,
    workers: int,
    processes: bool,
    devices: int,
    memory_budget: str,
    quiet: bool,
    **hyper: Any,
) -> None:
    """Train a FactorNet model on STORE for TF(s) in reference cells; write MODEL_DIR
    (model.keras, model_card.json, checkpoint.keras, history.csv, learning_curve.png).

    \b
    Example:
      fnstore train chr20.zarr models/ctcf --tf CTCF --cells HepG2,K562 --preset paper
      fnstore train chr20.zarr models/quick --tf CTCF --cells K562 --epochs 2 \\
          --steps-per-epoch 20 --window 400 --lstm 0 --motif CTCF --motif-file HOCOMOCOv9.meme
    """
    from fnstore.train.fit import train as run_train

    summary = run_train(
        store,
        model_dir,
        split_csv(tfs) or [],
        split_csv(cells) or [],
        preset=preset,
        hyperparameters={k: v for k, v in hyper.items() if v is not None},
        motifs=split_csv(motifs) or [],
        motif_file=motif_file,
        epochs=epochs,
        patience=patience,
        batch_size=batch_size,
        negatives=negatives,
        learning_rate=learning_rate,
        seed=seed,
        valid_chroms=split_csv(valid_chroms),
        valid_fraction=valid_fraction,
        valid_cell=valid_cell,
        tracks=split_csv(tracks),
        annotations=annotations,
        metadata=metadata,
        max_shift=max_shift,
        reverse_complement=reverse_complement,
        one_per_peak=one_per_peak,
        steps_per_epoch=steps_per_epoch,
        valid_steps=valid_steps,
        workers=workers,
        use_multiprocessing=processes,
        devices=devices,
        memory_budget=memory_budget,
        verbose=0 if quiet else 1,
    )
    for tf, row in summary["validation"]["tasks"].items():
        scores = ", ".join(f"{k} {row[k]:.3f}" for k in ("auroc", "auprc") if k in row)
        click.echo(f"{tf}: validation {scores or row.get('note', '')}")
    click.echo(f"Wrote {summary['model_dir']} ({summary['seconds']:.0f} s)")


# ----------------------------------------------------------------- predict / evaluate / ensemble
# (commands: `predict`, `evaluate`, `ensemble`)


@main.command()
@click.argument("model_dir", type=click.Path(file_okay=False))
@click.argument("store", type=str)
@click.argument("out", type=click.Path(file_okay=False))
@click.option("--cell", required=True, help="Cell whose signal tracks the model reads.")
@click.option(
    "--chroms",
    multiple=True,
    help="Chromosomes to score (comma-separated or repeated; default: all of the store's).",
)
@click.option(
    "--regions",
    type=click.Path(dir_okay=False),
    help="BED of bins to score instead (e.g. ENCODE-DREAM ladder/test regions).",
)
@click.option("--tf", "tfs", multiple=True, help="Only these model tasks (default: every task).")
@click.option(
    "--batch-size", type=int, default=1024, show_default=True, help="Windows per model call."
)
@click.option(
    "--method",
    type=click.Choice(["fast", "naive"]),
    default="fast",
    show_default=True,
    help="fast: shared convolution over stretches (exact); naive: one window per bin.",
)
@click.option(
    "--track-alias",
    multiple=True,
    help="MODEL_TRACK=STORE_TRACK: feed a store track of another name to a model track.",
)
@click.option(
    "--chunk-bins", type=int, default=32_768, show_default=True, help="Bins per resumable chunk."
)
@click.option("--resume", is_flag=True, help="Continue an interrupted run into OUT.")
@click.option("--overwrite", is_flag=True, help="Replace existing outputs in OUT.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@one_line_errors
def predict(
    model_dir: str,
    store: str,
    out: str,
    cell: str,
    chroms: tuple[str, ...],
    regions: str | None,
    tfs: tuple[str, ...],
    batch_size: int,
    method: str,
    track_alias: tuple[str, ...],
    chunk_bins: int,
    resume: bool,
    overwrite: bool,
    quiet: bool,
) -> None:
    """Score every bin of chromosomes (or of a region BED) of STORE for one cell with the
    model in MODEL_DIR; write F.<TF>.<cell>.tab.gz (ENCODE-DREAM), .bedGraph.gz, .bw and
    .zarr into folder OUT.

    \b
    Example:
      fnstore predict models/ctcf chr20.zarr preds --cell HepG2 --chroms chr20
      fnstore predict models/ctcf test.zarr preds --cell K562 --regions ladder_regions.bed.gz
    """
    from fnstore.interpret.legacy import parse_track_aliases
    from fnstore.predict import predict as run_predict

    result = run_predict(
        model_dir,
        store,
        out,
        cell,
        chroms=split_csv(chroms),
        regions=regions,
        tfs=split_csv(tfs),
        method=method,
        batch_size=batch_size,
        chunk_bins=chunk_bins,
        track_aliases=parse_track_aliases(track_alias),
        resume=resume,
        overwrite=overwrite,
        progress=not quiet,
    )
    click.echo(result.summary())


def _parse_fdrs(ctx: click.Context, param: click.Parameter, value: str) -> list[float]:
    try:
        fdrs = [float(v) for v in value.split(",") if v.strip()]
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a comma-separated list of numbers") from None
    if not fdrs or any(not 0 < f < 1 for f in fdrs):
        raise click.BadParameter(
            f"{value!r}: each FDR must be a fraction between 0 and 1, e.g. 0.1"
        )
    return fdrs


@main.command()
@click.argument("paths", nargs=-1, required=True, metavar="PRED... STORE")
@click.option(
    "--store",
    "store_opt",
    metavar="STORE",
    help="The store; then every positional argument is a prediction file.",
)
@click.option("--tf", required=True, help="TF whose labels to score against.")
@click.option("--cell", required=True, help="Cell type whose labels to score against.")
@click.option(
    "--json", "as_json", is_flag=True, help="Print the results as JSON (a list, one per file)."
)
@click.option(
    "--plots",
    metavar="PREFIX",
    help="Write ROC and PR curves of all files: PREFIX.roc.png and PREFIX.pr.png.",
)
@click.option(
    "--fdr",
    "fdrs",
    default="0.05,0.1,0.25,0.5",
    show_default=True,
    callback=_parse_fdrs,
    metavar="LIST",
    help="FDR levels at which to report recall.",
)
@click.option(
    "--allow-partial",
    is_flag=True,
    help="Score only the predicted bins instead of failing when labelled bins lack a prediction.",
)
@one_line_errors
def evaluate(
    paths: tuple[str, ...],
    store_opt: str | None,
    tf: str,
    cell: str,
    as_json: bool,
    plots: str | None,
    fdrs: list[float],
    allow_partial: bool,
) -> None:
    """Score prediction files against the labels of TF in CELL: auROC, auPRC, recall at FDR.

    PRED files are ENCODE-DREAM submissions (chrom start stop score, e.g. F.CTCF.K562.tab.gz),
    bedGraphs or .zarr predictions, one row per bin of the store's grid. The STORE is the last
    argument (like `cp FILE... DIR`), or give it with --store. Bins labelled ambiguous, unlabelled
    or blacklisted are not scored; every other labelled bin needs a prediction unless
    --allow-partial. auPRC is the Davis-Goadrich interpolated area the ENCODE-DREAM scorer used.

    \b
    Example:
      fnstore evaluate F.CTCF.GM12878.tab.gz chr20.zarr --tf CTCF --cell GM12878
      fnstore evaluate a.tab.gz b.tab.gz chr20.zarr --tf CTCF --cell GM12878 --plots out/ctcf
      fnstore evaluate *.tab.gz --store chr20.zarr --tf CTCF --cell GM12878 --json
    """
    from fnstore.evaluate import evaluate as run_evaluate
    from fnstore.evaluate import format_table, plot_curves, results_for_json

    if store_opt is None:
        if len(paths) < 2:
            raise click.UsageError("give PRED... STORE (the store last), or --store STORE")
        preds, store = list(paths[:-1]), paths[-1]
    else:
        preds, store = list(paths), store_opt
    results = run_evaluate(
        preds, store, tf, cell, fdrs=fdrs, allow_partial=allow_partial, curves=bool(plots)
    )
    if plots:
        for png in plot_curves(results, plots):
            click.echo(f"wrote {png}", err=as_json)
    if as_json:
        click.echo(json.dumps(results_for_json(results), indent=2))
    else:
        click.echo(format_table(results, fdrs))


@main.command()
@click.argument("out", type=str)
@click.argument("preds", nargs=-1, required=True, metavar="PRED...")
@click.option(
    "--method",
    type=click.Choice(["rank", "mean"]),
    default="rank",
    show_default=True,
    help="rank: average of ranks scaled to [0, 1] (FactorNet's submissions); mean: average score.",
)
@click.option("--overwrite", is_flag=True, help="Replace OUT if it exists.")
@one_line_errors
def ensemble(out: str, preds: tuple[str, ...], method: str, overwrite: bool) -> None:
    """Combine prediction files for the same regions, in the same order, into OUT.

    OUT comes first; its name picks the format (.tab.gz, .tsv, .bedGraph, .zarr). Text inputs may
    be tables or bedGraphs; .zarr inputs give a .zarr output.

    \b
    Example:
      fnstore ensemble F.CTCF.K562.tab.gz model1.tab.gz model2.tab.gz model3.tab.gz
      fnstore ensemble mean.tab.gz a.tab.gz b.tab.gz --method mean
    """
    from fnstore.ensemble import ensemble as run_ensemble

    summary = run_ensemble(out, list(preds), method=method, overwrite=overwrite)
    click.echo(
        f"{summary['out']}: {method} average of {len(preds)} files, {summary['n_rows']:,} rows"
    )


# ----------------------------------------------------------------- export
# (commands: `export`)


@main.command("export")
@click.argument("store", type=str)
@click.argument("out", type=click.Path())
@click.option(
    "--what",
    type=click.Choice(["labels", "features", "signals", "sequence", "bins"]),
    required=True,
    help="What to export.",
)
@click.option(
    "--format",
    "fmt",
    default=None,
    help="labels: dream|bed|npz|parquet; features: tsv|parquet|npz; signals: bigwig|bedgraph; "
    "sequence: fasta|npz|hdf5; bins: bed|tsv|parquet|npz (default: from OUT's suffix).",
)
@click.option(
    "--chroms", multiple=True, help="Chromosomes (comma-separated or repeated; default all)."
)
@click.option(
    "--regions", type=click.Path(dir_okay=False), help="BED file: bins overlapping these regions."
)
@click.option("--tf", multiple=True, help="TF(s) whose labels to export or filter on.")
@click.option("--cell", multiple=True, help="Cell type(s).")
@click.option("--track", multiple=True, help="Signal track(s) for --what signals (default all).")
@click.option(
    "--label",
    type=click.Choice(["B", "U", "A"], case_sensitive=False),
    default=None,
    help="Keep bins where any selected task has this label (BED of labels: default B).",
)
@click.option(
    "--window", type=int, default=None, help="Sequence window length in bp (default: bin size)."
)
@click.option(
    "--shift",
    type=int,
    default=0,
    show_default=True,
    help="Move sequence windows by this many bp from the bin centre.",
)
@click.option("--quiet", is_flag=True, help="No progress bar.")
@one_line_errors
def export_cmd(
    store: str,
    out: str,
    what: str,
    fmt: str | None,
    chroms: tuple[str, ...],
    regions: str | None,
    tf: tuple[str, ...],
    cell: tuple[str, ...],
    track: tuple[str, ...],
    label: str | None,
    window: int | None,
    shift: int,
    quiet: bool,
) -> None:
    """Export a slice of STORE to OUT for other tools (streams chunk by chunk).

    Several output files (a DREAM TSV per TF, a bigWig per cell x track) go into folder OUT.

    \b
    Example:
      fnstore export chr20.zarr CTCF.train.labels.tsv.gz --what labels --tf CTCF
      fnstore export chr20.zarr ctcf_k562_bound.bed --what labels --tf CTCF --cell K562
      fnstore export chr20.zarr gm12878.bw --what signals --cell GM12878 --track DNase --regions r.bed
      fnstore export chr20.zarr seqs.h5 --what sequence --tf CTCF --label B --window 1000
    """
    from fnstore.export import export

    result = export(
        store,
        out,
        what,
        fmt,
        chroms=split_csv(chroms),
        regions=regions,
        tf=split_csv(tf),
        cell=split_csv(cell),
        label=label.upper() if label else None,
        tracks=split_csv(track),
        window=window,
        shift=shift,
        progress=not quiet,
    )
    click.echo(result)


# ----------------------------------------------------------------- interpret / legacy
# (commands: `motifs`, `saliency`, `import-legacy`)


@main.command()
@click.argument("model_dir", type=click.Path(file_okay=False))
@click.argument("store", type=str)
@click.argument("out", type=click.Path(file_okay=False))
@click.option(
    "--cell",
    help="Cell whose signal and bound bins to use (default: first training "
    "cell in the store, else the first cell with a task for the model's TF).",
)
@click.option(
    "--chroms",
    multiple=True,
    metavar="LIST",
    help="Chromosomes or CHROM:START-END regions to draw windows from (default: the "
    "model card's held-out validation regions, else the whole store).",
)
@click.option(
    "--n-windows",
    type=int,
    default=2000,
    show_default=True,
    help="Windows to scan: about half bound bins of the model's TF, half random bins.",
)
@click.option(
    "--db",
    type=click.Path(dir_okay=False),
    help="MEME motif database to match kernels against (default: $FNSTORE_MOTIF_DB).",
)
@click.option("--top", type=int, default=5, show_default=True, help="Matches reported per kernel.")
@click.option(
    "--threshold",
    type=float,
    default=0.5,
    show_default=True,
    help="A hit is an activation above this fraction of the kernel's maximum.",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed for the random windows.")
@one_line_errors
def motifs(
    model_dir: str,
    store: str,
    out: str,
    cell: str | None,
    chroms: tuple[str, ...],
    n_windows: int,
    db: str | None,
    top: int,
    threshold: float,
    seed: int,
) -> None:
    """First-layer kernels of a model as motifs: MEME file, logos, footprints, database matches.

    Collects the subsequences of store windows where each kernel fires above THRESHOLD x its
    maximum (both strands), counts bases into PWMs (OUT/kernels.meme, readable by TOMTOM),
    draws logos (OUT/logos.png, OUT/logos/), the mean signal under the hits
    (OUT/footprints.png), and ranks database motifs by column correlation (OUT/matches.tsv).

    \b
    Example:
      fnstore motifs ctcf-model chr20.zarr ctcf-motifs --cell GM12878 \\
          --db HOCOMOCOv9.meme --top 3
    """
    from fnstore.interpret.kernel_motifs import default_database, format_summary, run_kernel_motifs

    database = db or default_database()
    summary = run_kernel_motifs(
        model_dir,
        store,
        out,
        cell=cell,
        chroms=split_csv(chroms),
        n_windows=n_windows,
        db=database,
        top=top,
        threshold=threshold,
        seed=seed,
    )
    click.echo(format_summary(summary))
    if not database:
        click.echo("(no motif database: give --db or set FNSTORE_MOTIF_DB to match kernels)")
    click.echo(f"wrote {out}/kernels.meme, matches.tsv, kernels.npz, summary.json, logos")


@main.command()
@click.argument("model_dir", type=click.Path(file_okay=False))
@click.argument("store", type=str)
@click.argument("out", type=click.Path())
@click.option("--cell", required=True, help="Cell whose signal tracks feed the model.")
@click.option(
    "--region",
    required=True,
    metavar="CHROM:START-END",
    help="0-based half-open region; longer than the window is tiled.",
)
@click.option("--tf", help="Which of the model's tasks to explain (default: the first).")
@click.option("--no-plot", is_flag=True, help="Write only the .npz.")
@one_line_errors
def saliency(
    model_dir: str, store: str, out: str, cell: str, region: str, tf: str | None, no_plot: bool
) -> None:
    """Gradient and gradient x input of the model output per base, per strand, for a region.

    OUT is a folder (OUT/saliency.npz and OUT/saliency.png) or a file name ending in .npz
    (the PNG goes next to it). The PNG shows the bases scaled by gradient x input, each
    strand's importance, and the signal tracks underneath.

    \b
    Example:
      fnstore saliency ctcf-model chr20.zarr --cell GM12878 \\
          --region chr20:1,200,000-1,200,400 ctcf-saliency
    """
    from fnstore.interpret.saliency import run_saliency

    result = run_saliency(model_dir, store, cell, region, out, tf=tf, plot=not no_plot)
    scores = ", ".join(f"{v:.4f}" for v in result["output"])
    click.echo(f"{result['tf']} output {scores}; wrote {', '.join(result['files'].values())}")


@main.command("import-legacy")
@click.argument("legacy_dir", type=click.Path(file_okay=False))
@click.argument("model_dir", type=click.Path(file_okay=False))
@click.option(
    "--track-alias",
    "track_alias",
    multiple=True,
    metavar="LEGACY=TRACK",
    help="Rename a legacy bigWig track in the model card (repeatable), e.g. DGF=DNase.",
)
@click.option(
    "--weights",
    type=click.Choice(["auto", "best", "final"]),
    default="auto",
    show_default=True,
    help="Weights file: best_model.hdf5, final_model.hdf5, or best when present (auto).",
)
@click.option("--overwrite", is_flag=True, help="Replace MODEL_DIR if it already holds a model.")
@one_line_errors
def import_legacy(
    legacy_dir: str, model_dir: str, track_alias: tuple[str, ...], weights: str, overwrite: bool
) -> None:
    """Convert a FactorNet (Keras 1, Theano) model folder into an fnstore model folder.

    Reads model.json, best_model.hdf5 or final_model.hdf5, chip.txt, bigwig.txt,
    feature.txt and meta.txt from LEGACY_DIR; writes model.keras and model_card.json.

    \b
    Example:
      fnstore import-legacy FactorNet/models/REST/REST_GENCODE_Unique35_DGF rest-legacy \\
          --track-alias DGF=DNase
    """
    from pathlib import Path

    from fnstore.errors import InputError
    from fnstore.interpret.legacy import import_legacy as run_import
    from fnstore.interpret.legacy import parse_track_aliases

    if (Path(model_dir) / "model_card.json").exists() and not overwrite:
        raise InputError(model_dir, "already holds a model (use --overwrite)")
    aliases = parse_track_aliases(track_alias)
    _, card = run_import(legacy_dir, model_dir, track_aliases=aliases, weights=weights)
    extra = len(card["meta_features"]) + len(card["annotations"])
    click.echo(
        f"{model_dir}: {', '.join(t['tf'] for t in card['tasks'])} from "
        f"{card['legacy']['weights_file']}; window {card['window']}, tracks "
        f"{', '.join(card['tracks']) or 'none'}, {extra} extra features"
    )


# ----------------------------------------------------------------- demo
# (commands: `demo`)


@main.command()
@click.argument("outdir", required=False, default="fnstore-demo", type=click.Path(file_okay=False))
@click.option(
    "--epochs",
    type=click.IntRange(min=1),
    default=None,
    help="Training epochs [default: 8, or 1 with --quick].",
)
@click.option(
    "--quick", is_flag=True, help="One short epoch (a smoke test, well under a minute of training)."
)
@click.option(
    "--seed", type=int, default=0, show_default=True, help="Random seed of the training run."
)
@one_line_errors
def demo(outdir: str, epochs: int | None, quick: bool, seed: int) -> None:
    """Build, train, predict and evaluate on the bundled real example, in OUTDIR.

    The example (inside the package) is 4.5 Mb of hg19 chr20 with GM12878 ATAC-seq and
    ENCODE-DREAM peaks of ZNF143, YY1 and SPI1. The demo trains on GM12878 over the first
    80% of the slice and scores the last 20%, which training never saw. It prints the metrics,
    the files it wrote and what to run next. One to two minutes on a 2-core CPU. A rerun
    replaces the demo's own files in OUTDIR.

    \b
    Example:
      fnstore demo demo-out
      fnstore demo /tmp/fnstore-demo --quick
    """
    from fnstore.demo import format_summary, run_demo

    result = run_demo(outdir, epochs=epochs, quick=quick, seed=seed, echo=click.echo)
    click.echo(format_summary(result))


if __name__ == "__main__":
    main()
