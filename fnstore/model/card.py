"""The model card (``model_card.json``) and the names every consumer of a model shares.

No Keras here: predict, evaluate and interpret read cards and check a model folder
before deciding whether to pay for the Keras import.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from fnstore.errors import InputError

MODEL_FILE = "model.keras"


CARD_FILE = "model_card.json"


CARD_FORMAT = "fnstore-model"


CARD_FORMAT_VERSION = 1


#: card field recording the SHA-256 of ``model.keras`` and of the card without this field
CHECKSUM_FIELD = "sha256"


#: what ``--overwrite`` may replace: the files a model folder holds (fit's outputs included)
FOLDER_FILES = (MODEL_FILE, CARD_FILE, "checkpoint.keras", "history.csv", "learning_curve.png")


#: the problem reported for a card or weights file edited after the folder was written
CHANGED = "changed since the model was written (sha256 differs)"


#: name of the first convolution layer (motif kernels); interpretation code looks it up
CONV_LAYER = "motif_conv"


def make_card(
    *,
    tasks: Sequence[Mapping[str, Any]],
    window: int,
    tracks: Sequence[str],
    annotations: Sequence[str] = (),
    meta_features: Sequence[str] = (),
    preset: str | None = None,
    hyperparameters: Mapping[str, Any] | None = None,
    **more: Any,
) -> dict[str, Any]:
    """A model card with every field of the schema present (unknown extras kept).

    Every field is present so that readers never need defaults of their own: a card
    written by any fnstore version reads the same way.

    Parameters
    ----------
    tasks
        One mapping per output (at least ``{"tf": name}``), in output order.
    window
        Window length the model takes.
    tracks, annotations, meta_features
        Signal tracks in channel order; the ``extra`` input's annotation and metadata
        columns.
    preset, hyperparameters
        The preset name and the full :class:`~fnstore.model.ModelConfig` as a dict.
    **more
        Further card fields (``seed``, ``train_cells``, ``store``, ``validation``,
        ``training``, ...), kept as given.

    Returns
    -------
    dict
        The card, ready for :func:`~fnstore.model.folder.save_model_dir`.
    """
    from fnstore import __version__

    card: dict[str, Any] = {
        "format": CARD_FORMAT,
        "format_version": CARD_FORMAT_VERSION,
        "fnstore_version": __version__,
        "tasks": [dict(t) for t in tasks],
        "window": int(window),
        "tracks": list(tracks),
        "annotations": list(annotations),
        "meta_features": list(meta_features),
        "preset": preset,
        "hyperparameters": dict(hyperparameters or {}),
        "seed": None,
        "train_cells": [],
        "store": None,
        "validation": {},
        "track_aliases": {},
    }
    card.update(more)
    return card


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def card_digest(card: Mapping[str, Any]) -> str:
    """SHA-256 of a card's content without its ``sha256`` field.

    Hashed over canonical JSON of the parsed content (sorted keys, no spaces), so the
    digest written with a card is the one recomputed after reading it back, and
    re-indenting the file changes nothing while any changed value does.

    Parameters
    ----------
    card : Mapping
        The card, as written or as read.

    Returns
    -------
    str
        64 lowercase hex digits.
    """
    body = {k: v for k, v in card.items() if k != CHECKSUM_FIELD}
    parsed = json.loads(json.dumps(body, default=_json_default))
    text = json.dumps(parsed, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def read_json(path: Path, missing: str) -> Any:
    """The JSON document at ``path``; a missing or malformed file is one-line InputError.

    Parameters
    ----------
    path
        The file.
    missing
        The problem to report when it does not exist.

    Returns
    -------
    Any
        The parsed document.
    """
    if not path.is_file():
        raise InputError(path, missing)
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise InputError(path, f"not valid JSON ({exc})") from None


def read_card(path: str | os.PathLike) -> dict[str, Any]:
    """Read and check ``model_card.json`` of model folder ``path`` (no Keras work).

    Why no Keras: predict, evaluate and interpret check a folder before paying for the
    Keras import, and report a bad folder as one line.

    Parameters
    ----------
    path
        The model folder.

    Returns
    -------
    dict
        The card as stored.

    Raises
    ------
    InputError
        The folder or card is missing, not JSON, of an unsupported format version, or
        changed since it was written (its recorded SHA-256 differs).
    """
    card_path = Path(path) / CARD_FILE
    if not Path(path).is_dir():
        raise InputError(path, "no such model folder")
    card = read_json(card_path, "missing (not an fnstore model folder)")
    if not isinstance(card, dict) or card.get("format") != CARD_FORMAT:
        raise InputError(card_path, f"'format' is not {CARD_FORMAT!r}")
    version = card.get("format_version")
    if not isinstance(version, int) or version > CARD_FORMAT_VERSION or version < 1:
        raise InputError(
            card_path, f"format_version {version!r} is not supported (this fnstore reads 1)"
        )
    recorded = card.get(CHECKSUM_FIELD)  # absent in cards written before checksums
    if isinstance(recorded, dict) and recorded.get(CARD_FILE) not in (None, card_digest(card)):
        raise InputError(card_path, CHANGED)
    return card
