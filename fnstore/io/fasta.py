"""Genome FASTA (plain or bgzip): checked and indexed up front, then read chunk by chunk.

A FASTA damaged in the middle must not build a store of shifted or missing bases, and
htslib is lenient: it skips bytes it does not expect, reads a file cut short as a shorter
sequence and, given an index, fetches by offsets without looking at line ends. So before
anything is written the chosen sequences are read once more and checked
(:func:`check_has_bases`): a plain FASTA byte by byte against its index (every line
``line_bases`` letters and its line end, nothing else; a file that ends without a newline was
cut short), a bgzip FASTA base by base (letters only) after its BGZF end-of-file block was
found. On chr20 this costs ~0.1 s per 60 Mbp (``docs/design.md``).

A FASTA without ``.fai`` (and ``.gzi``) is indexed into a temporary folder owned by the
:class:`FastaInfo`: the folder is removed when the info is garbage-collected, when indexing
fails, and at interpreter exit (which Ctrl-C reaches too), so no ``fnstore-fai-*`` folder
outlives the process that made it. Worker processes receive a pickled copy, which owns nothing.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import weakref
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fnstore.errors import InputError
from fnstore.io.files import native_stderr, pass_on, require_file


@dataclass
class FastaInfo:
    path: str
    lengths: dict[str, int]  # FASTA order
    fai: str | None
    gzi: str | None

    def own_index_dir(self, folder: str) -> None:
        """Remove ``folder`` (a temporary index folder) once this info is gone or at exit.

        Parameters
        ----------
        folder : str
            The folder; removed at most once, errors ignored.
        """
        weakref.finalize(self, shutil.rmtree, folder, ignore_errors=True)


def _index_paths(path: Path) -> tuple[str | None, str | None, bool]:
    fai = Path(f"{path}.fai")
    gzi = Path(f"{path}.gzi")
    with open(path, "rb") as fh:
        compressed = fh.read(2) == b"\x1f\x8b"
    return (str(fai) if fai.exists() else None, str(gzi) if gzi.exists() else None, compressed)


def open_fasta(info: FastaInfo):  # noqa: ANN201 - pysam type
    """Open a FASTA checked by :func:`inspect_fasta`, with the index files it found or made.

    Parameters
    ----------
    info : FastaInfo
        What :func:`inspect_fasta` returned.

    Returns
    -------
    pysam.FastaFile
        A new handle (not thread-safe); close it when done.
    """
    import pysam

    return pysam.FastaFile(info.path, filepath_index=info.fai, filepath_index_compressed=info.gzi)


def _index(p: Path, info: FastaInfo, compressed: bool) -> None:
    """Write ``info.fai`` (and ``info.gzi``) for ``p`` with samtools faidx."""
    import pysam

    args = [str(p), "--fai-idx", str(info.fai)] + (["--gzi-idx", info.gzi] if info.gzi else [])
    try:
        with native_stderr() as said:  # htslib prints its own [E::...] lines on failure
            pysam.faidx(*args)
    except pysam.utils.SamtoolsError as exc:
        msg = _htslib_reason(said[0] if said else "") or (
            str(exc).splitlines()[-1] if str(exc) else "cannot index"
        )
        if compressed:
            raise InputError(
                p,
                f"cannot index FASTA: not BGZF-compressed or truncated (recompress with `bgzip`): {msg}",
            ) from None
        raise InputError(p, f"cannot index FASTA: {msg}") from None
    pass_on(said)


def _htslib_reason(text: str) -> str:
    """htslib's own ``[E::...]`` explanation (e.g. ``Different line length in sequence
    'chrA'``), which samtools' exception replaces with a temporary file's name."""
    reasons = [
        line.split("] ", 1)[-1].strip()
        for line in text.splitlines()
        if line.startswith("[E::") and "Could not build" not in line
    ]
    return "; ".join(reasons)


_BASES = re.compile("[ACGTacgt]")

#: bytes a sequence line may hold: letters (IUPAC codes of either case; all but A/C/G/T
#: are stored as N) and the gap and stop marks some FASTAs carry
_SEQUENCE_BYTE = np.zeros(256, dtype=bool)
for _c in b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-*.":
    _SEQUENCE_BYTE[_c] = True

_BASE_BYTE = np.zeros(256, dtype=bool)
_BASE_BYTE[list(b"ACGTacgt")] = True

#: the 28-byte empty block every BGZF file ends with; htslib only warns when it is absent
_BGZF_EOF = bytes.fromhex("1f8b08040000000000ff0600424302001b0003000000000000000000")


def _bad_byte(chrom: str, pos: int, byte: int, where: str = "") -> str:
    return (
        f"byte {bytes([byte])!r} at {chrom}:{pos + 1:,}{where} is not a base letter: damaged FASTA?"
    )


def _read_fai(fai: str) -> dict[str, tuple[int, int, int, int]]:
    """``{name: (length, offset, line_bases, line_width)}`` from a ``.fai``."""
    out = {}
    for line in Path(fai).read_text().splitlines():
        f = line.split("\t")
        if len(f) >= 5:
            out[f[0]] = (int(f[1]), int(f[2]), int(f[3]), int(f[4]))
    return out


def _check_plain_record(
    mm: np.ndarray, chrom: str, entry: tuple[int, int, int, int], block: int
) -> bool:
    """One plain-FASTA record, byte by byte: ``line_bases`` sequence bytes then the line
    end on every line, as its index says (so no base is shifted, skipped or invented).
    Returns whether it holds an A, C, G or T; raises :class:`InputError` with an empty
    source (the caller names the file)."""
    length, offset, blen, width = entry
    if length == 0:
        return False
    n_lines = -(-length // blen)
    end = offset + length + (n_lines - 1) * (width - blen)  # just past the last base
    if end >= mm.size:
        raise InputError("", f"ends inside sequence {chrom} (no line end): truncated FASTA?")
    seen = False
    step = max(1, block // width)
    for first in range(0, n_lines, step):
        lines = mm[offset + first * width : min(offset + (first + step) * width, end + 1)]
        rows = np.empty((-(-len(lines) // width), width), dtype=np.uint8)
        rows.ravel()[: len(lines)] = lines
        n_bases = np.full(len(rows), blen)
        n_bases[-1] = min(blen, length - (first + len(rows) - 1) * blen)
        line_end = rows[np.arange(len(rows)), n_bases]  # \n, or \r of \r\n
        wrong = np.flatnonzero((line_end != 10) & (line_end != 13))
        if wrong.size:
            k = first + int(wrong[0])
            raise InputError(
                "",
                f"line {k + 1:,} of {chrom} (file offset {offset + k * width:,}) is not "
                f"{blen} bases long like the others: damaged FASTA?",
            )
        seq = rows[:, :blen].ravel()[: length - first * blen]
        bad = np.flatnonzero(~_SEQUENCE_BYTE[seq])
        if bad.size:
            i = int(bad[0])
            raise InputError("", _bad_byte(chrom, first * blen + i, int(seq[i])))
        seen = seen or bool(_BASE_BYTE[seq].any())
    return seen


def _check_fetched(info: FastaInfo, chroms: list[str], block: int) -> bool:
    """Fetch the chosen sequences block by block; letters only. Whether any is A/C/G/T."""
    seen = False
    with open_fasta(info) as fa:
        for chrom in chroms:
            for start in range(0, info.lengths[chrom], block):
                try:
                    with native_stderr() as said:
                        raw = fa.fetch(chrom, start, start + block)
                except UnicodeDecodeError as exc:
                    raise InputError(
                        info.path,
                        _bad_byte(chrom, start + exc.start, exc.object[exc.start], " (or near)"),
                    ) from None
                except (OSError, ValueError) as exc:
                    raise InputError(
                        info.path, f"cannot read {chrom}:{start:,}: damaged FASTA? ({exc})"
                    ) from None
                pass_on(said)
                codes = np.frombuffer(raw.encode("latin-1"), dtype=np.uint8)
                bad = np.flatnonzero(~_SEQUENCE_BYTE[codes])
                if bad.size:
                    i = int(bad[0])
                    raise InputError(info.path, _bad_byte(chrom, start + i, int(codes[i])))
                seen = seen or bool(_BASES.search(raw))
    return seen


def check_has_bases(info: FastaInfo, chroms: list[str], block: int = 1 << 22) -> None:
    """Read every chosen sequence once and refuse a damaged one or a genome of all N.

    A plain FASTA is checked byte by byte against its index (letters, then the line end,
    on every line); a bgzip one base by base through htslib. All N (a masked or
    placeholder genome) would build a store of nothing but N.

    Parameters
    ----------
    info : FastaInfo
        What :func:`inspect_fasta` returned.
    chroms : list of str
        The chromosomes the store will hold.
    block : int, default 4 MiB
        Bytes (plain) or bases (bgzip) read at a time.

    Raises
    ------
    InputError
        Naming the FASTA: a byte that is not a base letter, a line of another width, a
        file cut short inside a sequence, or no A, C, G or T in any chosen chromosome.
    """
    if info.gzi is None:  # plain: every byte against the index's layout
        entries = _read_fai(str(info.fai))
        mm = np.memmap(info.path, dtype=np.uint8, mode="r")
        try:
            seen = [_check_plain_record(mm, chrom, entries[chrom], block) for chrom in chroms]
        except InputError as exc:
            raise InputError(info.path, exc.problem) from None
        finally:
            del mm
        if any(seen):
            return
    elif _check_fetched(info, chroms, block):
        return
    names = ", ".join(chroms[:3]) + ("..." if len(chroms) > 3 else "")
    raise InputError(info.path, f"no A, C, G or T in {names}: the sequence is all N")


def inspect_fasta(path: str | os.PathLike, index_dir: str | None = None) -> FastaInfo:
    """Open (indexing if needed) a plain or bgzip FASTA and check every sequence's end is readable.

    pysam, not pyfaidx: pyfaidx needs Biopython for BGZF and reads it far slower
    (docs/design.md).

    Parameters
    ----------
    path : str or os.PathLike
        The FASTA, plain or bgzip.
    index_dir : str, optional
        Where to write missing ``.fai``/``.gzi`` indexes; default a new temporary folder.
        Indexes beside the FASTA are used when present.

    Returns
    -------
    FastaInfo
        The path, the sequence lengths in FASTA order and the index paths.
    """
    p = require_file(path, "FASTA")
    fai, gzi, compressed = _index_paths(p)
    if compressed:
        _check_bgzf_end(p)
    info = FastaInfo(str(p), {}, fai, gzi)
    if fai is not None and (gzi is not None or not compressed):
        _check_sequences(p, info)
        return info
    if index_dir is not None:
        target = Path(index_dir)
        target.mkdir(parents=True, exist_ok=True)
    else:
        target = Path(tempfile.mkdtemp(prefix="fnstore-fai-"))
        info.own_index_dir(str(target))  # removed with the info, or at exit
    info.fai = str(target / (p.name + ".fai"))
    info.gzi = str(target / (p.name + ".gzi")) if compressed else None
    try:
        _index(p, info, compressed)
        _check_sequences(p, info)
    except BaseException:
        if index_dir is None:
            shutil.rmtree(target, ignore_errors=True)
        raise
    return info


def _check_bgzf_end(p: Path) -> None:
    """Refuse a gzip FASTA cut short: BGZF ends with an empty block, which htslib only
    warns about before reading the cut file as shorter sequences."""
    with open(p, "rb") as fh:
        fh.seek(max(0, p.stat().st_size - len(_BGZF_EOF)))
        if fh.read() != _BGZF_EOF:
            raise InputError(
                p,
                "no BGZF end-of-file block: truncated, or not BGZF-compressed "
                "(recompress with `bgzip`)",
            )


def _check_sequences(p: Path, info: FastaInfo) -> None:
    """Fill ``info.lengths`` and check the end of every sequence can be read."""
    try:
        with native_stderr() as said:
            fa = open_fasta(info)
    except (OSError, ValueError) as exc:
        raise InputError(p, f"cannot open FASTA ({exc})") from None
    pass_on(said)
    with fa:
        info.lengths = dict(zip(fa.references, fa.lengths, strict=True))
        if not info.lengths:
            raise InputError(p, "FASTA has no sequences")
        for name, length in info.lengths.items():
            try:
                with native_stderr() as said:
                    tail = fa.fetch(name, max(0, length - 64), length)
                pass_on(said)
            except (OSError, ValueError, KeyError) as exc:
                raise InputError(
                    p, f"cannot read the end of {name}: truncated FASTA? ({exc})"
                ) from None
            if len(tail) != min(64, length):
                raise InputError(
                    p, f"sequence {name} is shorter than its index says: truncated FASTA?"
                )
