"""ENCODE-DREAM label TSVs (chrom, start, stop, one B/U/A column per cell), streamed."""

from __future__ import annotations

import os
import zlib

import numpy as np

from fnstore.errors import InputError
from fnstore.io.files import open_text, require_file


def dream_tsv_header(path: str | os.PathLike) -> list[str]:
    """Cell columns of an ENCODE-DREAM label TSV (``chr start stop CELL...``).

    Parameters
    ----------
    path : str or os.PathLike
        A plain or gzip TSV; only the header line is read.

    Returns
    -------
    list of str
        The cell names, in column order.
    """
    p = require_file(path)
    try:
        with open_text(p) as fh:
            header = fh.readline().rstrip("\n").split("\t")
    except (EOFError, OSError, zlib.error) as exc:
        raise InputError(p, f"truncated or corrupt gzip file ({exc})") from None
    if len(header) < 4 or [h.lower() for h in header[:3]] != ["chr", "start", "stop"]:
        raise InputError(
            p, "not an ENCODE-DREAM label TSV: header must be 'chr start stop CELL...'"
        )
    return header[3:]


def iter_dream_tsv(path: str | os.PathLike, n_cells: int, rows_per_block: int = 1 << 20):
    """Yield (chroms, starts, stops, codes (n, cells) as letters) blocks; memory bounded.

    Parameters
    ----------
    path : str or os.PathLike
        A plain or gzip TSV with a header line (:func:`dream_tsv_header`).
    n_cells : int
        Cell columns expected; another column count is an :class:`InputError`.
    rows_per_block : int, default 2**20
        Rows per yielded block.

    Yields
    ------
    chroms : numpy.ndarray
        Chromosome names (str), shape (n,).
    starts, stops : numpy.ndarray
        int64, shape (n,).
    letters : numpy.ndarray
        The ``B``/``U``/``A`` fields (str), shape (n, n_cells), unchecked.
    """
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
