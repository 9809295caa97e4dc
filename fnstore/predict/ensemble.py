"""Combine several prediction files for the same regions into one.

FactorNet's final ENCODE-DREAM submissions were rank averages of several models: each
model's scores are replaced by their ranks (ties share the average rank), scaled to
[0, 1], then averaged. Ranks make models with differently calibrated outputs count
equally; ``method="mean"`` averages the raw scores instead.

Files are read one at a time and folded into a running sum, so memory is about three
files' worth whatever the number of inputs.
"""

from __future__ import annotations

import os
import zlib
from collections.abc import Sequence
from typing import Any

import numpy as np

from fnstore.errors import InputError
from fnstore.io.digests import check_arrays
from fnstore.io.files import open_text
from fnstore.io.outputs import refuse_foreign, temporary_folder
from fnstore.io.predictions import (
    INCOMPLETE,
    ZARR,
    Regions,
    detect_format,
    read_predictions_zarr_attrs,
    read_regions,
    write_predictions_zarr,
    write_regions,
)
from fnstore.predict.ensemble_result import EnsembleResult

METHODS = ("rank", "mean")


def scaled_ranks(x: np.ndarray) -> np.ndarray:
    """Ranks scaled to [0, 1] (lowest 0, highest 1); ties get their average rank.

    A single value (or all values tied) maps to 0.5.

    Parameters
    ----------
    x : numpy.ndarray
        1-D scores of any numeric dtype.

    Returns
    -------
    numpy.ndarray
        float64, same length as ``x``; empty for empty input.
    """
    x = np.asarray(x)
    n = x.size
    if n == 0:
        return np.zeros(0, dtype=np.float64)
    order = np.argsort(x, kind="stable")
    xs = x[order]
    new = np.concatenate([[True], xs[1:] != xs[:-1]])
    group = np.cumsum(new) - 1
    first = np.flatnonzero(new)
    last = np.append(first[1:], n) - 1
    ranks = np.empty(n, dtype=np.float64)
    ranks[order] = ((first + last) / 2.0)[group]
    return ranks / (n - 1) if n > 1 else np.full(n, 0.5)


def _transform(scores: np.ndarray, method: str) -> np.ndarray:
    return scaled_ranks(scores) if method == "rank" else np.asarray(scores, dtype=np.float64)


def _same_regions(ref: Regions, other: Regions) -> None:
    """Refuse files whose rows are not the reference's regions in the reference's order."""
    if len(other) != len(ref):
        raise InputError(
            other.path,
            f"{len(other):,} rows but {ref.path} has {len(ref):,}: "
            "ensemble needs the same regions in the same order",
        )
    code_of = {name: i for i, name in enumerate(ref.chrom_names)}
    lut = np.array([code_of.get(name, -1) for name in other.chrom_names], dtype=np.int64)
    differ = (
        (lut[other.chrom_codes] != ref.chrom_codes)
        | (other.starts != ref.starts)
        | (other.ends != ref.ends)
    )
    if differ.any():
        row = int(np.flatnonzero(differ)[0])
        raise InputError(
            other.path,
            f"{other.where(row)} differs from {ref.path} {ref.where(row)}: "
            "ensemble needs the same regions in the same order",
        )


def ensemble(
    out_path: str | os.PathLike,
    pred_paths: Sequence[str | os.PathLike],
    method: str = "rank",
    overwrite: bool = False,
) -> EnsembleResult:
    """Write the rank average (or mean) of ``pred_paths`` to ``out_path``; returns a summary.

    Inputs are text prediction files (table/bedGraph, any mix) with identical regions in
    identical order, written in the format ``out_path`` names; or Zarr prediction groups
    with identical bins, written as Zarr.

    Parameters
    ----------
    out_path : str or os.PathLike
        File to write; its suffix picks the format (``.zarr`` for Zarr inputs).
    pred_paths : sequence of str or os.PathLike
        Prediction files, all text or all Zarr; none may be ``out_path``.
    method : {"rank", "mean"}
        Average scaled ranks (FactorNet's) or raw scores.
    overwrite : bool
        Replace an existing ``out_path`` instead of refusing; only a prediction file is
        replaced (anything else is refused, naming what it holds).

    Returns
    -------
    EnsembleResult
        The file written, the method, the inputs and the number of rows.

    Raises
    ------
    InputError
        On an unknown method, mixed formats, an existing output or inputs whose regions
        (or bins) differ.
    """
    if method not in METHODS:
        raise InputError("--method", f"unknown method {method!r} (choose {' or '.join(METHODS)})")
    paths = [str(p) for p in pred_paths]
    out = str(out_path)
    if not paths:
        raise InputError("ensemble", "no prediction files given")
    norm = os.path.abspath(out.rstrip("/"))
    if any(os.path.abspath(p.rstrip("/")) == norm for p in paths):
        raise InputError(
            out, "the output is also an input; give OUT first, then the prediction files"
        )
    if os.path.exists(out) and not overwrite:
        raise InputError(out, "already exists (use --overwrite to replace it)")
    if os.path.exists(out):
        _check_replaceable(out)
    zarr_in = [detect_format(p) == ZARR for p in paths]
    if any(zarr_in) and not all(zarr_in):
        odd = next(p for p, z in zip(paths, zarr_in, strict=True) if z != zarr_in[0])
        raise InputError(odd, "cannot mix Zarr and text prediction files in one ensemble")
    if all(zarr_in) != (detect_format(out) == ZARR):
        raise InputError(
            out, "Zarr predictions ensemble to a .zarr output and text files to a text output"
        )
    if not all(zarr_in) and not _text_name(out):
        raise InputError(
            out, f"unknown output format: name it {', '.join(TEXT_SUFFIXES)} (optionally .gz)"
        )
    if all(zarr_in):
        n = _ensemble_zarr(out, paths, method)
    else:
        n = _ensemble_text(out, paths, method)
    return EnsembleResult(out, method, paths, n)


#: names a text ensemble may take (each optionally gzipped): what the readers recognise
TEXT_SUFFIXES = (".tab", ".tsv", ".txt", ".bed", ".bedGraph", ".bg")


def _text_name(path: str) -> bool:
    name = os.path.basename(path).lower().removesuffix(".gz")
    return name.endswith(tuple(s.lower() for s in TEXT_SUFFIXES))


def _check_replaceable(out: str) -> None:
    """``--overwrite`` replaces only a prediction file: a Zarr predictions group, or a text
    file whose first line has four tab-separated fields (or is a bedGraph header)."""
    if detect_format(out) == ZARR:
        try:
            read_predictions_zarr_attrs(out)
        except InputError as exc:
            if exc.problem != INCOMPLETE:  # an interrupted prediction may be replaced
                refuse_foreign(out, "a prediction file")
        return
    try:
        with open_text(out) as fh:
            first = next((line for line in fh if line.strip()), "")
    except (OSError, UnicodeDecodeError, EOFError, zlib.error, InputError):
        first = None  # a folder, a binary or damaged file
    header = first is not None and first.startswith(("track", "browser", "#"))
    if first is None or not (header or first == "" or len(first.split("\t")) >= 4):
        refuse_foreign(out, "a prediction file")


def _ensemble_text(out: str, paths: list[str], method: str) -> int:
    ref = read_regions(paths[0])
    total = _transform(ref.scores, method)
    ref.scores = np.zeros(0, dtype=np.float32)  # only the regions are needed from here on
    for p in paths[1:]:
        other = read_regions(p)
        _same_regions(ref, other)
        total += _transform(other.scores, method)
        del other
    total /= len(paths)
    write_regions(
        out, ref.chrom_names, ref.chrom_codes, ref.starts, ref.ends, total.astype(np.float32)
    )
    return len(ref)


def _ensemble_zarr(out: str, paths: list[str], method: str) -> int:
    import zarr

    def load(p: str) -> tuple[dict[str, Any], np.ndarray, np.ndarray]:
        attrs = read_predictions_zarr_attrs(p)
        root = zarr.open_group(p, mode="r")
        bins, scores = (
            np.asarray(root["bin"][:], np.int64),
            np.asarray(root["score"][:], np.float32),
        )
        check_arrays(p, attrs, {"bin": bins, "score": scores})
        return attrs, bins, scores

    attrs, bins, scores = load(paths[0])
    total = _transform(scores, method)
    for p in paths[1:]:
        other_attrs, other_bins, other_scores = load(p)
        if other_attrs.get("store_id") != attrs.get("store_id") and other_attrs.get(
            "chroms"
        ) != attrs.get("chroms"):
            raise InputError(p, f"bin indices refer to a different store than {paths[0]}")
        if other_bins.shape != bins.shape or not np.array_equal(other_bins, bins):
            raise InputError(
                p, f"bins differ from {paths[0]}: ensemble needs the same bins in the same order"
            )
        total += _transform(other_scores, method)
    total /= len(paths)
    attrs = {**attrs, "ensemble": {"method": method, "inputs": paths}}
    with temporary_folder(out) as work:  # an older output stays whole until this one is
        write_predictions_zarr(work, bins, total.astype(np.float32), attrs)
    return int(bins.size)
