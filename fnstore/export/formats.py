"""Export formats: which formats each kind of export writes, what OUT's name implies, and
the file (or files in folder OUT) each export writes."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from fnstore.errors import InputError
from fnstore.notebook import html_repr

#: formats each kind of export writes; the first one is the default when OUT has no known suffix
FORMATS: dict[str, tuple[str, ...]] = {
    "labels": ("dream", "bed", "npz", "parquet"),
    "features": ("tsv", "parquet", "npz"),
    "signals": ("bigwig", "bedgraph"),
    "sequence": ("fasta", "npz", "hdf5"),
    "bins": ("bed", "tsv", "parquet", "npz"),
}

#: file-name endings -> format (longest first so ``.tsv.gz`` wins over ``.gz``)
SUFFIXES: tuple[tuple[str, str], ...] = (
    (".bedgraph.gz", "bedgraph"),
    (".bedGraph.gz", "bedgraph"),
    (".tsv.gz", "tsv"),
    (".txt.gz", "tsv"),
    (".bed.gz", "bed"),
    (".fasta.gz", "fasta"),
    (".fa.gz", "fasta"),
    (".bg.gz", "bedgraph"),
    (".bedgraph", "bedgraph"),
    (".bedGraph", "bedgraph"),
    (".parquet", "parquet"),
    (".bigwig", "bigwig"),
    (".bigWig", "bigwig"),
    (".fasta", "fasta"),
    (".hdf5", "hdf5"),
    (".tsv", "tsv"),
    (".txt", "tsv"),
    (".bed", "bed"),
    (".npz", "npz"),
    (".pq", "parquet"),
    (".bw", "bigwig"),
    (".bg", "bedgraph"),
    (".fa", "fasta"),
    (".h5", "hdf5"),
)

#: default file name per format when OUT is a folder (one file per TF, or per cell x track)
EXTENSIONS = {
    "dream": ".train.labels.tsv.gz",
    "bed": ".bed",
    "npz": ".npz",
    "parquet": ".parquet",
    "tsv": ".tsv.gz",
    "bigwig": ".bw",
    "bedgraph": ".bedGraph.gz",
    "fasta": ".fa",
    "hdf5": ".h5",
}

LABEL_CODES_DOC = "U=0 B=1 A=2 no-data=-1"


@dataclass
class ExportResult:
    """What an export wrote: kind, format, files and rows (entries for signals)."""

    what: str
    fmt: str
    files: list[Path] = field(default_factory=list)
    rows: int = 0

    _repr_html_ = html_repr  # how a notebook shows it (fnstore.notebook)

    def __str__(self) -> str:
        unit = "entries" if self.what == "signals" else "rows"
        where = str(self.files[0]) if len(self.files) == 1 else f"{len(self.files)} files"
        return f"exported {self.what} as {self.fmt}: {self.rows:,} {unit} to {where}"


# --------------------------------------------------------------------------- output paths


def format_for(what: str, out: str | os.PathLike, fmt: str | None) -> str:
    """The format asked for, or the one OUT's suffix implies (``.tsv.gz`` labels = DREAM TSV).

    Parameters
    ----------
    what : str
        The kind of export, a key of :data:`FORMATS`.
    out : str or os.PathLike
        The output file or folder; a folder without ``fmt`` gets the kind's first format.
    fmt : str or None
        The format asked for (any case), or None to infer it from ``out``.

    Returns
    -------
    str
        A lower-case format of ``FORMATS[what]``; anything else is an :class:`InputError`.
    """
    if what not in FORMATS:
        raise InputError("--what", f"{what!r} is not one of {', '.join(FORMATS)}")
    allowed = FORMATS[what]
    if fmt is None:
        name = str(out)
        guess = next((f for suffix, f in SUFFIXES if name.endswith(suffix)), None)
        if guess == "tsv" and what == "labels":
            guess = "dream"
        if guess is None:
            if _is_folder(out):
                return allowed[0]
            raise InputError(
                out, f"cannot tell the format from the name; pass --format ({', '.join(allowed)})"
            )
        fmt = guess
    fmt = fmt.lower()
    if fmt not in allowed:
        raise InputError("--format", f"{what} export writes {', '.join(allowed)}, not {fmt!r}")
    return fmt


def _is_folder(out: str | os.PathLike) -> bool:
    """Whether OUT names a folder: an existing one, a trailing separator, or no known suffix."""
    p = Path(out)
    return (
        p.is_dir()
        or str(out).endswith(os.sep)
        or not any(str(out).endswith(s) for s, _ in SUFFIXES)
    )


def targets(out: str | os.PathLike, names: list[str], fmt: str, what: str) -> list[Path]:
    """One path per output: OUT itself for a single output, else files inside folder OUT.

    Parameters
    ----------
    out : str or os.PathLike
        The output file or folder (created, or its parent created, here).
    names : list of str
        One name per output (e.g. TF, or ``cell.track``); file names inside a folder.
    fmt : str
        The format, which sets the file extension inside a folder.
    what : str
        The kind of output, for the error when several outputs meet a file name.

    Returns
    -------
    list of pathlib.Path
        One per name, in order.
    """
    p = Path(out)
    if len(names) == 1 and not _is_folder(out):
        p.parent.mkdir(parents=True, exist_ok=True)
        return [p]
    if not _is_folder(out):
        raise InputError(
            out,
            f"the selection gives {len(names)} {what} files ({', '.join(names[:5])}"
            f"{', ...' if len(names) > 5 else ''}): narrow it down or give a folder as OUT",
        )
    p.mkdir(parents=True, exist_ok=True)
    return [p / f"{name}{EXTENSIONS[fmt]}" for name in names]


def single(out: str | os.PathLike) -> Path:
    """OUT as the one file an export writes (its folder created).

    Parameters
    ----------
    out : str or os.PathLike
        The output file; an existing folder is an :class:`InputError`.

    Returns
    -------
    pathlib.Path
    """
    p = Path(out)
    if p.is_dir():
        raise InputError(out, "is a folder; this export writes one file")
    p.parent.mkdir(parents=True, exist_ok=True)
    return p


def sidecar(path: Path, tag: str) -> Path:
    """``features.tsv.gz`` -> ``features.cells.tsv.gz``: small companion tables.

    Parameters
    ----------
    path : pathlib.Path
        The main output file.
    tag : str
        Inserted before the known suffix (or the last one).

    Returns
    -------
    pathlib.Path
        In the same folder.
    """
    name = path.name
    suffix = next((s for s, _ in SUFFIXES if name.endswith(s)), path.suffix)
    return path.with_name(f"{name[: len(name) - len(suffix)]}.{tag}{suffix}")
