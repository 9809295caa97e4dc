"""``fnstore export``."""

from __future__ import annotations

from typing import Any

import click

from fnstore.cli.app import main
from fnstore.cli.options import (
    chroms_option,
    csv_option,
    echo_result,
    json_option,
    quiet_option,
    regions_option,
)


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
@chroms_option("Chromosomes (comma-separated or repeated; default all).")
@regions_option("BED file: bins overlapping these regions.")
@csv_option("--tf", help="TF(s) whose labels to export or filter on.")
@csv_option("--cell", help="Cell type(s).")
@csv_option("--track", "tracks", help="Signal track(s) for --what signals (default all).")
@click.option(
    "--label",
    type=click.Choice(["B", "U", "A"], case_sensitive=False),
    default=None,
    callback=lambda ctx, param, value: value.upper() if value else None,
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
@click.option(
    "--layout",
    type=click.Choice(["NCL", "NLC"], case_sensitive=False),
    default=None,
    help="Sequence one-hot axis order: NCL (default; PyTorch Conv1d) or NLC (Keras, JAX).",
)
@click.option(
    "--dtype",
    type=click.Choice(["uint8", "float16", "float32"]),
    default=None,
    help="Sequence one-hot dtype (default uint8).",
)
@quiet_option
@json_option
def export_cmd(
    store: str,
    out: str,
    what: str,
    fmt: str | None,
    quiet: bool,
    as_json: bool,
    **selection: Any,
) -> None:
    """Export a slice of STORE to OUT for other tools (streams chunk by chunk).

    Several output files (a DREAM TSV per TF, a bigWig per cell x track) go into folder OUT.

    \b
    Example:
      fnstore export chr20.zarr CTCF.train.labels.tsv.gz --what labels --tf CTCF
      fnstore export chr20.zarr ctcf_k562_bound.bed --what labels --tf CTCF --cell K562
      fnstore export chr20.zarr gm12878.bw --what signals --cell GM12878 --track DNase --regions r.bed
      fnstore export chr20.zarr seqs.h5 --what sequence --tf CTCF --label B --window 1000
      fnstore export chr20.zarr seqs.npz --what sequence --layout NLC --dtype float32
    """
    from fnstore.export.run import export

    result = export(store, out, what, fmt, progress=not quiet and not as_json, **selection)
    echo_result(result, as_json, str(result))
