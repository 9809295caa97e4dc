"""Genome FASTA (plain or bgzip): checked and indexed up front, then read chunk by chunk."""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from fnstore.errors import InputError
from fnstore.io.files import require_file


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
