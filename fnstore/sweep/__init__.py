"""``fnstore sweep``: many models against one store, ranked by honest validation.

::

    from fnstore.sweep import sweep
    result = sweep("sweep.yaml", "sweeps/first")      # -> SweepResult
    result.leaderboard[0]                              # the best run of the first TF

Modules: :mod:`~fnstore.sweep.spec` (the YAML, its schema, the runs and their names),
:mod:`~fnstore.sweep.runs` (the sweep folder and each run's state),
:mod:`~fnstore.sweep.execute` (dask.distributed), :mod:`~fnstore.sweep.heldout`
(held-out targets and top-k ensembles), :mod:`~fnstore.sweep.leaderboard`, and
:mod:`~fnstore.sweep.run` (the order of work). Nothing heavy is imported here: dask,
TensorFlow and matplotlib load inside the functions that use them.

The package is callable (``fnstore.sweep(spec, outdir)``) whichever way it was reached:
``import fnstore.sweep.spec`` binds the *package* to ``fnstore.sweep``, and the flat API
promises the function under that name.
"""

from __future__ import annotations

import inspect
import sys
import types

from fnstore.sweep.run import SweepResult, sweep

__all__ = ["SweepResult", "sweep"]


class _CallableModule(types.ModuleType):
    # the function itself, not a ``*args, **kwargs`` wrapper: ``help(fnstore.sweep)`` and
    # ``inspect.signature`` show sweep()'s real parameters
    __call__ = staticmethod(sweep)


sys.modules[__name__].__class__ = _CallableModule
__signature__ = inspect.signature(sweep)  # what inspect.signature(fnstore.sweep) reads
