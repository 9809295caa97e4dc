"""``fnstore train``.

The training options are generated from the fields of
:class:`~fnstore.training.config.TrainConfig` and
:class:`~fnstore.training.config.SamplerConfig` (name, default, help, how the value
parses), so ``--help``, ``fnstore.train`` and the range checks share one definition; the
architecture options map onto :class:`~fnstore.model.ModelConfig` fields.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import Field
from typing import Any

import click

from fnstore.cli.app import KerasCommand, main
from fnstore.cli.options import echo_result, json_option, split_csv
from fnstore.training.config import TrainConfig, cli_fields, field_default, option_decl

#: ``fnstore train``'s knob options in ``--help`` order (tests check it covers every field)
KNOB_ORDER = (
    "motifs",
    "motif_file",
    "epochs",
    "patience",
    "batch_size",
    "negatives",
    "learning_rate",
    "seed",
    "valid_chroms",
    "valid_fraction",
    "valid_cell",
    "exclude",
    "tracks",
    "annotations",
    "metadata",
    "max_shift",
    "reverse_complement",
    "one_per_peak",
    "steps_per_epoch",
    "valid_steps",
    "workers",
    "use_multiprocessing",
    "devices",
    "feed",
    "mixed_precision",
    "seeds",
    "memory_budget",
    "honest",
    "unseen_cells",
    "verbose",
)

KNOB_FIELDS = {f.name: f for f in cli_fields(TrainConfig)}


def knob_option(f: Field) -> Callable[[Any], Any]:
    """The ``click.option`` of config field ``f``, from its default and metadata."""
    meta, default = f.metadata, field_default(f)
    kwargs: dict[str, Any] = {"help": meta.get("help") or None}
    if meta.get("choices"):
        kwargs["type"] = click.Choice(list(meta["choices"]))
    elif meta.get("path"):
        kwargs["type"] = click.Path(dir_okay=False)
    elif meta.get("type") is not None:
        kwargs["type"] = meta["type"]
    elif default is not None and not isinstance(default, bool | tuple):
        kwargs["type"] = type(default)
    if meta.get("multiple"):
        kwargs["multiple"] = True
    elif "flag_value" in meta:
        kwargs.update(flag_value=meta["flag_value"], default=default)
    elif isinstance(default, bool) and "/" not in option_decl(f):
        kwargs["is_flag"] = True
    elif default is not None:
        kwargs.update(default=default, show_default=True)
    return click.option(option_decl(f), f.name, **kwargs)


def knob_options(names: tuple[str, ...]) -> Callable[[Any], Any]:
    """Apply the options of ``names`` so that they appear in that order in ``--help``."""

    def decorate(func: Any) -> Any:
        for name in reversed(names):
            func = knob_option(KNOB_FIELDS[name])(func)
        return func

    return decorate


def knob_values(values: dict[str, Any]) -> dict[str, Any]:
    """Parsed option values as ``fnstore.train`` keywords (repeatable options split on commas)."""
    out = {}
    for name, value in values.items():
        if KNOB_FIELDS[name].metadata.get("multiple"):
            value = split_csv(value)
            if value is None:  # not given: the field's own default applies
                continue
        out[name] = value
    return out


@main.command(cls=KerasCommand)
@click.argument("store", type=str)
@click.argument("model_dir", type=str)
@click.option(
    "--tf", "tfs", multiple=True, required=True, help="TF to model (repeat for multi-task)."
)
@click.option("--cells", multiple=True, required=True, help="Training cells, comma-separated.")
@knob_options(("preset",))
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
@knob_options(KNOB_ORDER)
@click.option(
    "--overwrite",
    is_flag=True,
    help="Replace MODEL_DIR if it holds a model (swapped in when done).",
)
@json_option
def train(
    store: str,
    model_dir: str,
    tfs: tuple[str, ...],
    cells: tuple[str, ...],
    overwrite: bool,
    as_json: bool,
    **values: Any,
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

    knobs = knob_values({k: v for k, v in values.items() if k in KNOB_FIELDS})
    if as_json:  # Keras writes epochs to stdout, which must hold only the JSON
        knobs["verbose"] = 0
    hyper = {k: v for k, v in values.items() if k not in KNOB_FIELDS and v is not None}
    result = run_train(
        store,
        model_dir,
        split_csv(tfs) or [],
        split_csv(cells) or [],
        hyperparameters=hyper,
        overwrite=overwrite,
        **knobs,
    )
    echo_result(result, as_json)
