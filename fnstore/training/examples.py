"""Which (cell, bin) pairs a sampler may draw: splits, positives, negative pools, targets.

Pure NumPy over arrays read once from the store (labels of the chosen tasks, blacklist,
bin coordinates); nothing here reads sequence or signals.

Rules (FactorNet's, with fnstore's choices spelled out):

* the validation split is a list of regions (whole chromosomes or ``chrom:start-end``);
  by default ``chr11`` when the store has it, else the last ``valid_fraction`` of a
  one-chromosome store, else the store's last chromosome;
* training bins are every other bin whose window (with the largest shift) stays on the
  chromosome and does not reach into a validation region;
* blacklisted bins are never drawn;
* single-task: positives are bound bins, negatives unbound bins (ambiguous bins are
  neither); multi-task (several TFs): positives are bins bound for at least one TF,
  negatives bins bound for none and unbound for at least one, and targets of ambiguous
  or unlabelled TFs are -1 (masked by the loss).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from fnstore.errors import InputError
from fnstore.store.labels import BOUND, MISSING, UNBOUND
from fnstore.store.read import Store
from fnstore.store.regions import Region, chrom_lengths, parse_span, window_start


def parse_regions(store: Store, specs: Sequence[str]) -> list[Region]:
    """``chr11`` or ``chr20:57000000-63025520`` strings into regions checked against the store.

    Parameters
    ----------
    store : Store
        The store whose chromosomes the regions must lie on.
    specs : sequence of str
        Region strings.

    Returns
    -------
    list of Region
        In the order given.

    Raises
    ------
    InputError
        For an unknown chromosome or a span off the chromosome.
    """
    lengths = chrom_lengths(store)
    return [parse_span(spec, lengths, "valid_chroms") for spec in specs]


def default_valid_regions(store: Store, valid_fraction: float = 0.1) -> list[Region]:
    """chr11 if present; else the last ``valid_fraction`` of a one-chromosome store; else
    the store's last chromosome.

    Parameters
    ----------
    store : Store
        The store to split.
    valid_fraction : float
        Tail fraction of a one-chromosome store, in (0, 1).

    Returns
    -------
    list of Region
        One region; a one-chromosome tail starts on the stride grid.
    """
    if "chr11" in store.chroms:
        return parse_regions(store, ["chr11"])
    if len(store.chroms) == 1:
        if not 0.0 < valid_fraction < 1.0:
            raise InputError("valid_fraction", f"must be in (0, 1), got {valid_fraction}")
        chrom = store.chroms[0]
        length = int(store.chrom_lengths[0])
        start = int(length * (1.0 - valid_fraction)) // store.stride * store.stride
        return [Region(chrom, start, length)]
    return parse_regions(store, [store.chroms[-1]])


@dataclass
class TaskLabels:
    """Labels of one cell for the chosen TFs: ``(n_bins, n_tfs)`` int8, -1 where no task."""

    cell: str
    labels: np.ndarray


def read_task_labels(store: Store, tfs: Sequence[str], cells: Sequence[str]) -> list[TaskLabels]:
    """One label matrix per cell; a cell with labels for none of the TFs is an error.

    Parameters
    ----------
    store : Store
        The store to read labels from.
    tfs : sequence of str
        TF names, the columns of each matrix in this order.
    cells : sequence of str
        Cell names.

    Returns
    -------
    list of TaskLabels
        One per cell, in order; columns of TFs without a task in that cell are ``MISSING``.

    Raises
    ------
    InputError
        For an unknown cell or TF, or a cell with no labels for any of the TFs.
    """
    out = []
    for cell in cells:
        store.cell_index(cell)
        cols = []
        for tf in tfs:
            found = [t for t in store.tasks if t.tf == tf and t.cell == cell]
            cols.append(found[0].index if found else -1)
        if all(c < 0 for c in cols):
            known = sorted({t.tf for t in store.tasks if t.cell == cell})
            raise InputError(
                f"cell {cell!r}",
                f"no labels for {', '.join(tfs)} in {store.path} (labelled TFs: {', '.join(known) or 'none'})",
            )
        present = [c for c in cols if c >= 0]
        block = store.labels(present)
        lab = np.full((store.n_bins, len(tfs)), MISSING, dtype=np.int8)
        j = 0
        for k, c in enumerate(cols):
            if c >= 0:
                lab[:, k] = block[:, j]
                j += 1
        out.append(TaskLabels(cell, lab))
    for tf in tfs:
        if tf not in {t.tf for t in store.tasks}:
            raise InputError(f"TF {tf!r}", f"not in {store.path}")
    return out


def split_masks(
    store: Store, regions: Sequence[Region], window: int, max_shift: int
) -> tuple[np.ndarray, np.ndarray]:
    """(train, valid) boolean masks over bins.

    A bin is usable when its widest window stays on its chromosome; a training bin must
    also keep that window off every validation region (no leak of validation sequence).

    Parameters
    ----------
    store : Store
        The store whose bins to split.
    regions : sequence of Region
        The validation regions.
    window : int
        Window length in bp.
    max_shift : int
        Largest random shift in bp, either way.

    Returns
    -------
    train, valid : numpy.ndarray
        Boolean masks of length ``n_bins``.
    """
    train = np.zeros(store.n_bins, dtype=bool)
    valid = np.zeros(store.n_bins, dtype=bool)
    for c, chrom in enumerate(store.chroms):  # per chromosome: small temporaries
        b0, b1 = store.bin_range(chrom)
        start = np.arange(b1 - b0, dtype=np.int64) * store.stride
        lo = window_start(start, window, store.bin_size) - max_shift
        hi = lo + window + 2 * max_shift
        fits = (lo >= 0) & (hi <= int(store.chrom_lengths[c]))
        in_valid = np.zeros(b1 - b0, dtype=bool)
        touches = np.zeros(b1 - b0, dtype=bool)
        for r in regions:
            if r.chrom == chrom:
                first, end = store.bins_within(chrom, r.start, r.end)  # the bins honest scores
                in_valid[first - b0 : end - b0] = True
                touches |= (hi > r.start) & (lo < r.end)
        train[b0:b1] = fits & ~touches
        valid[b0:b1] = fits & in_valid
    return train, valid


def targets(labels: np.ndarray) -> np.ndarray:
    """Labels to float32 targets: B -> 1, U -> 0, A and no data -> -1 (masked).

    Parameters
    ----------
    labels : numpy.ndarray
        int8 label codes (``BOUND``, ``UNBOUND``, ``AMBIGUOUS``, ``MISSING``), any shape.

    Returns
    -------
    numpy.ndarray
        float32 of the same shape.
    """
    y = np.full(labels.shape, -1.0, dtype=np.float32)
    y[labels == BOUND] = 1.0
    y[labels == UNBOUND] = 0.0
    return y


def positive_negative_masks(
    labels: np.ndarray, usable: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(positive, negative-eligible) masks over bins for one cell (see module docstring).

    Parameters
    ----------
    labels : numpy.ndarray
        ``(n_bins, n_tfs)`` int8 label codes of one cell.
    usable : numpy.ndarray
        Boolean mask of the split's bins (blacklist already removed), length ``n_bins``.

    Returns
    -------
    positive, negative : numpy.ndarray
        Boolean masks of length ``n_bins``, both within ``usable``.
    """
    bound = (labels == BOUND).any(axis=1)
    if labels.shape[1] == 1:
        neg = labels[:, 0] == UNBOUND
    else:
        neg = ~bound & (labels == UNBOUND).any(axis=1)
    return bound & usable, neg & usable
