"""BED-like files: the one home for reading ``chrom start end ...`` rows.

Two readers share the header rules (:data:`HEADER_PREFIXES`, :func:`count_header_lines`):

* :func:`read_bed`: small interval files (peaks, annotations, blacklists) parsed line by
  line into per-chromosome sorted arrays, so every broken row is one InputError line;
* :func:`read_bed_rows` (pyarrow): big tables kept in file order (region files,
  prediction files: tens of millions of rows in seconds), used by
  :func:`read_region_file` and :func:`fnstore.io.predictions.read_regions`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np

from fnstore.errors import InputError
from fnstore.io.files import is_gzip, open_text, read_text

#: lines that are not rows, wherever they are (UCSC track/browser lines, comments)
HEADER_PREFIXES = ("track", "browser", "#")


def _is_header_line(line: str) -> bool:
    return line.startswith(HEADER_PREFIXES)


def count_header_lines(path: str | os.PathLike, sep: str | None = "\t") -> int:
    """Leading track/browser/comment lines, plus one column-name line such as
    ``chr start stop score`` (recognised by a non-integer second field).

    Parameters
    ----------
    path
        A plain or gzip text file.
    sep
        Field separator (None: any whitespace).

    Returns
    -------
    int
        Lines to skip before the first row.
    """
    n = 0
    try:
        with open_text(path) as fh:
            for line in fh:
                if _is_header_line(line):
                    n += 1
                    continue
                fields = line.rstrip("\r\n").split(sep)
                if n == 0 and len(fields) >= 2 and not is_int_field(fields[1]):
                    n += 1
                break
    except (OSError, EOFError, UnicodeDecodeError) as exc:
        raise InputError(path, f"cannot read ({exc})") from None
    return n


def is_int_field(field: str) -> bool:
    """Whether a text field reads as an integer (a start or end coordinate).

    Parameters
    ----------
    field : str
        One field of a row; surrounding whitespace and a leading ``-`` are allowed.

    Returns
    -------
    bool
        True for digits only, so ``"1e3"``, ``"2.0"`` and ``""`` are not integers.
    """
    return field.strip().lstrip("-").isdigit()


@dataclass
class Regions:
    """Rows of a BED-like table in file order; chromosomes as small integer codes."""

    path: str
    chrom_names: list[str]
    chrom_codes: np.ndarray  # int32, index into chrom_names
    starts: np.ndarray  # int64
    ends: np.ndarray  # int64
    scores: np.ndarray  # float32 (zeros for a file without scores)
    first_line: int  # 1-based line number of row 0 (after skipped header lines)

    def __len__(self) -> int:
        return int(self.starts.size)

    def line(self, row: int) -> int:
        """The file line number of a row, for error messages.

        Parameters
        ----------
        row : int
            0-based row index.

        Returns
        -------
        line : int
            1-based line number in the file, header lines counted.
        """
        return self.first_line + int(row)

    def where(self, row: int) -> str:
        """``line N (chrom:start-end)`` for error messages.

        Parameters
        ----------
        row : int
            Row to describe (0-based).

        Returns
        -------
        str
            The row's line number and interval.
        """
        r = int(row)
        return (
            f"line {self.line(r)} ({self.chrom_names[self.chrom_codes[r]]}:"
            f"{int(self.starts[r])}-{int(self.ends[r])})"
        )


def read_bed_rows(path: str, skip: int, with_score: bool) -> Regions:
    """Rows of a tab-separated BED-like table with pyarrow, in file order.

    With ``with_score`` the file must have exactly the four columns ``chrom start end
    score`` (prediction files); otherwise columns after the third are ignored (region
    files). pyarrow's own errors (``ArrowInvalid``, ``KeyError``, ``OSError``) propagate so
    each caller words them for its kind of file; empty start/end fields are refused here.

    Parameters
    ----------
    path
        A plain or gzip file.
    skip
        Header lines to skip (:func:`count_header_lines`).
    with_score
        Read a fourth, float column.

    Returns
    -------
    Regions
        ``scores`` are zeros without ``with_score``; NaN where a score is null.
    """
    import pyarrow as pa
    import pyarrow.csv as pacsv

    names = ["chrom", "start", "end", "score"] if with_score else ["chrom", "start", "end"]
    types = {"chrom": pa.dictionary(pa.int32(), pa.string()), "start": pa.int64()}
    types |= {"end": pa.int64(), "score": pa.float32()}
    if with_score:
        read = pacsv.ReadOptions(column_names=names, skip_rows=skip)
        parse = pacsv.ParseOptions(delimiter="\t", ignore_empty_lines=False)
        convert = pacsv.ConvertOptions(column_types=types, strings_can_be_null=False)
    else:  # any number of columns: name them f0, f1, ... and keep the first three
        read = pacsv.ReadOptions(autogenerate_column_names=True, skip_rows=skip)
        parse = pacsv.ParseOptions(delimiter="\t")
        convert = pacsv.ConvertOptions(
            include_columns=["f0", "f1", "f2"],
            column_types={f"f{i}": types[n] for i, n in enumerate(names)},
        )
    # gzip chosen by content, as everywhere (pyarrow alone goes by the ".gz" suffix)
    source = pa.input_stream(path, compression="gzip" if is_gzip(path) else None)
    with source:
        table = pacsv.read_csv(
            source, read_options=read, parse_options=parse, convert_options=convert
        )
    table = table.rename_columns(names)
    for name in ("start", "end"):
        if table[name].null_count:
            row = int(np.flatnonzero(table[name].is_null().to_numpy(zero_copy_only=False))[0])
            raise InputError(path, f"line {skip + row + 1}: empty {name}")
    chrom = table["chrom"].combine_chunks()
    scores = (
        table["score"].to_numpy().astype(np.float32, copy=False)
        if with_score
        else np.zeros(table.num_rows, dtype=np.float32)
    )
    return Regions(
        path=path,
        chrom_names=[str(c) for c in chrom.dictionary.to_pylist()],
        chrom_codes=chrom.indices.to_numpy(zero_copy_only=False).astype(np.int32, copy=False),
        starts=table["start"].to_numpy(),
        ends=table["end"].to_numpy(),
        scores=scores,
        first_line=skip + 1,
    )


def read_region_file(path: str | os.PathLike) -> Regions:
    """Rows ``chrom start end [...]`` of a BED region file (ENCODE-DREAM ladder/test
    regions), in file order; columns after the third are ignored.

    Parameters
    ----------
    path
        A plain or gzip BED file, optionally with track/browser/# lines and a column-name line.

    Returns
    -------
    Regions
        With zero scores; an unreadable or empty file is an :class:`InputError`.
    """
    import pyarrow as pa

    p = str(path)
    if not os.path.isfile(p):
        raise InputError(p, "no such region file")
    try:
        regions = read_bed_rows(p, count_header_lines(p), with_score=False)
    except (pa.ArrowInvalid, KeyError) as exc:
        raise InputError(p, f"not a BED file with chrom, start, end columns ({exc})") from None
    except (OSError, EOFError, UnicodeDecodeError) as exc:
        raise InputError(p, f"cannot read ({exc})") from None
    if len(regions) == 0:
        raise InputError(p, "no regions")
    return regions


@dataclass
class Intervals:
    """Intervals of one file, grouped per chromosome and sorted by start."""

    source: str
    by_chrom: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    n_rows: int = 0

    def get(self, chrom: str) -> tuple[np.ndarray, np.ndarray]:
        """All intervals of one chromosome.

        Parameters
        ----------
        chrom : str
            Chromosome name as in the file.

        Returns
        -------
        starts, ends : numpy.ndarray
            int64, sorted by start; empty for a chromosome the file does not have.
        """
        empty = np.zeros(0, dtype=np.int64)
        return self.by_chrom.get(chrom, (empty, empty))

    @property
    def chroms(self) -> set[str]:
        return set(self.by_chrom)

    def within(self, chrom: str, lo: int, hi: int) -> tuple[np.ndarray, np.ndarray]:
        """Intervals of ``chrom`` that may overlap ``[lo, hi)`` (by start; ends checked by caller).

        Parameters
        ----------
        chrom : str
            Chromosome name.
        lo, hi : int
            The 0-based, half-open window.

        Returns
        -------
        starts, ends : numpy.ndarray
            int64 arrays of the intervals with ``start < hi`` and ``end > lo``, sorted by start.
        """
        starts, ends = self.get(chrom)
        if starts.size == 0:
            return starts, ends
        keep = (starts < hi) & (ends > lo)
        return starts[keep], ends[keep]


def read_bed(path: str | os.PathLike, kind: str = "BED", min_columns: int = 3) -> Intervals:
    """Parse BED-like rows (BED, narrowPeak). An empty file is valid: no intervals.

    Parameters
    ----------
    path : str or os.PathLike
        A plain or gzip file; blank and track/browser/# lines are skipped, and fields are
        split on tabs (on any whitespace when a line has no tab).
    kind : str, default "BED"
        Name used in error messages; ``"narrowPeak"`` also requires every row to have as
        many columns as the first.
    min_columns : int, default 3
        Fewer columns in a row is an :class:`InputError`.

    Returns
    -------
    Intervals
        Per chromosome, sorted by start; ``n_rows`` counts every row read.
    """
    text = read_text(path)
    chroms: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    n_cols: int | None = None
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or _is_header_line(line):
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

    Parameters
    ----------
    iv : Intervals
        The intervals of one file.
    lengths : dict of str to int
        Chromosome lengths of the genome (or assembly).
    assembly_known : bool
        Whether ``lengths`` is a whole assembly (a chrom-sizes file); only then is a file
        with no chromosome in common an error when the names do not look chr-toggled.
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
    """Read a UCSC chrom-sizes file (``chrom<TAB>length`` per line).

    Parameters
    ----------
    path : str or os.PathLike
        A plain or gzip file; blank and ``#`` lines are skipped, columns after the
        second ignored.

    Returns
    -------
    dict of str to int
        Length in bp per chromosome, in file order; an empty file is an :class:`InputError`.
    """
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
