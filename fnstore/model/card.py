"""The model card (``model_card.json``) and the names every consumer of a model shares.

No Keras here: predict, evaluate and interpret read cards and check a model folder
before deciding whether to pay for the Keras import.
"""

from __future__ import annotations

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
        The folder or card is missing, not JSON, or of an unsupported format version.
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
    return card
