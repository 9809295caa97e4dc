"""Reading and writing per-bin prediction files.

Three formats, chosen by the path:

* **table** (``.tab.gz``, ``.tsv``, ...): the ENCODE-DREAM submission format, e.g.
  ``F.CTCF.K562.tab.gz`` - tab-separated ``chrom start stop score``, no header, one 200 bp
  bin per row (gzip when the name ends in ``.gz``).
* **bedGraph** (``.bedGraph``, ``.bedgraph.gz``, ``.bg``): ``chrom start end score``. Rows
  may span the whole bin, or only the central ``stride`` bp of it - what fnstore writes, so
  that intervals do not overlap and ``bedGraphToBigWig`` accepts the file while each score
  is drawn at its bin's centre. ``track``/``browser``/``#`` lines at the top are skipped.
* **Zarr** (a directory ending ``.zarr``): a group with 1-D arrays ``bin`` (int64 global
  store bin indices) and ``score`` (float32) and attributes from :func:`prediction_attrs`
  (``store_id``, ``tf``, ``cell`` and the store's bin grid). Compact and exact; what
  ``fnstore predict`` can write with :func:`write_predictions_zarr`, or chunk by chunk,
  resumably, with :class:`fnstore.io.score_group.ScoreGroup` (which adds a per-chunk
  ``done`` array).

Text files are parsed with pyarrow (tens of millions of rows in seconds); on a parse error
the file is rescanned line by line only to name the first bad line.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from fnstore.errors import InputError
from fnstore.io.bed import Regions, count_header_lines, is_int_field, read_bed_rows
from fnstore.io.digests import (
    GROUP_FIELD,
    arrays_sha256,
    check_arrays,
    check_sidecar,
    write_sidecar,
)
from fnstore.io.files import atomic_gzip, atomic_write, open_text
from fnstore.store.regions import centre_span

if TYPE_CHECKING:
    from fnstore.store.read import Store

TABLE, BEDGRAPH, ZARR = "table", "bedgraph", "zarr"
PREDICTIONS_FORMAT = "fnstore-predictions"
PREDICTIONS_FORMAT_VERSION = 1
INCOMPLETE = "incomplete prediction (interrupted run?): finish it with fnstore predict --resume"


def detect_format(path: str | os.PathLike) -> str:
    """``"zarr"``, ``"bedgraph"`` or ``"table"`` from the file name (and zarr.json in a dir).

    Parameters
    ----------
    path : str or os.PathLike

    Returns
    -------
    str
    """
    p = str(path).rstrip("/")
    name = os.path.basename(p).lower()
    if name.endswith(".zarr") or (
        os.path.isdir(p) and os.path.exists(os.path.join(p, "zarr.json"))
    ):
        return ZARR
    if name.endswith(".gz"):
        name = name[:-3]
    if name.endswith((".bedgraph", ".bg")):
        return BEDGRAPH
    return TABLE


# --------------------------------------------------------------------------- text reading


def _first_bad_line(path: str, skip: int) -> str:
    """Slow path, only after pyarrow refused the file: say which line is wrong and why."""
    rows = 0
    with open_text(path) as fh:
        for i, line in enumerate(fh, start=1):
            if i <= skip:
                continue
            rows += 1
            fields = line.rstrip("\r\n").split("\t")
            if len(fields) != 4:
                return f"line {i}: expected 4 tab-separated columns (chrom start end score), got {len(fields)}"
            if not (is_int_field(fields[1]) and is_int_field(fields[2])):
                return f"line {i}: start and end must be integers, got {fields[1]!r} {fields[2]!r}"
            try:
                float(fields[3])
            except ValueError:
                return f"line {i}: score {fields[3]!r} is not a number"
    return "not a chrom/start/end/score table" if rows else "no prediction rows"


def read_regions(path: str | os.PathLike) -> Regions:
    """Parse a table or bedGraph prediction file (no store needed; used by ``ensemble``).

    Parameters
    ----------
    path
        A plain or gzip ``chrom start end score`` file.

    Returns
    -------
    Regions
        Rows in file order; a bad row is an :class:`InputError` naming its line.
    """
    import pyarrow as pa

    p = str(path)
    if not os.path.isfile(p):
        raise InputError(p, "no such prediction file")
    check_sidecar(p)
    skip = count_header_lines(p)
    try:
        regions = read_bed_rows(p, skip, with_score=True)
    except pa.ArrowInvalid:
        raise InputError(p, _first_bad_line(p, skip)) from None
    except (OSError, EOFError) as exc:
        raise InputError(p, f"cannot read ({exc})") from None
    if len(regions) == 0:
        raise InputError(p, "no prediction rows")
    # nulls (e.g. 'nan', 'NA', '') come back as NaN
    bad = ~np.isfinite(regions.scores)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise InputError(
            p, f"{regions.where(row)}: score is not a finite number ({int(bad.sum())} such rows)"
        )
    bad = (regions.starts < 0) | (regions.ends <= regions.starts)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise InputError(p, f"{regions.where(row)}: need 0 <= start < end")
    return regions


def regions_to_bins(regions: Regions, store: Store, fmt: str = TABLE) -> np.ndarray:
    """Global store bin index of every row; every row must be one bin of the store's grid.

    Parameters
    ----------
    regions : Regions
    store : Store
    fmt : str, default "table"
        :data:`TABLE`: rows must span exactly one bin (``bin_size`` bp); :data:`BEDGRAPH`:
        rows may also be the central ``stride`` bp of a bin.

    Returns
    -------
    numpy.ndarray
        int64, in row order; a row off the grid or a duplicated bin is an :class:`InputError`.
    """
    p = regions.path
    n_names = len(regions.chrom_names)
    lo = np.zeros(n_names, dtype=np.int64)
    n_bins = np.zeros(n_names, dtype=np.int64)
    known = set(store.chroms)
    for k, name in enumerate(regions.chrom_names):
        if name not in known:
            row = int(np.flatnonzero(regions.chrom_codes == k)[0])
            raise InputError(
                p,
                f"{regions.where(row)}: chromosome {name!r} is not in the store "
                f"{store.path} ({', '.join(store.chroms)})",
            )
        a, b = store.bin_range(name)
        lo[k], n_bins[k] = a, b - a
    starts = regions.starts
    width = regions.ends - starts
    size, stride = store.bin_size, store.stride
    offset, _ = centre_span(size, stride)
    if fmt == BEDGRAPH and offset:
        centre = width == stride
        starts = np.where(centre, starts - offset, starts)
        ok_width = centre | (width == size)
        expect = f"{size} bp (a whole bin) or {stride} bp (a bin's centre)"
    else:
        ok_width = width == size
        expect = f"{size} bp"
    bad = ~ok_width
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise InputError(
            p,
            f"{regions.where(row)}: region is {int(width[row])} bp; the store's bins are {expect}",
        )
    bad = (starts % stride) != 0
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise InputError(
            p,
            f"{regions.where(row)}: not on the store's bin grid "
            f"(starts must be multiples of {stride})",
        )
    local = starts // stride
    bad = (local < 0) | (local >= n_bins[regions.chrom_codes])
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise InputError(p, f"{regions.where(row)}: bin runs past the end of the chromosome")
    bins = lo[regions.chrom_codes] + local
    _refuse_duplicates(p, bins, regions.where)
    return bins


def _refuse_duplicates(path: str, bins: np.ndarray, where: Any) -> None:
    order = np.argsort(bins, kind="stable")
    dup = np.flatnonzero(bins[order][1:] == bins[order][:-1])
    if dup.size:
        first, second = sorted((int(order[dup[0]]), int(order[dup[0] + 1])))
        raise InputError(path, f"{where(second)}: same bin as {where(first)} (duplicate row)")


# --------------------------------------------------------------------------- Zarr


def prediction_attrs(
    store: Store, tf: str | None, cell: str | None, **extra: Any
) -> dict[str, Any]:
    """Attributes for a Zarr predictions group: which store (and bin grid) the bin indices
    refer to, and which task; a rebuilt store with the same grid still accepts them.

    Parameters
    ----------
    store : Store
    tf, cell : str or None
    **extra
        More JSON-able attributes.

    Returns
    -------
    dict
    """
    return {
        "format": PREDICTIONS_FORMAT,
        "format_version": PREDICTIONS_FORMAT_VERSION,
        "store_id": store.store_id,
        "tf": tf,
        "cell": cell,
        "chroms": list(store.chroms),
        "chrom_lengths": [int(n) for n in store.chrom_lengths],
        "bin_size": int(store.bin_size),
        "stride": int(store.stride),
        **extra,
    }


def write_predictions_zarr(
    path: str | os.PathLike, bins: np.ndarray, scores: np.ndarray, attrs: dict[str, Any]
) -> None:
    """Write (replace) a Zarr predictions group: arrays ``bin`` (int64) and ``score`` (float32).

    Parameters
    ----------
    path : str or os.PathLike
    bins, scores : numpy.ndarray
        1-D, equal length.
    attrs : dict
        From :func:`prediction_attrs`, so readers can check the grid.
    """
    import zarr

    bins = np.asarray(bins, dtype=np.int64)
    scores = np.asarray(scores, dtype=np.float32)
    if bins.ndim != 1 or bins.shape != scores.shape:
        raise InputError(
            path, f"bins {bins.shape} and scores {scores.shape} must be 1-D and equal length"
        )
    root = zarr.open_group(str(path), mode="w", zarr_format=3)
    root.create_array("bin", data=bins, dimension_names=["row"])
    root.create_array("score", data=scores, dimension_names=["row"])
    root.attrs.update(
        {
            "format": PREDICTIONS_FORMAT,
            "format_version": PREDICTIONS_FORMAT_VERSION,
            **attrs,
            GROUP_FIELD: arrays_sha256({"bin": bins, "score": scores}),
        }
    )


def read_predictions_zarr_attrs(path: str | os.PathLike) -> dict[str, Any]:
    """The attributes of a finished Zarr predictions group (``tf``, ``cell``, ``store_id``...);
    one marked ``complete: false`` (an interrupted ``fnstore predict``) is refused.

    Parameters
    ----------
    path : str or os.PathLike
        A group with ``bin`` and ``score`` arrays, else :class:`InputError`.

    Returns
    -------
    dict
    """
    import zarr

    try:
        root = zarr.open_group(str(path), mode="r")
    except Exception as exc:  # zarr raises several types for "not a group"
        raise InputError(
            path, f"not a Zarr predictions group ({type(exc).__name__}: {exc})"
        ) from None
    attrs = dict(root.attrs)
    if "bin" not in root or "score" not in root:
        hint = " (it looks like an fnstore store: give it with --store)" * ("fnstore" in attrs)
        raise InputError(path, f"not a predictions group: needs arrays 'bin' and 'score'{hint}")
    if attrs.get("complete") is False:  # a ScoreGroup whose run did not finish
        raise InputError(path, INCOMPLETE)
    return attrs


def _read_predictions_zarr(path: str | os.PathLike, store: Store) -> tuple[np.ndarray, np.ndarray]:
    import zarr

    p = str(path)
    attrs = read_predictions_zarr_attrs(p)
    same_store = attrs.get("store_id") == store.store_id
    same_grid = (
        attrs.get("chroms") == list(store.chroms)
        and attrs.get("chrom_lengths") == [int(n) for n in store.chrom_lengths]
        and attrs.get("bin_size") == store.bin_size
        and attrs.get("stride") == store.stride
    )
    if not (same_store or same_grid):
        raise InputError(
            p,
            f"bin indices refer to another store (store_id {attrs.get('store_id')}) "
            f"whose bin grid differs from {store.path}",
        )
    root = zarr.open_group(p, mode="r")
    bins = np.asarray(root["bin"][:], dtype=np.int64)
    scores = np.asarray(root["score"][:], dtype=np.float32)
    if bins.ndim != 1 or bins.shape != scores.shape:
        raise InputError(
            p, f"arrays 'bin' {bins.shape} and 'score' {scores.shape} must be 1-D and equal length"
        )
    check_arrays(p, attrs, {"bin": bins, "score": scores})
    if bins.size == 0:
        raise InputError(p, "no predictions")

    def where(row: int) -> str:
        return f"row {row} (bin {int(bins[row])})"

    bad = (bins < 0) | (bins >= store.n_bins)
    if bad.any():
        raise InputError(
            p, f"{where(int(np.flatnonzero(bad)[0]))}: outside the store's {store.n_bins} bins"
        )
    bad = ~np.isfinite(scores)
    if bad.any():
        raise InputError(p, f"{where(int(np.flatnonzero(bad)[0]))}: score is not a finite number")
    _refuse_duplicates(p, bins, where)
    return bins, scores


# --------------------------------------------------------------------------- public reading


def read_predictions(path: str | os.PathLike, store: Store) -> tuple[np.ndarray, np.ndarray]:
    """``(bin_indices int64, scores float32)`` of a prediction file, rows in file order.

    Parameters
    ----------
    path : str or os.PathLike
        Any format (see the module docstring).
    store : Store
        Every row must be one of its bins, else :class:`InputError` (file and line).

    Returns
    -------
    bins, scores : numpy.ndarray
    """
    fmt = detect_format(path)
    if fmt == ZARR:
        return _read_predictions_zarr(path, store)
    regions = read_regions(path)
    return regions_to_bins(regions, store, fmt), regions.scores


# --------------------------------------------------------------------------- writing


def write_rows(
    fh: Any,
    chrom_names: Sequence[str],
    chrom_codes: np.ndarray,
    starts: np.ndarray,
    ends: np.ndarray,
    scores: np.ndarray,
    chunk: int = 1 << 20,
) -> None:
    """Tab-separated rows, a million at a time; scores in float32 shortest form.

    Parameters
    ----------
    fh : binary file object
    chrom_names : sequence of str
    chrom_codes, starts, ends, scores : numpy.ndarray
        Per row: index into ``chrom_names``, 0-based half-open coordinates, score.
    chunk : int, default 2**20
    """
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pacsv

    names = pa.array(list(chrom_names), type=pa.string())
    options = pacsv.WriteOptions(include_header=False, delimiter="\t", quoting_style="none")
    for lo in range(0, starts.size, chunk):
        sl = slice(lo, lo + chunk)
        codes = pa.array(np.asarray(chrom_codes[sl], dtype=np.int32))
        table = pa.table(
            {
                "chrom": pa.DictionaryArray.from_arrays(codes, names).cast(pa.string()),
                "start": pa.array(np.asarray(starts[sl], dtype=np.int64)),
                "end": pa.array(np.asarray(ends[sl], dtype=np.int64)),
                "score": pc.cast(pa.array(np.asarray(scores[sl], dtype=np.float32)), pa.string()),
            }
        )
        pacsv.write_csv(table, fh, write_options=options)


def write_regions(
    path: str | os.PathLike,
    chrom_names: Sequence[str],
    chrom_codes: np.ndarray,
    starts: np.ndarray,
    ends: np.ndarray,
    scores: np.ndarray,
) -> None:
    """Write ``chrom start end score`` rows (gzip when the name ends in .gz), atomically:
    the file appears only once complete, so an interrupted run leaves no half file.

    Parameters
    ----------
    path : str or os.PathLike
    chrom_names, chrom_codes, starts, ends, scores
        As for :func:`write_rows`.
    """
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    # gzip level 3: within ~10% of level 9's size at several times the speed
    with atomic_gzip(p, compresslevel=3) if p.name.endswith(".gz") else atomic_write(p, "wb") as fh:
        write_rows(
            fh,
            chrom_names,
            np.asarray(chrom_codes),
            np.asarray(starts),
            np.asarray(ends),
            np.asarray(scores),
        )
    write_sidecar(p)


def write_predictions(
    path: str | os.PathLike,
    store: Store,
    bins: np.ndarray,
    scores: np.ndarray,
    tf: str | None = None,
    cell: str | None = None,
) -> Path:
    """Write predictions for store bins in the format the path names (see module docstring).

    Parameters
    ----------
    path : str or os.PathLike
    store : Store
    bins, scores : numpy.ndarray
        1-D global bin indices and one score each (stored as float32).
    tf, cell : str, optional
        Recorded in a Zarr group only.

    Returns
    -------
    pathlib.Path
    """
    bins = np.asarray(bins, dtype=np.int64)
    scores = np.asarray(scores, dtype=np.float32)
    if bins.shape != scores.shape or bins.ndim != 1:
        raise InputError(
            path, f"bins {bins.shape} and scores {scores.shape} must be 1-D and equal length"
        )
    fmt = detect_format(path)
    if fmt == ZARR:
        write_predictions_zarr(path, bins, scores, prediction_attrs(store, tf, cell))
        return Path(path)
    chrom_idx, starts = store.bin_coords(bins)
    offset, width = centre_span(store.bin_size, store.stride) if fmt == BEDGRAPH else (0, 0)
    starts = starts + offset
    ends = starts + (width or store.bin_size)
    write_regions(path, store.chroms, chrom_idx, starts, ends, scores)
    return Path(path)
