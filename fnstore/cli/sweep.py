"""``fnstore sweep``: a thin face over :func:`fnstore.sweep.sweep`."""

from __future__ import annotations

import click

from fnstore.cli.app import main
from fnstore.cli.options import echo_result, json_option


@main.command()
@click.argument("spec", type=click.Path(dir_okay=False))
@click.argument("outdir", type=click.Path(file_okay=False))
@click.option("--dry-run", is_flag=True, help="Check everything; print the runs it would train.")
@click.option(
    "--workers", type=click.IntRange(min=1), help="LocalCluster workers (default: cores / 2)."
)
@click.option(
    "--threads-per-worker",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Runs at once per worker process.",
)
@click.option("--memory-limit", help="Memory per worker, e.g. 4GiB (default: dask's auto).")
@click.option("--tf-threads", type=click.IntRange(min=1), help="TensorFlow threads per run.")
@click.option("--scheduler", metavar="ADDR", help="Existing dask scheduler, tcp://HOST:PORT.")
@click.option(
    "--scheduler-file", type=click.Path(dir_okay=False), help="Existing scheduler's file."
)
@click.option(
    "--run-timeout",
    type=click.FloatRange(min=0, min_open=True),
    metavar="SECONDS",
    help="Stop a run taking longer (its worker restarts; dask retries it, then it fails).",
)
@click.option(
    "--rerun-changed", is_flag=True, help="Retrain runs whose definition changed (else refused)."
)
@json_option
def sweep(
    spec: str,
    outdir: str,
    dry_run: bool,
    workers: int | None,
    threads_per_worker: int,
    memory_limit: str | None,
    tf_threads: int | None,
    scheduler: str | None,
    scheduler_file: str | None,
    run_timeout: float | None,
    rerun_changed: bool,
    as_json: bool,
) -> None:
    """Train every run of SPEC (TFs x cell sets x grid x seeds) on dask.distributed into
    OUTDIR, skipping finished runs; score them on the honest validation and held-out
    targets; write OUTDIR/leaderboard.{csv,md,png}.

    \b
    Example:
      fnstore sweep sweep.yaml sweeps/first --dry-run
      fnstore sweep sweep.yaml sweeps/first --workers 2
      fnstore sweep sweep.yaml sweeps/first --scheduler tcp://10.0.0.5:8786
    """
    from fnstore.sweep.run import sweep as run_sweep

    result = run_sweep(
        spec,
        outdir,
        workers=workers,
        threads_per_worker=threads_per_worker,
        memory_limit=memory_limit,
        tf_threads=tf_threads,
        scheduler=scheduler,
        scheduler_file=scheduler_file,
        run_timeout=run_timeout,
        rerun_changed=rerun_changed,
        dry_run=dry_run,
        echo=lambda line: click.echo(line, err=True),
    )
    echo_result(result, as_json)
