"""Interpretation commands: ``motifs``, ``saliency``, ``import-legacy``."""

from __future__ import annotations

import click

from fnstore.cli.app import KerasCommand, main
from fnstore.cli.options import echo_result, json_option, split_csv


@main.command(cls=KerasCommand)
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
    help="MEME motif database to match kernels against (default: $FNSTORE_MOTIF_DB, else the "
    "bundled JASPAR 2026 CORE vertebrates; FNSTORE_MOTIF_DB=none: no matching).",
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
@json_option
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
    as_json: bool,
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
    if as_json:
        echo_result(summary, True)
        return
    click.echo(format_summary(summary))
    if not database:
        click.echo("(no motif database: kernels not matched; give --db to match them)")
    click.echo(f"wrote {out}/kernels.meme, matches.tsv, kernels.npz, summary.json, logos")


@main.command(cls=KerasCommand)
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
@json_option
def saliency(
    model_dir: str,
    store: str,
    out: str,
    cell: str,
    region: str,
    tf: str | None,
    no_plot: bool,
    as_json: bool,
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
    text = f"{result['tf']} output {scores}; wrote {', '.join(result['files'].values())}"
    echo_result(result, as_json, text)


@main.command("import-legacy", cls=KerasCommand)
@click.argument("legacy_dir", type=click.Path(file_okay=False))
@click.argument("model_dir", type=str)
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
@click.option(
    "--overwrite",
    is_flag=True,
    help="Replace MODEL_DIR if it holds a model (swapped in when done).",
)
@json_option
def import_legacy(
    legacy_dir: str,
    model_dir: str,
    track_alias: tuple[str, ...],
    weights: str,
    overwrite: bool,
    as_json: bool,
) -> None:
    """Convert a FactorNet (Keras 1, Theano) model folder into an fnstore model folder.

    Reads model.json, best_model.hdf5 or final_model.hdf5, chip.txt, bigwig.txt,
    feature.txt and meta.txt from LEGACY_DIR; writes model.keras and model_card.json.
    Weights are checked against the published FactorNet models' SHA-256: a published
    model.json with other weights is refused; an unknown model.json imports with a
    warning ("published": false in the card).

    \b
    Example:
      fnstore import-legacy FactorNet/models/REST/REST_GENCODE_Unique35_DGF rest-legacy \\
          --track-alias DGF=DNase
    """
    from fnstore.model.legacy import import_legacy as run_import
    from fnstore.model.legacy import parse_track_aliases

    aliases = parse_track_aliases(track_alias)
    _, card = run_import(
        legacy_dir, model_dir, track_aliases=aliases, weights=weights, overwrite=overwrite
    )
    if not card["legacy"]["published"]:
        click.echo(
            f"Warning: {legacy_dir}: not a published FactorNet model (unknown model.json); "
            f"imported unverified weights, sha256 {card['legacy']['weights_sha256']}",
            err=True,
        )
    extra = len(card["meta_features"]) + len(card["annotations"])
    text = (
        f"{model_dir}: {', '.join(t['tf'] for t in card['tasks'])} from "
        f"{card['legacy']['weights_file']}; window {card['window']}, tracks "
        f"{', '.join(card['tracks']) or 'none'}, {extra} extra features"
    )
    echo_result(card, as_json, text)
