"""``fnstore validate``: is this store what its metadata says it is?"""

from __future__ import annotations

import os

import numpy as np

from fnstore.errors import StoreError
from fnstore.io.files import sha256sum
from fnstore.store.layout import SCHEMA_VERSION, STATUS_COMPLETE
from fnstore.store.read import Store, open_store

PROGRESS_ARRAY = "build_progress"


def _expected_shapes(s: Store) -> dict[str, tuple[int, ...]]:
    last = len(s.chroms) - 1
    pc = s.position_chunk
    n_pos = int(s.chrom_offsets[last] + -(-int(s.chrom_lengths[last]) // pc) * pc)
    shapes = {
        "sequence": (n_pos,),
        "bin_chrom": (s.n_bins,),
        "bin_start": (s.n_bins,),
        "blacklist": (s.n_bins,),
        "labels": (s.n_bins, len(s.tasks)),
        "annotations": (s.n_bins, len(s.annotation_names)),
        "metadata": (len(s.cells), len(s.meta_feature_names)),
    }
    shapes.update({f"signals/{t}": (len(s.cells), n_pos) for t in s.tracks})
    return shapes


def validate_store(path: str | os.PathLike, checksums: bool = True) -> list[str]:
    """Return a list of problems (empty when the store is sound)."""
    try:
        s = open_store(path, allow_incomplete=True)
    except StoreError as exc:
        return [str(exc)]
    problems: list[str] = []
    if s.schema_version != SCHEMA_VERSION:
        problems.append(f"schema version {s.schema_version} != {SCHEMA_VERSION}")
    if s.status != STATUS_COMPLETE:
        problems.append(
            f"status is {s.status!r}: the build did not finish (run `fnstore build --resume`)"
        )
    for name, shape in _expected_shapes(s).items():
        try:
            arr = s.root[name]
        except KeyError:
            problems.append(f"array {name} is missing")
            continue
        if tuple(arr.shape) != shape:
            problems.append(f"array {name} has shape {tuple(arr.shape)}, expected {shape}")
        if not arr.metadata.dimension_names:
            problems.append(f"array {name} has no dimension_names")
    if PROGRESS_ARRAY in s.root:
        done = s.root[PROGRESS_ARRAY][:]
        if not done.all():
            problems.append(
                f"{int((~done.astype(bool)).sum())} of {done.size} build chunks were never written"
            )
    else:
        problems.append(f"array {PROGRESS_ARRAY} is missing")
    for lo in range(0, s.n_bins, s.bin_chunk) if not problems else []:
        hi = min(lo + s.bin_chunk, s.n_bins)
        chrom, start = s.bin_coords(slice(lo, hi))
        if not (
            np.array_equal(s.root["bin_chrom"][lo:hi], chrom)
            and np.array_equal(s.root["bin_start"][lo:hi], start)
        ):
            problems.append(
                f"bin coordinates of bins {lo}-{hi} disagree with the chromosome layout"
            )
            break
    if checksums:
        for file, rec in s.provenance.get("inputs", {}).items():
            if os.path.exists(file) and sha256sum(file) != rec["sha256"]:
                problems.append(f"input {file} changed since the build (sha256 differs)")
    return problems
