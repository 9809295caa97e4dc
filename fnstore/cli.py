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
@click.argument("store", type=str)
@click.option("--from-factornet", "factornet_dir", type=click.Path(file_okay=False),
              help="Build from a FactorNet data folder (data/<cell>/chip.txt, bigwig.txt, meta.txt).")
@click.option("--genome", type=click.Path(dir_okay=False), help="Genome FASTA for --from-factornet.")
@click.option("--overwrite", is_flag=True, help="Replace an existing store.")
@click.option("--resume", is_flag=True, help="Finish an interrupted build of the same spec.")
@click.option("--scheduler", default="threads", show_default=True,
              help="'threads', 'sync', 'processes' or a dask.distributed scheduler ADDRESS.")
@click.option("--workers", type=int, default=None, help="Threads/processes for the local scheduler.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@one_line_errors
def build(spec: str | None, store: str, factornet_dir: str | None, genome: str | None,
          overwrite: bool, resume: bool, scheduler: str, workers: int | None, quiet: bool) -> None:
    """Build STORE (a path, a .zip, or an fsspec URL) from a YAML build SPEC.

    \b
    Example:
      fnstore build examples/chr20-slice/spec.yaml chr20.zarr
      fnstore build --from-factornet FactorNet/data --genome hg19.fa factornet.zarr
    """
    from fnstore.build import build_store

    if factornet_dir:
        from fnstore.build.factornet import spec_from_factornet

        spec_obj: Any = spec_from_factornet(factornet_dir, genome)
    elif spec is None:
        raise click.UsageError("give a SPEC file or --from-factornet DIR")
    else:
        spec_obj = spec
    summary = build_store(spec_obj, store, overwrite=overwrite, resume=resume,
                          scheduler=scheduler, workers=workers, progress=not quiet)
    click.echo(summary)


@main.command()
@click.argument("store", type=str)
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.option("--no-counts", is_flag=True, help="Skip per-task B/U/A counts (faster on huge stores).")
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
@click.option("--checksums/--no-checksums", default=True, show_default=True,
              help="Re-hash the input files recorded in the provenance, where they still exist.")
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

# ----------------------------------------------------------------- predict / evaluate / ensemble
# (commands: `predict`, `evaluate`, `ensemble`)

# ----------------------------------------------------------------- export
# (commands: `export`)

# ----------------------------------------------------------------- interpret / legacy
# (commands: `motifs`, `saliency`, `import-legacy`)

# ----------------------------------------------------------------- demo
# (commands: `demo`)


if __name__ == "__main__":
    main()
