"""Training: the sampler (``fnstore.Sampler``), the model and ``fnstore.train(...)``.

``fnstore.train`` names both this subpackage and the training function. Once any
``fnstore.train.*`` module is imported, Python binds the attribute ``fnstore.train`` to
this package, so the package itself is made callable and forwards to
:func:`fnstore.train.fit.train`: ``fnstore.train(store, model_dir, tf, cells, ...)`` works
whatever was imported first. No Keras import happens here.
"""

from __future__ import annotations

import sys
import types
from typing import Any


class _CallablePackage(types.ModuleType):
    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        from fnstore.train.fit import train

        return train(*args, **kwargs)


sys.modules[__name__].__class__ = _CallablePackage
