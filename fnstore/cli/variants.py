"""Variant and mutagenesis commands: ``variants``, ``ism``."""

from __future__ import annotations

import click

from fnstore.cli.app import KerasCommand, main
from fnstore.cli.options import echo_result, json_option, split_csv


@main.command(cls=KerasCommand)
@click.argument("model_dir", type=click.Path(file_okay=False))
@click.argument("store", type=str)
@click.argument("vcf", type=click.Path(dir_okay=False))
@click.argument("out", type=click.Path(dir_okay=False))
@click.option("--cell", required=True, help="Cell whose signal tracks feed the model.")
@click.option("--tf", "tfs", multiple=True, metavar="LIST", help="Tasks to report (default all).")
@click.option(
    "--method",
    type=click.Choice(["fast", "naive"]),
    default="fast",
    show_default=True,
    help="fast: the exact shared-convolution path of predict; naive: the whole model.",
)
@click.option(
    "--batch-size",
    type=int,
    default=4096,
    show_default=True,
    help="Variant records per batch: the unit of memory and of --resume.",
)
@click.option(
    "--max-allele",
    type=int,
    default=50,
    show_default=True,
    help="Longest REF or ALT allele scored (longer: status allele_too_long).",
)
@click.option("--resume", is_flag=True, help="Continue an interrupted run with the same settings.")
@click.option("--overwrite", is_flag=True, help="Replace OUT (or an interrupted run's parts).")
@json_option
def variants(
    model_dir: str,
    store: str,
    vcf: str,
    out: str,
    cell: str,
    tfs: tuple[str, ...],
    method: str,
    batch_size: int,
    max_allele: int,
    resume: bool,
    overwrite: bool,
    as_json: bool,
) -> None:
    """Effect of each SNV and short indel of VCF on the model's scores, per task.

    VCF is a VCF, VCF.gz or BCF, or a tab-separated CHROM POS REF ALT [ID] table (POS
    1-based). Each variant's REF and ALT windows are centred on it, with CELL's own signals
    at the reference coordinates; multi-allelic records are split. OUT (.tsv, .tsv.gz or
    .parquet) has one row per variant and task: ref_prob, alt_prob, diff, log_odds_ratio,
    status (scored, outside_store, not_sequence, allele_too_long), ref_match (the store's
    genome has REF) and blacklisted. Streamed in batches; --resume continues a killed run.

    \b
    Example:
      fnstore variants ctcf-model chr20.zarr snps.vcf.gz ctcf-snps.tsv.gz --cell HepG2
    """
    from fnstore.variants.run import write_variant_effects

    result = write_variant_effects(
        model_dir,
        store,
        vcf,
        out,
        cell,
        resume=resume,
        overwrite=overwrite,
        tfs=split_csv(tfs),
        method=method,
        batch_size=batch_size,
        max_allele=max_allele,
    )
    payload = {
        "out": str(result.out),
        "records": result.n_records,
        "rows": result.n_rows,
        "status": result.status,
        "method": result.method,
        "batches_computed": result.batches_computed,
    }
    echo_result(payload, as_json, result.summary())


@main.command(cls=KerasCommand)
@click.argument("model_dir", type=click.Path(file_okay=False))
@click.argument("store", type=str)
@click.argument("out", type=click.Path(file_okay=False))
@click.option("--cell", required=True, help="Cell whose signal tracks feed the model.")
@click.option("--region", metavar="CHROM:START-END", help="One region (0-based half-open).")
@click.option("--regions", type=click.Path(dir_okay=False), help="A BED file of regions.")
@click.option("--tf", help="Task for the logos and the MoDISco export (default: the first).")
@click.option(
    "--method",
    type=click.Choice(["fast", "naive"]),
    default="fast",
    show_default=True,
    help="fast: the exact shared-convolution path of predict; naive: model.predict.",
)
@click.option("--top", type=int, default=5, show_default=True, help="Windows drawn as logos.")
@click.option(
    "--logo-width", type=int, default=200, show_default=True, help="Bases drawn per logo."
)
@click.option("--modisco", is_flag=True, help="Also write OUT/modisco/{ohe,hyp}.npz.")
@click.option("--overwrite", is_flag=True, help="Replace an existing ISM folder.")
@json_option
def ism(
    model_dir: str,
    store: str,
    out: str,
    cell: str,
    region: str | None,
    regions: str | None,
    tf: str | None,
    method: str,
    top: int,
    logo_width: int,
    modisco: bool,
    overwrite: bool,
    as_json: bool,
) -> None:
    """In-silico mutagenesis: every single-base substitution of each window, scored.

    Each region gets the model's window centred on it (longer regions are tiled).
    OUT/ism.npz holds effects (window x position x base x task; the reference base 0),
    OUT/logos.png the top windows' per-base contributions, and with --modisco
    OUT/modisco/ohe.npz and hyp.npz for TF-MoDISco-lite (see docs/variants.md).

    \b
    Example:
      fnstore ism ctcf-model chr20.zarr --cell HepG2 --regions peaks.bed ctcf-ism --modisco
    """
    from fnstore.interpret.ism_run import run_ism

    result = run_ism(
        model_dir,
        store,
        cell,
        out,
        region=region,
        regions=regions,
        tf=tf,
        method=method,
        top=top,
        logo_width=logo_width,
        modisco=modisco,
        overwrite=overwrite,
    )
    text = (
        f"{result['n_windows']} windows ({result['method']} method); "
        f"wrote {', '.join(result['files'].values())}"
    )
    echo_result(result, as_json, text)
