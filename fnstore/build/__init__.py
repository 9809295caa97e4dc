"""The chunked, parallel, resumable store build: spec, plan, work units, run.

Modules: :mod:`~fnstore.build.spec` (load and check a YAML spec),
:mod:`~fnstore.build.plan` (check every input, compute the layout and work units),
:mod:`~fnstore.build.units` (the work units), :mod:`~fnstore.build.provenance` (what the
store records about its making) and :mod:`~fnstore.build.builder` (:func:`build_store`).
"""

from fnstore.build.builder import BuildResult, build_store
from fnstore.build.plan import Plan, prepare
from fnstore.build.spec import load_spec

__all__ = ["BuildResult", "Plan", "build_store", "load_spec", "prepare"]
