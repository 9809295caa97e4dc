"""Plain files: hashing, existence checks, text that may be compressed, and atomic writes.

Every file fnstore writes goes through :func:`atomic_write` or :func:`atomic_path`: the
data is written under a hidden temporary name in the target folder and renamed over the
final name only once complete, so a killed process never leaves a file under its final
name that looks finished. The temporary name ends with the final name, so writers that
pick a format by suffix (Keras ``.keras``, gzip ``.gz``) behave as for the real file.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import io
import os
import secrets
import shutil
import zlib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO, Any

from fnstore.errors import InputError

GZIP_MAGIC = b"\x1f\x8b"
#: prefix of every temporary file fnstore writes; ``.tmp-<pid>-<token>.<final name>``
TEMP_PREFIX = ".tmp-"


def sha256sum(path: str | os.PathLike, block: int = 1 << 20) -> str:
    """Hex SHA-256 of one file, read in blocks (inputs can be genome-sized).

    Parameters
    ----------
    path : str or os.PathLike
        The file.
    block : int, default 1 MiB
        Bytes read at a time.

    Returns
    -------
    str
        64 lowercase hex digits.
    """
    return sha256_files([path], block=block)


def sha256_files(paths: Sequence[str | os.PathLike], block: int = 1 << 20) -> str:
    """Hex SHA-256 of several files read one after the other (a model = card + weights).

    Parameters
    ----------
    paths : sequence of str or os.PathLike
        The files, in the order hashed (the order changes the digest).
    block : int, default 1 MiB
        Bytes read at a time.

    Returns
    -------
    str
        64 lowercase hex digits of the concatenated bytes.
    """
    h = hashlib.sha256()
    for path in paths:
        with open(path, "rb") as fh:
            while chunk := fh.read(block):
                h.update(chunk)
    return h.hexdigest()


def require_file(path: str | os.PathLike, what: str = "file") -> Path:
    """Refuse a missing path or a folder before any reading, in one clear line.

    Parameters
    ----------
    path : str or os.PathLike
        The expected file.
    what : str, default "file"
        What it should be, for the message (``"FASTA"``, ``"bigWig"``...); an empty
        FASTA or bigWig is also refused.

    Returns
    -------
    pathlib.Path
        ``path``, checked.
    """
    p = Path(path)
    if not p.exists():
        raise InputError(p, f"no such {what}")
    if p.is_dir():
        raise InputError(p, f"is a directory, expected a {what}")
    if p.stat().st_size == 0 and what in {"FASTA", "bigWig"}:
        raise InputError(p, f"empty {what}")
    return p


def is_gzip(path: str | os.PathLike) -> bool:
    """Whether a file starts with the gzip magic (bgzip files do too), whatever its name.

    Parameters
    ----------
    path : str or os.PathLike
        An existing file; only its first two bytes are read.

    Returns
    -------
    bool
        True for gzip or bgzip content.
    """
    with open(path, "rb") as fh:
        return fh.read(2) == GZIP_MAGIC


def open_text(path: str | os.PathLike) -> IO[str]:
    """A text handle on a plain, gzip or bgzip file, chosen by content rather than suffix.

    The caller closes it (``with open_text(p) as fh``); decompression errors surface while
    reading, so callers wrap their loop and report them as one line.

    Parameters
    ----------
    path : str or os.PathLike
        The file (:func:`require_file` checks it), read as UTF-8.

    Returns
    -------
    IO[str]
        An open text handle.
    """
    p = require_file(path)
    if is_gzip(p):
        return io.TextIOWrapper(gzip.open(p, "rb"), encoding="utf-8")
    return open(p, encoding="utf-8")


def read_text(path: str | os.PathLike) -> str:
    """Whole text of a plain, gzip or bgzip file; truncation is reported, not raised.

    Parameters
    ----------
    path : str or os.PathLike
        The file; missing, truncated or non-UTF-8 content is an :class:`InputError`.

    Returns
    -------
    str
        The decoded text.
    """
    p = require_file(path)
    try:
        if is_gzip(p):
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


def _temporary_name(path: str | os.PathLike) -> Path:
    """A fresh hidden name beside ``path`` that still ends with ``path``'s name."""
    p = Path(path)
    return p.with_name(f"{TEMP_PREFIX}{os.getpid()}-{secrets.token_hex(4)}.{p.name}")


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path to write ``path`` through; rename it into place on success.

    For writers that want a file name rather than a handle (pyBigWig, zipfile, h5py,
    Keras). On any exception the temporary file is removed and the final name untouched.
    """
    final = Path(path)
    tmp = _temporary_name(final)
    try:
        yield tmp
        with contextlib.suppress(FileNotFoundError):  # its hash (io.digests) would be stale
            final.with_name(final.name + ".sha256").unlink()
        os.replace(tmp, final)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "w", **open_kwargs: Any) -> Iterator[IO[Any]]:
    """``open(path, mode)`` that appears under its final name only once complete.

    The data is flushed and fsynced before the rename, so after a crash the final name
    holds either the previous complete file or the new complete file, never a torn one.
    """
    with atomic_path(path) as tmp, open(tmp, mode, **open_kwargs) as fh:
        yield fh
        fh.flush()
        os.fsync(fh.fileno())


@contextlib.contextmanager
def atomic_gzip(path: str | os.PathLike, compresslevel: int = 3) -> Iterator[IO[bytes]]:
    """A gzip stream written atomically; the same rows always give the same bytes (no
    time stamp or file name in the gzip header)."""
    with (
        atomic_write(path, "wb") as raw,
        gzip.GzipFile(
            filename="", mode="wb", fileobj=raw, compresslevel=compresslevel, mtime=0
        ) as fh,
    ):
        yield fh


def sweep_temporaries(folder: str | os.PathLike) -> list[Path]:
    """Remove temporaries left in ``folder`` by fnstore processes that no longer run.

    A live process's temporaries are kept (it may still be writing them). Returns what was
    removed.

    Parameters
    ----------
    folder : str or os.PathLike
        Folder holding outputs; only its ``.tmp-*`` entries (files, and the folders
        :mod:`fnstore.io.outputs` writes) are looked at.

    Returns
    -------
    list of pathlib.Path
        The files removed.
    """
    removed = []
    for tmp in Path(folder).glob(f"{TEMP_PREFIX}*"):
        pid = tmp.name[len(TEMP_PREFIX) :].split("-", 1)[0]
        if pid.isdigit() and _alive(int(pid)):
            continue
        with contextlib.suppress(FileNotFoundError):
            shutil.rmtree(tmp) if tmp.is_dir() else tmp.unlink()  # folders: io.outputs
            removed.append(tmp)
    return removed


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class _Aborted(Exception):
    """Thrown into a writer's pending atomic outputs so they remove their temporaries."""


class AtomicOutput:
    """Base of streaming writers whose files appear under their final names only on success.

    A writer opens its outputs through :meth:`_open` (``atomic_write``, ``atomic_gzip`` or
    ``atomic_path`` context managers) and registers library handles to close with
    :meth:`_on_finish`; :meth:`close` renames everything into place, :meth:`abort` (or
    leaving a ``with`` block by an exception) closes and removes the temporaries, so an
    interrupted export never leaves a half file that looks finished.
    """

    def __init__(self) -> None:
        self._output = contextlib.ExitStack()
        self.closed = False

    def _open(self, manager: contextlib.AbstractContextManager[Any]) -> Any:
        return self._output.enter_context(manager)

    def _on_finish(self, close: Any, *args: Any, **kwargs: Any) -> None:
        """Call ``close(*args, **kwargs)`` before the rename (or the removal on abort)."""
        self._output.callback(close, *args, **kwargs)

    def close(self) -> None:
        """Finish the outputs and rename them into place (subclasses finish their data first)."""
        self._output.close()
        self.closed = True

    def abort(self) -> None:
        """Close and remove whatever was written; the final names are left untouched."""
        if not self.closed:
            self.closed = True
            self._output.__exit__(_Aborted, _Aborted(), None)

    def __enter__(self) -> AtomicOutput:
        return self

    def __exit__(self, exc_type: Any, *_: Any) -> None:
        if exc_type is not None:
            self.abort()
        elif not self.closed:
            self.close()
