"""FactorNet cell metadata files (``value<TAB>name`` per line)."""

from __future__ import annotations

import os

from fnstore.errors import InputError
from fnstore.io.files import read_text


def read_meta(path: str | os.PathLike) -> dict[str, float]:
    """FactorNet ``meta.txt``: one 'value<TAB>name' per line (RNA-seq principal components).

    Parameters
    ----------
    path : str or os.PathLike
        A plain or gzip file; blank lines are skipped, fields split on any whitespace.

    Returns
    -------
    dict of str to float
        Value per feature name, in file order (a repeated name keeps its last value);
        an empty file is an :class:`InputError`.
    """
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
