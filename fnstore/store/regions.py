"""Genome regions and the arithmetic that places things on the bin grid (pure, no store reads).

One home for the rules every stage must agree on, so training, prediction,
interpretation and export can never disagree by a base:

* :class:`Region` and :func:`parse_region` / :func:`parse_span` / :func:`as_regions`: the
  one way a ``chrom:start-end`` text, a BED file or ``(chrom, start, end)`` tuples become
  regions;
* :func:`window_start`: where a model's window of ``L`` bp lies around a bin (FactorNet's
  placement ``bin_start + bin_size // 2 - L // 2``);
* :func:`centre_span`: which part of a bin bedGraph/bigWig outputs draw;
* :func:`bin_runs`: runs of consecutive bins on one chromosome.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass

import numpy as np

from fnstore.errors import InputError

_REGION_RE = re.compile(r"^(?P<chrom>[^:\s]+):(?P<start>[\d,_]+)-(?P<end>[\d,_]+)$")


@dataclass(frozen=True)
class Region:
    """A 0-based, half-open stretch ``[start, end)`` of one chromosome."""

    chrom: str
    start: int
    end: int

    def __str__(self) -> str:
        return f"{self.chrom}:{self.start}-{self.end}"

    def __iter__(self) -> Iterator[str | int]:
        """Unpacks like the ``(chrom, start, end)`` tuples older code passes around."""
        return iter((self.chrom, self.start, self.end))

    def as_tuple(self) -> tuple[str, int, int]:
        """The region as a plain tuple.

        Returns
        -------
        tuple
            ``(chrom, start, end)``.
        """
        return self.chrom, self.start, self.end


def _coordinate(text: str) -> int:
    return int(text.replace(",", "").replace("_", ""))


def parse_region(text: str, source: str = "--region") -> Region:
    """``"chr20:1,000-2,000"`` -> ``Region("chr20", 1000, 2000)``.

    Parameters
    ----------
    text
        ``chrom:start-end``, 0-based half-open; thousands separators ``,`` or ``_`` allowed.
    source
        What to name in the error (the option or file the text came from).

    Returns
    -------
    Region
        Not checked against any genome: see :func:`parse_span` for that.
    """
    m = _REGION_RE.match(text.strip())
    if not m:
        raise InputError(source, f"{text!r} is not chrom:start-end")
    region = Region(m["chrom"], _coordinate(m["start"]), _coordinate(m["end"]))
    if region.end <= region.start:
        raise InputError(source, f"{text!r}: end must be greater than start")
    return region


def parse_span(text: str, lengths: Mapping[str, int], source: str = "--chroms") -> Region:
    """``"chr20"`` (the whole chromosome) or ``"chr20:1000-2000"``, checked against a genome.

    Parameters
    ----------
    text
        A chromosome name or ``chrom:start-end``.
    lengths
        Chromosome lengths of the genome (store) the span must lie in.
    source
        What to name in the error.

    Returns
    -------
    Region
        Within its chromosome; an unknown chromosome or a span past its end is an
        :class:`InputError` naming ``source``.
    """
    text = text.strip()
    chrom = text.split(":", 1)[0] if ":" in text else text
    if chrom not in lengths:
        raise InputError(source, f"{chrom!r} is not in the store ({', '.join(lengths)})")
    length = int(lengths[chrom])
    if ":" not in text:
        return Region(chrom, 0, length)
    region = parse_region(text, source)
    if region.end > length:
        raise InputError(source, f"{text!r} is outside {chrom} (length {length})")
    return region


def as_regions(
    regions: str | os.PathLike | Iterable[Region | tuple[str, int, int] | str],
) -> list[Region]:
    """Regions from a BED path, or from ``Region``s, ``(chrom, start, end)`` tuples or
    ``chrom:start-end`` strings (a BED file lists its regions per chromosome, by start).

    Parameters
    ----------
    regions
        A BED path (plain or gzip) or an iterable of region-like items.

    Returns
    -------
    list of Region
        In the given order; coordinates are not checked here (see :func:`check_regions`).
    """
    if isinstance(regions, str | os.PathLike):
        from fnstore.io.bed import read_bed  # a reader: store/ never imports io/ writers

        iv = read_bed(regions)
        return [
            Region(c, int(s), int(e))
            for c, (ss, ee) in iv.by_chrom.items()
            for s, e in zip(ss, ee, strict=True)
        ]
    out = []
    for item in regions:
        if isinstance(item, Region):
            out.append(item)
        elif isinstance(item, str):
            out.append(parse_region(item))
        else:
            c, s, e = item
            out.append(Region(str(c), int(s), int(e)))
    return out


def chrom_lengths(store: object) -> dict[str, int]:
    """``{chrom: length}`` of anything with ``chroms`` and ``chrom_lengths`` (a Store).

    Parameters
    ----------
    store : Store
        Or any object with parallel ``chroms`` and ``chrom_lengths`` sequences.

    Returns
    -------
    dict of str to int
        Lengths in bp, in the store's chromosome order.
    """
    return {c: int(n) for c, n in zip(store.chroms, store.chrom_lengths, strict=True)}  # type: ignore[attr-defined]


def check_regions(regions: Iterable[Region], lengths: Mapping[str, int]) -> None:
    """Refuse an empty region or one off its chromosome, naming it (``chr:s-e: problem``).

    Chromosome names are checked by the caller (a store names its own chromosomes).

    Parameters
    ----------
    regions : iterable of Region
        The regions to check.
    lengths : mapping of str to int
        Chromosome lengths in bp; every region's chromosome must be a key.

    Raises
    ------
    InputError
        For the first region with ``start >= end``, ``start < 0`` or ``end`` past its
        chromosome.
    """
    for r in regions:
        length = int(lengths[r.chrom])
        if r.start >= r.end:
            raise InputError(str(r), "region is empty (BED needs start < end)")
        if r.start < 0 or r.end > length:
            raise InputError(str(r), f"region is outside {r.chrom} (length {length})")


def window_start(bin_start: int | np.ndarray, window: int, bin_size: int) -> int | np.ndarray:
    """First base of the ``window``-bp window a model sees for the bin starting at ``bin_start``.

    FactorNet's placement: the window is centred on the bin, rounding towards lower
    coordinates for odd widths (for L = 1002 and 200 bp bins, 401 bp before the bin).
    Training, prediction, interpretation and export must all use this, or a model is
    scored on windows shifted from the ones it learnt on.

    Parameters
    ----------
    bin_start
        Bin start(s), chromosome-local or global (the offset is the same).
    window
        Window length in bp.
    bin_size
        The store's bin size in bp.

    Returns
    -------
    int or numpy.ndarray
        Window start(s), same shape as ``bin_start``; may be negative near a chromosome start.
    """
    return bin_start + bin_size // 2 - window // 2


def window_offset(window: int, bin_size: int) -> int:
    """Offset of a bin's window start from the bin start (negative when the window is wider).

    Parameters
    ----------
    window : int
        Window length in bp.
    bin_size : int
        The store's bin size in bp.

    Returns
    -------
    int
        ``window_start(0, window, bin_size)``: add it to a bin start to get its window start.
    """
    return int(window_start(0, window, bin_size))


def centre_span(bin_size: int, stride: int) -> tuple[int, int]:
    """``(offset, width)`` of the part of a bin that bedGraph/bigWig outputs draw.

    Bins overlap when ``stride < bin_size``; drawing only each bin's central ``stride`` bp
    keeps intervals disjoint (bedGraphToBigWig accepts them) while every bin keeps its own
    score, and ``interval_start - offset`` maps an interval back to its bin. When the centre
    is not a whole number of bases the whole bin is drawn.

    Parameters
    ----------
    bin_size, stride
        The store's bin grid.

    Returns
    -------
    tuple of int
        ``(offset from the bin start, width)``.
    """
    if stride < bin_size and (bin_size - stride) % 2 == 0:
        return (bin_size - stride) // 2, stride
    return 0, bin_size


def bin_runs(bins: np.ndarray, chrom_of: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Runs of consecutive bins on one chromosome in sorted unique bin indices.

    Parameters
    ----------
    bins
        Sorted, unique global bin indices.
    chrom_of
        Chromosome index of each bin.

    Returns
    -------
    tuple of numpy.ndarray
        ``(first, length)`` int64: run ``k`` is ``bins[first[k] : first[k] + length[k]]``.
    """
    if len(bins) == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    breaks = (np.diff(bins) != 1) | (np.diff(chrom_of) != 0)
    first = np.concatenate([[0], np.flatnonzero(breaks) + 1])
    lengths = np.diff(np.concatenate([first, [len(bins)]]))
    return first.astype(np.int64), lengths.astype(np.int64)
