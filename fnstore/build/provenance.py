"""What a store records about its own making: where every column came from, and how.

A store outlives the files it was built from; these attributes let anyone reproduce it,
check it against its inputs (``fnstore validate``) or resume it safely.
"""

from __future__ import annotations

import os
import platform
import sys
from typing import Any

import numpy as np

from fnstore import __version__
from fnstore.build.plan import Plan
from fnstore.store.write import store_attributes


def _library_versions() -> dict[str, str]:
    """Versions of the libraries whose behaviour shapes the bytes of a store."""
    import dask
    import numcodecs
    import pyBigWig  # noqa: F401
    import pysam
    import zarr

    return {
        "fnstore": __version__,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "zarr": zarr.__version__,
        "numcodecs": numcodecs.__version__,
        "dask": dask.__version__,
        "pysam": pysam.__version__,
        "pyBigWig": getattr(sys.modules.get("pyBigWig"), "__version__", "unknown"),
    }


def portable(value: Any, base: str) -> Any:
    """``value`` with every absolute path string made relative to ``base`` (recursively).

    A store is shared; the absolute paths of the machine that built it mean nothing
    elsewhere and say more about that machine than its owner may want. Paths are recorded
    relative to the spec's folder, as the spec itself names them.

    Parameters
    ----------
    value
        A string, list or dict (JSON-like); other values pass through.
    base
        Absolute folder the relative paths start from.

    Returns
    -------
    Any
        The same structure with absolute paths replaced.
    """
    if isinstance(value, str):
        return os.path.relpath(value, base) if base and os.path.isabs(value) else value
    if isinstance(value, list | tuple):
        return [portable(v, base) for v in value]
    if isinstance(value, dict):
        return {portable(k, base): portable(v, base) for k, v in value.items()}
    return value


def _inputs(plan: Plan) -> dict[str, dict[str, Any]]:
    """Every input file: relative path -> name, size and SHA-256."""
    base = plan.spec.base
    return {
        portable(path, base): {"name": os.path.basename(path), **record}
        for path, record in plan.checksums.items()
    }


def _sources(plan: Plan) -> dict[str, Any]:
    """Per track, task, annotation and cell: the input file (and its checksum) it came from."""
    spec, layout = plan.spec, plan.layout
    present = {t: [t in spec.cell_tracks.get(c, {}) for c in layout.cells] for t in layout.tracks}
    track_sources = {
        t: {c: spec.cell_tracks[c][t] for c in layout.cells if t in spec.cell_tracks.get(c, {})}
        for t in layout.tracks
    }

    def src(path: str | None) -> dict[str, Any] | None:
        if path is None:
            return None
        return {"path": portable(path, spec.base), "sha256": plan.checksums[path]["sha256"]}

    task_sources = [
        {"tf": t.tf, "cell": t.cell, "conservative": src(t.conservative), "relaxed": src(t.relaxed)}
        for t in spec.peak_tasks
    ]
    for path, first, n in plan.dream_columns:
        task_sources += [
            {
                "tf": layout.tasks[first + i][0],
                "cell": layout.tasks[first + i][1],
                "dream_tsv": src(path),
            }
            for i in range(n)
        ]
    return {
        "track_present": present,
        "track_sources": portable(track_sources, spec.base),
        "task_sources": task_sources,
        "annotation_sources": {k: src(v) for k, v in spec.annotations.items()},
        "metadata_sources": {c: src(p) for c, p in spec.cell_meta.items()},
    }


def build_attributes(plan: Plan, store: str | None = None) -> dict[str, Any]:
    """The root attributes of a new store built from ``plan``.

    Paths are recorded relative to the spec's folder (:func:`portable`), and
    ``inputs_base`` says where that folder is from the store's parent folder, so
    ``fnstore validate`` can still find the inputs when spec, inputs and store move together.

    Parameters
    ----------
    plan : Plan
        The checked plan (:func:`fnstore.build.prepare`).
    store : str, optional
        The local store folder being written (None for a remote store).

    Returns
    -------
    dict
        JSON-able attributes: name, assembly, label rule, per-column sources and the
        provenance (spec, input checksums, library versions, parameters, fingerprint,
        command line, host).
    """
    spec, layout = plan.spec, plan.layout
    base = spec.base
    parent = os.path.dirname(os.path.abspath(store)) if store else None
    provenance = {
        "spec": portable(spec.raw, base),
        "spec_source": os.path.basename(spec.source),
        "inputs": _inputs(plan),
        "inputs_base": os.path.relpath(base, parent) if parent and base else None,
        "versions": _library_versions(),
        "parameters": {
            "bin_size": layout.bin_size,
            "stride": layout.stride,
            "label_rule": spec.rule.to_dict(),
            "signal_dtype": layout.signal_dtype,
            "signal_dtype_reason": plan.signal_dtype_reason,
            "position_chunk": layout.position_chunk,
            "bin_chunk": layout.bin_chunk,
        },
        "fingerprint": plan.fingerprint,
        "command": " ".join(
            [os.path.basename(sys.argv[0])] + portable(list(sys.argv[1:]), os.getcwd())
        ),
        "host": platform.node(),
    }
    return store_attributes(
        name=spec.name,
        assembly=spec.assembly,
        rule=spec.rule,
        sources=_sources(plan),
        provenance=provenance,
    )
