"""Name arrays every Zarr v3 reader can read: UTF-8 bytes in a ``uint8`` [n, width] array.

zarr-python's variable-length ``string`` type (schema version 1) is a zarr-python extension:
tensorstore (C++) and zarrs (Rust) refuse it, so outside Python nobody could tell which row is
which cell. ``uint8`` is a core Zarr v3 type that every reader reads, so since schema version 2
each name array holds one row per name: its UTF-8 bytes padded with zeros to the longest
name's length (at least 1). The names are mirrored as a JSON list in the array's ``names``
attribute for readers that prefer metadata to decoding. The byte axis has its own dimension
name (``<array>_utf8``), so xarray sees each as a 2-D coordinate without a size conflict.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

#: the arrays that hold names, each the coordinate of the dimension it is named after
#: (``task_tf``/``task_cell`` name the TF and cell of each ``task``)
NAME_ARRAYS = (
    "chrom",
    "cell",
    "track",
    "task",
    "task_tf",
    "task_cell",
    "annotation",
    "meta_feature",
)

#: the attribute that mirrors the decoded names of a name array
NAMES_ATTR = "names"


def encode_names(values: Sequence[str]) -> np.ndarray:
    """Names as a ``uint8`` [n, width] array of zero-padded UTF-8.

    Parameters
    ----------
    values : sequence of str
        The names; none may contain a NUL character (it would read back shorter).

    Returns
    -------
    numpy.ndarray
        ``uint8`` of shape ``(len(values), max(1, longest UTF-8 length))``.
    """
    raw = [str(v).encode("utf-8") for v in values]
    if any(b"\0" in r for r in raw):
        raise ValueError("a name contains a NUL character")
    width = max([1, *(len(r) for r in raw)])
    out = np.zeros((len(raw), width), dtype=np.uint8)
    for i, r in enumerate(raw):
        out[i, : len(r)] = np.frombuffer(r, dtype=np.uint8)
    return out


def decode_names(data: np.ndarray) -> list[str]:
    """The names held in a ``uint8`` [n, width] array (inverse of :func:`encode_names`).

    Parameters
    ----------
    data : numpy.ndarray
        Zero-padded UTF-8 rows.

    Returns
    -------
    list of str
        One name per row, padding removed.
    """
    rows = np.ascontiguousarray(data, dtype=np.uint8)
    return [bytes(row).rstrip(b"\0").decode("utf-8") for row in rows]


def read_names(root: Any, name: str) -> list[str]:
    """The names of one name array of a store, in either schema version.

    Parameters
    ----------
    root : zarr.Group
        The store's root group.
    name : str
        One of :data:`NAME_ARRAYS`.

    Returns
    -------
    list of str
        Decoded names: ``uint8`` rows (schema 2) or zarr-python strings (schema 1).
    """
    arr = root[name]
    data = arr[...]
    if arr.ndim == 2 and np.dtype(arr.dtype) == np.uint8:
        return decode_names(data)
    return [str(v) for v in data]


def write_names(root: Any, name: str, values: Sequence[str], dim: str, **create: Any) -> Any:
    """Create one name array (schema 2) holding ``values``, mirrored in its attributes.

    Parameters
    ----------
    root : zarr.Group
        The writable root group.
    name : str
        The array's name.
    values : sequence of str
        The names, in order.
    dim : str
        The dimension they name (``<name>_utf8`` names the byte axis).
    **create
        Passed to ``create_array`` (compressors, config).

    Returns
    -------
    zarr.Array
        The written array.
    """
    data = encode_names(values)
    arr = root.create_array(
        name,
        shape=data.shape,
        chunks=(max(1, data.shape[0]), data.shape[1]),
        dtype=np.uint8,
        fill_value=0,
        dimension_names=[dim, f"{name}_utf8"],
        attributes={NAMES_ATTR: [str(v) for v in values], "encoding": "utf-8, zero-padded"},
        **create,
    )
    if data.size:
        arr[...] = data
    return arr
