"""BED-like interval files (BED, narrowPeak, chrom sizes) read whole into sorted NumPy arrays.

Interval files are small next to the genome (peaks, annotations, blacklists), so they are
read whole into per-chromosome sorted arrays; every broken row is one InputError line.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np

from fnstore.errors import InputError
from fnstore.io.files import read_text


@dataclass
class Intervals:
    """Intervals of one file, grouped per chromosome and sorted by start."""

    source: str
    by_chrom: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    n_rows: int = 0

    def get(self, chrom: str) -> tuple[np.ndarray, np.ndarray]:
        empty = np.zeros(0, dtype=np.int64)
        return self.by_chrom.get(chrom, (empty, empty))

    @property
    def chroms(self) -> set[str]:
        return set(self.by_chrom)

    def within(self, chrom: str, lo: int, hi: int) -> tuple[np.ndarray, np.ndarray]:
        """Intervals of ``chrom`` that may overlap ``[lo, hi)`` (by start; ends checked by caller)."""
        starts, ends = self.get(chrom)
        if starts.size == 0:
            return starts, ends
        keep = (starts < hi) & (ends > lo)
        return starts[keep], ends[keep]


def read_bed(path: str | os.PathLike, kind: str = "BED", min_columns: int = 3) -> Intervals:
    """Parse BED-like rows (BED, narrowPeak). An empty file is valid: no intervals."""
    text = read_text(path)
    chroms: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    n_cols: int | None = None
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.startswith(("#", "track", "browser")):
            continue
        parts = line.split("\t") if "\t" in line else line.split()
        if len(parts) < min_columns:
            raise InputError(
                path,
                f"line {lineno}: malformed {kind} row: expected at least {min_columns} columns, got {len(parts)}",
            )
        if kind == "narrowPeak":
            if n_cols is None:
                n_cols = len(parts)
            elif len(parts) != n_cols:
                raise InputError(
                    path,
                    f"line {lineno}: malformed narrowPeak row: {len(parts)} columns where earlier rows have {n_cols}",
                )
        try:
            s, e = int(parts[1]), int(parts[2])
        except ValueError:
            raise InputError(
                path,
                f"line {lineno}: malformed {kind} row: start/end are not integers ({parts[1]!r}, {parts[2]!r})",
            ) from None
        if s < 0 or e <= s:
            raise InputError(
                path, f"line {lineno}: malformed {kind} row: need 0 <= start < end, got {s}-{e}"
            )
        chroms.append(parts[0])
        starts.append(s)
        ends.append(e)
    out = Intervals(str(path), n_rows=len(starts))
    if not starts:
        return out
    c = np.asarray(chroms)
    s_arr = np.asarray(starts, dtype=np.int64)
    e_arr = np.asarray(ends, dtype=np.int64)
    for chrom in np.unique(c):
        m = c == chrom
        order = np.argsort(s_arr[m], kind="stable")
        out.by_chrom[str(chrom)] = (s_arr[m][order], e_arr[m][order])
    return out


def check_interval_chroms(iv: Intervals, lengths: dict[str, int], assembly_known: bool) -> None:
    """Catch another naming convention or another assembly before any long work.

    Rows on chromosomes the genome does not include are ignored (a genome-wide annotation
    used for a one-chromosome store, or haplotype contigs), but a file sharing no
    chromosome with the genome is an error, and so is an interval past a chromosome end.
    """
    if not iv.by_chrom:
        return
    known = set(lengths)
    common = iv.chroms & known
    if not common:
        toggled = {c[3:] if c.startswith("chr") else f"chr{c}" for c in iv.chroms}
        example = sorted(iv.chroms)[0]
        if toggled & known:
            raise InputError(
                iv.source,
                f"chromosome names do not match the genome (file has {example!r}, genome has {sorted(known)[0]!r})",
            )
        if assembly_known:
            raise InputError(iv.source, f"chromosome {example!r} is not in the genome assembly")
    for chrom in common:
        _, ends = iv.by_chrom[chrom]
        if ends.size and int(ends.max()) > lengths[chrom]:
            raise InputError(
                iv.source,
                f"interval ends at {chrom}:{int(ends.max())}, past the chromosome end ({lengths[chrom]}): another assembly?",
            )


def read_chrom_sizes(path: str | os.PathLike) -> dict[str, int]:
    out: dict[str, int] = {}
    for lineno, line in enumerate(read_text(path).splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        parts = line.split()
        if len(parts) < 2 or not parts[1].isdigit():
            raise InputError(path, f"line {lineno}: expected 'chrom<TAB>length'")
        out[parts[0]] = int(parts[1])
    if not out:
        raise InputError(path, "empty chrom sizes file")
    return out
