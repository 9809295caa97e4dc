"""fnstore: a shareable Zarr store for FactorNet-style TF binding prediction.

The flat public API, one name per step of the data flow::

    import fnstore
    fnstore.build_store("spec.yaml", "chr20.zarr")    # -> BuildResult
    fnstore.validate_store("chr20.zarr")              # -> ValidateResult
    store = fnstore.open_store("chr20.zarr")          # -> Store
    fnstore.train(...)                                # see fnstore.training.fit

Every name is imported on first use, so ``import fnstore`` stays light: it never imports
Keras, TensorFlow, matplotlib or dask (a test checks this).

Prediction, evaluation and export are subpackages whose main function has the
subpackage's own name, so ``fnstore.predict`` is the package and the function is imported
from it (the pattern tangermeme uses)::

    from fnstore.predict import predict, ensemble   # -> PredictResult, EnsembleResult
    from fnstore.evaluate import evaluate           # -> EvaluateResult
    from fnstore.export import export

Every result object has ``to_dict()`` (JSON-able) and, where the CLI prints prose,
``summary()``.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__version__ = "0.1.0"

#: public name -> module it lives in (imported on first access)
_LAZY = {
    "open_store": "fnstore.store.read",
    "Store": "fnstore.store.read",
    "build_store": "fnstore.build.builder",
    "BuildResult": "fnstore.build.builder",
    "load_spec": "fnstore.build.spec",
    "validate_store": "fnstore.store.validate",
    "ValidateResult": "fnstore.store.validate",
    "Region": "fnstore.store.regions",
    "parse_region": "fnstore.store.regions",
    "Sampler": "fnstore.training.sampler",
    "SamplerConfig": "fnstore.training.config",
    "TrainConfig": "fnstore.training.config",
    "train": "fnstore.training.fit",
    "TrainResult": "fnstore.training.result",
    "ExportResult": "fnstore.export.run",
    "EvaluateResult": "fnstore.evaluate.score",
    "EnsembleResult": "fnstore.predict.ensemble_result",
    "sweep": "fnstore.sweep",
    "PredictResult": "fnstore.predict.run",
    "InputError": "fnstore.errors",
    "StoreError": "fnstore.errors",
    "FnstoreError": "fnstore.errors",
}

__all__ = sorted(_LAZY) + ["__version__"]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(import_module(_LAZY[name]), name)
        globals()[name] = value  # later lookups skip this function
        return value
    raise AttributeError(f"module 'fnstore' has no attribute {name!r}")


def __dir__() -> list[str]:
    """The public API only (not this module's helpers), for ``dir()`` and tab completion."""
    return sorted(__all__)
