"""The bin grid of a store: chromosomes, 200 bp bins every 50 bp, and regions on them.

Pure arithmetic on a handful of small arrays (chromosome lengths, first bin of each
chromosome), kept apart from :class:`fnstore.store.read.Store`'s reads of bulk data so the
coordinate maths reads on its own. A bin's start is ``(i - first_bin[chrom]) * stride``;
selections are merged half-open ranges, so a whole-genome selection is a few tuples, not
60 million indices.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from fnstore.errors import StoreError
from fnstore.store.regions import as_regions, check_regions, chrom_lengths


class BinGrid:
    """Bin and region arithmetic shared by every reader of a store's layout.

    A subclass sets ``path``, ``chroms``, ``chrom_lengths``, ``chrom_first_bin``,
    ``bins_per_chrom``, ``bin_size``, ``stride``, ``n_bins`` and an empty ``_indexes``
    dict before using these methods (:class:`fnstore.store.read.Store` does in its
    ``__init__``).
    """

    path: str
    chroms: list[str]
    chrom_lengths: np.ndarray
    chrom_first_bin: np.ndarray
    bins_per_chrom: np.ndarray
    bin_size: int
    stride: int
    n_bins: int
    _indexes: dict[str, dict[str, int]]

    # ---- lookups (each raises StoreError naming what is unknown)
    def _index_of(self, names: list[str], key: str, what: str) -> int:
        index = self._indexes.get(what)
        if index is None:
            index = self._indexes[what] = {n: i for i, n in enumerate(names)}
        try:
            return index[key]
        except KeyError:
            raise StoreError(
                f"{self.path}: unknown {what} {key!r} (store has {', '.join(names)})"
            ) from None

    def chrom_index(self, chrom: str) -> int:
        """Position of a chromosome in :attr:`chroms`.

        Parameters
        ----------
        chrom : str
            Chromosome name as the store spells it (e.g. ``chr20``).

        Returns
        -------
        position : int
            Index into :attr:`chroms`; a name the store lacks raises :class:`StoreError`.
        """
        return self._index_of(self.chroms, chrom, "chromosome")

    # ---- bins
    def bin_range(self, chrom: str) -> tuple[int, int]:
        """Half-open global bin index range of a chromosome.

        Parameters
        ----------
        chrom : str
            Chromosome whose bins to span.

        Returns
        -------
        first, end : int
            Global bin indices; ``end`` is one past the chromosome's last bin.
        """
        i = self.chrom_index(chrom)
        lo = int(self.chrom_first_bin[i])
        return lo, lo + int(self.bins_per_chrom[i])

    def bin_coords(self, bins: np.ndarray | slice) -> tuple[np.ndarray, np.ndarray]:
        """(chromosome index, chrom-local start) of global bin indices, computed arithmetically.

        Parameters
        ----------
        bins : numpy.ndarray or slice
            Global bin indices, or a slice of all bins.

        Returns
        -------
        tuple of numpy.ndarray
            ``(chrom, start)``, int64, one per bin: index into :attr:`chroms` and start in bp.
        """
        idx = (
            np.arange(self.n_bins)[bins] if isinstance(bins, slice) else np.asarray(bins, np.int64)
        )
        chrom = np.searchsorted(self.chrom_first_bin, idx, side="right") - 1
        start = (idx - self.chrom_first_bin[chrom]) * self.stride
        return chrom.astype(np.int64), start.astype(np.int64)

    def bin_index(self, chrom: str, start: int | np.ndarray) -> np.ndarray:
        """Global bin index of bins starting at ``start`` on ``chrom`` (must be on the grid).

        Parameters
        ----------
        chrom : str
            Chromosome name.
        start : int or numpy.ndarray
            Chrom-local bin start(s) in bp: multiples of the stride, inside the chromosome's
            bins, else a :class:`StoreError`.

        Returns
        -------
        numpy.ndarray
            int64 global bin indices, same shape as ``start`` (0-d for an int).
        """
        lo, hi = self.bin_range(chrom)
        start = np.asarray(start, dtype=np.int64)
        if np.any(start % self.stride):
            raise StoreError(
                f"{self.path}: bin starts must be multiples of the stride {self.stride}"
            )
        idx = lo + start // self.stride
        if np.any((idx < lo) | (idx >= hi)):
            raise StoreError(f"{self.path}: bin start outside {chrom}")
        return idx

    def bins_overlapping(self, chrom: str, start: int, end: int) -> tuple[int, int]:
        """Global index range of bins that overlap ``[start, end)`` on ``chrom``.

        Parameters
        ----------
        chrom : str
            Chromosome name.
        start, end : int
            Chrom-local bp, 0-based half-open; overlap means at least 1 bp.

        Returns
        -------
        tuple of int
            ``(first, end)`` half-open global bin indices, clipped to the chromosome's bins;
            empty (``first == end``) when no bin overlaps.
        """
        lo, hi = self.bin_range(chrom)
        first = max(0, -(-(start - self.bin_size + 1) // self.stride))
        last = (end - 1) // self.stride + 1
        return lo + min(first, hi - lo), lo + max(0, min(last, hi - lo))

    def bins_within(self, chrom: str, start: int, end: int) -> tuple[int, int]:
        """Global index range of the bins lying wholly inside ``[start, end)`` on ``chrom``.

        Parameters
        ----------
        chrom : str
            Chromosome name.
        start, end : int
            Chrom-local bp, 0-based half-open.

        Returns
        -------
        tuple of int
            ``(first, end)`` half-open global bin indices (bins starting at or after
            ``start`` and ending at or before ``end``); empty when none fits.
        """
        lo, hi = self.bin_range(chrom)
        first = max(0, -(-start // self.stride))
        last = (end - self.bin_size) // self.stride + 1
        first, last = min(first, hi - lo), max(0, min(last, hi - lo))
        return lo + first, lo + max(first, last)

    def regions_on(
        self,
        chroms: Sequence[str] | None,
        regions: str | os.PathLike | Sequence[tuple[str, int, int]],
    ) -> list[tuple[str, int, int]]:
        """``regions`` (a BED path, tuples, ``Region``s or ``chrom:start-end`` strings; see
        :func:`fnstore.store.regions.as_regions`) that lie on ``chroms`` (None: any), as
        ``(chrom, start, end)`` tuples in the given order.

        Every region is checked (non-empty, within its chromosome), including regions on
        chromosomes that are then dropped: a region file for another assembly should fail
        loudly, not select nothing.

        Parameters
        ----------
        chroms : sequence of str or None
            Chromosomes to keep; None keeps all. Unknown names are a :class:`StoreError`.
        regions : str, os.PathLike or sequence
            A BED path, or ``Region``s, ``(chrom, start, end)`` tuples or strings.

        Returns
        -------
        list of tuple
            ``(chrom, start, end)`` of the kept regions.
        """
        wanted = set(self.chroms if chroms is None else chroms)
        for c in wanted:
            self.chrom_index(c)
        found = as_regions(regions)
        for r in found:
            self.chrom_index(r.chrom)
        check_regions(found, chrom_lengths(self))
        return [r.as_tuple() for r in found if r.chrom in wanted]

    def bin_ranges(
        self,
        chroms: Sequence[str] | None = None,
        regions: str | os.PathLike | Sequence[tuple[str, int, int]] | None = None,
    ) -> list[tuple[int, int]]:
        """Sorted, merged, half-open global bin ranges of chromosomes and/or regions.

        Ranges rather than index arrays, so a whole-genome selection is a few tuples, not
        60 million indices. ``regions`` are ``(chrom, start, end)`` tuples or a BED path; a
        bin is selected when it overlaps a region by at least 1 bp. With both, regions on
        chromosomes outside ``chroms`` are dropped.

        Parameters
        ----------
        chroms : sequence of str, optional
            Chromosomes; None means all (or, with ``regions``, no filter).
        regions : str, os.PathLike or sequence, optional
            A BED path or region-like items (see :meth:`regions_on`); None selects whole
            chromosomes.

        Returns
        -------
        list of tuple of int
            ``(first, end)`` global bin index ranges, sorted, non-overlapping and non-empty.
        """
        if regions is None:
            chroms = list(self.chroms) if chroms is None else list(chroms)
            ranges = [self.bin_range(c) for c in chroms]
        else:
            ranges = [
                self.bins_overlapping(c, s, e) for c, s, e in self.regions_on(chroms, regions)
            ]
        merged: list[tuple[int, int]] = []
        for lo, hi in sorted(r for r in ranges if r[1] > r[0]):
            if merged and lo <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(merged[-1][1], hi))
            else:
                merged.append((lo, hi))
        return merged

    def bins(
        self,
        chroms: Sequence[str] | None = None,
        regions: str | os.PathLike | Sequence[tuple[str, int, int]] | None = None,
    ) -> Any:
        """A pandas DataFrame of bins (``chrom``, ``start``, ``end``, global ``index``) in store order.

        Parameters
        ----------
        chroms, regions : optional
            The selection, as in :meth:`bin_ranges`; by default every bin.

        Returns
        -------
        pandas.DataFrame
            One row per selected bin: ``chrom`` (categorical over :attr:`chroms`), ``start``
            and ``end`` (chrom-local bp, int64) and ``index`` (global bin index, int64).
        """
        import pandas as pd

        ranges = self.bin_ranges(chroms, regions)
        idx = np.concatenate(
            [np.arange(lo, hi, dtype=np.int64) for lo, hi in ranges] or [np.zeros(0, np.int64)]
        )
        chrom, start = self.bin_coords(idx)
        names = pd.Categorical.from_codes(chrom, categories=self.chroms)
        return pd.DataFrame(
            {"chrom": names, "start": start, "end": start + self.bin_size, "index": idx}
        )
