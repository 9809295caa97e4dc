"""Signal writers: run-length encode per-base values into bigWig or bedGraph entries.

Zeros are not written (the store cannot tell "no data" from 0, and bigWig/bedGraph files
conventionally leave empty regions out), so reading an export back gives NaN/absent
where the store holds 0.
"""

from __future__ import annotations

import gzip
import os
from pathlib import Path
from typing import IO, Any

import numpy as np

from fnstore.io.tables import format_rows


def runs(values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(starts, ends, values)`` of runs of equal, non-zero values (offsets into ``values``)."""
    v = np.asarray(values, dtype=np.float32)
    if v.size == 0:
        empty = np.zeros(0, np.int64)
        return empty, empty, np.zeros(0, np.float32)
    change = np.flatnonzero(v[1:] != v[:-1]) + 1
    starts = np.concatenate([[0], change]).astype(np.int64)
    ends = np.concatenate([change, [v.size]]).astype(np.int64)
    vals = v[starts]
    keep = (vals != 0) & ~np.isnan(vals)
    return starts[keep], ends[keep], vals[keep]


class BigWigWriter:
    """A bigWig (pyBigWig) whose header lists every store chromosome, in store order.

    Entries must arrive sorted by (store chromosome order, start), which the exporter
    guarantees by walking merged regions in store order.
    """

    def __init__(self, path: str | os.PathLike, chroms: list[tuple[str, int]]) -> None:
        import pyBigWig

        self.path = Path(path)
        self._bw: Any = pyBigWig.open(str(self.path), "w")
        self._bw.addHeader([(c, int(n)) for c, n in chroms], maxZooms=10)
        self.entries = 0

    def write(self, chrom: str, offset: int, values: np.ndarray) -> None:
        s, e, v = runs(values)
        if s.size:
            self._bw.addEntries(
                [chrom] * s.size,
                (s + offset).tolist(),
                ends=(e + offset).tolist(),
                values=v.astype(np.float64).tolist(),
            )
            self.entries += int(s.size)

    def close(self) -> None:
        self._bw.close()


class BedGraphWriter:
    """A bedGraph text file (gzip when the name ends in ``.gz``) with a ``track`` line."""

    def __init__(self, path: str | os.PathLike, name: str) -> None:
        self.path = Path(path)
        self._fh: IO[bytes] = (
            gzip.open(self.path, "wb", compresslevel=6)
            if self.path.name.endswith(".gz")
            else open(self.path, "wb")
        )
        self._fh.write(f"track type=bedGraph name={name}\n".encode())
        self.entries = 0

    def write(self, chrom: str, offset: int, values: np.ndarray) -> None:
        s, e, v = runs(values)
        if s.size:
            self._fh.write(
                format_rows([np.full(s.size, chrom.encode()), s + offset, e + offset, v])
            )
            self.entries += int(s.size)

    def close(self) -> None:
        self._fh.close()
