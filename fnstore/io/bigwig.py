"""bigWig files: header checks and per-base reads of inputs, and the one bigWig writer."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from fnstore.errors import InputError
from fnstore.io.files import AtomicOutput, atomic_path, require_file
from fnstore.io.signal_runs import nonzero_value_runs


def bigwig_header(path: str | os.PathLike) -> tuple[dict[str, int], float]:
    """Chromosome lengths and maximum value of a bigWig, checking it can actually be read.

    Parameters
    ----------
    path : str or os.PathLike
        The bigWig; a missing, truncated or non-bigWig file is an :class:`InputError`.

    Returns
    -------
    chroms : dict of str to int
        Chromosome lengths in header order.
    max_value : float
        The header's maximum value (0.0 when absent).
    """
    import pyBigWig

    p = require_file(path, "bigWig")
    try:
        bw = pyBigWig.open(str(p))
    except (RuntimeError, OSError):
        bw = None
    if bw is None:
        raise InputError(p, "not a readable bigWig (wrong format or truncated)")
    try:
        if not bw.isBigWig():
            raise InputError(p, "not a bigWig (bigBed?)")
        chroms = dict(bw.chroms())
        header = bw.header()
        if not chroms:
            raise InputError(p, "bigWig lists no chromosomes")
        size = p.stat().st_size
        # a truncated file keeps a readable header but loses data blocks and index
        for chrom, length in chroms.items():
            try:
                bw.values(chrom, max(0, length - 1000), length, numpy=True)
                bw.intervals(chrom, 0, min(length, 1000))
            except RuntimeError as exc:
                raise InputError(p, f"cannot read {chrom}: truncated bigWig? ({exc})") from None
        if header.get("nBasesCovered", 0) and size < 64:
            raise InputError(p, "truncated bigWig")
        return chroms, float(header.get("maxVal", 0.0))
    finally:
        bw.close()


def check_bigwig_chroms(path: str, chroms: dict[str, int], lengths: dict[str, int]) -> None:
    """Refuse a bigWig from another assembly or naming convention.

    Parameters
    ----------
    path : str
        The bigWig, named in the error.
    chroms : dict of str to int
        Its chromosome lengths (:func:`bigwig_header`).
    lengths : dict of str to int
        The genome's chromosome lengths.

    Raises
    ------
    InputError
        When no chromosome is shared (with a chr-prefix hint where that explains it) or
        a shared chromosome's length differs.
    """
    common = set(chroms) & set(lengths)
    if not common:
        toggled = {c[3:] if c.startswith("chr") else f"chr{c}" for c in chroms}
        example = sorted(chroms)[0]
        if toggled & set(lengths):
            raise InputError(
                path,
                f"chromosome names do not match the genome (bigWig has {example!r}, genome has {sorted(lengths)[0]!r})",
            )
        raise InputError(
            path, f"no chromosome in common with the genome (bigWig has {example!r}...)"
        )
    for chrom in sorted(common):
        if chroms[chrom] != lengths[chrom]:
            raise InputError(
                path,
                f"{chrom} has length {chroms[chrom]} here but {lengths[chrom]} in the genome: another assembly?",
            )


def read_bigwig_values(
    bw, chrom: str, start: int, end: int, chroms: dict[str, int], source: str
) -> np.ndarray:  # noqa: ANN001
    """Per-base float32 values with NaN (no data) as 0; zeros for chromosomes the file lacks.

    Parameters
    ----------
    bw : pyBigWig handle
        An open bigWig.
    chrom : str
        Chromosome name.
    start, end : int
        0-based half-open range, within the chromosome.
    chroms : dict of str to int
        The file's chromosome lengths (:func:`bigwig_header`).
    source : str
        The file's path, named in errors.

    Returns
    -------
    numpy.ndarray
        float32, shape (end - start,).
    """
    if chrom not in chroms:
        return np.zeros(end - start, dtype=np.float32)
    try:
        vals = bw.values(chrom, start, end, numpy=True)
    except RuntimeError as exc:
        raise InputError(
            source, f"cannot read {chrom}:{start}-{end}: truncated or corrupt bigWig ({exc})"
        ) from None
    vals = np.asarray(vals, dtype=np.float32)
    np.nan_to_num(vals, copy=False, nan=0.0)
    return vals


#: zoom levels written: none. libBigWig (pyBigWig 0.3.x) writes every 1,023rd record of
#: each zoom level with sum = sumSquares = 0 (the record open when a zoom block fills), so
#: ``bw.stats()`` (``exact=False``) and genome browsers, which read zooms, report wrong
#: means. Without zoom levels every reader summarises the full-resolution data: exact.
#: pybigtools 0.3.0 writes correct zooms and was 2.4x faster on 2 M intervals, but it drops
#: chromosomes without data from the header, prints (not raises) errors on unsorted or
#: overlapping input and leaves a broken file, so it is not used (measured in issue 20).
ZOOM_LEVELS = 0


class BigWigWriter(AtomicOutput):
    """A bigWig (pyBigWig) whose header lists every given chromosome, in the given order;
    it appears under its final name only once closed.

    Entries must arrive sorted by (header chromosome order, start): exporters walk
    regions in store order, prediction writes bins in genome order. No zoom levels are
    written (see :data:`ZOOM_LEVELS`), so every summary a reader computes is exact.
    """

    def __init__(self, path: str | os.PathLike, chroms: Sequence[tuple[str, int]]) -> None:
        import pyBigWig

        super().__init__()
        self.path = Path(path)
        tmp = self._open(atomic_path(self.path))
        self._bw: Any = pyBigWig.open(str(tmp), "w")
        self._on_finish(self._bw.close)
        self._bw.addHeader([(c, int(n)) for c, n in chroms], maxZooms=ZOOM_LEVELS)
        self.entries = 0

    def write(self, chrom: str, offset: int, values: np.ndarray) -> None:
        """Add the runs of equal non-zero ``values``, the per-base signal from ``offset``.

        Parameters
        ----------
        chrom : str
            A chromosome of the header, at or after the last one written.
        offset : int
            Where ``values[0]`` lies on ``chrom`` (0-based).
        values : numpy.ndarray
            1-D per-base signal; each run of one non-zero, non-NaN value is one interval.
        """
        s, e, v = nonzero_value_runs(values)
        if s.size:
            self.add_intervals([chrom] * s.size, s + offset, e + offset, v)

    def add_intervals(
        self, chroms: Sequence[str], starts: np.ndarray, ends: np.ndarray, values: np.ndarray
    ) -> None:
        """Add intervals as given (one value each), e.g. one per scored bin.

        Parameters
        ----------
        chroms : sequence of str
            Chromosome of each interval, in header order.
        starts, ends : numpy.ndarray
            0-based half-open coordinates, sorted by start within a chromosome and not
            overlapping.
        values : numpy.ndarray
            One value per interval (written as float).
        """
        self._bw.addEntries(
            list(chroms),
            np.asarray(starts).tolist(),
            ends=np.asarray(ends).tolist(),
            values=np.asarray(values, dtype=np.float64).tolist(),
        )
        self.entries += len(chroms)
