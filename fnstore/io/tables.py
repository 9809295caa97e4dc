"""Streaming table writers: TSV/BED (optionally gzip), Parquet, NumPy ``.npz`` and HDF5.

Every writer has the same two calls, ``write(block)`` with a dict of equally long column
arrays and ``close()``, so the exporter streams store chunks without caring about the
format. None of them holds more than one block in memory, and each file appears under
its final name only once closed (:class:`fnstore.io.files.AtomicOutput`): an interrupted
export leaves no half file, and ``with Writer(...) as w`` removes it on an error.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from fnstore.io.files import (
    AtomicOutput,
    atomic_gzip,
    atomic_path,
    atomic_write,
    discardable_file,
)


def format_rows(columns: list[np.ndarray], sep: bytes = b"\t") -> bytes:
    """Tab-separated text lines of equally long 1-D columns, built with vectorised string ops.

    ``numpy.strings`` joins whole columns in C; a Python loop over rows is an order of
    magnitude slower (docs/design.md) and would dominate a whole-genome label export.

    Parameters
    ----------
    columns : list of numpy.ndarray
        Equally long 1-D columns; bytes are written as they are, booleans as 0/1 and
        floats in float32 shortest form.
    sep : bytes, default b"\\t"
        Field separator.

    Returns
    -------
    bytes
        One ``\\n``-terminated line per row; empty for no columns or no rows.
    """
    if not columns or len(columns[0]) == 0:
        return b""
    return b"".join(np.strings.add(join_columns(columns, sep), b"\n").tolist())


def join_columns(columns: list[np.ndarray], sep: bytes = b"\t") -> np.ndarray:
    """Byte-string array of ``sep``-joined fields per row (no line end).

    Parameters
    ----------
    columns : list of numpy.ndarray
        At least one; equally long 1-D columns, converted as in :func:`format_rows`.
    sep : bytes, default b"\\t"
        Field separator.

    Returns
    -------
    numpy.ndarray
        Bytes (dtype ``S``), one element per row.
    """
    line = _as_bytes(columns[0])
    for col in columns[1:]:
        line = np.strings.add(np.strings.add(line, sep), _as_bytes(col))
    return line


def _as_bytes(col: np.ndarray) -> np.ndarray:
    col = np.asarray(col)
    if col.dtype.kind == "S":
        return col
    if col.dtype.kind == "b":
        col = col.astype(np.uint8)
    if col.dtype.kind == "f":
        col = col.astype(np.float32)
    return col.astype(str).astype("S")


class TsvWriter(AtomicOutput):
    """Tab-separated text with an optional header; gzip when the name ends in ``.gz``."""

    def __init__(
        self, path: str | os.PathLike, header: list[str] | None = None, compresslevel: int = 6
    ) -> None:
        super().__init__()
        self.path = Path(path)
        self._fh = self._open(
            atomic_gzip(self.path, compresslevel=compresslevel)
            if self.path.name.endswith(".gz")
            else atomic_write(self.path, "wb")
        )
        self.rows = 0
        if header is not None:
            self._fh.write(("\t".join(header) + "\n").encode())

    def write(self, block: dict[str, np.ndarray]) -> None:
        """Append one block of rows.

        Parameters
        ----------
        block : dict of str to numpy.ndarray
            Equally long 1-D columns, in output column order (the names are not written).
        """
        cols = list(block.values())
        self._fh.write(format_rows(cols))
        self.rows += len(cols[0]) if cols else 0

    def write_raw(self, data: bytes, rows: int) -> None:
        """Append already formatted lines (e.g. from :func:`join_columns`).

        Parameters
        ----------
        data : bytes
            Whole ``\\n``-terminated lines.
        rows : int
            How many lines ``data`` holds, for the row count.
        """
        self._fh.write(data)
        self.rows += rows


class ParquetWriter(AtomicOutput):
    """Parquet via pyarrow; the schema is fixed by the first block (one row group per block)."""

    def __init__(self, path: str | os.PathLike, metadata: dict[str, str] | None = None) -> None:
        super().__init__()
        self.path = Path(path)
        self._tmp = self._open(atomic_path(self.path))
        self.metadata = metadata or {}
        self._writer: Any = None
        self._schema: Any = None
        self.rows = 0

    def _table(self, block: dict[str, np.ndarray]) -> Any:
        import pyarrow as pa

        arrays = {
            k: pa.array(np.asarray(v).tolist() if np.asarray(v).dtype.kind in "US" else v)
            for k, v in block.items()
        }
        table = pa.table(arrays)
        if self._schema is None:
            self._schema = table.schema.with_metadata(
                {k.encode(): v.encode() for k, v in self.metadata.items()}
            )
        return table.cast(self._schema)

    def write(self, block: dict[str, np.ndarray]) -> None:
        """Append one block as a row group.

        Parameters
        ----------
        block : dict of str to numpy.ndarray
            Equally long columns by name; the first block fixes the names and types, and
            later blocks are cast to them.
        """
        import pyarrow.parquet as pq

        table = self._table(block)
        if self._writer is None:
            self._writer = pq.ParquetWriter(self._tmp, self._schema, compression="zstd")
            self._on_finish(self._writer.close)
        self._writer.write_table(table)
        self.rows += table.num_rows

    def close(self, empty: dict[str, np.ndarray] | None = None) -> None:
        """Finish the file; ``empty`` (zero-length typed columns) gives an empty export a schema.

        Parameters
        ----------
        empty : dict of str to numpy.ndarray, optional
            Used only when no block was written; without it no file is made then.
        """
        if self._writer is None and empty is not None:
            self.write(empty)
        if self._writer is None:  # nothing written and no schema: no file, as ever
            self.abort()
            return
        super().close()


class NpzWriter(AtomicOutput):
    """A NumPy ``.npz`` written in blocks.

    ``numpy.savez`` needs whole arrays in memory; here each streamed array is appended to a
    raw scratch file next to the output and, on close, copied into the zip behind a ``.npy``
    header that carries the final row count. ``fixed`` arrays (names, metadata) are small
    and stored as given. Result: ``numpy.load(path)`` sees ordinary arrays.
    """

    def __init__(
        self,
        path: str | os.PathLike,
        dtypes: dict[str, Any],
        fixed: dict[str, np.ndarray] | None = None,
    ) -> None:
        super().__init__()
        self.path = Path(path)
        self.dtypes = {k: np.dtype(v) for k, v in dtypes.items()}
        self.fixed = fixed or {}
        self._tmp = self._open(atomic_path(self.path))
        self._dir = Path(
            tempfile.mkdtemp(prefix=f".{self.path.name}.", dir=self.path.parent or ".")
        )
        self._on_finish(shutil.rmtree, self._dir, ignore_errors=True)
        self._files = {k: open(self._dir / k, "wb") for k in self.dtypes}
        for fh in self._files.values():
            self._on_finish(fh.close)
        self._tail: dict[str, tuple[int, ...] | None] = dict.fromkeys(self.dtypes)
        self.rows = 0

    def write(self, block: dict[str, np.ndarray]) -> None:
        """Append one block to every streamed array.

        Parameters
        ----------
        block : dict of str to numpy.ndarray
            An array for every name in ``dtypes`` (others are ignored), equally long,
            cast to its dtype; trailing dimensions must match the first block's.
        """
        n = None
        for key, dtype in self.dtypes.items():
            arr = np.ascontiguousarray(block[key], dtype=dtype)
            if self._tail[key] is None:
                self._tail[key] = arr.shape[1:]
            elif arr.shape[1:] != self._tail[key]:
                raise ValueError(f"{key}: block shape {arr.shape} does not match {self._tail[key]}")
            n = len(arr) if n is None else n
            self._files[key].write(arr.tobytes())
        self.rows += n or 0

    def close(self, tails: dict[str, tuple[int, ...]] | None = None) -> None:
        """Write the zip. ``tails`` gives trailing shapes for arrays that got no rows.

        Parameters
        ----------
        tails : dict of str to tuple of int, optional
            Trailing shape per array name, used only for arrays no block reached.
        """
        try:
            for fh in self._files.values():
                fh.close()
            self._write_zip(tails or {})
        except BaseException:
            self.abort()
            raise
        super().close()

    def _write_zip(self, tails: dict[str, tuple[int, ...]]) -> None:
        with zipfile.ZipFile(
            self._tmp, "w", compression=zipfile.ZIP_DEFLATED, allowZip64=True, compresslevel=1
        ) as zf:
            for key, dtype in self.dtypes.items():
                tail = self._tail[key] or tails.get(key, ())
                header = {
                    "descr": np.lib.format.dtype_to_descr(dtype),
                    "fortran_order": False,
                    "shape": (self.rows, *tail),
                }
                with zf.open(f"{key}.npy", "w", force_zip64=True) as out:
                    np.lib.format.write_array_header_2_0(out, header)
                    with open(self._dir / key, "rb") as src:
                        shutil.copyfileobj(src, out, 1 << 22)
            for key, arr in self.fixed.items():
                with zf.open(f"{key}.npy", "w", force_zip64=True) as out:
                    np.lib.format.write_array(out, np.asarray(arr), allow_pickle=False)


class Hdf5Writer(AtomicOutput):
    """HDF5 datasets grown block by block (h5py, gzip-compressed, chunked along rows)."""

    def __init__(
        self,
        path: str | os.PathLike,
        dtypes: dict[str, Any],
        tails: dict[str, tuple[int, ...]],
        fixed: dict[str, np.ndarray] | None = None,
        attrs: dict[str, Any] | None = None,
    ) -> None:
        import h5py

        super().__init__()
        self.path = Path(path)
        self._raw = self._open(discardable_file(self._open(atomic_path(self.path))))
        self._h5 = h5py.File(self._raw, "w")
        self._output.push(self._finish)
        self._dsets = {}
        for key, dtype in dtypes.items():
            tail = tails.get(key, ())
            rows = max(1, min(1024, (1 << 20) // max(1, int(np.prod(tail)))))
            dt = h5py.string_dtype() if np.dtype(dtype).kind in "US" else dtype
            self._dsets[key] = self._h5.create_dataset(
                key,
                shape=(0, *tail),
                maxshape=(None, *tail),
                dtype=dt,
                chunks=(rows, *tail),
                compression="gzip",
                compression_opts=4,
                shuffle=True,
            )
        for key, arr in (fixed or {}).items():
            arr = np.asarray(arr)
            self._h5.create_dataset(
                key,
                data=arr.astype(object) if arr.dtype.kind == "U" else arr,
                dtype=h5py.string_dtype() if arr.dtype.kind == "U" else None,
            )
        self._h5.attrs.update(attrs or {})
        self.rows = 0

    def _finish(self, exc_type: Any, *_: Any) -> bool:
        """Close the HDF5 file; when aborting or when that fails (a full disk), with writes
        discarded, since HDF5 would otherwise retry them at exit and crash."""
        self._raw.discard = exc_type is not None
        try:
            self._h5.close()
        except BaseException:
            self._raw.discard = True
            self._h5.close()
            raise
        return False

    def write(self, block: dict[str, np.ndarray]) -> None:
        """Append one block, growing every dataset.

        Parameters
        ----------
        block : dict of str to numpy.ndarray
            An array for every name in ``dtypes``, equally long, with the trailing
            shape given in ``tails``; str arrays are stored as variable-length strings.
        """
        n = 0
        for key, ds in self._dsets.items():
            arr = np.asarray(block[key])
            if arr.dtype.kind == "U":
                arr = arr.astype(object)
            n = len(arr)
            ds.resize(self.rows + n, axis=0)
            ds[self.rows : self.rows + n] = arr
        self.rows += n
