"""Read and write motifs in MEME minimal format; reverse-complement PWMs (pure NumPy).

Motifs matter twice in fnstore: known PWMs (HOCOMOCO, JASPAR) initialise first-layer
kernels, and learned kernels are exported as MEME so TOMTOM and friends can compare them
with databases. MEME minimal format is the common denominator of those tools, so this
module reads the parts of it that carry information (alphabet, background, motif names,
letter-probability matrices, optional URL lines) and writes files that MEME-suite reads.

A PWM here is always a ``(width, 4)`` array of probabilities in A, C, G, T column order,
the same order as the one-hot channels of the model input.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fnstore.errors import InputError
from fnstore.io.files import read_text

#: Rows of a letter-probability matrix must sum to 1 within this tolerance; files in
#: the wild are written with 6 decimals, which leaves a few 1e-6 of rounding per row.
ROW_SUM_TOLERANCE = 0.02

UNIFORM_BACKGROUND = np.full(4, 0.25)


@dataclass
class Motif:
    """One motif: identifier, optional alternate name (usually the TF), and its PWM.

    ``pwm`` is ``(width, 4)`` probabilities over A, C, G, T.
    """

    name: str
    pwm: np.ndarray
    alt_name: str | None = None
    nsites: float | None = None
    evalue: float | None = None
    url: str | None = None

    @property
    def width(self) -> int:
        return int(self.pwm.shape[0])

    def reverse_complement(self) -> Motif:
        """The same motif read on the other strand (name gets an ``_rc`` suffix).

        Returns
        -------
        Motif
            A new motif; the other fields are copied.
        """
        return Motif(
            name=f"{self.name}_rc",
            pwm=reverse_complement(self.pwm),
            alt_name=self.alt_name,
            nsites=self.nsites,
            evalue=self.evalue,
            url=self.url,
        )


def reverse_complement(pwm: np.ndarray) -> np.ndarray:
    """Reverse complement a ``(width, 4)`` ACGT matrix: reverse positions, swap A<->T, C<->G.

    With columns in A, C, G, T order the complement is just a reversal of the column axis,
    so this works for probabilities, log-odds and kernel slices alike.

    Parameters
    ----------
    pwm : numpy.ndarray
        Shape (width, 4), columns A, C, G, T; another shape is a ``ValueError``.

    Returns
    -------
    numpy.ndarray
        A new array of the same shape and dtype.
    """
    arr = np.asarray(pwm)
    if arr.ndim != 2 or arr.shape[1] != 4:
        raise ValueError(f"expected a (width, 4) matrix, got shape {arr.shape}")
    return arr[::-1, ::-1].copy()


def log_odds(
    pwm: np.ndarray, background: np.ndarray | None = None, pseudocount: float = 0.001
) -> np.ndarray:
    """log2(p / background) after adding ``pseudocount`` and renormalising each row.

    FactorNet injected HOCOMOCO motifs exactly this way (pseudocount 0.001, uniform
    background), which keeps zero probabilities finite but strongly negative.

    Parameters
    ----------
    pwm : numpy.ndarray
        Shape (width, 4) probabilities over A, C, G, T.
    background : numpy.ndarray, optional
        Four letter frequencies; default uniform (0.25 each).
    pseudocount : float, default 0.001
        Added to every probability before renormalising.

    Returns
    -------
    numpy.ndarray
        float64, shape (width, 4), in bits.
    """
    bg = UNIFORM_BACKGROUND if background is None else np.asarray(background, dtype=np.float64)
    p = np.asarray(pwm, dtype=np.float64) + pseudocount
    p = p / p.sum(axis=1, keepdims=True)
    return np.log2(p / bg)


# --------------------------------------------------------------------------- reading

_MOTIF_RE = re.compile(r"^MOTIF\s+(\S+)(?:\s+(\S+))?")
_KEY_VALUE_RE = re.compile(r"(\w+)\s*=\s*(\S+)")


def _parse_matrix_header(line: str, source: str, lineno: int) -> dict[str, str]:
    rest = line.split(":", 1)[1] if ":" in line else ""
    values = dict(_KEY_VALUE_RE.findall(rest))
    if "w" not in values:
        raise InputError(source, f"line {lineno}: letter-probability matrix without 'w='")
    return values


def _number(text: str, what: str, source: str, lineno: int) -> float:
    try:
        return float(text)
    except ValueError:
        raise InputError(source, f"line {lineno}: {what} {text!r} is not a number") from None


def parse_meme(text: str, source: str | os.PathLike = "<string>") -> list[Motif]:
    """Parse MEME minimal-format ``text`` into motifs, in file order.

    Raises :class:`InputError` (naming ``source`` and the line) on anything that would
    otherwise silently produce a wrong matrix: a non-ACGT alphabet, a matrix whose row
    count or row width disagrees with its header, negative or non-numeric entries, rows
    that do not sum to 1, or a file with no motifs at all.

    Parameters
    ----------
    text : str
        The whole file's text.
    source : str or os.PathLike, default "<string>"
        Named in errors.

    Returns
    -------
    list of Motif
        At least one; each ``pwm`` float64, shape (width, 4).
    """
    src = str(source)
    lines = text.splitlines()
    if not any(line.startswith("MEME version") for line in lines[:50]):
        raise InputError(src, "not a MEME file (no 'MEME version' line)")
    motifs: list[Motif] = []
    current: Motif | None = None
    i = 0
    n = len(lines)
    while i < n:
        line = lines[i].strip()
        lineno = i + 1
        if line.startswith("ALPHABET"):
            alphabet = line.split("=", 1)[1].strip() if "=" in line else ""
            first = alphabet.split()[0].upper() if alphabet else ""
            if first not in ("ACGT", "DNA"):
                raise InputError(src, f"line {lineno}: alphabet {alphabet!r} is not ACGT")
        elif line.startswith("MOTIF"):
            m = _MOTIF_RE.match(line)
            if not m:
                raise InputError(src, f"line {lineno}: MOTIF line without a name")
            if current is not None and current.pwm.size == 0:
                raise InputError(src, f"motif {current.name!r} has no letter-probability matrix")
            current = Motif(name=m.group(1), alt_name=m.group(2), pwm=np.zeros((0, 4)))
            motifs.append(current)
        elif line.startswith("URL") and current is not None:
            current.url = line.split(None, 1)[1] if len(line.split(None, 1)) > 1 else ""
        elif line.startswith("letter-probability matrix"):
            if current is None:
                raise InputError(src, f"line {lineno}: matrix before any MOTIF line")
            if current.pwm.size:
                raise InputError(src, f"line {lineno}: motif {current.name!r} has two matrices")
            header = _parse_matrix_header(line, src, lineno)
            width = int(_number(header["w"], "w", src, lineno))
            alength = int(_number(header.get("alength", "4"), "alength", src, lineno))
            if alength != 4:
                raise InputError(
                    src, f"line {lineno}: alength={alength}, only DNA (4) is supported"
                )
            if width <= 0:
                raise InputError(src, f"line {lineno}: motif {current.name!r} has w={width}")
            if "nsites" in header:
                current.nsites = _number(header["nsites"], "nsites", src, lineno)
            if "E" in header:
                current.evalue = _number(header["E"], "E", src, lineno)
            rows: list[list[float]] = []
            i += 1
            while i < n and len(rows) < width:
                row_text = lines[i].strip()
                if row_text:
                    fields = row_text.split()
                    if not _looks_numeric(fields[0]):
                        break
                    if len(fields) != 4:
                        raise InputError(
                            src, f"line {i + 1}: expected 4 probabilities, got {len(fields)}"
                        )
                    rows.append([_number(f, "probability", src, i + 1) for f in fields])
                i += 1
            if len(rows) != width:
                raise InputError(
                    src,
                    f"motif {current.name!r}: header says w={width} but {len(rows)} rows follow",
                )
            pwm = np.asarray(rows, dtype=np.float64)
            _check_pwm(pwm, src, current.name)
            current.pwm = pwm
            continue
        i += 1
    if not motifs:
        raise InputError(src, "no MOTIF entries")
    if motifs[-1].pwm.size == 0:
        raise InputError(src, f"motif {motifs[-1].name!r} has no letter-probability matrix")
    return motifs


def _looks_numeric(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _check_pwm(pwm: np.ndarray, source: str, name: str) -> None:
    if not np.all(np.isfinite(pwm)) or (pwm < 0).any() or (pwm > 1 + ROW_SUM_TOLERANCE).any():
        raise InputError(source, f"motif {name!r}: probabilities must lie in [0, 1]")
    sums = pwm.sum(axis=1)
    bad = np.flatnonzero(np.abs(sums - 1.0) > ROW_SUM_TOLERANCE)
    if bad.size:
        raise InputError(
            source, f"motif {name!r}: row {int(bad[0]) + 1} sums to {sums[bad[0]]:.4f}, not 1"
        )


def read_meme(path: str | os.PathLike) -> list[Motif]:
    """Read a MEME minimal-format file (plain or ``.gz``).

    Parameters
    ----------
    path : str or os.PathLike
        The file; gzip is recognised by content.

    Returns
    -------
    list of Motif
        In file order (see :func:`parse_meme` for what is refused).
    """
    p = Path(path)
    if not p.is_file():
        raise InputError(p, "no such motif file")
    return parse_meme(read_text(p), p)


def find_motifs(motifs: Iterable[Motif], tf: str) -> list[Motif]:
    """Motifs whose alternate name, or name before the first ``_``, equals ``tf`` (any case).

    HOCOMOCO names are ``<TF>_<quality>`` (``AHR_si``) with the TF as alternate name;
    FactorNet looked motifs up by that alternate name.

    Parameters
    ----------
    motifs : iterable of Motif
        Where to look.
    tf : str
        TF name, e.g. ``"CTCF"``.

    Returns
    -------
    list of Motif
        The matches in the order given; empty when none.
    """
    key = tf.upper()
    return [
        m
        for m in motifs
        if (m.alt_name or "").upper() == key or m.name.split("_")[0].upper() == key
    ]


# --------------------------------------------------------------------------- writing


def format_meme(
    motifs: Sequence[Motif], background: Sequence[float] | None = None, strands: str = "+ -"
) -> str:
    """MEME minimal-format text for ``motifs`` (probabilities written with 6 decimals).

    Parameters
    ----------
    motifs : sequence of Motif
        PWMs of shape (width >= 1, 4); another shape is an :class:`InputError`.
    background : sequence of float, optional
        Letter frequencies of A, C, G, T for the header; default uniform.
    strands : str, default "+ -"
        The ``strands:`` header line's value.

    Returns
    -------
    str
        The file text, ending with a newline.
    """
    bg = UNIFORM_BACKGROUND if background is None else np.asarray(background, dtype=np.float64)
    out = ["MEME version 4", "", "ALPHABET= ACGT", "", f"strands: {strands}", ""]
    out.append("Background letter frequencies")
    out.append(" ".join(f"{b} {v:.6f}" for b, v in zip("ACGT", bg, strict=True)))
    out.append("")
    for motif in motifs:
        pwm = np.asarray(motif.pwm, dtype=np.float64)
        if pwm.ndim != 2 or pwm.shape[1] != 4 or pwm.shape[0] == 0:
            raise InputError(motif.name, f"PWM must be (width, 4), got shape {pwm.shape}")
        name = motif.name if not motif.alt_name else f"{motif.name} {motif.alt_name}"
        out.append(f"MOTIF {name}")
        out.append("")
        nsites = f" nsites= {motif.nsites:g}" if motif.nsites is not None else ""
        evalue = f" E= {motif.evalue:g}" if motif.evalue is not None else " E= 0"
        out.append(f"letter-probability matrix: alength= 4 w= {pwm.shape[0]}{nsites}{evalue}")
        out.extend(" ".join(f"{v:9.6f}" for v in row) for row in pwm)
        if motif.url:
            out.append(f"URL {motif.url}")
        out.append("")
    return "\n".join(out) + "\n"


def write_meme(
    path: str | os.PathLike, motifs: Sequence[Motif], background: Sequence[float] | None = None
) -> Path:
    """Write ``motifs`` to ``path`` in MEME minimal format and return the path.

    Parameters
    ----------
    path : str or os.PathLike
        The file to (over)write, uncompressed.
    motifs : sequence of Motif
        As for :func:`format_meme`.
    background : sequence of float, optional
        Letter frequencies of A, C, G, T; default uniform.

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    p = Path(path)
    p.write_text(format_meme(motifs, background))
    return p
