"""Model folders on disk: ``model.keras`` plus its card, written and loaded together."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import keras

from fnstore.errors import InputError
from fnstore.io.files import atomic_path, atomic_write
from fnstore.model.architecture import CUSTOM_OBJECTS, model_input_sizes
from fnstore.model.card import (
    CARD_FILE,
    CARD_FORMAT,
    CARD_FORMAT_VERSION,
    MODEL_FILE,
    _json_default,
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
    folder never holds a card that misdescribes its model. Both files are written
    atomically.

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
    with atomic_path(out / MODEL_FILE) as tmp:
        model.save(tmp)
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
        A missing or unloadable ``model.keras``, or a card that does not match it.
    """
    card = read_card(path)
    model_path = Path(path) / MODEL_FILE
    if not model_path.is_file():
        raise InputError(model_path, "missing")
    try:
        model = keras.saving.load_model(model_path, compile=compile, custom_objects=CUSTOM_OBJECTS)
    except (OSError, ValueError) as exc:
        raise InputError(model_path, f"cannot load Keras model ({exc})") from None
    _check_card_matches_model(card, model, str(Path(path) / CARD_FILE))
    return model, card
