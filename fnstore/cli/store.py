"""Store commands: ``build``, ``add``, ``log``, ``info``, ``validate``."""

from __future__ import annotations

import json
import os
import sys
from typing import Any

import click

from fnstore.cli.app import main
from fnstore.cli.options import echo_result, json_option


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
@json_option
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
    as_json: bool,
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
        from fnstore.io.factornet import spec_from_factornet

        spec_obj: Any = spec_from_factornet(factornet_dir, genome)
    elif spec is None:
        raise click.UsageError("give a SPEC file or --from-factornet DIR")
    else:
        spec_obj = spec
    result = build_store(
        spec_obj,
        store,
        overwrite=overwrite,
        resume=resume,
        scheduler=scheduler,
        workers=workers,
        progress=not quiet,
    )
    echo_result(result, as_json)


@main.command()
@click.argument("store", type=str)
@click.argument("fragment", type=click.Path(dir_okay=False))
@click.option("--resume", is_flag=True, help="Finish an interrupted add of the same fragment.")
@click.option("--workers", type=int, default=None, help="Threads for the work units.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@json_option
def add(
    store: str, fragment: str, resume: bool, workers: int | None, quiet: bool, as_json: bool
) -> None:
    """Add cells, tracks, TF x cell labels or annotations from a spec FRAGMENT to STORE.

    FRAGMENT holds the same entries as a build spec (cells:, labels:, annotations:);
    the store afterwards equals a fresh build of its spec with them appended, and only
    changed chunks are written. The store is grown beside itself (STORE.adding) and
    swapped in when complete; a killed add leaves the old store as it was, and --resume
    finishes it. Names that exist, another assembly or bin grid are refused.

    On an icechunk repository (icechunk://PATH[@branch]) the add is one commit on the
    branch, tagged v<N+1> like a build; a failed or killed add commits nothing, so
    --resume there simply does the add again.

    \b
    Example:
      fnstore add chr20.zarr new-cell.yaml
      fnstore add icechunk://chr20-repo new-cell.yaml
      fnstore log chr20.zarr
    """
    from fnstore.build.add import add_to_store

    result = add_to_store(store, fragment, resume=resume, workers=workers, progress=not quiet)
    echo_result(result, as_json)


@main.command("log")
@click.argument("store", type=str)
@json_option
def log_(store: str, as_json: bool) -> None:
    """List the versions of STORE: each build and add, with what it added and its content hash.

    A model card pins the content hash of the version it was trained on; predict and
    evaluate warn when it differs. On an icechunk repository each version also shows its
    snapshot id and tags (looked up from the repository's ancestry and tags: a snapshot
    cannot record its own id).

    \b
    Example:
      fnstore log chr20.zarr
      fnstore log icechunk://chr20-repo
      fnstore log chr20.zarr --json | jq '.[-1].content_hash'
    """
    from fnstore.cli.render import format_log
    from fnstore.io.icechunk import version_snapshots
    from fnstore.store.read import open_store
    from fnstore.store.versions import versions

    st = open_store(store)
    found = versions(st.attrs)
    if st.snapshot_id:  # icechunk: each version's snapshot, found in the ancestry
        found = version_snapshots(store, found, st.snapshot_id, st.store_id)
    click.echo(json.dumps(found, indent=2) if as_json else format_log(store, found))


@main.command()
@click.argument("store", type=str)
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.option(
    "--no-counts", is_flag=True, help="Skip per-task B/U/A counts (faster on huge stores)."
)
def info(store: str, as_json: bool, no_counts: bool) -> None:
    """Summarise a store: chromosomes, bins, cells, tracks, tasks with B/U/A counts, size.

    \b
    Example:
      fnstore info chr20.zarr
      fnstore info chr20.zarr --json | jq .tasks
    """
    from fnstore.cli.render import format_info
    from fnstore.store.read import open_store

    summary = open_store(store).info(counts=not no_counts)
    click.echo(json.dumps(summary, indent=2) if as_json else format_info(summary))


@main.command()
@click.argument("path", type=str)
@click.option(
    "--checksums/--no-checksums",
    default=True,
    show_default=True,
    help="Stores: re-hash the input files recorded in the provenance, where they still exist.",
)
@click.option(
    "--deep",
    is_flag=True,
    help="Stores: decode every chunk (zstd checksums verified), not only compare chunk files "
    "with the manifest; prints the throughput.",
)
@json_option
def validate(path: str, checksums: bool, deep: bool, as_json: bool) -> None:
    """Check PATH: a store, a model folder, or an output of export, predict or ensemble.

    A store: schema version, shapes, completeness, chunk files against the manifest
    (missing, extra, resized), recorded checksums; --deep decodes every chunk. A model
    folder: model.keras and the card against the sha256 in the card. An exported or
    predicted file: against its FILE.sha256 sidecar; a predictions .zarr: its arrays
    against the sha256 in its attributes.

    Prints PATH: OK, or each problem as one line on stderr and the exit code is 1.

    \b
    Example:
      fnstore validate chr20.zarr
      fnstore validate chr20.zarr --deep
      fnstore validate preds/F.CTCF.K562.tab.gz
      fnstore validate models/ctcf
    """
    from fnstore.store.validate import validate_path

    if _is_model_folder(path):
        result = _validate_model(path)
    else:
        result = validate_path(path, checksums=checksums, deep=deep)
    if as_json:
        echo_result(result, True)
        sys.exit(0 if result.ok else 1)
    if result.decoded is not None:
        click.echo(result.decoded.summary())
    if not result.ok:
        click.echo(result.summary(), err=True)
        sys.exit(1)
    click.echo(result.summary())


def _is_model_folder(path: str) -> bool:
    from fnstore.model.card import CARD_FILE

    return os.path.isfile(os.path.join(path, CARD_FILE))


def _validate_model(path: str) -> Any:
    """A model folder's card and weights against the hashes its card records."""
    from fnstore.errors import InputError
    from fnstore.io.files import sha256sum
    from fnstore.model.card import CHANGED, CHECKSUM_FIELD, MODEL_FILE, read_card
    from fnstore.store.validate import ValidateResult

    model = os.path.join(path, MODEL_FILE)
    try:
        recorded = read_card(path).get(CHECKSUM_FIELD)  # checks the card's own hash
        if not isinstance(recorded, dict) or MODEL_FILE not in recorded:
            raise InputError(path, "no recorded sha256 (the card predates checksums)")
        if not os.path.isfile(model):
            raise InputError(model, "missing")
        if sha256sum(model) != recorded[MODEL_FILE]:
            raise InputError(model, CHANGED)
    except InputError as exc:
        return ValidateResult(path, [str(exc)])
    return ValidateResult(path)
