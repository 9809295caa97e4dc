"""Content hashes of outputs: ``<file>.sha256`` sidecars and a hash over a Zarr group's arrays.

Why: a prediction or export is read later, often elsewhere, and a copy that lost its tail
or a flipped byte on a disk must be refused rather than scored. Every exported file and
every prediction file gets a sidecar ``<file>.sha256`` in the ``sha256sum`` format
(``<64 hex digits>  <file name>``, so ``sha256sum -c`` checks it too), written atomically
*after* the file: a kill between the two leaves a file without a sidecar (unverifiable,
never wrongly accused), and replacing a file removes its old sidecar first
(:func:`fnstore.io.files.atomic_path`). A Zarr predictions group records the hash of its
``bin`` and ``score`` arrays in its attributes (``sha256``) just before it is marked
complete; the hash is over the decoded values (a header ``name dtype shape`` line, then the
C-order bytes, per array), so it does not depend on the codec and a reader that has loaded
the arrays checks them without reading anything twice.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from fnstore.errors import InputError
from fnstore.io.files import atomic_write, sha256sum

SIDECAR_SUFFIX = ".sha256"
#: attribute of a Zarr predictions group holding the hash of its arrays
GROUP_FIELD = "sha256"
#: arrays of a predictions group that the hash covers, in order
GROUP_ARRAYS = ("bin", "score")
CHANGED = "changed since it was written (sha256 differs)"
_LINE = re.compile(r"^([0-9a-f]{64}) [ *](.+)$")
_BLOCK_ROWS = 1 << 22


def sidecar_path(path: str | os.PathLike) -> Path:
    """``x.tab.gz`` -> ``x.tab.gz.sha256``.

    Parameters
    ----------
    path : str or os.PathLike
        The file the sidecar describes.

    Returns
    -------
    pathlib.Path
        Beside it.
    """
    p = Path(path)
    return p.with_name(p.name + SIDECAR_SUFFIX)


def write_sidecar(path: str | os.PathLike) -> Path:
    """Hash a finished file and write its ``.sha256`` sidecar atomically.

    Parameters
    ----------
    path : str or os.PathLike
        A complete file, already under its final name.

    Returns
    -------
    pathlib.Path
        The sidecar.
    """
    p = Path(path)
    side = sidecar_path(p)
    with atomic_write(side, "w", encoding="utf-8") as fh:
        fh.write(f"{sha256sum(p)}  {p.name}\n")
    return side


def write_sidecars(paths: Iterable[str | os.PathLike]) -> None:
    """:func:`write_sidecar` for each of ``paths``.

    Parameters
    ----------
    paths : iterable of str or os.PathLike
        Complete files.
    """
    for p in paths:
        write_sidecar(p)


def recorded_sha256(path: str | os.PathLike) -> str | None:
    """The hash a file's sidecar records, or None when it has no sidecar.

    Parameters
    ----------
    path : str or os.PathLike
        The file (not the sidecar).

    Returns
    -------
    str or None
        64 lowercase hex digits; a sidecar that is not one ``sha256sum`` line for this
        file is an :class:`InputError`.
    """
    side = sidecar_path(path)
    try:
        text = side.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(side, f"unreadable sha256 file ({exc})") from None
    match = _LINE.match(text.strip())
    if match is None or len(text.strip().splitlines()) != 1 or match[2] != Path(path).name:
        raise InputError(side, f"not a sha256sum line for {Path(path).name}")
    return match[1]


def check_sidecar(path: str | os.PathLike) -> bool:
    """Compare a file with its sidecar; True when checked, False when it has none.

    Parameters
    ----------
    path : str or os.PathLike
        The file.

    Returns
    -------
    bool
        Whether a sidecar was there; a file that differs from it is an :class:`InputError`
        ``<file>: changed since it was written (sha256 differs)``.
    """
    recorded = recorded_sha256(path)
    if recorded is None:
        return False
    if sha256sum(path) != recorded:
        raise InputError(path, CHANGED)
    return True


def _array_header(name: str, dtype: np.dtype, shape: tuple[int, ...]) -> bytes:
    return f"{name} {np.dtype(dtype).str} {list(shape)}\n".encode()


def arrays_sha256(arrays: Mapping[str, Any]) -> str:
    """Hash of in-memory arrays as :func:`group_sha256` hashes a group's.

    Parameters
    ----------
    arrays : Mapping of str to array-like
        ``GROUP_ARRAYS`` names to their full contents.

    Returns
    -------
    str
        64 lowercase hex digits.
    """
    h = hashlib.sha256()
    for name in GROUP_ARRAYS:
        a = np.ascontiguousarray(arrays[name])
        h.update(_array_header(name, a.dtype, a.shape))
        h.update(a.data)
    return h.hexdigest()


def group_sha256(root: Any) -> str:
    """Hash of a Zarr group's ``bin`` and ``score`` arrays, read a block of rows at a time.

    Parameters
    ----------
    root : zarr.Group
        An open predictions group.

    Returns
    -------
    str
        The same digest as :func:`arrays_sha256` of the arrays' contents.
    """
    h = hashlib.sha256()
    for name in GROUP_ARRAYS:
        arr = root[name]
        h.update(_array_header(name, arr.dtype, tuple(arr.shape)))
        for lo in range(0, arr.shape[0], _BLOCK_ROWS):
            h.update(np.ascontiguousarray(arr[lo : lo + _BLOCK_ROWS]).data)
    return h.hexdigest()


def check_arrays(path: str | os.PathLike, attrs: Mapping[str, Any], arrays: Mapping) -> None:
    """Refuse a predictions group whose loaded arrays differ from its recorded hash.

    Parameters
    ----------
    path : str or os.PathLike
        The group, for the message.
    attrs : Mapping
        Its attributes; without ``sha256`` (written before hashes) nothing is checked.
    arrays : Mapping
        ``bin`` and ``score`` as loaded.
    """
    recorded = attrs.get(GROUP_FIELD)
    if recorded is not None and arrays_sha256(arrays) != recorded:
        raise InputError(path, CHANGED)
