"""One writer per output: an advisory lock beside each store, model folder or prediction folder.

Why ``flock`` on a sibling file rather than a PID file alone: the kernel drops an ``flock``
when its process dies, however it dies, so a lock left by a killed run is free at once and
is taken over without guessing from PIDs (which are reused). The file still records who
holds it (PID, host, start time), so a second writer is told exactly what is in its way.
The lock lives beside the output (``.NAME.fnstore-lock``), so it exists before the output
does and survives the output being replaced.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from fnstore.errors import InputError

LOCK_SUFFIX = ".fnstore-lock"


def lock_path(output: str | os.PathLike) -> Path:
    """Where the lock of ``output`` lives: a hidden file in the same folder.

    Parameters
    ----------
    output : str or os.PathLike
        A store, model folder or prediction folder; it need not exist.

    Returns
    -------
    pathlib.Path
        Absolute ``.NAME.fnstore-lock`` beside ``output``.
    """
    p = Path(output).absolute()
    return p.with_name(f".{p.name}{LOCK_SUFFIX}")


def _holder(fd: int) -> str:
    try:
        info = json.loads(os.pread(fd, 4096, 0) or b"{}")
        return f"PID {info['pid']} on {info['host']} since {info['since']}"
    except (ValueError, KeyError, OSError):
        return "another process"


@contextlib.contextmanager
def output_lock(output: str | os.PathLike) -> Iterator[Path]:
    """Hold the lock of ``output`` for the ``with`` block, or refuse at once.

    Raises
    ------
    InputError
        ``OUTPUT: in use by PID … on HOST since …`` when another live process holds it.
    """
    if "://" in str(output):  # remote outputs: object stores have no flock
        yield Path(str(output))
        return
    path = lock_path(output)
    while True:
        try:  # a read-only folder or a full disk: name the output, not the hidden lock
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise OSError(exc.errno, exc.strerror, str(output)) from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _holder(fd)
            os.close(fd)
            raise InputError(output, f"in use by {holder}") from None
        # the previous holder may have removed the file between our open and our lock:
        # then we hold a lock on a deleted file and must start again on the new one
        try:
            same = os.fstat(fd).st_ino == os.stat(path).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)
    try:
        since = datetime.now(UTC).isoformat(timespec="seconds")
        record = {"pid": os.getpid(), "host": socket.gethostname(), "since": since}
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(record).encode(), 0)
        yield path
    finally:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        os.close(fd)
