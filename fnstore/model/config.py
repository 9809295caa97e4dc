"""Hyperparameters of the FactorNet architecture and its named presets (no Keras)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from fnstore.errors import InputError

#: names of the LSTM recurrent activations (mapped to functions in the architecture)
RECURRENT_ACTIVATIONS = ("sigmoid", "hard_sigmoid", "keras1_hard_sigmoid")


@dataclass
class ModelConfig:
    """Every architecture hyperparameter; stored in the model card as ``hyperparameters``.

    Defaults are the ``factornet-2017`` preset: the architecture of the published
    ENCODE-DREAM FactorNet models (Keras 1.1.1 ``model.json``; 3 of the 4 released models
    use exactly these values, REST uses 64 kernels, dense 128 and dropout 0.5).
    """

    window: int = 1002
    n_kernels: int = 32
    kernel_width: int = 34
    conv_dropout: float = 0.1
    #: units of the per-position dense layer after the convolution (0 drops the layer)
    position_dense: int = 32
    pool_size: int = 17
    #: LSTM units per direction; 0 replaces pool + LSTM + flatten by a global max pool
    lstm_units: int = 32
    lstm_dropout: float = 0.1
    lstm_recurrent_dropout: float = 0.1
    #: "sigmoid" (Keras 3 default, cuDNN-friendly), "hard_sigmoid" (Keras 3's) or
    #: "keras1_hard_sigmoid" (what Keras 1 FactorNet models were trained with)
    lstm_recurrent_activation: str = "sigmoid"
    #: dropout after the recurrent block ("-p dropout" of FactorNet)
    recurrent_dropout: float = 0.2
    dense_units: int = 64
    #: dropout after concatenating the extra input, before the second dense layer
    extra_dropout: float = 0.0
    #: units of the dense layer after the extra input joins (None: same as dense_units)
    extra_dense_units: int | None = None
    #: dropout just before the sigmoid layer
    dense_dropout: float = 0.0
    #: track index pairs swapped on the reverse strand (``_fwd``/``_rev`` tracks)
    strand_pairs: list[tuple[int, int]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form (the model card's ``hyperparameters``).

        Returns
        -------
        dict
            Every field; ``strand_pairs`` as lists.
        """
        d = asdict(self)
        d["strand_pairs"] = [list(p) for p in self.strand_pairs]
        return d

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ModelConfig:
        """The inverse of :meth:`to_dict`, validated.

        Parameters
        ----------
        data : mapping
            Field values; missing fields take their defaults, unknown ones are an
            :class:`InputError`.

        Returns
        -------
        ModelConfig
        """
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise InputError("hyperparameters", f"unknown model option(s): {', '.join(unknown)}")
        values = dict(data)
        if "strand_pairs" in values:
            values["strand_pairs"] = [tuple(int(v) for v in p) for p in values["strand_pairs"]]
        config = cls(**values)
        config.validate()
        return config

    def validate(self) -> None:
        def bad(problem: str) -> InputError:
            return InputError("hyperparameters", problem)

        for name in ("window", "n_kernels", "kernel_width", "pool_size", "dense_units"):
            if int(getattr(self, name)) <= 0:
                raise bad(f"{name} must be positive, got {getattr(self, name)}")
        for name in ("position_dense", "lstm_units"):
            if int(getattr(self, name)) < 0:
                raise bad(f"{name} must be >= 0, got {getattr(self, name)}")
        for f in fields(self):
            if "dropout" in f.name and not 0.0 <= float(getattr(self, f.name)) < 1.0:
                raise bad(f"{f.name} must be in [0, 1), got {getattr(self, f.name)}")
        if self.lstm_recurrent_activation not in RECURRENT_ACTIVATIONS:
            raise bad(
                f"lstm_recurrent_activation must be one of {sorted(RECURRENT_ACTIVATIONS)}, "
                f"got {self.lstm_recurrent_activation!r}"
            )
        conv_len = self.window - self.kernel_width + 1
        if conv_len < 1:
            raise bad(f"window {self.window} is shorter than kernel_width {self.kernel_width}")
        if self.lstm_units and conv_len < self.pool_size:
            raise bad(f"window {self.window} leaves {conv_len} positions, fewer than pool_size")


#: Named starting points; any field can be overridden.
PRESETS: dict[str, dict[str, Any]] = {
    # The released ENCODE-DREAM models (Keras 1.1.1 model.json of EGR1/GABPA/HNF4A).
    "factornet-2017": {},
    # Table S1 of the FactorNet paper (-L 1000 -w 26 -k 32 -r 32 -d 128 -p 0.5, pool w/2);
    # the 0.1 dropout after the metadata concat follows the published make_meta_model.
    "paper": {
        "window": 1000,
        "kernel_width": 26,
        "pool_size": 13,
        "n_kernels": 32,
        "position_dense": 32,
        "lstm_units": 32,
        "dense_units": 128,
        "recurrent_dropout": 0.5,
        "dense_dropout": 0.5,
        "extra_dropout": 0.1,
    },
}


def model_config(preset: str = "factornet-2017", **overrides: Any) -> ModelConfig:
    """A validated :class:`ModelConfig` from a preset name plus overrides.

    Parameters
    ----------
    preset
        A key of :data:`PRESETS` (the starting values).
    **overrides
        :class:`ModelConfig` fields to change; unknown names raise :class:`InputError`.

    Returns
    -------
    ModelConfig
        The checked configuration (a fresh object the caller may change).
    """
    if preset not in PRESETS:
        raise InputError("preset", f"unknown preset {preset!r} (choose from {sorted(PRESETS)})")
    values = {**ModelConfig().to_dict(), **PRESETS[preset], **overrides}
    return ModelConfig.from_dict(values)
