"""Signal exports: per-base signal of cell x track pairs as bigWig or bedGraph slices,
read one store position chunk at a time."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from typing import Any

from fnstore.errors import StoreError
from fnstore.export.formats import ExportResult, targets
from fnstore.export.selection import RegionsArg
from fnstore.io.bedgraph import BedGraphWriter
from fnstore.io.bigwig import BigWigWriter
from fnstore.progress import progress_bar
from fnstore.store.read import Store


def signal_regions(
    store: Store,
    chroms: Sequence[str] | None,
    regions: RegionsArg | None,
) -> list[tuple[str, int, int]]:
    """Merged base ranges in store order: whole chromosomes, or the given regions on them.

    Parameters
    ----------
    store
        The store to export from.
    chroms
        Chromosomes to keep (None: all).
    regions
        A BED path or ``(chrom, start, end)`` tuples (None: whole chromosomes); every
        region is checked, also those then dropped.

    Returns
    -------
    list of tuple
        ``(chrom, start, end)``, sorted in store order, overlapping regions merged.
    """
    chrom_list = list(store.chroms) if chroms is None else list(chroms)
    if regions is None:  # the sort key checks every name
        return [
            (c, 0, int(store.chrom_lengths[store.chrom_index(c)]))
            for c in sorted(chrom_list, key=store.chrom_index)
        ]
    items = [(store.chrom_index(c), s, e) for c, s, e in store.regions_on(chrom_list, regions)]
    merged: list[list[int]] = []
    for ci, s, e in sorted(items):
        if merged and merged[-1][0] == ci and s <= merged[-1][2]:
            merged[-1][2] = max(merged[-1][2], e)
        else:
            merged.append([ci, s, e])
    return [(store.chroms[ci], s, e) for ci, s, e in merged]


def export_signals(
    store: Store,
    out: str | os.PathLike,
    fmt: str,
    chroms: Sequence[str] | None = None,
    regions: RegionsArg | None = None,
    cells: list[str] | None = None,
    tracks: list[str] | None = None,
    progress: bool = False,
) -> ExportResult:
    """Per-base signal of each selected cell x track, as bigWig or bedGraph slices.

    Values are the store's (float16 or float32 widened to float32, which bigWig holds
    exactly); zero runs are left out. Reading is one position chunk at a time.

    Parameters
    ----------
    store
        The store to export from.
    out
        The file, or for several cell x track pairs the folder, to write.
    fmt
        ``bigwig`` or ``bedgraph``.
    chroms, regions
        What to export (see :func:`signal_regions`).
    cells, tracks
        Which cells and tracks (default: every pair with data).
    progress
        Show progress on stderr (a bar on a terminal, plain lines otherwise).

    Returns
    -------
    ExportResult
        ``rows`` counts the bigWig/bedGraph entries.
    """
    pairs = _signal_pairs(store, cells, tracks)
    spans = signal_regions(store, chroms, regions)
    paths = targets(out, [f"{c}.{t}" for c, t in pairs], fmt, "signal")
    result = ExportResult("signals", fmt, paths)
    header = [(c, int(n)) for c, n in zip(store.chroms, store.chrom_lengths, strict=True)]
    total = sum(e - s for _, s, e in spans) * len(pairs)
    with progress_bar(total, "signals", "bp", enabled=progress) as bar:
        for (cell, track), path in zip(pairs, paths, strict=True):
            w: Any = (
                BigWigWriter(path, header)
                if fmt == "bigwig"
                else BedGraphWriter(path, f"{cell}.{track}")
            )
            with w:
                for chrom, s, e in spans:
                    for a, b in _position_chunks(store, chrom, s, e):
                        w.write(chrom, a, store.signal(cell, track, chrom, a, b))
                        bar.update(b - a)
                w.close()
            result.rows += w.entries
    return result


def _signal_pairs(
    store: Store, cells: list[str] | None, tracks: list[str] | None
) -> list[tuple[str, str]]:
    """``(cell, track)`` pairs to export: those with data among the ones asked for.

    Asking for exactly one cell and track without data is an error, as is a selection
    with no data at all.
    """
    for t in tracks or []:
        store.track_index(t)
    for c in cells or []:
        store.cell_index(c)
    present = store.track_present
    pairs = []
    for track in tracks or store.tracks:
        for cell in cells or store.cells:
            if present.get(track, [True] * len(store.cells))[store.cell_index(cell)]:
                pairs.append((cell, track))
            elif cells and tracks:
                raise StoreError(f"{store.path}: no {track} signal for cell {cell!r}")
    if not pairs:
        raise StoreError(
            f"{store.path}: no signal track for cell(s) {', '.join(cells or ['*'])} "
            f"and track(s) {', '.join(tracks or ['*'])}"
        )
    return pairs


def _position_chunks(store: Store, chrom: str, start: int, end: int) -> Iterator[tuple[int, int]]:
    """``[start, end)`` of ``chrom`` cut at the store's position chunk boundaries."""
    off = int(store.chrom_offsets[store.chrom_index(chrom)])
    step = store.position_chunk
    a = start
    while a < end:
        b = min(end, ((off + a) // step + 1) * step - off)
        yield a, b
        a = b
