"""What a store records about its own making: where every column came from, and how.

A store outlives the files it was built from; these attributes let anyone reproduce it,
check it against its inputs (``fnstore validate``) or resume it safely.
"""

from __future__ import annotations

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


def _sources(plan: Plan) -> dict[str, Any]:
    """Per track, task, annotation and cell: the input file (and its checksum) it came from."""
    spec, layout = plan.spec, plan.layout
    present = {t: [t in spec.cell_tracks.get(c, {}) for c in layout.cells] for t in layout.tracks}
    track_sources = {
        t: {c: spec.cell_tracks[c][t] for c in layout.cells if t in spec.cell_tracks.get(c, {})}
        for t in layout.tracks
    }

    def src(path: str | None) -> dict[str, Any] | None:
        return None if path is None else {"path": path, "sha256": plan.checksums[path]["sha256"]}

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
        "track_sources": track_sources,
        "task_sources": task_sources,
        "annotation_sources": {k: src(v) for k, v in spec.annotations.items()},
        "metadata_sources": {c: src(p) for c, p in spec.cell_meta.items()},
    }


def build_attributes(plan: Plan) -> dict[str, Any]:
    """The root attributes of a new store built from ``plan``.

    Parameters
    ----------
    plan : Plan
        The checked plan (:func:`fnstore.build.prepare`).

    Returns
    -------
    dict
        JSON-able attributes: name, assembly, label rule, per-column sources and the
        provenance (spec, input checksums, library versions, parameters, fingerprint,
        command line, host).
    """
    spec, layout = plan.spec, plan.layout
    provenance = {
        "spec": spec.raw,
        "spec_source": spec.source,
        "inputs": plan.checksums,
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
        "command": " ".join(sys.argv),
        "host": platform.node(),
    }
    return store_attributes(
        name=spec.name,
        assembly=spec.assembly,
        rule=spec.rule,
        sources=_sources(plan),
        provenance=provenance,
    )
