"""``fnstore train``."""

from __future__ import annotations

from typing import Any

import click

from fnstore.cli.app import main
from fnstore.cli.options import one_line_errors, split_csv


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
    from fnstore.training.fit import train as run_train

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
