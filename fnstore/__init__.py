"""fnstore: a shareable Zarr store for FactorNet-style TF binding prediction.

The public API is imported lazily so ``import fnstore`` never pulls in TensorFlow.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__version__ = "0.1.0"

_LAZY = {
    "open_store": "fnstore.store.read",
    "Store": "fnstore.store.read",
    "build_store": "fnstore.build",
    "InputError": "fnstore.errors",
    "StoreError": "fnstore.errors",
    "FnstoreError": "fnstore.errors",
    "Sampler": "fnstore.training.sampler",
    "train": "fnstore.training.fit",
}

__all__ = sorted(_LAZY) + ["__version__"]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'fnstore' has no attribute {name!r}")
