"""Plain files: hashing, existence checks, text that may be compressed, and atomic writes.

Every file fnstore writes goes through :func:`atomic_write` or :func:`atomic_path`: the
data is written under a hidden temporary name in the target folder and renamed over the
final name only once complete, so a killed process never leaves a file under its final
name that looks finished. The temporary name ends with the final name, so writers that
pick a format by suffix (Keras ``.keras``, gzip ``.gz``) behave as for the real file.
"""

from __future__ import annotations

import contextlib
import functools
import gzip
import hashlib
import io
import os
import re
import secrets
import shutil
import sys
import tempfile
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


#: ``errno`` as libraries quote it inside their own messages (pyarrow, HDF5)
_QUOTED_ERRNO = re.compile(r"\[errno (\d+)\]|errno = (\d+)", re.IGNORECASE)


def os_error_for(exc: BaseException, path: str | os.PathLike) -> OSError | None:
    """``exc`` as an ``OSError`` naming ``path``, when it is a failed system call that
    names no file (a full disk inside ``write``) or a library's wrapper of one.

    Parameters
    ----------
    exc : BaseException
        What a writer raised.
    path : str or os.PathLike
        The output the user asked for, named instead of a temporary.

    Returns
    -------
    OSError or None
        The renamed error, or None when ``exc`` is not a system error left unnamed.
    """
    if isinstance(exc, OSError) and exc.filename is not None:
        inside = _inside_scratch_of(exc.filename, path)
        return None if inside is None else OSError(exc.errno, exc.strerror, inside)
    code = exc.errno if isinstance(exc, OSError) else None
    if not code:
        quoted = _QUOTED_ERRNO.search(str(exc))
        code = int(quoted.group(1) or quoted.group(2)) if quoted else None
    if not code or not isinstance(exc, (OSError, RuntimeError)):
        return None
    return OSError(code, os.strerror(code), str(path))


def _inside_scratch_of(name: object, path: str | os.PathLike) -> str | None:
    """``name`` with the hidden file or folder a writer made beside ``path`` while writing
    it (``.tmp-<pid>-<token>.NAME``, ``.NAME.<random>``) replaced by ``path``; None when
    ``name`` lies in no such scratch."""
    if not isinstance(name, (str, os.PathLike)):
        return None
    final = Path(path)
    parts = Path(os.fspath(name)).parts
    for i, part in enumerate(parts):
        if part.startswith(".") and final.name in part and part != final.name:
            return str(final.joinpath(*parts[i + 1 :]))
    return None


@contextlib.contextmanager
def naming_os_errors(path: str | os.PathLike) -> Iterator[None]:
    """Re-raise a system error met while writing ``path`` so that it names ``path``: a full
    disk or a write past a size limit otherwise reaches the user as a bare ``No space left
    on device``, and a refused temporary as its hidden ``.tmp-`` name.

    Parameters
    ----------
    path : str or os.PathLike
        The output named in the error, also in place of the hidden temporaries beside it.
    """
    try:
        yield
    except (OSError, RuntimeError) as exc:
        named = os_error_for(exc, path)
        if named is None:
            raise
        raise named from exc


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path to write ``path`` through; rename it into place on success.

    For writers that want a file name rather than a handle (pyBigWig, zipfile, h5py,
    Keras). On any exception the temporary file is removed and the final name untouched.
    """
    final = Path(path)
    tmp = _temporary_name(final)
    try:
        with naming_os_errors(final):
            yield tmp
            with contextlib.suppress(FileNotFoundError):  # its hash (io.digests) would be stale
                final.with_name(final.name + ".sha256").unlink()
            os.replace(tmp, final)
    finally:
        if os.path.lexists(tmp):  # on a read-only folder it was never made
            with contextlib.suppress(OSError):
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

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """Guard each writer's ``__init__``: a failure there (a read-only folder, a full
        disk) removes what it opened and names the output, as a failure later does."""
        super().__init_subclass__(**kwargs)
        init = cls.__dict__.get("__init__")
        if init is None:
            return

        @functools.wraps(init)
        def guarded(self: AtomicOutput, *args: Any, **kw: Any) -> None:
            try:
                init(self, *args, **kw)
            except BaseException as exc:
                if hasattr(self, "_output"):
                    self.abort()
                self._name_error(exc)
                raise

        cls.__init__ = guarded  # type: ignore[method-assign]

    def _name_error(self, exc: BaseException) -> None:
        """Raise ``exc`` again as an ``OSError`` naming this output, where it is a system
        error naming no file or only a temporary (see :func:`os_error_for`)."""
        path = getattr(self, "path", None)
        named = os_error_for(exc, path) if path is not None else None
        if named is not None:
            raise named from exc

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

    def __exit__(self, exc_type: Any, exc: BaseException | None, *_: Any) -> None:
        if exc is not None:
            self.abort()
            self._name_error(exc)
        elif not self.closed:
            self.close()


@contextlib.contextmanager
def native_stderr() -> Iterator[list[str]]:
    """Capture what C libraries (libBigWig, htslib) print on file descriptor 2 meanwhile.

    They report a failure there and return an error code, so fnstore's own one-line error
    would follow their lines. Used only around a native call that may fail; the caller
    decides whether the text was a failure (then it is dropped) or a warning to pass on
    (:func:`pass_on`). Yields a list that holds the text once the block has ended.

    Returns
    -------
    Iterator[list of str]
        A one-element list filled on exit.
    """
    sys.stderr.flush()
    saved = os.dup(2)
    captured: list[str] = []
    with tempfile.TemporaryFile() as sink:
        try:
            os.dup2(sink.fileno(), 2)
            yield captured
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            sink.seek(0)
            captured.append(sink.read().decode("utf-8", "replace"))


def pass_on(captured: list[str]) -> None:
    """Write text captured by :func:`native_stderr` to stderr after all (a warning).

    Parameters
    ----------
    captured : list of str
        What :func:`native_stderr` yielded.
    """
    if captured and captured[0]:
        sys.stderr.write(captured[0])
        sys.stderr.flush()


class _Discardable(io.RawIOBase):
    """A binary file whose writes can be switched off (see :func:`discardable_file`)."""

    def __init__(self, path: str | os.PathLike) -> None:
        super().__init__()
        self.fh = open(path, "w+b")  # noqa: SIM115 - closed by close()
        self.discard = False
        self.pos = 0

    def readable(self) -> bool:
        return True

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = 0) -> int:
        if not self.discard:
            self.pos = self.fh.seek(offset, whence)
        else:
            self.pos = offset if whence == os.SEEK_SET else self.pos + offset
        return self.pos

    def tell(self) -> int:
        return self.pos if self.discard else self.fh.tell()

    def readinto(self, buffer: Any) -> int:
        return 0 if self.discard else self.fh.readinto(buffer)

    def write(self, data: Any) -> int:
        if self.discard:
            self.pos += len(memoryview(data))
            return len(memoryview(data))
        return self.fh.write(data)

    def truncate(self, size: int | None = None) -> int:
        return self.pos if self.discard else self.fh.truncate(size)

    def flush(self) -> None:
        if not self.discard and not self.fh.closed:
            self.fh.flush()

    def close(self) -> None:
        self.fh.close()
        super().close()


def discardable_file(path: str | os.PathLike) -> Any:
    """A new binary file for a library that keeps writing after a failure.

    HDF5 retries its failed writes when the interpreter exits and crashes there
    (segmentation fault) once a disk is full; setting ``.discard = True`` on the returned
    handle before closing the library's file lets that close succeed, writing nothing.

    Parameters
    ----------
    path : str or os.PathLike
        The (temporary) file, created or truncated.

    Returns
    -------
    io.RawIOBase
        A readable, writable, seekable handle with a ``discard`` flag.
    """
    return _Discardable(path)
