"""``fnstore validate``: is this store what its metadata says it is, and is this output
(an exported or predicted file, a predictions group) what was written?"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from fnstore.errors import InputError, StoreError
from fnstore.io.digests import (
    CHANGED,
    GROUP_FIELD,
    SIDECAR_SUFFIX,
    check_sidecar,
    group_sha256,
    sidecar_path,
)
from fnstore.io.files import sha256sum
from fnstore.io.predictions import INCOMPLETE, PREDICTIONS_FORMAT
from fnstore.notebook import html_repr
from fnstore.store.backends import is_remote
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
    READABLE_SCHEMA_VERSIONS,
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

    _repr_html_ = html_repr  # how a notebook shows it (fnstore.notebook)

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
    if s.schema_version not in READABLE_SCHEMA_VERSIONS:  # 1 differs only in its name type
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
        for file in _changed_inputs(s):
            problems.append(f"input {file} changed since the build (sha256 differs)")
    return problems


def _changed_inputs(s: Store) -> list[str]:
    """Inputs still found where the provenance says (relative paths start from the spec's
    folder, located from the store's parent by ``inputs_base``) whose SHA-256 differs."""
    prov = s.provenance
    base = prov.get("inputs_base")
    start = None
    if base is not None and not is_remote(s.path):
        start = os.path.join(os.path.dirname(os.path.abspath(s.path)), base)
    changed = []
    for file, rec in prov.get("inputs", {}).items():
        path = file if os.path.isabs(file) or start is None else os.path.join(start, file)
        if os.path.exists(path) and sha256sum(path) != rec["sha256"]:
            changed.append(file)
    return changed


def validate_path(
    path: str | os.PathLike, checksums: bool = True, deep: bool = False
) -> ValidateResult:
    """Check a store, or an output that records its own hash (see :func:`validate_output`).

    Parameters
    ----------
    path : str or os.PathLike
        A store (folder, ``.zip`` or URL), a Zarr predictions group, or an exported or
        predicted file (or its ``.sha256`` sidecar).
    checksums, deep : bool
        As for :func:`validate_store`; outputs are always re-hashed whole.

    Returns
    -------
    ValidateResult
        ``ok`` and one problem per line.
    """
    p = str(path)
    if _is_output(p):
        return validate_output(p)
    return validate_store(path, checksums=checksums, deep=deep)


def _is_output(path: str) -> bool:
    """A plain file other than a zipped store, or a Zarr group of fnstore predictions."""
    if os.path.isfile(path):
        return not path.endswith(".zip") or os.path.isfile(sidecar_path(path))
    try:
        with open(os.path.join(path, "zarr.json"), encoding="utf-8") as fh:
            return json.load(fh)["attributes"]["format"] == PREDICTIONS_FORMAT
    except (OSError, ValueError, KeyError, TypeError):
        return False


def validate_output(path: str | os.PathLike) -> ValidateResult:
    """Recompute an output's SHA-256 and compare it with the one written beside it.

    A file is compared with its ``<file>.sha256`` sidecar; a Zarr predictions group with
    the ``sha256`` of its ``bin`` and ``score`` arrays in its attributes
    (:mod:`fnstore.io.digests`).

    Parameters
    ----------
    path : str or os.PathLike
        The file (its sidecar names it too) or the group.

    Returns
    -------
    ValidateResult
        No problem, or one: ``<file>: changed since it was written (sha256 differs)``, an
        unfinished group, or no recorded hash.
    """
    p = str(path).removesuffix(SIDECAR_SUFFIX) if str(path).endswith(SIDECAR_SUFFIX) else str(path)
    try:
        if os.path.isdir(p):
            _check_group(p)
        elif not check_sidecar(p):
            raise InputError(p, f"no recorded sha256 ({sidecar_path(p).name} is missing)")
    except (InputError, OSError) as exc:
        problem = str(exc) if isinstance(exc, InputError) else f"{p}: {exc.strerror or exc}"
        return ValidateResult(p, [problem])
    return ValidateResult(p)


def _check_group(path: str) -> None:
    import zarr

    root = zarr.open_group(path, mode="r", use_consolidated=False)
    attrs = dict(root.attrs)
    if attrs.get("complete") is False:
        raise InputError(path, INCOMPLETE)
    if attrs.get(GROUP_FIELD) is None:
        raise InputError(path, f"no recorded sha256 (attribute {GROUP_FIELD!r} is missing)")
    try:
        digest = group_sha256(root)
    except Exception as exc:  # a missing or damaged chunk: zarr raises several types
        raise InputError(path, f"cannot read arrays ({type(exc).__name__}: {exc})") from None
    if digest != attrs[GROUP_FIELD]:
        raise InputError(path, CHANGED)
