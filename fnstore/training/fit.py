"""``fnstore.train(...)``: train a FactorNet model on a store and write a model folder.

The folder holds ``model.keras`` and ``model_card.json`` (see ``fnstore.model``),
plus ``checkpoint.keras`` (best validation loss so far, written during training),
``history.csv`` and ``learning_curve.png``. Training is Adam on the masked binary
cross-entropy, with early stopping on validation loss (best weights restored). With
``devices > 1`` it is data-parallel through ``tf.distribute.MirroredStrategy``: each
global batch from the sampler is split across the replicas.

Keras/TensorFlow are imported inside the functions: ``import fnstore`` stays light.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from fnstore.errors import InputError
from fnstore.store.read import Store, open_store
from fnstore.training.sampler import DEFAULT_MAX_SHIFT, Sampler

CHECKPOINT_FILE = "checkpoint.keras"
HISTORY_FILE = "history.csv"
CURVE_FILE = "learning_curve.png"


def resolve_motifs(names: Sequence[str], motif_file: str | os.PathLike | None) -> list[Any]:
    """Motifs by exact MEME name, else by TF (alternate name / name prefix)."""
    if not names:
        return []
    if motif_file is None:
        raise InputError("--motif", "needs --motif-file (a MEME file)")
    from fnstore.io.meme import find_motifs, read_meme

    motifs = read_meme(motif_file)
    chosen = []
    for name in names:
        exact = [m for m in motifs if m.name == name]
        found = exact or find_motifs(motifs, name)
        if not found:
            raise InputError(motif_file, f"no motif named {name!r} (or for TF {name!r})")
        chosen.append(found[0])
    return chosen


def _strategy(devices: int) -> Any:
    """MirroredStrategy over ``devices`` GPUs, or logical CPUs when there are too few GPUs."""
    import tensorflow as tf

    gpus = tf.config.list_logical_devices("GPU")
    pool = gpus if len(gpus) >= devices else tf.config.list_logical_devices("CPU")
    if len(pool) < devices:
        raise InputError("--devices", f"{devices} devices asked for, {len(pool)} available")
    return tf.distribute.MirroredStrategy(devices=[d.name for d in pool[:devices]])


def validation_metrics(model: Any, valid: Sampler) -> dict[str, Any]:
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


def plot_history(history: dict[str, list[float]], path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 3.5))
    for key in ("loss", "val_loss"):
        if history.get(key):
            ax.plot(range(1, len(history[key]) + 1), history[key], marker="o", label=key)
    ax.set_xlabel("epoch")
    ax.set_ylabel("masked binary cross-entropy")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def train(
    store: Store | str | os.PathLike,
    model_dir: str | os.PathLike,
    tfs: str | Sequence[str],
    cells: str | Sequence[str],
    *,
    preset: str = "factornet-2017",
    hyperparameters: dict[str, Any] | None = None,
    motifs: Sequence[str] = (),
    motif_file: str | os.PathLike | None = None,
    epochs: int = 20,
    patience: int = 3,
    batch_size: int = 128,
    negatives: float = 1.0,
    learning_rate: float = 1e-3,
    seed: int = 0,
    valid_chroms: Sequence[str] | None = None,
    valid_fraction: float = 0.1,
    valid_cell: str | None = None,
    tracks: Sequence[str] | None = None,
    annotations: bool | Sequence[str] = True,
    metadata: bool = True,
    max_shift: int = DEFAULT_MAX_SHIFT,
    reverse_complement: bool = False,
    one_per_peak: bool = False,
    steps_per_epoch: int | None = None,
    valid_steps: int | None = None,
    workers: int = 0,
    use_multiprocessing: bool = False,
    devices: int = 1,
    memory_budget: int | str | None = None,
    verbose: int = 1,
) -> dict[str, Any]:
    """Train and save a model folder; returns a summary (paths, history, validation).

    ``hyperparameters`` override the ``preset`` (see ``fnstore.model.ModelConfig``);
    its ``window`` sets the sampler's window. ``steps_per_epoch``/``valid_steps`` cap the
    batches per epoch (quick runs). ``workers > 0`` reads batches in that many threads
    (processes with ``use_multiprocessing``).
    """
    import keras

    from fnstore.model.architecture import build_model, masked_binary_crossentropy
    from fnstore.model.card import CARD_FILE, MODEL_FILE, make_card
    from fnstore.model.config import model_config
    from fnstore.model.folder import save_model_dir
    from fnstore.model.motif_init import init_kernels_from_motifs

    st = store if isinstance(store, Store) else open_store(store)
    out = Path(model_dir)
    tfs = [tfs] if isinstance(tfs, str) else list(tfs)
    cells = [cells] if isinstance(cells, str) else list(cells)
    if epochs < 1 or patience < 0:
        raise InputError("train", "epochs must be >= 1 and patience >= 0")
    cfg = model_config(preset, **(hyperparameters or {}))
    chosen_motifs = resolve_motifs(list(motifs), motif_file)
    sampler = Sampler(
        st,
        tfs,
        cells,
        window=cfg.window,
        batch_size=batch_size,
        negatives=negatives,
        tracks=tracks,
        annotations=annotations,
        metadata=metadata,
        max_shift=max_shift,
        reverse_complement=reverse_complement,
        one_per_peak=one_per_peak,
        valid_chroms=valid_chroms,
        valid_fraction=valid_fraction,
        valid_cell=valid_cell,
        seed=seed,
        memory_budget=memory_budget,
        max_batches=steps_per_epoch,
    )
    valid = sampler.validation(max_batches=valid_steps)
    cfg.strand_pairs = list(sampler.strand_pairs)
    cfg.validate()

    keras.utils.set_random_seed(seed)
    strategy = _strategy(devices) if devices > 1 else None
    scope = strategy.scope() if strategy is not None else _null()
    with scope:
        model = build_model(sampler.n_tracks, len(tfs), sampler.n_extra, config=cfg)
        if chosen_motifs:
            init_kernels_from_motifs(model, chosen_motifs)
        model.compile(
            optimizer=keras.optimizers.Adam(learning_rate), loss=masked_binary_crossentropy
        )

    out.mkdir(parents=True, exist_ok=True)
    callbacks = [
        keras.callbacks.EarlyStopping(
            monitor="val_loss", patience=patience, restore_best_weights=True
        ),
        keras.callbacks.ModelCheckpoint(
            str(out / CHECKPOINT_FILE), monitor="val_loss", save_best_only=True
        ),
        keras.callbacks.CSVLogger(str(out / HISTORY_FILE)),
    ]
    mp = bool(use_multiprocessing and workers > 0)
    train_data = sampler.as_keras(workers=max(workers, 1), use_multiprocessing=mp)
    valid_data = valid.as_keras(workers=max(workers, 1), use_multiprocessing=mp)
    t0 = time.perf_counter()
    hist = model.fit(
        train_data, validation_data=valid_data, epochs=epochs, callbacks=callbacks, verbose=verbose
    )
    seconds = time.perf_counter() - t0
    history = {k: [float(v) for v in vals] for k, vals in hist.history.items()}
    plot_history(history, out / CURVE_FILE)

    validation = validation_metrics(model, valid)
    validation.update(
        regions=[str(r) for r in valid.valid_regions], cell=valid_cell, cells=valid.cells
    )
    best = int(np.argmin(history["val_loss"])) + 1 if history.get("val_loss") else None
    card = make_card(
        tasks=[{"tf": tf} for tf in tfs],
        window=cfg.window,
        tracks=sampler.tracks,
        annotations=sampler.annotations,
        meta_features=sampler.meta_features,
        preset=preset,
        hyperparameters=cfg.to_dict(),
        seed=seed,
        train_cells=cells,
        store={"store_id": st.store_id, "schema_version": st.schema_version, "path": str(st.path)},
        validation=validation,
        training={
            "epochs_run": len(history.get("loss", [])),
            "best_epoch": best,
            "learning_rate": learning_rate,
            "patience": patience,
            "devices": devices,
            "seconds": round(seconds, 2),
            "motifs": [m.name for m in chosen_motifs],
            "sampler": sampler.describe(),
        },
    )
    save_model_dir(out, model, card)
    return {
        "model_dir": str(out),
        "model": str(out / MODEL_FILE),
        "card": str(out / CARD_FILE),
        "checkpoint": str(out / CHECKPOINT_FILE),
        "history_csv": str(out / HISTORY_FILE),
        "learning_curve": str(out / CURVE_FILE),
        "history": history,
        "validation": validation,
        "seconds": seconds,
    }


class _null:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None
