"""bedGraph text output: ``chrom start end value`` rows after a ``track`` line."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from fnstore.io.files import AtomicOutput, atomic_gzip, atomic_write
from fnstore.io.signal_runs import nonzero_value_runs
from fnstore.io.tables import format_rows


class BedGraphWriter(AtomicOutput):
    """A bedGraph file (gzip when the name ends in ``.gz``), written atomically.

    Per-base values are run-length encoded with zeros left out (see
    :mod:`fnstore.io.signal_runs`).
    """

    def __init__(self, path: str | os.PathLike, name: str) -> None:
        super().__init__()
        self.path = Path(path)
        self._fh = self._open(
            atomic_gzip(self.path, compresslevel=6)
            if self.path.name.endswith(".gz")
            else atomic_write(self.path, "wb")
        )
        self._fh.write(f"track type=bedGraph name={name}\n".encode())
        self.entries = 0

    def write(self, chrom: str, offset: int, values: np.ndarray) -> None:
        """Add the runs of ``values``, the per-base signal from ``offset`` on ``chrom``.

        Parameters
        ----------
        chrom : str
            Chromosome name.
        offset : int
            0-based genome position of ``values[0]``.
        values : numpy.ndarray
            1-D per-base signal; zeros and NaN are left out.
        """
        s, e, v = nonzero_value_runs(values)
        if s.size:
            self._fh.write(
                format_rows([np.full(s.size, chrom.encode()), s + offset, e + offset, v])
            )
            self.entries += int(s.size)
