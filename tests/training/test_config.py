"""The training knobs are spelled once: the ``fnstore train`` options and the config
dataclasses agree, out-of-range values fail in the dataclass, and keyword APIs route to it."""

from __future__ import annotations

import inspect
from dataclasses import fields, replace

import click
import pytest

from fnstore.cli.train import KNOB_ORDER, knob_values
from fnstore.cli.train import train as train_command
from fnstore.errors import InputError
from fnstore.model.config import ModelConfig
from fnstore.training.config import (
    SamplerConfig,
    TrainConfig,
    cli_fields,
    field_default,
    option_decl,
)
from fnstore.training.result import TrainResult

#: options of ``fnstore train`` that are not training knobs
NOT_KNOBS = {"store", "model_dir", "tfs", "cells", "help"}


def _options() -> dict[str, click.Parameter]:
    return {p.name: p for p in train_command.params if p.name not in NOT_KNOBS}


def test_every_cli_field_has_an_option_and_every_option_a_field() -> None:
    #: options about where the run reads and writes, not how it trains
    output_options = {"overwrite", "as_json", "storage_options"}
    options = {k: v for k, v in _options().items() if k not in output_options}
    knob_names = {f.name for f in cli_fields(TrainConfig)}
    model_names = {f.name for f in fields(ModelConfig)}
    assert knob_names == {name for name in options if name not in model_names}
    assert set(KNOB_ORDER) | {"preset"} == knob_names
    # architecture options are ModelConfig fields (strand_pairs comes from the tracks)
    assert model_names - {"strand_pairs"} == set(options) - knob_names


@pytest.mark.parametrize("f", cli_fields(TrainConfig), ids=lambda f: f.name)
def test_option_matches_its_field(f) -> None:  # noqa: ANN001
    option = _options()[f.name]
    assert option_decl(f).split("/")[0] == option.opts[0]
    assert (f.metadata["help"] or None) == option.help
    default = field_default(f)
    shown = option.get_default(click.Context(train_command))
    if shown is getattr(click.core, "UNSET", None):  # click >= 8.3's "no default"
        shown = None
    if option.multiple:  # unset means (), which knob_values drops: the field's default applies
        assert shown in (None, ()) and knob_values({f.name: ()}) == {}
    else:
        assert shown == default, f.name
    if "flag_value" in f.metadata:  # --quiet: verbose's default, and the flag's value
        assert option.flag_value == f.metadata["flag_value"] != default
    if f.metadata.get("choices"):
        assert list(option.type.choices) == list(f.metadata["choices"])


@pytest.mark.parametrize(
    ("cls", "values", "name"),
    [
        (SamplerConfig, {"batch_size": 0}, "batch_size"),
        (SamplerConfig, {"window": 0}, "window"),
        (SamplerConfig, {"negatives": -0.5}, "negatives"),
        (SamplerConfig, {"max_shift": -1}, "max_shift"),
        (SamplerConfig, {"valid_fraction": 1.0}, "valid_fraction"),
        (SamplerConfig, {"split": "test"}, "split"),
        (SamplerConfig, {"dtype": "int8"}, "dtype"),
        (SamplerConfig, {"shard_index": 2, "num_shards": 2}, "shard_index"),
        (SamplerConfig, {"memory_budget": "lots"}, "memory budget"),
        (TrainConfig, {"epochs": 0}, "epochs"),
        (TrainConfig, {"patience": -1}, "patience"),
        (TrainConfig, {"learning_rate": 0.0}, "learning_rate"),
        (TrainConfig, {"devices": 0}, "devices"),
        (TrainConfig, {"preset": "danq"}, "preset"),
    ],
)
def test_out_of_range_values_raise_input_error(cls, values, name) -> None:  # noqa: ANN001
    with pytest.raises(InputError) as info:
        cls(**values)
    assert str(info.value).startswith(f"{name}:")


def test_normalised_and_routed() -> None:
    c = SamplerConfig(tracks="DNase", memory_budget="1MiB", strand_pairs=[[0, 1]], dtype="f4")
    assert c.tracks == ("DNase",) and c.memory_budget == 1 << 20
    assert c.strand_pairs == ((0, 1),) and c.dtype == "float32"
    run = TrainConfig.from_keywords(epochs=2, batch_size=64, seed=5, motifs="CTCF")
    assert run.epochs == 2 and run.motifs == ("CTCF",)
    assert run.sampler.batch_size == 64 and run.sampler.seed == 5
    again = TrainConfig.from_keywords(run, negatives=3)
    assert again.sampler.batch_size == 64 and again.sampler.negatives == 3
    with pytest.raises(TypeError, match="bogus"):
        TrainConfig.from_keywords(bogus=1)
    with pytest.raises(TypeError, match="dtype"):  # not a knob of fnstore.train
        TrainConfig.from_keywords(dtype="float32")


def test_keyword_signatures_list_every_knob() -> None:
    import fnstore
    from fnstore.training.fit import train

    params = inspect.signature(train).parameters
    assert params["epochs"].default == 20 and params["batch_size"].default == 128
    assert "sampler" not in params and "dtype" not in params
    sampler_params = inspect.signature(fnstore.Sampler).parameters
    assert {f.name for f in fields(SamplerConfig)} <= set(sampler_params)


def test_train_result_reads_like_the_old_dict() -> None:
    result = TrainResult(
        model_dir="m",
        model="m/model.keras",
        card="m/model_card.json",
        checkpoint="m/checkpoint.keras",
        history_csv="m/history.csv",
        learning_curve="m/learning_curve.png",
        history={"loss": [1.0]},
        validation={"tasks": {"CTCF": {"auroc": 0.91234, "auprc": 0.5}, "MAX": {"note": "x"}}},
        seconds=12.4,
    )
    assert result["validation"]["tasks"]["MAX"] == {"note": "x"}
    assert dict(result) == result.to_dict() and len(result) == 10
    assert result.get("history_csv") == "m/history.csv" and result.get("nope") is None
    assert result.summary().splitlines() == [
        "CTCF: balanced validation sample auroc 0.912, auprc 0.500",
        "MAX: balanced validation sample x",
        "Wrote m (12 s)",
    ]
    honest = {
        "regions": ["chr20:0-100"],
        "results": [
            {"tf": "CTCF", "cell": "K562", "role": "train-cell", "auroc": 0.9, "auprc": 0.25},
            {"tf": "CTCF", "cell": "HepG2", "role": "valid-cell", "note": "one class"},
        ],
    }
    lines = replace(result, honest=honest).summary().splitlines()
    assert lines[2:5] == [
        "CTCF in K562 (train-cell): honest auROC 0.900, auPRC 0.250",
        "CTCF in HepG2 (valid-cell): honest validation not defined (one class)",
        "(honest: every non-ambiguous, non-blacklisted bin of chr20:0-100)",
    ]
