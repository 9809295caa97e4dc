"""Every training knob, spelled once: :class:`SamplerConfig` and :class:`TrainConfig`.

Each knob is a dataclass field whose metadata carries its help text, allowed range and
command-line spelling. ``fnstore train`` builds its options from these fields,
``fnstore.train`` and ``fnstore.Sampler`` take them as keywords, and the sampler's
description in the model card is derived from them: a new knob is one new field. Values
are checked once, here, so an out-of-range value fails before any store is opened.

No Keras and no store access: a configuration is plain data.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Mapping, Sequence
from dataclasses import MISSING, Field, dataclass, field, fields, replace
from typing import Any, TypeVar

import numpy as np

from fnstore.errors import InputError
from fnstore.model.config import PRESETS
from fnstore.store.tensor_layout import LAYOUTS, check_layout

DEFAULT_MEMORY_BUDGET = 2 << 30
#: default jitter: a stride-sized shift keeps a window's central 100 bp inside its 200 bp bin
DEFAULT_MAX_SHIFT = 50

_Config = TypeVar("_Config", "SamplerConfig", "TrainConfig")


def parse_size(value: int | str | None) -> int:
    """Bytes from ``2GiB``, ``512M``, ``1e9`` or an int; None is the default budget.

    Parameters
    ----------
    value
        A byte count, a size with a K/M/G/T suffix (``iB``/``B`` optional) or None.

    Returns
    -------
    int
        The size in bytes.
    """
    if value is None:
        return DEFAULT_MEMORY_BUDGET
    if isinstance(value, int | np.integer):
        return int(value)
    text = str(value).strip().upper().replace("IB", "").replace("B", "")
    scale = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}.get(text[-1:], 1)
    try:
        return int(float(text[:-1] if scale > 1 else text) * scale)
    except ValueError:
        raise InputError("memory budget", f"{value!r} is not a size like 2GiB or 512M") from None


def knob(
    default: Any,
    help: str,
    *,
    option: str | None = None,
    cli: bool = True,
    lo: float | None = None,
    hi: float | None = None,
    open_range: bool = False,
    choices: Sequence[Any] | None = None,
    card: bool = True,
    **click_hints: Any,
) -> Any:
    """A config field with the metadata the CLI and the range check read.

    Why metadata rather than code: the option, its help and its range then live beside the
    default, so ``fnstore train --help``, the Python API and validation cannot drift apart.

    Parameters
    ----------
    default
        The default value (immutable: tuples, not lists).
    help
        One-line help; the ``fnstore train`` option's help text.
    option
        The option's declaration (``--rc/--no-rc``); default ``--`` plus the dashed name.
    cli
        False for knobs only the Python API sets (the CLI derives or omits them).
    lo, hi
        Inclusive bounds (exclusive with ``open_range``); None leaves a side open.
    choices
        The allowed values, when they are a fixed set.
    card
        False for sampler knobs the model card's sampler description leaves out (it
        records what they resolved to under another name, or they do not shape a model).
    click_hints
        ``multiple``, ``path``, ``flag_value``, ``type``: how the option parses its value.

    Returns
    -------
    dataclasses.Field
        The field, for a dataclass body.
    """
    meta = {"help": help, "cli": cli, "lo": lo, "hi": hi, "open": open_range, "card": card}
    meta.update(option=option, choices=tuple(choices) if choices else None, **click_hints)
    return field(default=default, metadata=meta)


def option_decl(f: Field) -> str:
    """The command-line declaration of field ``f`` (``--batch-size``, ``--rc/--no-rc``).

    Parameters
    ----------
    f : dataclasses.Field
        A field declared with :func:`knob`.

    Returns
    -------
    str
        The ``option`` metadata, else ``--`` plus the field name with dashes.
    """
    return f.metadata.get("option") or "--" + f.name.replace("_", "-")


def _check_range(f: Field, value: Any) -> None:
    """Raise :class:`InputError` when ``value`` is outside field ``f``'s range or choices."""
    meta = f.metadata
    if value is None:
        return
    choices = meta.get("choices")
    if choices and value not in choices:
        raise InputError(f.name, f"must be one of {', '.join(map(str, choices))}, got {value!r}")
    lo, hi, open_ = meta.get("lo"), meta.get("hi"), meta.get("open")
    if lo is None and hi is None:
        return
    number = float(value)
    below = lo is not None and (number <= lo if open_ else number < lo)
    above = hi is not None and (number >= hi if open_ else number > hi)
    if below or above or math.isnan(number):
        raise InputError(f.name, f"must be {_range_text(lo, hi, bool(open_))}, got {value!r}")


def _range_text(lo: float | None, hi: float | None, open_: bool) -> str:
    """``>= 1``, ``< 1`` or ``in (0, 1)``: a range as an error message says it."""
    if lo is not None and hi is not None:
        return f"in ({lo}, {hi})" if open_ else f"in [{lo}, {hi}]"
    if lo is not None:
        return f"{'>' if open_ else '>='} {lo}"
    return f"{'<' if open_ else '<='} {hi}"


def _names(value: str | Sequence[str] | None) -> tuple[str, ...] | None:
    """A name or names as a tuple (frozen configs hold no lists); None stays None."""
    if value is None:
        return None
    return (value,) if isinstance(value, str) else tuple(str(v) for v in value)


def _set(config: Any, name: str, value: Any) -> None:
    object.__setattr__(config, name, value)  # normalising a frozen dataclass in __post_init__


def from_options(cls: type[_Config], config: _Config | None, options: Mapping[str, Any]) -> _Config:
    """``config`` (default: all defaults) with keyword ``options`` applied.

    Unknown keywords raise ``TypeError``, as they would for a function with an explicit
    parameter list.

    Parameters
    ----------
    cls : type
        :class:`SamplerConfig` or :class:`TrainConfig`.
    config : SamplerConfig or TrainConfig, optional
        The starting configuration; None for the defaults.
    options : Mapping of str to Any
        Field name -> value; validated by the class's ``__post_init__``.

    Returns
    -------
    SamplerConfig or TrainConfig
        A new configuration (``config`` is frozen and left unchanged).

    Raises
    ------
    TypeError
        For a keyword that is not a field of ``cls``.
    InputError
        For a value out of its range.
    """
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(options) - known)
    if unknown:
        raise TypeError(f"unexpected keyword argument(s): {', '.join(unknown)}")
    return replace(config, **options) if config is not None else cls(**options)


@dataclass(frozen=True)
class SamplerConfig:
    """How a :class:`~fnstore.training.sampler.Sampler` draws examples.

    Store-dependent choices (``tracks=None``: every track the cells share; ``dtype=None``:
    the store's signal dtype) are made by the sampler; :attr:`Sampler.settings` holds the
    same dataclass with them filled in.

    Parameters
    ----------
    split
        ``"train"`` or ``"valid"`` (the fixed validation set of the same configuration).
    window
        Window length L in bases.
    batch_size, negatives, max_shift, reverse_complement, one_per_peak
        Batch size; negatives per positive; random shift; RC half the windows; one
        positive per run of bound bins (the last three apply to training only).
    tracks, annotations, metadata
        Signal tracks (None: all the cells have); annotation names or True/False; cell
        metadata on or off.
    valid_chroms, valid_fraction, valid_cell, valid_negatives
        The validation split: regions, the held-out tail of a one-chromosome store, a
        held-out cell, and negatives per positive there (default: ``negatives``).
    exclude
        Regions no window of either split touches (at its widest shift): a test set kept
        apart from training and from the validation that picks the model.
    seed
        Every batch is a pure function of (seed, epoch, index).
    memory_budget
        Chunk cache bytes (``2GiB``, ``512M`` or an int; stored as an int).
    max_batches, shard_index, num_shards
        Cap on batches per epoch; this worker's shard of the batches.
    strand_pairs
        Track index pairs swapped on reverse windows (None: from ``_fwd``/``_rev`` names).
    dtype
        Output dtype of ``x``, float16 or float32 (None: the store's signal dtype).
    layout
        Axis order of ``x``: ``"NLC"`` (batch, length, channels: Keras, JAX) or ``"NCL"``
        (PyTorch ``Conv1d``). ``fnstore.train`` needs ``"NLC"``.
    """

    split: str = knob("train", "Which split to draw.", cli=False, choices=("train", "valid"))
    window: int = knob(1000, "Window length L.", cli=False, lo=1)
    batch_size: int = knob(128, "Global batch size.", lo=1)
    negatives: float = knob(10.0, "Negatives per positive.", lo=0)
    seed: int = knob(0, "")
    valid_chroms: tuple[str, ...] | None = knob(
        None,
        "Validation chromosomes or CHROM:START-END (default chr11, or the last 10% of a "
        "one-chromosome store).",
        multiple=True,
        card=False,
    )
    valid_fraction: float = knob(
        0.1, "Held-out tail of a one-chromosome store.", lo=0, hi=1, open_range=True, card=False
    )
    valid_cell: str | None = knob(None, "Held-out cell for cross-cell validation.")
    exclude: tuple[str, ...] | None = knob(
        None,
        "Chromosomes or CHROM:START-END kept out of training and validation (a test set).",
        multiple=True,
    )
    valid_negatives: float | None = knob(
        None, "Negatives per positive in the validation set.", cli=False, lo=0, card=False
    )
    tracks: tuple[str, ...] | None = knob(
        None, "Signal tracks, comma-separated (default: all the cells have).", multiple=True
    )
    annotations: bool | tuple[str, ...] = knob(True, "", option="--annotations/--no-annotations")
    metadata: bool = knob(True, "", option="--metadata/--no-metadata", card=False)
    max_shift: int = knob(DEFAULT_MAX_SHIFT, "Random window shift (bp).", lo=0)
    reverse_complement: bool = knob(
        False,
        "Reverse-complement half the training windows (the model is strand-symmetric anyway).",
        option="--rc/--no-rc",
    )
    one_per_peak: bool = knob(False, "One random bin per run of bound bins as positives.")
    memory_budget: int | str | None = knob(
        "2GiB",
        "Sampler chunk cache size (sequence at two bases per byte, signals as stored). If an "
        "epoch's chunks do not fit, each epoch is read in random groups of chunks that do.",
    )
    max_batches: int | None = knob(None, "Cap batches per epoch.", cli=False, lo=0, card=False)
    shard_index: int = knob(0, "This worker's shard of the batches.", cli=False, lo=0, card=False)
    num_shards: int = knob(
        1, "Data-parallel workers sharing the batches.", cli=False, lo=1, card=False
    )
    strand_pairs: tuple[tuple[int, int], ...] | None = knob(
        None, "Track index pairs swapped on reverse windows.", cli=False, card=False
    )
    dtype: str | None = knob(None, "Output dtype of x.", cli=False, choices=("float16", "float32"))
    layout: str = knob(
        "NLC", "Axis order of x: NLC (Keras) or NCL.", cli=False, choices=LAYOUTS, card=False
    )

    def __post_init__(self) -> None:
        for name in ("tracks", "valid_chroms", "exclude"):
            _set(self, name, _names(getattr(self, name)))
        if not isinstance(self.annotations, bool):
            _set(self, "annotations", _names(self.annotations) or ())
        if self.strand_pairs is not None:
            pairs = tuple(tuple(int(v) for v in p) for p in self.strand_pairs)
            _set(self, "strand_pairs", pairs)
        _set(self, "layout", check_layout(self.layout))
        if self.dtype is not None:
            try:
                _set(self, "dtype", str(np.dtype(self.dtype)))
            except TypeError:
                raise InputError("dtype", f"{self.dtype!r} is not a NumPy dtype") from None
        _set(self, "memory_budget", parse_size(self.memory_budget))
        for f in fields(self):
            _check_range(f, getattr(self, f.name))
        if self.shard_index >= self.num_shards:
            raise InputError(
                "shard_index", f"shard_index {self.shard_index} not in [0, {self.num_shards})"
            )


@dataclass(frozen=True)
class TrainConfig:
    """What ``fnstore train`` / :func:`fnstore.train` does beyond drawing examples.

    Parameters
    ----------
    preset, hyperparameters
        The architecture: a preset of :data:`fnstore.model.PRESETS` and overrides of its
        :class:`~fnstore.model.ModelConfig` fields (``window`` sets the sampler's window).
    motifs, motif_file
        Initialise convolution kernels from these MEME motifs (names or TFs; ``auto``, the
        default: each modelled TF's own, where the databases have one; ``none``: random
        kernels), looked up in ``motif_file`` and then in the JASPAR 2026 CORE vertebrates
        database shipped with fnstore. Motif initialisation is the default because on
        held-out cells and regions it was the difference between a useless and a useful
        model (``benchmarks/accuracy.py``; docs/design.md, *Defaults*).
    epochs, patience, learning_rate
        Adam with early stopping on the validation loss.
    steps_per_epoch, valid_steps
        Caps on training and validation batches per epoch (quick runs).
    workers, use_multiprocessing
        Batch reader workers (threads, or processes).
    devices
        Data-parallel devices (``MirroredStrategy`` on TensorFlow, Keras ``DataParallel``
        on JAX, when more than one); in a multi-process job, every process's together.
    feed, mixed_precision
        Training-only device feeding: ``codes`` ships uint8 base codes and float16 tracks
        and one-hot encodes on the device; a mixed dtype policy for the layers. Neither
        changes the saved model (docs/backends.md).
    verbose
        Keras progress output (0 silent, 1 bars, 2 a line per epoch).
    seeds
        Train this many members, the sampler's seed and the next ones (each its own
        initialisation and draw of negatives), and save their average as one bagged model
        (:mod:`fnstore.model.bag`), as FactorNet bagged its single-task models.
    honest
        Score the finished model on every non-blacklisted, non-ambiguous bin of the
        validation regions (see :mod:`fnstore.training.honest`), in the training cells and
        in cells the store labels but training never used (``unseen_cells``); the balanced
        validation sample alone cannot tell good models from bad ones.
    unseen_cells
        Cells never trained on that honest validation scores too, whose rows then decide
        its warning: ``("auto",)`` up to three the store labels for the TFs, ``("none",)``
        or ``()`` none, else these names (keep a test cell out of model selection by
        naming the others).
    sampler
        How examples are drawn (:class:`SamplerConfig`; its ``seed`` seeds Keras too).
    """

    preset: str = knob("factornet-2017", "Architecture preset.", choices=tuple(PRESETS))
    hyperparameters: Mapping[str, Any] | None = knob(
        None, "Overrides of the preset's model hyperparameters.", cli=False
    )
    motifs: tuple[str, ...] = knob(
        ("auto",),
        "Initialise kernels from this motif (name or TF); 'auto' (default): each TF's own "
        "from the bundled JASPAR; 'none': random kernels.",
        option="--motif",
        multiple=True,
    )
    motif_file: str | None = knob(
        None, "MEME file searched for --motif before the bundled JASPAR.", path=True
    )
    epochs: int = knob(20, "", lo=1)
    patience: int = knob(3, "Early-stopping patience.", lo=0)
    learning_rate: float = knob(1e-3, "", lo=0, open_range=True)
    steps_per_epoch: int | None = knob(None, "Cap batches per epoch (quick runs).", lo=0, type=int)
    valid_steps: int | None = knob(None, "Cap validation batches.", lo=0, type=int)
    workers: int = knob(0, "Batch reader workers.", lo=0)
    use_multiprocessing: bool = knob(
        False, "Workers are processes, not threads.", option="--processes"
    )
    devices: int = knob(1, "Data-parallel devices (a multi-process job: all of its devices).", lo=1)
    feed: str = knob(
        "onehot",
        "What the host ships to the device: float one-hot windows, or uint8 base codes and "
        "float16 tracks one-hot encoded on the device (docs/backends.md).",
        choices=("onehot", "codes"),
    )
    mixed_precision: str = knob(
        "off",
        "Train under a mixed dtype policy; outputs and the saved model stay float32.",
        choices=("off", "mixed_float16", "mixed_bfloat16"),
    )
    verbose: int = knob(1, "No progress bars.", option="--quiet", flag_value=0)
    seeds: int = knob(1, "Bag this many seeds (seed, seed+1, ...) into one averaged model.", lo=1)
    honest: bool = knob(
        True,
        "Score the finished model on every labelled bin of the validation regions, in the "
        "training cells and the --unseen-cell cells.",
        option="--honest/--no-honest",
    )
    unseen_cells: tuple[str, ...] = knob(
        ("auto",),
        "A cell never trained on that honest validation also scores (and judges by); "
        "'auto' (default): up to 3 the store labels for the TF; 'none': no such cell.",
        option="--unseen-cell",
        multiple=True,
    )
    sampler: SamplerConfig = field(default_factory=SamplerConfig, metadata={"cli": False})

    def __post_init__(self) -> None:
        _set(self, "motifs", _names(self.motifs) or ())
        _set(self, "unseen_cells", _names(self.unseen_cells) or ())
        if self.motif_file is not None:
            _set(self, "motif_file", str(self.motif_file))
        for f in fields(self):
            if f.name != "sampler":
                _check_range(f, getattr(self, f.name))

    @classmethod
    def from_keywords(cls, config: TrainConfig | None = None, **options: Any) -> TrainConfig:
        """The configuration of ``fnstore.train(..., **options)``.

        Keywords naming a sampler knob that ``fnstore train`` has an option for go to
        :attr:`sampler`; the rest are this class's fields.

        Parameters
        ----------
        config : TrainConfig, optional
            The starting configuration; None for the defaults.
        **options
            Fields of this class, or CLI sampler knobs (``batch_size``, ``negatives``, ...).

        Returns
        -------
        TrainConfig
            A new configuration with ``options`` applied.

        Raises
        ------
        TypeError
            For a keyword that is neither.
        """
        shared = {f.name for f in fields(SamplerConfig) if f.metadata.get("cli")}
        sampler_options = {k: options.pop(k) for k in list(options) if k in shared}
        base = config if config is not None else cls()
        sampler = from_options(SamplerConfig, base.sampler, sampler_options)
        return from_options(cls, base, {**options, "sampler": sampler})


def cli_fields(cls: type) -> list[Field]:
    """The fields of ``cls`` that are ``fnstore train`` options (nested sampler included).

    Parameters
    ----------
    cls : type
        :class:`SamplerConfig` or :class:`TrainConfig`.

    Returns
    -------
    list of dataclasses.Field
        In declaration order; a :class:`TrainConfig`'s own fields come first.
    """
    out = [f for f in fields(cls) if f.metadata.get("cli")]
    if cls is TrainConfig:
        out += cli_fields(SamplerConfig)
    return out


def field_default(f: Field) -> Any:
    """The declared default of ``f`` (before any ``__post_init__`` normalisation).

    Parameters
    ----------
    f : dataclasses.Field
        A field with a default or a default factory.

    Returns
    -------
    Any
        The default; a factory is called anew each time.
    """
    return f.default_factory() if f.default is MISSING else f.default  # type: ignore[misc]


def with_knob_signature(*sources: tuple[type, bool]) -> Any:
    """Decorator: show a ``**options`` function's knobs in its signature.

    Why: ``fnstore.train`` and ``Sampler`` take their knobs as ``**options`` (the
    dataclasses are the one list of them), but ``help()``, IDEs and ``inspect`` should
    still show every keyword with its default. ``sources`` are ``(config class,
    cli_only)`` pairs; ``cli_only`` keeps the fields that have an ``fnstore train`` option.

    Parameters
    ----------
    *sources : tuple of (type, bool)
        The config classes whose fields to add, in order, each with ``cli_only``.

    Returns
    -------
    callable
        A decorator that sets the function's ``__signature__`` and returns the function
        itself (behaviour unchanged).
    """

    def decorate(func: Any) -> Any:
        sig = inspect.signature(func)
        params = [p for p in sig.parameters.values() if p.kind is not p.VAR_KEYWORD]
        for cls, cli_only in sources:
            for f in fields(cls):
                if f.name == "sampler" or (cli_only and not f.metadata.get("cli")):
                    continue
                params.append(
                    inspect.Parameter(
                        f.name,
                        inspect.Parameter.KEYWORD_ONLY,
                        default=field_default(f),
                        annotation=f.type,
                    )
                )
        func.__signature__ = sig.replace(parameters=params)
        return func

    return decorate
