"""Model folders on disk: ``model.keras`` plus its card, written and loaded together.

A folder is written whole (:func:`model_output`): into a temporary folder beside the
target, swapped in only when complete, under a lock, and only over a folder that holds a
model; the card records the SHA-256 of the weights and of itself, so a folder edited or
damaged afterwards is refused on loading instead of predicting with the wrong model.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import keras

from fnstore.backend import keep_tensorflow_unloaded
from fnstore.errors import InputError
from fnstore.io.files import TEMP_PREFIX, atomic_path, atomic_write, sha256sum, sweep_temporaries
from fnstore.io.lock import output_lock
from fnstore.io.outputs import describe, refuse_foreign, temporary_folder
from fnstore.model.architecture import CUSTOM_OBJECTS, model_input_sizes
from fnstore.model.card import (
    CARD_FILE,
    CARD_FORMAT,
    CARD_FORMAT_VERSION,
    CHANGED,
    CHECKSUM_FIELD,
    FOLDER_FILES,
    MODEL_FILE,
    _json_default,
    card_digest,
    read_card,
)


def _check_card_matches_model(card: Mapping[str, Any], model: keras.Model, source: str) -> None:
    """Raise :class:`InputError` when the card's sizes disagree with the model's inputs/outputs."""
    window, n_tracks, n_extra = model_input_sizes(model)
    n_tasks = int(model.outputs[0].shape[-1])
    problems = []
    if int(card.get("window", -1)) != window:
        problems.append(f"window {card.get('window')} but the model takes {window}")
    if len(card.get("tracks", [])) != n_tracks:
        problems.append(f"{len(card.get('tracks', []))} tracks but the model takes {n_tracks}")
    n_card_extra = len(card.get("meta_features", [])) + len(card.get("annotations", []))
    if n_card_extra != n_extra:
        problems.append(f"{n_card_extra} meta/annotation features but the model takes {n_extra}")
    if len(card.get("tasks", [])) != n_tasks:
        problems.append(f"{len(card.get('tasks', []))} tasks but the model has {n_tasks} outputs")
    if problems:
        raise InputError(source, "model card does not match the model: " + "; ".join(problems))


def save_model_dir(path: str | os.PathLike, model: keras.Model, card: Mapping[str, Any]) -> Path:
    """Write ``model.keras`` and ``model_card.json`` into folder ``path`` (created if needed).

    The card is completed with ``format``/``format_version``/``fnstore_version`` and
    checked against the model's input and output sizes before anything is written, so a
    folder never holds a card that misdescribes its model, and given a ``sha256`` field
    with the digests of the weights and of the card (:func:`load_model_dir` checks them).
    Both files are written atomically; to replace a whole folder use :func:`model_output`.

    Parameters
    ----------
    path
        The model folder.
    model
        The Keras model (as built by :func:`~fnstore.model.build_model`).
    card
        The card (see :func:`~fnstore.model.card.make_card`).

    Returns
    -------
    Path
        The folder.
    """
    from fnstore import __version__

    out = Path(path)
    full = dict(card)
    full["format"] = CARD_FORMAT
    full["format_version"] = CARD_FORMAT_VERSION
    full.setdefault("fnstore_version", __version__)
    full.setdefault("track_aliases", {})
    _check_card_matches_model(full, model, str(out / CARD_FILE))
    out.mkdir(parents=True, exist_ok=True)
    keep_tensorflow_unloaded()  # Keras's saver would import TensorFlow to probe for it
    with atomic_path(out / MODEL_FILE) as tmp:
        model.save(tmp)
        full[CHECKSUM_FIELD] = {MODEL_FILE: sha256sum(tmp)}
    full[CHECKSUM_FIELD][CARD_FILE] = card_digest(full)
    with atomic_write(out / CARD_FILE) as fh:
        fh.write(json.dumps(full, indent=2, default=_json_default) + "\n")
    return out


def load_model_dir(path: str | os.PathLike, compile: bool = False) -> tuple[keras.Model, dict]:
    """Load a model folder; the card is checked against the model.

    Parameters
    ----------
    path
        The model folder.
    compile
        Also restore the optimizer and loss (needed only to continue training).

    Returns
    -------
    tuple
        ``(keras_model, card)``.

    Raises
    ------
    InputError
        A missing or unloadable ``model.keras``, weights or a card changed since the
        folder was written (SHA-256 differs), or a card that does not match the model.
    """
    card = read_card(path)
    model_path = Path(path) / MODEL_FILE
    if not model_path.is_file():
        raise InputError(model_path, "missing")
    recorded = card.get(CHECKSUM_FIELD)
    if isinstance(recorded, dict) and recorded.get(MODEL_FILE) not in (None, sha256sum(model_path)):
        raise InputError(model_path, CHANGED)
    keep_tensorflow_unloaded()  # Keras's loader would import TensorFlow to probe for it
    try:
        model = keras.saving.load_model(model_path, compile=compile, custom_objects=CUSTOM_OBJECTS)
    except (OSError, ValueError) as exc:
        raise InputError(model_path, f"cannot load Keras model ({exc})") from None
    _check_card_matches_model(card, model, str(Path(path) / CARD_FILE))
    return model, card


def claim_model_dir(path: str | os.PathLike, overwrite: bool) -> None:
    """Refuse to write a model folder over anything but an empty folder or, with
    ``overwrite``, a model folder (a card, and nothing but model files).

    Parameters
    ----------
    path : str or os.PathLike
        The model folder to write.
    overwrite : bool
        Whether an existing model folder may be replaced.

    Raises
    ------
    InputError
        Naming ``path`` and what it holds.
    """
    p = Path(path)
    if not p.exists():
        return
    if not p.is_dir():
        refuse_foreign(p, "a model folder")
    names = {e.name for e in p.iterdir() if not e.name.startswith(TEMP_PREFIX)}
    if not names:
        return
    if CARD_FILE in names and names <= set(FOLDER_FILES):
        if not overwrite:
            raise InputError(p, "already holds a model (use --overwrite to replace it)")
        return
    refuse_foreign(p, "a model folder", f"{describe(p)} without being one")


@contextlib.contextmanager
def model_output(path: str | os.PathLike, overwrite: bool = False) -> Iterator[Path]:
    """A model folder written whole: yield an empty folder to fill, then swap it in.

    Holds the folder's lock (a second writer is refused), refuses what
    :func:`claim_model_dir` refuses, and removes temporaries left by killed runs. The
    old folder stays intact under ``path`` until the new one is complete; an exception
    leaves it untouched.

    Parameters
    ----------
    path : str or os.PathLike
        The model folder.
    overwrite : bool, default False
        Replace an existing model folder.

    Yields
    ------
    pathlib.Path
        The temporary folder to write every file of the model into.
    """
    final = Path(path)
    with output_lock(final):
        claim_model_dir(final, overwrite)
        sweep_temporaries(final.parent)
        if final.is_dir():
            sweep_temporaries(final)
        with temporary_folder(final) as work:
            yield work
