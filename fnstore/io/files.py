"""Plain files: hashing, existence checks and text that may be gzip or bgzip compressed."""

from __future__ import annotations

import gzip
import hashlib
import os
import zlib
from pathlib import Path

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
