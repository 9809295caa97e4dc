"""The FactorNet model: card and layer names (no Keras), configuration and presets,
the Keras 3 architecture, motif initialisation, model folders and legacy import.

``import fnstore.model`` does not import Keras; the Keras-using names below load
:mod:`fnstore.model.architecture` or :mod:`fnstore.model.folder` on first use.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from fnstore.model.card import CARD_FILE, CONV_LAYER, MODEL_FILE, make_card, read_card
from fnstore.model.config import PRESETS, ModelConfig, model_config

_LAZY = {
    "build_model": "fnstore.model.architecture",
    "masked_binary_crossentropy": "fnstore.model.architecture",
    "keras1_hard_sigmoid": "fnstore.model.architecture",
    "ReverseComplement": "fnstore.model.architecture",
    "init_kernels_from_motifs": "fnstore.model.motif_init",
    "load_model_dir": "fnstore.model.folder",
    "save_model_dir": "fnstore.model.folder",
}

__all__ = [
    "CARD_FILE",
    "CONV_LAYER",
    "MODEL_FILE",
    "PRESETS",
    "ModelConfig",
    "ReverseComplement",
    "build_model",
    "init_kernels_from_motifs",
    "keras1_hard_sigmoid",
    "load_model_dir",
    "make_card",
    "masked_binary_crossentropy",
    "model_config",
    "read_card",
    "save_model_dir",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'fnstore.model' has no attribute {name!r}")
