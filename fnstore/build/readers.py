"""Readers of build inputs, each turning a broken file into one :class:`InputError` line.

Interval files are small next to the genome (peaks, annotations, blacklists), so they are
read whole into per-chromosome sorted NumPy arrays; genome-sized inputs (FASTA, bigWig)
are only opened here and read chunk by chunk by the builder.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import tempfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from fnstore.errors import InputError


def sha256sum(path: str | os.PathLike, block: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(block):
            h.update(chunk)
    return h.hexdigest()


def require_file(path: str | os.PathLike, what: str = "file") -> Path:
    p = Path(path)
    if not p.exists():
        raise InputError(p, f"no such {what}")
    if p.is_dir():
        raise InputError(p, f"is a directory, expected a {what}")
    if p.stat().st_size == 0 and what in {"FASTA", "bigWig"}:
        raise InputError(p, f"empty {what}")
    return p


def read_text(path: str | os.PathLike) -> str:
    """Whole text of a plain, gzip or bgzip file; truncation is reported, not raised."""
    p = require_file(path)
    try:
        with open(p, "rb") as fh:
            magic = fh.read(2)
        if magic == b"\x1f\x8b":
            with gzip.open(p, "rb") as fh:
                raw = fh.read()
        else:
            raw = p.read_bytes()
    except (EOFError, OSError, zlib.error) as exc:
        raise InputError(p, f"truncated or corrupt gzip file ({exc})") from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError(p, "not a text file") from None


# --------------------------------------------------------------------------- intervals


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


# --------------------------------------------------------------------------- FASTA


@dataclass
class FastaInfo:
    path: str
    lengths: dict[str, int]  # FASTA order
    fai: str | None
    gzi: str | None


def _index_paths(path: Path) -> tuple[str | None, str | None, bool]:
    fai = Path(f"{path}.fai")
    gzi = Path(f"{path}.gzi")
    with open(path, "rb") as fh:
        compressed = fh.read(2) == b"\x1f\x8b"
    return (str(fai) if fai.exists() else None, str(gzi) if gzi.exists() else None, compressed)


def open_fasta(info: FastaInfo):  # noqa: ANN201 - pysam type
    import pysam

    return pysam.FastaFile(info.path, filepath_index=info.fai, filepath_index_compressed=info.gzi)


def inspect_fasta(path: str | os.PathLike, index_dir: str | None = None) -> FastaInfo:
    """Open (indexing if needed) a plain or bgzip FASTA and check every sequence's end is readable.

    pysam reads bgzip FASTA ~50x faster than pyfaidx, which needs Biopython for BGZF.
    """
    import pysam

    p = require_file(path, "FASTA")
    fai, gzi, compressed = _index_paths(p)
    if fai is None or (compressed and gzi is None):
        target = Path(index_dir or tempfile.mkdtemp(prefix="fnstore-fai-"))
        target.mkdir(parents=True, exist_ok=True)
        fai = str(target / (p.name + ".fai"))
        gzi = str(target / (p.name + ".gzi")) if compressed else None
        args = [str(p), "--fai-idx", fai] + (["--gzi-idx", gzi] if gzi else [])
        try:
            pysam.faidx(*args)
        except pysam.utils.SamtoolsError as exc:
            msg = str(exc).splitlines()[-1] if str(exc) else "cannot index"
            if compressed:
                raise InputError(
                    p,
                    f"cannot index FASTA: not BGZF-compressed or truncated (recompress with `bgzip`): {msg}",
                ) from None
            raise InputError(p, f"cannot index FASTA: {msg}") from None
    info = FastaInfo(str(p), {}, fai, gzi)
    try:
        fa = open_fasta(info)
    except (OSError, ValueError) as exc:
        raise InputError(p, f"cannot open FASTA ({exc})") from None
    with fa:
        info.lengths = dict(zip(fa.references, fa.lengths, strict=True))
        if not info.lengths:
            raise InputError(p, "FASTA has no sequences")
        for name, length in info.lengths.items():
            try:
                tail = fa.fetch(name, max(0, length - 64), length)
            except (OSError, ValueError, KeyError) as exc:
                raise InputError(
                    p, f"cannot read the end of {name}: truncated FASTA? ({exc})"
                ) from None
            if len(tail) != min(64, length):
                raise InputError(
                    p, f"sequence {name} is shorter than its index says: truncated FASTA?"
                )
    return info


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


# --------------------------------------------------------------------------- bigWig


def bigwig_header(path: str | os.PathLike) -> tuple[dict[str, int], float]:
    """Chromosome lengths and maximum value of a bigWig, checking it can actually be read."""
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
    """Per-base float32 values with NaN (no data) as 0; zeros for chromosomes the file lacks."""
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


# --------------------------------------------------------------------------- metadata and DREAM TSV


def read_meta(path: str | os.PathLike) -> dict[str, float]:
    """FactorNet ``meta.txt``: one 'value<TAB>name' per line (RNA-seq principal components)."""
    out: dict[str, float] = {}
    for lineno, line in enumerate(read_text(path).splitlines(), start=1):
        if not line.strip():
            continue
        parts = line.split()
        if len(parts) != 2:
            raise InputError(path, f"line {lineno}: expected 'value<TAB>name'")
        try:
            out[parts[1]] = float(parts[0])
        except ValueError:
            raise InputError(path, f"line {lineno}: {parts[0]!r} is not a number") from None
    if not out:
        raise InputError(path, "empty metadata file")
    return out


def dream_tsv_header(path: str | os.PathLike) -> list[str]:
    """Cell columns of an ENCODE-DREAM label TSV (``chr start stop CELL...``)."""
    p = require_file(path)
    opener = gzip.open if open(p, "rb").read(2) == b"\x1f\x8b" else open
    try:
        with opener(p, "rt") as fh:
            header = fh.readline().rstrip("\n").split("\t")
    except (EOFError, OSError, zlib.error) as exc:
        raise InputError(p, f"truncated or corrupt gzip file ({exc})") from None
    if len(header) < 4 or [h.lower() for h in header[:3]] != ["chr", "start", "stop"]:
        raise InputError(
            p, "not an ENCODE-DREAM label TSV: header must be 'chr start stop CELL...'"
        )
    return header[3:]


def iter_dream_tsv(path: str | os.PathLike, n_cells: int, rows_per_block: int = 1 << 20):
    """Yield (chroms, starts, stops, codes (n, cells) as letters) blocks; memory bounded."""
    import pandas as pd

    try:
        reader = pd.read_csv(
            path,
            sep="\t",
            header=0,
            dtype=str,
            chunksize=rows_per_block,
            keep_default_na=False,
            compression="infer",
        )
        line = 2
        for block in reader:
            if block.shape[1] != n_cells + 3:
                raise InputError(path, f"line {line}: expected {n_cells + 3} columns")
            try:
                starts = block.iloc[:, 1].astype(np.int64).to_numpy()
                stops = block.iloc[:, 2].astype(np.int64).to_numpy()
            except ValueError:
                raise InputError(
                    path, f"rows from line {line}: start/stop are not integers"
                ) from None
            yield (
                block.iloc[:, 0].to_numpy(dtype=str),
                starts,
                stops,
                block.iloc[:, 3:].to_numpy(dtype=str),
            )
            line += len(block)
    except (EOFError, zlib.error, OSError) as exc:
        raise InputError(path, f"truncated or corrupt file ({exc})") from None
    except pd.errors.ParserError as exc:
        raise InputError(path, f"malformed TSV ({str(exc).strip()})") from None
