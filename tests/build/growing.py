"""What ``fnstore add`` must equal: a fresh build of the combined spec (shared by the folder
and icechunk tests of ``add``)."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import yaml
from synthetic import write_gz

from fnstore.store.read import open_store
from fnstore.store.versions import current_version

DATA = ["sequence", "bin_chrom", "bin_start", "blacklist", "labels", "annotations", "metadata"]
NAMES = ["chroms", "cells", "tracks", "annotation_names", "meta_feature_names"]


def assert_same_store(a: Path | str, b: Path | str) -> None:
    """Every array (values, dtype, chunks), name list and the content hash agree."""
    x, y = open_store(a), open_store(b)
    for name in NAMES:
        assert getattr(x, name) == getattr(y, name), name
    assert [(t.tf, t.cell) for t in x.tasks] == [(t.tf, t.cell) for t in y.tasks]
    arrays = DATA + [f"signals/{t}" for t in y.tracks]
    for name in arrays:
        p, q = x.root[name], y.root[name]
        assert (p.shape, p.chunks, p.dtype) == (q.shape, q.chunks, q.dtype), name
        np.testing.assert_array_equal(p[...], q[...], err_msg=name)
    assert x.track_present == y.track_present
    pairs = [[(s["tf"], s["cell"]) for s in st.attrs["task_sources"]] for st in (x, y)]
    assert pairs[0] == pairs[1]
    for key in ("annotation_sources", "metadata_sources", "labelling", "name"):
        assert list(x.attrs[key]) == list(y.attrs[key]), key
    assert current_version(x.attrs)["content_hash"] == current_version(y.attrs)["content_hash"]


def combined(spec: dict, *fragments: dict) -> dict:
    """The toy spec with each fragment's entries appended (what ``add`` must equal)."""
    out = copy.deepcopy(spec)
    for frag in fragments:
        for cell, entry in (frag.get("cells") or {}).items():
            have = out.setdefault("cells", {}).setdefault(cell, {})
            have.setdefault("tracks", {}).update(entry.get("tracks") or {})
            if "metadata" in entry:
                have["metadata"] = entry["metadata"]
        out["labels"] = out.get("labels", []) + (frag.get("labels") or [])
        out["annotations"] = {**out.get("annotations", {}), **(frag.get("annotations") or {})}
    return out


def dream_tsv(path: Path, cells: list[str]) -> str:
    """An ENCODE-DREAM label TSV over part of chrA: B, A and U rows, differing by cell."""
    rows = [
        "\t".join(
            ["chrA", str(s), str(s + 200)] + ["BAU"[(s // 50 + i) % 3] for i in range(len(cells))]
        )
        for s in range(0, 5000, 50)
    ]
    return str(
        write_gz(path, "\t".join(["chr", "start", "stop", *cells]) + "\n" + "\n".join(rows) + "\n")
    )


def write_yaml(path: Path, doc: dict) -> Path:
    path.write_text(yaml.safe_dump(doc))
    return path
