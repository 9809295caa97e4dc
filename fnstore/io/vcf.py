"""Variant files: VCF / VCF.gz / BCF (through pysam) and a plain table of chrom, pos, ref, alt.

Both are read in batches of input *records* (a VCF line, a table row), so a run can stream
a million-variant file in bounded memory and a resumed run finds batch ``i`` at the same
records again. A multi-allelic record is split into one row per ALT allele (``allele``
counts them from 1), all in the record's batch.

What the file is is decided by its content, not its name: a (b)gzip or plain text file
starting ``##fileformat=VCF``, a BCF (``BCF\\2`` after BGZF), else a tab-separated table
whose rows are ``CHROM POS REF ALT [ID]`` (``POS`` 1-based as in a VCF; ``#`` lines and one
header row naming the columns are skipped). Anything else is one :class:`InputError` line
naming the file and the first thing wrong, raised before anything is scored.
"""

from __future__ import annotations

import gzip
import os
import re
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from fnstore.errors import InputError
from fnstore.io.files import is_gzip, open_text, require_file

#: variants read per batch by default
DEFAULT_BATCH = 4096
_ALLELE = re.compile(r"^[ACGTNacgtn]+$")
_HEADER_NAMES = {"chrom", "chr", "#chrom", "chromosome", "contig"}


@dataclass
class VariantBatch:
    """One batch of variant rows (multi-allelic records already split), in file order."""

    chrom: list[str] = field(default_factory=list)
    #: 1-based position of the REF allele's first base (as in a VCF)
    pos: list[int] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)
    ref: list[str] = field(default_factory=list)
    alt: list[str] = field(default_factory=list)
    #: which ALT of its record the row is (1 for a biallelic record)
    allele: list[int] = field(default_factory=list)
    #: input records read for this batch (rows may be more: multi-allelic splits)
    n_records: int = 0

    def __len__(self) -> int:
        return len(self.pos)

    def add(self, chrom: str, pos: int, vid: str, ref: str, alts: list[str]) -> None:
        """Append one record, one row per ALT allele.

        Parameters
        ----------
        chrom, vid, ref : str
            Contig, ID (``.`` when none) and REF allele.
        pos : int
            1-based position.
        alts : list of str
            ALT alleles; an empty list (a VCF ``.``) adds one row with ALT ``.``.

        Returns
        -------
        None
        """
        self.n_records += 1
        for k, alt in enumerate(alts or ["."], start=1):
            self.chrom.append(chrom)
            self.pos.append(pos)
            self.ids.append(vid)
            self.ref.append(ref)
            self.alt.append(alt)
            self.allele.append(k)


def is_simple_allele(allele: str) -> bool:
    """Whether an allele is plain bases (not ``<DEL>``, ``*``, ``.`` or a breakend).

    Parameters
    ----------
    allele : str
        A REF or ALT allele.

    Returns
    -------
    bool
        True for one or more of A, C, G, T, N (either case).
    """
    return bool(_ALLELE.match(allele))


def _sniff(path: Path) -> str:
    """``"vcf"``, ``"bcf"`` or ``"table"`` from the first bytes of the (decompressed) file."""
    try:
        if is_gzip(path):
            with gzip.open(path, "rb") as fh:
                head = fh.read(64)
        else:
            with open(path, "rb") as fh:
                head = fh.read(64)
    except (EOFError, OSError, zlib.error) as exc:
        raise InputError(path, f"not a VCF, BCF or variant table: unreadable ({exc})") from None
    if head.startswith(b"BCF\x02"):
        return "bcf"
    if head.startswith(b"##fileformat=VCF"):
        return "vcf"
    name = path.name.lower()
    if name.endswith((".vcf", ".vcf.gz", ".vcf.bgz", ".bcf")):
        raise InputError(path, "not a VCF: it does not start with ##fileformat=VCF")
    if b"\0" in head:
        raise InputError(path, "not a VCF, BCF or variant table (binary content)")
    return "table"


@contextmanager
def _quiet_htslib() -> Iterator[None]:
    """htslib warns on stderr (contigs missing from the header...); fnstore reports itself."""
    import pysam

    before = pysam.set_verbosity(0)
    try:
        yield
    finally:
        pysam.set_verbosity(before)


class VariantFile:
    """A variant file opened for batched reading (see the module docstring for formats).

    Parameters
    ----------
    path : str or os.PathLike
        VCF, VCF.gz, BCF or a tab-separated ``CHROM POS REF ALT [ID]`` table.
    """

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = require_file(path, "variant file")
        self.kind = _sniff(self.path)
        self.header_contigs: list[str] | None = None
        if self.kind != "table":
            import pysam

            try:
                with _quiet_htslib(), pysam.VariantFile(str(self.path)) as vf:
                    self.header_contigs = list(vf.header.contigs) or None
            except (OSError, ValueError) as exc:
                raise InputError(self.path, f"not a readable VCF/BCF ({exc})") from None

    def batches(self, batch_size: int = DEFAULT_BATCH) -> Iterator[VariantBatch]:
        """Batches of ``batch_size`` records in file order.

        Parameters
        ----------
        batch_size : int
            Records per batch (rows may be more where records are multi-allelic).

        Returns
        -------
        Iterator[VariantBatch]
            The batches; a malformed record raises :class:`InputError` when reached.
        """
        if batch_size < 1:
            raise InputError("--batch-size", f"must be positive, got {batch_size}")
        rows = self._records()
        batch = VariantBatch()
        for chrom, pos, vid, ref, alts in rows:
            batch.add(chrom, pos, vid, ref, alts)
            if batch.n_records == batch_size:
                yield batch
                batch = VariantBatch()
        if batch.n_records:
            yield batch

    def _records(self) -> Iterator[tuple[str, int, str, str, list[str]]]:
        if self.kind == "table":
            yield from self._table_records()
            return
        import pysam

        n = 0
        try:
            with _quiet_htslib(), pysam.VariantFile(str(self.path)) as vf:
                for rec in vf:
                    n += 1
                    yield rec.chrom, int(rec.pos), rec.id or ".", rec.ref, list(rec.alts or ())
        except (OSError, ValueError) as exc:
            raise InputError(self.path, f"record {n + 1}: not readable ({exc})") from None

    def _table_records(self) -> Iterator[tuple[str, int, str, str, list[str]]]:
        try:
            with open_text(self.path) as fh:
                for number, line in enumerate(fh, start=1):
                    if not line.strip() or line.startswith("#"):
                        continue
                    fields = line.rstrip("\r\n").split("\t")
                    if number == 1 and fields[0].lower() in _HEADER_NAMES:
                        continue
                    yield _table_row(self.path, number, fields)
        except (EOFError, OSError, UnicodeDecodeError, zlib.error) as exc:
            raise InputError(self.path, f"unreadable variant table ({exc})") from None

    def count_records(self) -> int:
        """Records in the file (one pass; the progress bar's total).

        Returns
        -------
        int
            VCF records or table rows.
        """
        return sum(1 for _ in self._records())


def _table_row(path: Path, number: int, fields: list[str]) -> tuple[str, int, str, str, list[str]]:
    """``(chrom, pos, id, ref, alts)`` of one table line, or an InputError naming the line."""
    if len(fields) < 4:
        raise InputError(
            path,
            f"line {number}: expected tab-separated CHROM POS REF ALT [ID], got "
            f"{len(fields)} field(s) (not a VCF either: no ##fileformat=VCF line)",
        )
    chrom, pos_text, ref, alt = (f.strip() for f in fields[:4])
    try:
        pos = int(pos_text)
    except ValueError:
        pos = 0
    if pos < 1:
        raise InputError(path, f"line {number}: POS must be a 1-based integer, got {pos_text!r}")
    if not ref or not alt:
        raise InputError(path, f"line {number}: empty REF or ALT allele")
    vid = fields[4].strip() if len(fields) > 4 and fields[4].strip() else "."
    return chrom, pos, vid, ref, alt.split(",")


def contig_problem(names: list[str], store_chroms: list[str]) -> str | None:
    """Why a file's contig names cannot be the store's (None when some match).

    Parameters
    ----------
    names : list of str
        Contigs the variant file names (its header, or its rows).
    store_chroms : list of str
        The store's chromosomes.

    Returns
    -------
    str or None
        A sentence naming the mismatch (``20`` vs ``chr20``), or None.
    """
    if not names or set(names) & set(store_chroms):
        return None
    toggled = {n[3:] if n.startswith("chr") else "chr" + n: n for n in names}
    hits = [c for c in store_chroms if c in toggled]
    shown = ", ".join(names[:5]) + (", ..." if len(names) > 5 else "")
    if hits:
        return (
            f"contig names differ from the store's: the file says {toggled[hits[0]]!r} where "
            f"the store has {hits[0]!r} (rename them, e.g. bcftools annotate --rename-chrs)"
        )
    return (
        f"no contig of the file ({shown}) is in the store "
        f"({', '.join(store_chroms)}): another assembly?"
    )


__all__ = [
    "DEFAULT_BATCH",
    "VariantBatch",
    "VariantFile",
    "contig_problem",
    "is_simple_allele",
]
