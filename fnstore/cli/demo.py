"""``fnstore demo``."""

from __future__ import annotations

import click

from fnstore.cli.app import KerasCommand, main
from fnstore.cli.options import echo_result, json_option


@main.command(cls=KerasCommand)
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
@json_option
def demo(outdir: str, epochs: int | None, quick: bool, seed: int, as_json: bool) -> None:
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

    echo = (lambda line: click.echo(line, err=True)) if as_json else click.echo
    result = run_demo(outdir, epochs=epochs, quick=quick, seed=seed, echo=echo)
    echo_result(result, as_json, format_summary(result))
