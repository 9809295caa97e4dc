"""``fnstore.train(...)``: train a FactorNet model on a store and write a model folder.

The folder holds ``model.keras`` and ``model_card.json`` (see ``fnstore.model``),
plus ``checkpoint.keras`` (best validation loss so far, written during training),
``history.csv`` and ``learning_curve.png``. Training is Adam on the masked binary
cross-entropy, with early stopping on validation loss (best weights restored). With
``devices > 1`` it is data-parallel (:func:`fnstore.backend.data_parallel`: TensorFlow's
``MirroredStrategy``, Keras's ``DataParallel`` on JAX): each global batch from the sampler
is split across the devices.

Keras/TensorFlow are imported inside the functions: ``import fnstore`` stays light.
"""

from __future__ import annotations

import contextlib
import os
import random
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from fnstore.errors import InputError
from fnstore.store.read import Store, open_store
from fnstore.store.tensor_layout import check_layout
from fnstore.training.config import SamplerConfig, TrainConfig, with_knob_signature
from fnstore.training.result import TrainResult
from fnstore.training.sampler import Sampler

CHECKPOINT_FILE = "checkpoint.keras"
#: ``--motif auto``: each modelled TF's own motif, where the databases have one
AUTO_MOTIF = "auto"
#: ``--motif none``: random first-layer kernels
NO_MOTIF = "none"
HISTORY_FILE = "history.csv"
CURVE_FILE = "learning_curve.png"
#: how the card labels the balanced validation figures (early stopping's, not the model's worth)
BALANCED = (
    "balanced sample (negatives per positive as in training); drives early stopping, "
    "not comparable across models: see honest_validation"
)


def _resolve_motifs(
    names: Sequence[str], motif_file: str | os.PathLike | None, tfs: Sequence[str]
) -> list[Any]:
    """Motifs by exact MEME name, else by TF (alternate name / name prefix); ``auto`` is
    each modelled TF's own motif. ``motif_file`` is searched first, then the JASPAR
    database shipped with fnstore (:mod:`fnstore.io.motif_db`)."""
    from fnstore.io.motif_db import bundled_motif_file, find_tf_motif, motifs_in

    chosen = []
    for name in names:
        if name == NO_MOTIF:
            continue
        if name == AUTO_MOTIF:
            chosen += [m for m in (find_tf_motif(tf, motif_file) for tf in tfs) if m is not None]
            continue
        sources = [motif_file] if motif_file is not None else []
        exact = [m for path in sources + [bundled_motif_file()] for m in motifs_in(str(path))]
        found = [m for m in exact if m.name == name] or [find_tf_motif(name, motif_file)]
        if found[0] is None:
            where = f"{motif_file} or " if motif_file is not None else ""
            raise InputError(
                "--motif", f"no motif named {name!r} (or for TF {name!r}) in {where}JASPAR 2026"
            )
        chosen.append(found[0])
    return chosen


def _validation_metrics(model: Any, valid: Sampler) -> dict[str, Any]:
    """Loss, auROC and auPR per TF on the fixed validation set (masked labels skipped)."""
    from fnstore.evaluate import metrics
    from fnstore.training.keras_data import model_inputs

    ys, ps = [], []
    for i in range(len(valid)):
        inputs, y = valid.batch(i)
        n = len(y)
        if n < valid.batch_size:  # pad the last batch: one traced shape, no retracing
            inputs = {
                k: np.concatenate([v, np.repeat(v[-1:], valid.batch_size - n, 0)])
                for k, v in inputs.items()
            }
        ps.append(np.asarray(model.predict_on_batch(model_inputs(inputs)))[:n])
        ys.append(y)
    y = np.concatenate(ys)
    p = np.concatenate(ps)
    out: dict[str, Any] = {"n_examples": int(len(y)), "tasks": {}}
    eps = 1e-7
    pc = np.clip(p, eps, 1 - eps)
    mask = y >= 0
    bce = -(y * np.log(pc) + (1 - y) * np.log(1 - pc))
    per_row = (bce * mask).sum(1) / np.maximum(mask.sum(1), 1)
    out["loss"] = float(per_row.mean())
    for k, tf in enumerate(valid.tfs):
        m = mask[:, k]
        row: dict[str, Any] = {"n": int(m.sum()), "n_positive": int((y[m, k] == 1).sum())}
        try:
            row["auroc"] = metrics.roc_auc(y[m, k], p[m, k])
            row["auprc"] = metrics.auprc_davis_goadrich(y[m, k], p[m, k])
            row["average_precision"] = metrics.average_precision(y[m, k], p[m, k])
        except InputError as exc:  # one class only: metrics undefined
            row["note"] = str(exc)
        out["tasks"][tf] = row
    return out


def _plot_history(history: dict[str, list[float]], path: Path) -> Path:
    # the one plotting policy: own Agg canvas, atomic save, the user's backend untouched
    from fnstore.evaluate.plots import new_figure, save_figure

    fig = new_figure((5, 3.5))
    ax = fig.subplots()
    for key in ("loss", "val_loss"):
        if history.get(key):
            ax.plot(range(1, len(history[key]) + 1), history[key], marker="o", label=key)
    ax.set_xlabel("epoch")
    ax.set_ylabel("masked binary cross-entropy")
    ax.legend()
    fig.tight_layout()
    return save_figure(fig, path, dpi=100)


@dataclass
class _Run:
    """The resolved inputs of one training run (what the later steps share)."""

    store: Store
    out: Path
    tfs: list[str]
    cells: list[str]
    config: TrainConfig
    model_config: Any  # fnstore.model.ModelConfig
    motifs: list[Any]  # fnstore.io.meme.Motif
    sampler: Sampler
    valid: Sampler
    #: per-member facts of a bag (``--seeds N``), for the card; None for one model
    bag: dict[str, list[Any]] | None = None


@with_knob_signature((TrainConfig, False), (SamplerConfig, True))
def train(
    store: Store | str | os.PathLike,
    model_dir: str | os.PathLike,
    tfs: str | Sequence[str],
    cells: str | Sequence[str],
    *,
    config: TrainConfig | None = None,
    overwrite: bool = False,
    **options: Any,
) -> TrainResult:
    """Train and save a model folder (``fnstore train`` as a function).

    ``hyperparameters`` override the ``preset`` (see ``fnstore.model.ModelConfig``);
    its ``window`` sets the sampler's window. ``steps_per_epoch``/``valid_steps`` cap the
    batches per epoch (quick runs). ``workers > 0`` reads batches in that many threads
    (processes with ``use_multiprocessing``).

    Parameters
    ----------
    store
        An open store or its path.
    model_dir
        The model folder to write (created if needed). It is written whole into a
        temporary folder beside it and swapped in when complete, so a killed run leaves
        the previous model (or none) under this name, never a mix.
    tfs, cells
        TF name(s) to model (several: multi-task) and reference cell name(s).
    config
        A :class:`~fnstore.training.config.TrainConfig`; default: all defaults.
    overwrite
        Replace an existing model folder (only a folder holding a model: its card and
        nothing but model files); without it an existing model is refused.
    **options
        Any :class:`~fnstore.training.config.TrainConfig` field (``preset``,
        ``hyperparameters``, ``epochs``, ``learning_rate``, ``devices``, ``verbose``, ...)
        and the sampler knobs ``fnstore train`` has options for (``batch_size``,
        ``negatives``, ``seed``, ``tracks``, ``valid_chroms``, ``memory_budget``, ...),
        overriding ``config``. ``layout`` may only be ``"NLC"`` (Keras models take
        batch x length x channels); ``"NCL"`` is refused with an :class:`InputError`.

    Returns
    -------
    TrainResult
        Paths written, history and validation metrics; also readable as the dict this
        function used to return (``result["validation"]``).
    """
    from fnstore.backend import data_parallel
    from fnstore.model.folder import model_output

    layout = check_layout(options.pop("layout", "NLC"), "layout")
    resolved = TrainConfig.from_keywords(config, **options)
    if "NCL" in (layout, resolved.sampler.layout):
        why = "fnstore.train needs NLC: Keras models take (batch, length, channels)"
        raise InputError("layout", f"{why}; NCL is for Sampler batches fed to other frameworks")
    with model_output(model_dir, overwrite) as work:
        run = _resolve_inputs(store, work, tfs, cells, resolved)
        # one data-parallel scope (a null one on one device) for building AND fitting
        with data_parallel(resolved.devices, resolved.sampler.batch_size):
            if resolved.seeds > 1:
                model, history, seconds = _fit_bag(run)
            else:
                model, history, seconds = _train_one(run)
        return _write_outputs(model, run, history, seconds, Path(model_dir))


def _fit_bag(run: _Run) -> tuple[Any, dict[str, list[float]], float]:
    """Train ``seeds`` members (seed, seed + 1, ...) and average them into one bag.

    Each member draws its own initialisation and negatives; ``history.csv`` holds every
    member's epochs one after the other, and the card lists each member's (``run.bag``).
    """
    from fnstore.model.bag import bag_models, member_name

    members, history, total = [], {}, 0.0
    run.bag = {"seeds": [], "epochs_run": [], "best_epoch": [], "seconds": []}
    for k in range(run.config.seeds):
        seed = run.config.sampler.seed + k
        config = replace(run.config, sampler=replace(run.config.sampler, seed=seed))
        member_run = (
            run if k == 0 else _resolve_inputs(run.store, run.out, run.tfs, run.cells, config)
        )
        model, part, seconds = _train_one(member_run, name=member_name(k), append=k > 0)
        members.append(model)
        for key, values in part.items():
            history.setdefault(key, []).extend(values)
        total += seconds
        run.bag["seeds"].append(seed)
        run.bag["epochs_run"].append(len(part.get("loss", [])))
        val = part.get("val_loss")
        run.bag["best_epoch"].append(int(np.argmin(val)) + 1 if val else None)
        run.bag["seconds"].append(round(seconds, 2))
    return bag_models(members), history, total


def _resolve_inputs(
    store: Store | str | os.PathLike,
    model_dir: str | os.PathLike,
    tfs: str | Sequence[str],
    cells: str | Sequence[str],
    config: TrainConfig,
) -> _Run:
    """Open the store, resolve the model configuration and motifs, build both samplers.

    The model's window decides the sampler's, and the sampler's tracks decide the model's
    strand pairs, so the two configurations are settled together here.
    """
    from fnstore.backend import distributed_rank
    from fnstore.model.config import model_config

    st = store if isinstance(store, Store) else open_store(store)
    model_cfg = model_config(config.preset, **(config.hyperparameters or {}))
    sampler_config = replace(
        config.sampler, window=model_cfg.window, max_batches=config.steps_per_epoch
    )
    sampler = Sampler(st, tfs, cells, config=sampler_config)
    rank, world = distributed_rank()
    if world > 1:  # several processes: each feeds its part of every global batch
        _check_job_devices(world, config.devices)
        sampler.shard_by_rank(rank, world)
    motifs = _resolve_motifs(list(config.motifs), config.motif_file, sampler.tfs)
    _check_unseen_cells(st, config.unseen_cells, sampler.tfs)
    valid = sampler.validation(max_batches=config.valid_steps)
    model_cfg.strand_pairs = list(sampler.strand_pairs)
    model_cfg.validate()
    return _Run(
        st,
        Path(model_dir),
        list(sampler.tfs),
        list(sampler.train_cells),
        config,
        model_cfg,
        motifs,
        sampler,
        valid,
    )


def _check_job_devices(world: int, devices: int) -> None:
    """A multi-process job trains one model over every device of every process: without
    that, each process would fit its own share of the batches, unsynchronised."""
    from fnstore.backend import distribution_devices

    total = len(distribution_devices())
    if devices != total:
        why = f"a job of {world} processes has {total} devices in all: train with --devices {total}"
        raise InputError("--devices", why)


@contextlib.contextmanager
def _own_python_random(seed: int) -> Iterator[None]:
    """Give Keras's unseeded initializers and dropout layers a generator of their own.

    Keras draws their seeds from Python's global ``random`` at construction; in a dask
    worker other threads draw from it too, so the same run initialised differently from
    one worker to the next (honest auROC 0.786 to 0.817 for one seed). While the model is
    built, Keras's module reference points at a private ``random.Random(seed)`` instead.
    """
    try:
        from keras.src.random import seed_generator
    except ImportError:  # another Keras layout: fall back to the global generator
        yield
        return
    saved = getattr(seed_generator, "python_random", None)
    if saved is None:
        yield
        return
    seed_generator.python_random = random.Random(seed)
    try:
        yield
    finally:
        seed_generator.python_random = saved


def _train_one(
    run: _Run, name: str = "factornet", append: bool = False
) -> tuple[Any, dict[str, list[float]], float]:
    """Build, fit and return one float32 model, its history and the seconds fitting took.

    The device is fed through :func:`fnstore.model.architecture.training_model` (codes or
    one-hot, a float32 output under mixed precision); the model returned, and saved, is
    the plain one, so model files do not depend on how training fed the device.
    """
    model, trainable = _build_compiled_model(run, name)
    history, seconds = _fit(trainable, run, append=append)
    if run.config.mixed_precision != "off":
        model = _as_float32(model, run, name)
    return model, history, seconds


@contextlib.contextmanager
def _dtype_policy(name: str) -> Iterator[None]:
    """Keras's global dtype policy set to ``name`` while models are built (``off``: as is)."""
    import keras

    if name == "off":
        yield
        return
    saved = keras.config.dtype_policy()
    keras.config.set_dtype_policy(name)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(saved)


def _as_float32(model: Any, run: _Run, name: str) -> Any:
    """The same weights in a float32 model (mixed precision keeps float32 variables)."""
    from fnstore.model.architecture import build_model

    sampler = run.sampler
    plain = build_model(
        sampler.n_tracks, len(run.tfs), sampler.n_extra, config=run.model_config, name=name
    )
    plain.set_weights(model.get_weights())
    return plain


def _build_compiled_model(run: _Run, name: str = "factornet") -> tuple[Any, Any]:
    """The seeded model and the compiled model that feeds it (built inside the caller's
    data-parallel scope): ``(model, trainable)``, one object unless the feed wraps it."""
    import keras

    from fnstore.backend import seed_everything
    from fnstore.model.architecture import (
        build_model,
        masked_binary_crossentropy,
        training_model,
    )
    from fnstore.model.motif_init import init_kernels_from_motifs

    config, sampler = run.config, run.sampler
    seed_everything(config.sampler.seed)
    mixed = config.mixed_precision != "off"
    with _dtype_policy(config.mixed_precision), _own_python_random(config.sampler.seed):
        model = build_model(
            sampler.n_tracks, len(run.tfs), sampler.n_extra, config=run.model_config, name=name
        )
        if run.motifs:
            init_kernels_from_motifs(model, run.motifs)
        trainable = training_model(model, config.feed, float32_out=mixed)
        trainable.compile(
            optimizer=keras.optimizers.Adam(config.learning_rate),
            loss=masked_binary_crossentropy,
        )
    return model, trainable


def _fit(model: Any, run: _Run, append: bool = False) -> tuple[dict[str, list[float]], float]:
    """``model.fit`` with early stopping, checkpoints and a CSV log; (history, seconds)."""
    import keras

    from fnstore.progress import keras_verbose
    from fnstore.training.keras_data import as_keras_dataset

    config, out = run.config, run.out
    out.mkdir(parents=True, exist_ok=True)
    callbacks = [
        keras.callbacks.EarlyStopping(
            monitor="val_loss", patience=config.patience, restore_best_weights=True
        ),
        keras.callbacks.ModelCheckpoint(
            str(out / CHECKPOINT_FILE), monitor="val_loss", save_best_only=True
        ),
        keras.callbacks.CSVLogger(str(out / HISTORY_FILE), append=append),
    ]
    readers = {
        # a short last batch is cut to a multiple of the devices (they split it evenly)
        "multiple": config.devices,
        "feed": config.feed,
        "workers": max(config.workers, 1),
        "use_multiprocessing": bool(config.use_multiprocessing and config.workers > 0),
    }
    t0 = time.perf_counter()
    hist = model.fit(
        as_keras_dataset(run.sampler, **readers),
        validation_data=as_keras_dataset(run.valid, **readers),
        epochs=config.epochs,
        callbacks=callbacks,
        verbose=keras_verbose(config.verbose),
        # the sampler already orders each epoch by (seed, epoch); Keras would shuffle the
        # batches again with Python's global ``random``, which other threads also draw from
        shuffle=False,
    )
    seconds = time.perf_counter() - t0
    return {k: [float(v) for v in vals] for k, vals in hist.history.items()}, seconds


def _write_outputs(
    model: Any, run: _Run, history: dict[str, list[float]], seconds: float, final: Path
) -> TrainResult:
    """Learning curve, validation metrics, the model folder with its card; the result
    (naming the files under ``final``, where the folder being written will be moved)."""
    from fnstore.model.card import CARD_FILE, MODEL_FILE, make_card
    from fnstore.model.folder import save_model_dir
    from fnstore.store.versions import pin

    config, sampler, valid, out, st = run.config, run.sampler, run.valid, run.out, run.store
    _plot_history(history, out / CURVE_FILE)
    validation = _validation_metrics(model, valid)
    validation.update(
        sample=BALANCED,
        regions=[str(r) for r in valid.valid_regions],
        cell=config.sampler.valid_cell,
        cells=valid.cells,
    )
    honest = _honest(model, run) if config.honest else None
    best = int(np.argmin(history["val_loss"])) + 1 if history.get("val_loss") else None
    if run.bag is not None:  # epochs of several members: no one best epoch
        best = None
    card = make_card(
        tasks=[{"tf": tf} for tf in run.tfs],
        window=run.model_config.window,
        tracks=sampler.tracks,
        annotations=sampler.annotations,
        meta_features=sampler.meta_features,
        preset=config.preset,
        hyperparameters=run.model_config.to_dict(),
        seed=config.sampler.seed,
        train_cells=run.cells,
        store={
            **pin(st.store_id, st.attrs, st.snapshot_id),
            "schema_version": st.schema_version,
            "path": str(st.path),
        },
        validation=validation,
        honest_validation=honest,
        training={
            "epochs_run": len(history.get("loss", [])),
            "best_epoch": best,
            "learning_rate": config.learning_rate,
            "patience": config.patience,
            "devices": config.devices,
            "seconds": round(seconds, 2),
            "motifs": [m.name for m in run.motifs],
            "sampler": sampler.describe(),
            "bag": run.bag,
        },
    )
    save_model_dir(out, model, card)
    return TrainResult(
        model_dir=str(final),
        model=str(final / MODEL_FILE),
        card=str(final / CARD_FILE),
        checkpoint=str(final / CHECKPOINT_FILE),
        history_csv=str(final / HISTORY_FILE),
        learning_curve=str(final / CURVE_FILE),
        history=history,
        validation=validation,
        seconds=seconds,
        honest=honest,
    )


def _unseen(run: _Run, seen: list[str]) -> tuple[list[str], int | None]:
    """The ``unseen_cells`` to score and how many at most: for ``auto`` every labelled cell
    not in ``seen`` (:func:`fnstore.training.honest.unseen_cells`) of which the first
    :data:`~fnstore.training.honest.MAX_UNSEEN_CELLS` the model can read; none for ``none``;
    else the named ones not already scored."""
    from fnstore.training.honest import MAX_UNSEEN_CELLS, unseen_cells

    chosen = list(run.config.unseen_cells)
    if chosen == ["auto"]:
        return unseen_cells(run.store, run.tfs, seen), MAX_UNSEEN_CELLS
    return [c for c in chosen if c != "none" and c not in seen], None


def _check_unseen_cells(st: Store, names: Sequence[str], tfs: Sequence[str]) -> None:
    """Fail before training on an ``--unseen-cell`` the store does not label for the TFs."""
    from fnstore.training.honest import unseen_cells

    labelled = sorted(unseen_cells(st, tfs, seen=[]))
    for name in names:
        if name in ("auto", "none"):
            if len(names) > 1:
                raise InputError("--unseen-cell", f"{name!r} cannot be combined with cell names")
            continue
        if name not in labelled:
            raise InputError(
                "--unseen-cell",
                f"the store has no labels for {', '.join(tfs)} in cell {name!r} "
                f"(labelled cells: {', '.join(labelled) or 'none'})",
            )


def _honest(model: Any, run: _Run) -> dict[str, Any]:
    """Honest validation (:mod:`fnstore.training.honest`) of the finished model: every
    countable bin of the validation regions, in the training cells, the held-out cell and
    up to a few other cells the store labels for the TFs (never trained on: a new cell's
    view, which the warning trusts over the training cells')."""
    from fnstore.io.motif_db import find_tf_motif
    from fnstore.training import honest as h

    sampler, valid_cell = run.sampler, run.config.sampler.valid_cell
    cells = {cell: h.TRAIN_CELL for cell in run.cells}
    if valid_cell:
        cells[valid_cell] = h.VALID_CELL
    unseen, max_unseen = _unseen(run, list(cells))
    cells.update(dict.fromkeys(unseen, h.UNSEEN_CELL))
    feeds = {
        "window": run.model_config.window,
        "tracks": sampler.tracks,
        "annotations": sampler.annotations,
        "meta_features": sampler.meta_features,
    }
    motifs = {tf: find_tf_motif(tf, run.config.motif_file) for tf in run.tfs}
    return h.honest_validation(
        model,
        run.store,
        feeds,
        run.tfs,
        cells,
        run.valid.valid_regions,
        motifs=motifs,
        max_unseen=max_unseen,
    )
