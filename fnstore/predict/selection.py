"""Which bins a prediction run scores ("rows"), in output order: whole chromosomes or the
bins of a region file (ENCODE-DREAM ladder/test regions), read chunk by chunk."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from fnstore.errors import InputError
from fnstore.io.bed import read_region_file
from fnstore.io.predictions import TABLE, regions_to_bins
from fnstore.store.read import Store


@dataclass
class Selection:
    """The bins to score ("rows"), in output order, read chunk by chunk."""

    description: str
    n_rows: int
    fingerprint: str
    #: whole-chromosome ranges ``(lo, hi)`` of global bins (chromosome selection)
    ranges: list[tuple[int, int]] = field(default_factory=list)
    #: explicit bins (region selection)
    explicit: np.ndarray | None = None
    #: rows are in strictly increasing bin order (genome order)
    genome_order: bool = True

    def bins(self, lo: int, hi: int) -> np.ndarray:
        """Global bins of rows ``[lo, hi)``; chromosome selections never materialise all rows.

        Parameters
        ----------
        lo, hi : int
            Row range, 0 <= lo <= hi <= ``n_rows``.

        Returns
        -------
        numpy.ndarray
            int64 global bin indices, ``hi - lo`` of them, in row order.
        """
        if self.explicit is not None:
            return self.explicit[lo:hi]
        parts, offset = [], 0
        for a, b in self.ranges:
            n = b - a
            s, e = max(lo, offset), min(hi, offset + n)
            if s < e:
                parts.append(np.arange(a + s - offset, a + e - offset, dtype=np.int64))
            offset += n
        return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)


def select_chroms(store: Store, chroms: Sequence[str] | None) -> Selection:
    """Every bin of ``chroms`` (default: all), chromosome by chromosome in the given order.

    Parameters
    ----------
    store
        The store to predict on.
    chroms
        Chromosome names; unknown or repeated names are errors.

    Returns
    -------
    Selection
    """
    names = list(chroms) if chroms else list(store.chroms)
    seen: set[str] = set()
    for c in names:
        store.chrom_index(c)  # StoreError naming an unknown chromosome
        if c in seen:
            raise InputError("--chroms", f"{c} given twice")
        seen.add(c)
    ranges = [store.bin_range(c) for c in names]
    order = [store.chrom_index(c) for c in names]
    n = sum(b - a for a, b in ranges)
    if n == 0:
        raise InputError("--chroms", f"no bins on {', '.join(names)}")
    return Selection(
        f"{', '.join(names)} ({n:,} bins)",
        n,
        "chroms:" + ",".join(names),
        ranges=ranges,
        genome_order=order == sorted(order),
    )


def select_regions(store: Store, path: str | os.PathLike) -> Selection:
    """The bins of a BED region file, in file order.

    Parameters
    ----------
    store
        The store to predict on.
    path
        BED file; every row must be one bin of the store's grid (else an error naming the line).

    Returns
    -------
    Selection
        Fingerprinted by its bins, so a resumed run must use the same regions.
    """
    regions = read_region_file(path)
    bins = regions_to_bins(regions, store, TABLE)
    digest = hashlib.sha256(bins.tobytes()).hexdigest()[:16]
    ordered = bool(np.all(np.diff(bins) > 0))
    return Selection(
        f"{os.path.basename(str(path))} ({bins.size:,} regions)",
        int(bins.size),
        f"regions:{digest}",
        explicit=bins,
        genome_order=ordered,
    )
