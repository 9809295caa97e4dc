"""Export any slice of a store (labels, features, signals, sequence, bins) for other tools.

The store is read one bin chunk (or one position chunk) at a time and each block goes
straight to a streaming writer from :mod:`fnstore.io`, so memory stays one block whatever
the selection: a whole-genome export costs what a chr20 export costs. Every file appears
under its final name only once complete.

This module is the dispatcher; each kind of export has its own module:
:mod:`~fnstore.export.selection` (what to read), :mod:`~fnstore.export.formats` (formats
and output names), :mod:`~fnstore.export.labels`, :mod:`~fnstore.export.features` (features
and bins), :mod:`~fnstore.export.sequence` and :mod:`~fnstore.export.signals`.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from fnstore.errors import InputError
from fnstore.export.features import export_bins, export_features
from fnstore.export.formats import FORMATS, ExportResult, format_for
from fnstore.export.labels import export_labels
from fnstore.export.selection import RegionsArg, Selection, as_list, blocks, iter_bin_blocks, select
from fnstore.export.sequence import SequenceTensor, export_sequence, window_codes
from fnstore.export.signals import export_signals, signal_regions
from fnstore.io.digests import write_sidecars
from fnstore.io.files import sweep_temporaries
from fnstore.io.lock import output_lock
from fnstore.io.tables import format_rows
from fnstore.store.read import Store, open_store


def export(
    store: str | os.PathLike | Store,
    out: str | os.PathLike,
    what: str,
    fmt: str | None = None,
    *,
    chroms: str | Sequence[str] | None = None,
    regions: RegionsArg | None = None,
    tf: str | Sequence[str] | None = None,
    cell: str | Sequence[str] | None = None,
    label: str | None = None,
    tracks: str | Sequence[str] | None = None,
    window: int | None = None,
    shift: int = 0,
    layout: str | None = None,
    dtype: str | None = None,
    progress: bool = False,
) -> ExportResult:
    """Export ``what`` (labels, features, signals, sequence, bins) of a store slice to ``out``.

    ``fmt`` defaults to what the name of ``out`` says (``.tsv.gz`` labels are an
    ENCODE-DREAM TSV). Outputs that are naturally several files (a DREAM TSV per TF, a
    bigWig per cell x track) go into folder ``out`` unless the selection gives just one.

    Parameters
    ----------
    store : str, os.PathLike or Store
        The store, or its path.
    out : str or os.PathLike
        Output file, or folder for several files.
    what : str
        ``"labels"``, ``"features"``, ``"signals"``, ``"sequence"`` or ``"bins"``.
    fmt : str, optional
        One of ``FORMATS[what]``; default from the name of ``out``.
    chroms, tf, cell, tracks : str or sequence of str, optional
        Selectors; each takes a list or comma-separated names, None for all. ``tf`` does
        not apply to signals, ``tracks`` only to signals.
    regions : str, os.PathLike or sequence of tuple, optional
        A BED path or ``(chrom, start, end)`` tuples: bins overlapping them (for signals,
        the bases inside them).
    label : str, optional
        ``"B"``, ``"U"`` or ``"A"``: keep bins where any selected task has that label.
    window, shift : int
        Sequence exports only: window length in bp (default the bin size) and shift in bp.
    layout, dtype : str, optional
        Sequence exports only: the one-hot array's axis order, ``"NCL"`` (default; PyTorch
        ``Conv1d``) or ``"NLC"`` (Keras, JAX, the training sampler's), and its dtype,
        ``"uint8"`` (default), ``"float16"`` or ``"float32"``.
    progress : bool
        Show progress on stderr (a bar on a terminal, plain lines otherwise).

    Returns
    -------
    ExportResult
        Kind, format, files written and row (or entry) count. Each file gets a
        ``<file>.sha256`` sidecar (:mod:`fnstore.io.digests`), written after it.
    """
    st = store if isinstance(store, Store) else open_store(store)
    fmt = format_for(what, out, fmt)
    if (
        regions is not None
        and isinstance(regions, str | os.PathLike)
        and not Path(regions).exists()
    ):
        raise InputError(regions, "no such regions BED file")
    with output_lock(out):  # one writer per output, as for stores, models and predictions
        _sweep(out)
        if what != "sequence" and (layout is not None or dtype is not None):
            raise InputError("--layout/--dtype", "only apply to --what sequence")
        tensor = SequenceTensor(window, shift, layout or "NCL", dtype or "uint8")
        result = _dispatch(
            st, out, what, fmt, chroms, regions, tf, cell, label, tracks, tensor, progress
        )
        write_sidecars(result.files)  # each file is complete under its name before its hash
    return result


def _sweep(out: str | os.PathLike) -> None:
    """Remove what killed exports left in OUT's folder (their ``.tmp-*`` files)."""
    folder = Path(out) if Path(out).is_dir() else Path(out).parent
    if folder.is_dir():
        sweep_temporaries(folder)


def _dispatch(
    st: Store,
    out: str | os.PathLike,
    what: str,
    fmt: str,
    chroms: str | Sequence[str] | None,
    regions: RegionsArg | None,
    tf: str | Sequence[str] | None,
    cell: str | Sequence[str] | None,
    label: str | None,
    tracks: str | Sequence[str] | None,
    tensor: SequenceTensor,
    progress: bool,
) -> ExportResult:
    """The export of one kind (see :func:`export`)."""
    if what == "signals":
        if tf is not None or label is not None:
            raise InputError(
                "--tf/--label", "do not apply to signals (select with --cell, --track)"
            )
        return export_signals(
            st, out, fmt, as_list(chroms), regions, as_list(cell), as_list(tracks), progress
        )
    if tracks is not None:
        raise InputError("--track", "only applies to signals")
    sel = select(st, chroms, regions, tf, cell, label)
    if what == "labels":
        return export_labels(st, sel, out, fmt, progress)
    if what == "features":
        return export_features(st, sel, out, fmt, as_list(cell), progress)
    if what == "bins":
        return export_bins(st, sel, out, fmt, progress)
    return export_sequence(st, sel, out, fmt, tensor, progress=progress)


__all__ = [
    "FORMATS",
    "ExportResult",
    "Selection",
    "SequenceTensor",
    "blocks",
    "export",
    "export_bins",
    "export_features",
    "export_labels",
    "export_sequence",
    "export_signals",
    "format_for",
    "format_rows",
    "iter_bin_blocks",
    "select",
    "signal_regions",
    "window_codes",
]
