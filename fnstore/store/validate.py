"""``fnstore validate``: is this store what its metadata says it is?"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from fnstore.errors import StoreError
from fnstore.io.files import sha256sum
from fnstore.store.integrity import (
    DecodeStats,
    chunk_files,
    decode_every_chunk,
    manifest_problems,
    read_manifest,
)
from fnstore.store.layout import (
    BIN_CHROM,
    BIN_START,
    FORMAT_NAME,
    PROGRESS_ARRAY,
    SCHEMA_VERSION,
    STATUS_COMPLETE,
    Layout,
)
from fnstore.store.read import Store, open_store


def layout_of(s: Store) -> Layout:
    """The layout a store's own coordinate arrays and metadata describe.

    Parameters
    ----------
    s : Store
        An open store (complete or not).

    Returns
    -------
    Layout
        Built from the store's metadata alone, so its array shapes are what the store
        should hold.
    """
    return Layout(
        chroms=s.chroms,
        lengths=[int(n) for n in s.chrom_lengths],
        bin_size=s.bin_size,
        stride=s.stride,
        cells=s.cells,
        tracks=s.tracks,
        tasks=[(t.tf, t.cell) for t in s.tasks],
        annotations=s.annotation_names,
        meta_features=s.meta_feature_names,
        signal_dtype=s.signal_dtype,
        position_chunk=s.position_chunk,
        bin_chunk=s.bin_chunk,
    )


@dataclass(frozen=True)
class ValidateResult:
    """What ``validate`` found: the store is sound when ``problems`` is empty.

    Iterating and ``len`` go over the problems, so code written when
    :func:`validate_store` returned the list of problems keeps working (and, as with that
    list, the result is truthy exactly when there are problems).
    """

    path: str
    problems: list[str] = field(default_factory=list)
    #: what ``deep=True`` decoded (None for a quick check)
    decoded: DecodeStats | None = None

    @property
    def ok(self) -> bool:
        return not self.problems

    def __iter__(self) -> Iterator[str]:
        return iter(self.problems)

    def __len__(self) -> int:
        return len(self.problems)

    def __getitem__(self, i: int) -> str:
        return self.problems[i]

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form: ``path``, ``ok`` and ``problems``.

        Returns
        -------
        dict
            ``{"path": str, "ok": bool, "problems": list of str}``, plus ``decoded``
            (``chunks``, ``nbytes``, ``seconds``) after a deep check.
        """
        out: dict[str, Any] = {"path": self.path, "ok": self.ok, "problems": list(self.problems)}
        if self.decoded is not None:
            out["decoded"] = dataclasses.asdict(self.decoded)
        return out

    def summary(self) -> str:
        """``<path>: OK``, or one ``Error: <problem>`` line per problem.

        Returns
        -------
        str
            The report text, without a trailing newline.
        """
        if self.ok:
            return f"{self.path}: OK"
        return "\n".join(f"Error: {p}" for p in self.problems)


def validate_store(
    path: str | os.PathLike, checksums: bool = True, deep: bool = False
) -> ValidateResult:
    """Check a store against its own metadata, without trusting either.

    A store can be unsound after a killed build, a copy that lost files or inputs
    edited since, or a damaged disk: each shows up as one readable problem rather than
    an exception.

    Parameters
    ----------
    path
        The store (folder, ``.zip`` or URL); an unfinished store is checked too.
    checksums
        Re-hash the input files recorded in the provenance, where they still exist.
    deep
        Decode every chunk (zstd checksums verified) besides comparing the chunk files
        with the manifest.

    Returns
    -------
    ValidateResult
        ``ok``, the list of ``problems`` (empty when the store is sound) and, after a deep
        check, what was decoded.
    """
    try:
        s = open_store(path, allow_incomplete=True)
    except StoreError as exc:
        return ValidateResult(str(path), [str(exc)])
    problems, decoded = _chunk_problems(s, deep)
    try:
        problems += _problems(s, checksums, bool(problems))
    except StoreError as exc:  # a chunk of a small array the checks read
        problems += [] if str(exc) in problems else [str(exc)]
    return ValidateResult(str(path), problems, decoded)


def _chunk_problems(s: Store, deep: bool) -> tuple[list[str], DecodeStats | None]:
    """Chunk files against the manifest, then (``deep``) every chunk decoded."""
    zstore = s.root.store
    try:
        if s.attrs[FORMAT_NAME].get("manifest"):
            recorded = read_manifest(zstore, s.path)
            found = chunk_files(zstore)
            problems = manifest_problems(recorded, found, s.path)
            keys = [k for k, n in recorded.items() if found.get(k) == n]  # others reported
        else:  # built before manifests: nothing to compare, every chunk file to decode
            problems, keys = [], list(chunk_files(zstore))
    except (StoreError, OSError) as exc:
        return [str(exc)], None
    if not deep:
        return problems, None
    damaged, decoded = decode_every_chunk(zstore, s.path, keys)
    return problems + damaged, decoded


def _problems(s: Store, checksums: bool, damaged: bool) -> list[str]:
    problems: list[str] = []
    if s.schema_version != SCHEMA_VERSION:
        problems.append(f"schema version {s.schema_version} != {SCHEMA_VERSION}")
    if s.status != STATUS_COMPLETE:
        problems.append(
            f"status is {s.status!r}: the build did not finish (run `fnstore build --resume`)"
        )
    for name, shape in layout_of(s).array_shapes().items():
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
    for lo in range(0, s.n_bins, s.bin_chunk) if not (problems or damaged) else []:
        hi = min(lo + s.bin_chunk, s.n_bins)
        chrom, start = s.bin_coords(slice(lo, hi))
        if not (
            np.array_equal(s.root[BIN_CHROM][lo:hi], chrom)
            and np.array_equal(s.root[BIN_START][lo:hi], start)
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
