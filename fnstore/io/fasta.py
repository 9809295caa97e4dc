"""Genome FASTA (plain or bgzip): checked and indexed up front, then read chunk by chunk.

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
        msg = str(exc).splitlines()[-1] if str(exc) else "cannot index"
        if compressed:
            raise InputError(
                p,
                f"cannot index FASTA: not BGZF-compressed or truncated (recompress with `bgzip`): {msg}",
            ) from None
        raise InputError(p, f"cannot index FASTA: {msg}") from None
    pass_on(said)


_BASES = re.compile("[ACGTacgt]")


def check_has_bases(info: FastaInfo, chroms: list[str], block: int = 1 << 20) -> None:
    """Refuse a FASTA whose chosen chromosomes hold no A, C, G or T (all N: a masked or
    placeholder genome would build a store of nothing but N).

    Reads block by block and stops at the first base, so a real genome costs one block.

    Parameters
    ----------
    info : FastaInfo
        What :func:`inspect_fasta` returned.
    chroms : list of str
        The chromosomes the store will hold.
    block : int, default 1 MiB
        Bases read at a time.

    Raises
    ------
    InputError
        Naming the FASTA when no chosen chromosome has a base.
    """
    with open_fasta(info) as fa:
        for chrom in chroms:
            for start in range(0, info.lengths[chrom], block):
                if _BASES.search(fa.fetch(chrom, start, start + block)):
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
