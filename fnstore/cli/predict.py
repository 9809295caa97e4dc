"""Prediction commands: ``predict``, ``evaluate``, ``ensemble``."""

from __future__ import annotations

import json
from typing import Any

import click

from fnstore.cli.app import KerasCommand, main
from fnstore.cli.options import (
    choice_option,
    chroms_option,
    csv_option,
    echo_result,
    json_option,
    parse_fdrs,
    quiet_option,
    regions_option,
    track_aliases,
)


@main.command(cls=KerasCommand)
@click.argument("model_dir", type=click.Path(file_okay=False))
@click.argument("store", type=str)
@click.argument("out", type=click.Path(file_okay=False))
@click.option("--cell", required=True, help="Cell whose signal tracks the model reads.")
@chroms_option("Chromosomes to score (comma-separated or repeated; default: all of the store's).")
@regions_option("BED of bins to score instead (e.g. ENCODE-DREAM ladder/test regions).")
@csv_option("--tf", "tfs", help="Only these model tasks (default: every task).")
@click.option(
    "--batch-size", type=int, default=1024, show_default=True, help="Windows per model call."
)
@choice_option(
    "--method",
    ["fast", "naive"],
    "fast",
    "fast: shared convolution over stretches (exact); naive: one window per bin.",
)
@click.option(
    "--track-alias",
    "track_aliases",
    multiple=True,
    callback=track_aliases,
    help="MODEL_TRACK=STORE_TRACK: feed a store track of another name to a model track.",
)
@click.option(
    "--chunk-bins", type=int, default=32_768, show_default=True, help="Bins per resumable chunk."
)
@click.option("--resume", is_flag=True, help="Continue an interrupted run into OUT.")
@click.option("--overwrite", is_flag=True, help="Replace existing outputs in OUT.")
@click.option(
    "--strict",
    is_flag=True,
    help="Refuse a store whose data differ from the version the model was trained on "
    "(default: a Warning: line).",
)
@quiet_option
@json_option
def predict(
    model_dir: str, store: str, out: str, cell: str, quiet: bool, as_json: bool, **options: Any
) -> None:
    """Score every bin of chromosomes (or of a region BED) of STORE for one cell with the
    model in MODEL_DIR; write F.<TF>.<cell>.tab.gz (ENCODE-DREAM), .bedGraph.gz, .bw and
    .zarr into folder OUT.

    \b
    Example:
      fnstore predict models/ctcf chr20.zarr preds --cell HepG2 --chroms chr20
      fnstore predict models/ctcf test.zarr preds --cell K562 --regions ladder_regions.bed.gz
    """
    from fnstore.predict.run import predict as run_predict

    result = run_predict(model_dir, store, out, cell, progress=not quiet, **options)
    echo_result(result, as_json)


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
    callback=parse_fdrs,
    metavar="LIST",
    help="FDR levels at which to report recall.",
)
@click.option(
    "--allow-partial",
    is_flag=True,
    help="Score only the predicted bins instead of failing when labelled bins lack a prediction.",
)
@click.option(
    "--report",
    metavar="DIR",
    help="Write DIR/report.md (metrics table, curves), metrics.csv, curves.csv, roc.png, pr.png.",
)
@click.option(
    "--strict",
    is_flag=True,
    help="Refuse predictions of a model trained on another version of STORE "
    "(default: a Warning: line).",
)
def evaluate(
    paths: tuple[str, ...],
    store_opt: str | None,
    tf: str,
    cell: str,
    as_json: bool,
    plots: str | None,
    fdrs: list[float],
    allow_partial: bool,
    report: str | None,
    strict: bool,
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
      fnstore evaluate a.tab.gz b.tab.gz chr20.zarr --tf CTCF --cell GM12878 --report rep/
    """
    from fnstore.evaluate.plots import plot_curves
    from fnstore.evaluate.score import evaluate as run_evaluate

    if store_opt is None:
        if len(paths) < 2:
            raise click.UsageError("give PRED... STORE (the store last), or --store STORE")
        preds, store = list(paths[:-1]), paths[-1]
    else:
        preds, store = list(paths), store_opt
    result = run_evaluate(
        preds,
        store,
        tf,
        cell,
        fdrs=fdrs,
        allow_partial=allow_partial,
        curves=bool(plots or report),
        strict=strict,
    )
    if plots:
        for png in plot_curves(result, plots):
            click.echo(f"wrote {png}", err=as_json)
    if report:
        from fnstore.evaluate.report import write_report

        written = write_report(result, fdrs, report)
        click.echo(f"wrote {', '.join(str(p) for p in written)}", err=as_json)
    if as_json:
        click.echo(json.dumps(result.to_dict()["results"], indent=2))
    else:
        click.echo(result.summary())


@main.command()
@click.argument("out", type=str)
@click.argument("preds", nargs=-1, required=True, metavar="PRED...")
@choice_option(
    "--method",
    ["rank", "mean"],
    "rank",
    "rank: average of ranks scaled to [0, 1] (FactorNet's submissions); mean: average score.",
)
@click.option("--overwrite", is_flag=True, help="Replace OUT if it exists.")
@json_option
def ensemble(out: str, preds: tuple[str, ...], method: str, overwrite: bool, as_json: bool) -> None:
    """Combine prediction files for the same regions, in the same order, into OUT.

    OUT comes first; its name picks the format (.tab.gz, .tsv, .bedGraph, .zarr). Text inputs may
    be tables or bedGraphs; .zarr inputs give a .zarr output.

    \b
    Example:
      fnstore ensemble F.CTCF.K562.tab.gz model1.tab.gz model2.tab.gz model3.tab.gz
      fnstore ensemble mean.tab.gz a.tab.gz b.tab.gz --method mean
    """
    from fnstore.predict.ensemble import ensemble as run_ensemble

    result = run_ensemble(out, list(preds), method=method, overwrite=overwrite)
    echo_result(result, as_json)
