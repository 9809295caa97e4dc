"""Which windows interpretation looks at, and reading many scattered windows fast (no Keras).

Track resolution, window placement and the ``extra`` input follow :mod:`fnstore.predict.inputs`
(windows centred on their bin, padded with N / zero signal past chromosome ends), so
interpretation sees exactly the arrays prediction does. What is added here: choosing bins
(bound + random, on held-out chromosomes) and reading thousands of scattered windows in
position order, a few MiB of the store per read, instead of one store read per window.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from fnstore.errors import InputError
from fnstore.predict.inputs import ModelInputs
from fnstore.store import regions
from fnstore.store.encoding import CODE_N, one_hot
from fnstore.store.labels import BOUND
from fnstore.store.read import Store

#: windows whose span is within this many positions are read with one store slice
READ_SPAN = 1 << 22


def parse_region(text: str) -> tuple[str, int, int]:
    """``"chr20:1,000-2,000"`` -> ``("chr20", 1000, 2000)``: the tuple form of
    :func:`fnstore.store.regions.parse_region`, kept for interpret's callers.

    Parameters
    ----------
    text : str
        ``CHROM:START-END``, 0-based half-open; commas allowed.

    Returns
    -------
    chrom, start, end : str, int, int
    """
    return regions.parse_region(text).as_tuple()


def window_starts(store: Store, bins: np.ndarray, window: int) -> tuple[np.ndarray, np.ndarray]:
    """``(chrom index, window start)`` of the model's windows of ``window`` bp on ``bins``.

    Parameters
    ----------
    store : Store
        The store whose bin grid ``bins`` index.
    bins : numpy.ndarray
        Global bin indices.
    window : int
        Window length in bp.

    Returns
    -------
    chrom, start : numpy.ndarray
        Store chromosome index and chromosome-relative window start (may be negative near
        a chromosome start).
    """
    chrom, start = store.bin_coords(np.asarray(bins, dtype=np.int64))
    return chrom, regions.window_start(start, window, store.bin_size)


def read_windows(
    store: Store, inputs: ModelInputs, chrom_idx: np.ndarray, starts: np.ndarray
) -> np.ndarray:
    """Model input ``x`` ``(n, L, 4 + n_tracks)`` float32 for windows of ``inputs.window`` at ``starts``.

    ``chrom_idx`` are store chromosome indices; starts may be negative or run past the
    chromosome end (padded with N / zero signal), as in :func:`fnstore.predict.inputs.read_stretch`.

    Parameters
    ----------
    store : Store
        The store to read.
    inputs : ModelInputs
        Cell, window length and tracks (:func:`fnstore.predict.inputs.resolve_inputs`).
    chrom_idx : numpy.ndarray
        Store chromosome index of each window.
    starts : numpy.ndarray
        Chromosome-relative start of each window.

    Returns
    -------
    numpy.ndarray
        float32 windows in the order given.
    """
    window, tracks = inputs.window, inputs.store_tracks
    chrom_idx = np.asarray(chrom_idx, dtype=np.int64)
    starts = np.asarray(starts, dtype=np.int64)
    n = starts.size
    cell_row = store.cell_index(inputs.cell) if tracks else 0
    arrays = [store.signal_array(t) for t in tracks]
    x = np.zeros((n, window, 4 + len(tracks)), dtype=np.float32)
    order = np.lexsort((starts, chrom_idx))
    i = 0
    while i < n:
        c = int(chrom_idx[order[i]])
        length = int(store.chrom_lengths[c])
        offset = int(store.chrom_offsets[c])
        j = i
        while (
            j < n
            and chrom_idx[order[j]] == c
            and starts[order[j]] + window - starts[order[i]] <= READ_SPAN
        ):
            j += 1
        group = order[i:j]
        lo = max(0, int(starts[group].min()))
        hi = min(length, int(starts[group].max()) + window)
        if hi > lo:
            seq = np.asarray(store.sequence_array[offset + lo : offset + hi])
            sig = [np.asarray(a[cell_row, offset + lo : offset + hi], np.float32) for a in arrays]
        else:
            seq, sig = np.zeros(0, np.uint8), [np.zeros(0, np.float32) for _ in arrays]
        for w in group:
            s = int(starts[w])
            a, b = max(s, lo), min(s + window, hi)
            codes = np.full(window, CODE_N, dtype=np.uint8)
            if b > a:
                codes[a - s : b - s] = seq[a - lo : b - lo]
                for k, values in enumerate(sig):
                    x[w, a - s : b - s, 4 + k] = values[a - lo : b - lo]
            x[w, :, :4] = one_hot(codes)
        i = j
    return x


Span = tuple[str, int, int]


def parse_span(store: Store, text: str, source: str = "--chroms") -> Span:
    """``"chr20"`` (whole chromosome) or ``"chr20:1000-2000"`` -> ``(chrom, start, end)``.

    Parameters
    ----------
    store : Store
        The store whose chromosomes the span must lie on.
    text : str
        The span.
    source : str
        What the text came from, for error messages.

    Returns
    -------
    Span
        ``(chrom, start, end)``, 0-based half-open.

    Raises
    ------
    InputError
        For an unknown chromosome or a span off it.
    """
    return regions.parse_span(text, regions.chrom_lengths(store), source).as_tuple()


def held_out_regions(card: Mapping[str, Any], store: Store) -> list[Span] | None:
    """Regions the card records as held out from training that exist in the store, or None.

    Reads what the trainer writes (``validation.regions``: ``"chr20:57000000-63025520"`` or
    ``"chr11"`` strings) and ``chroms``/``valid_chroms``/``test_chroms`` style lists;
    entries naming chromosomes the store lacks are ignored (a model trained on another
    store), so the caller falls back to the whole store.

    Parameters
    ----------
    card : Mapping
        The model card.
    store : Store
        The store to analyse.

    Returns
    -------
    list of Span or None
        ``(chrom, start, end)`` spans, duplicates removed; None when none is usable.
    """
    found: list[str] = []
    validation = card.get("validation") or {}
    for source in (validation, card):
        if not isinstance(source, Mapping):
            continue
        for key in (
            "regions",
            "chroms",
            "valid_chroms",
            "validation_chroms",
            "test_chroms",
            "held_out_chroms",
        ):
            value = source.get(key)
            if isinstance(value, str):
                value = [value]
            if isinstance(value, list):
                found += [str(v) for v in value]
    spans = []
    for text in dict.fromkeys(found):
        try:
            spans.append(parse_span(store, text, "model card"))
        except InputError:
            continue
    return spans or None


def select_bins(
    store: Store,
    tfs: Sequence[str],
    cell: str,
    spans: Sequence[Span],
    n_windows: int,
    bound_fraction: float = 0.5,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Sorted bins for motif collection and whether each is bound: ``(bins, is_bound)``.

    Up to ``bound_fraction * n_windows`` bins bound (label B) for any of ``tfs`` in
    ``cell``, the rest random non-blacklisted bins overlapping ``spans`` (``(chrom, start,
    end)``; random bins may by chance also be bound). Bound bins make rare motifs visible; random ones keep the collection
    honest about what the kernels also fire on in the background.

    Parameters
    ----------
    store : Store
        The store to draw from.
    tfs : sequence of str
        TFs whose bound bins are wanted.
    cell : str
        Cell of the labels.
    spans : sequence of Span
        Where bins may come from.
    n_windows : int
        Total bins wanted, at least 1; fewer when the spans hold fewer.
    bound_fraction : float
        Share of bound bins wanted.
    seed : int
        Seed of the random picks.

    Returns
    -------
    bins : numpy.ndarray
        int64 global bins, sorted.
    is_bound : numpy.ndarray
        bool, bound for any of ``tfs``.
    """
    if n_windows < 1:
        raise InputError("--n-windows", f"must be positive, got {n_windows}")
    rng = np.random.default_rng(seed)
    tasks = [t.index for t in store.tasks if t.cell == cell and t.tf in set(tfs)]
    ranges = [store.bins_overlapping(c, start, end) for c, start, end in spans]
    bound_parts, all_bins = [], []
    for lo, hi in ranges:
        all_bins.append(np.arange(lo, hi, dtype=np.int64))
        if tasks:
            labels = store.labels(tasks, slice(lo, hi))
            bound_parts.append(lo + np.flatnonzero((labels == BOUND).any(axis=1)))
    candidates = np.unique(np.concatenate(all_bins)) if all_bins else np.zeros(0, np.int64)
    if candidates.size:
        candidates = candidates[~store.blacklist(candidates)]
    bound = np.unique(np.concatenate(bound_parts)) if bound_parts else np.zeros(0, np.int64)
    if bound.size:
        bound = bound[~store.blacklist(bound)]
    n_bound = min(bound.size, int(round(bound_fraction * n_windows)))
    pick_bound = rng.choice(bound, n_bound, replace=False) if n_bound else bound[:0]
    rest = np.setdiff1d(candidates, pick_bound, assume_unique=True)
    n_random = min(rest.size, n_windows - n_bound)
    pick_random = rng.choice(rest, n_random, replace=False) if n_random else rest[:0]
    bins = np.concatenate([pick_bound, pick_random])
    is_bound = np.isin(bins, bound)
    order = np.argsort(bins, kind="stable")
    return bins[order], is_bound[order]
