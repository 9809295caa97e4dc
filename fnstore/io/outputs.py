"""Output folders replaced whole, and refusals to replace what fnstore did not make.

Why a swap rather than writing in place: a model folder (weights, card, history) or a Zarr
group is many files; rewritten in place, a killed process leaves a mix of old and new
files under the final name. Here the new folder is written under a hidden temporary name
beside the target (``.tmp-<pid>-<token>.<name>``, the prefix of every fnstore temporary,
so :func:`fnstore.io.files.sweep_temporaries` removes it after a crash) and exchanged with
the old one in one ``renameat2(RENAME_EXCHANGE)`` call: at every moment the final name
holds either the complete old folder or the complete new one. Filesystems without the
exchange (it needs Linux 3.15) fall back to two renames through a backup name that the
next write restores when a kill fell between them.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path

from fnstore.errors import InputError
from fnstore.io.files import TEMP_PREFIX, naming_os_errors

_AT_FDCWD = -100
_RENAME_EXCHANGE = 2
_BACKUP_SUFFIX = ".fnstore-previous"


def _exchange(a: Path, b: Path) -> bool:
    """Swap two existing paths atomically; False where the system cannot."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        call = libc.renameat2
    except (OSError, AttributeError):
        return False
    if call(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP):
        return False
    raise OSError(err, os.strerror(err), str(b))


def _backup(final: Path) -> Path:
    return final.with_name(f".{final.name}{_BACKUP_SUFFIX}")


def _sync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def restore_backup(final: str | os.PathLike) -> None:
    """Put back the old folder when a kill fell between the fallback's two renames
    (:func:`replace_folder` without ``RENAME_EXCHANGE``); a no-op otherwise.

    Parameters
    ----------
    final : str or os.PathLike
        The output folder about to be written.
    """
    final = Path(final)
    backup = _backup(final)
    if backup.is_dir() and not final.exists():
        os.rename(backup, final)
    elif backup.is_dir():
        shutil.rmtree(backup)


def replace_folder(new: str | os.PathLike, final: str | os.PathLike) -> None:
    """Move the complete folder ``new`` to ``final``, replacing any folder there at once.

    Parameters
    ----------
    new : str or os.PathLike
        The finished folder, beside ``final`` (same filesystem).
    final : str or os.PathLike
        The output's name; an old folder there is removed once the new one is in place.
    """
    new, final = Path(new), Path(final)
    if not final.exists():
        os.rename(new, final)
    elif _exchange(new, final):
        shutil.rmtree(new)  # now the old folder
    else:
        backup = _backup(final)
        os.rename(final, backup)
        os.rename(new, final)
        shutil.rmtree(backup)
    _sync_dir(final.parent)


@contextlib.contextmanager
def temporary_folder(final: str | os.PathLike) -> Iterator[Path]:
    """Yield an empty folder to write ``final`` into; swap it in when the block succeeds.

    On an exception the temporary folder is removed and ``final`` is left as it was.

    Parameters
    ----------
    final : str or os.PathLike
        The output folder; its parent is created if needed.

    Yields
    ------
    pathlib.Path
        The hidden temporary folder beside ``final``.
    """
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    restore_backup(final)
    work = final.with_name(f"{TEMP_PREFIX}{os.getpid()}-{secrets.token_hex(4)}.{final.name}")
    try:
        with naming_os_errors(final):  # a full disk or read-only folder names ``final``
            work.mkdir()
            yield work
            replace_folder(work, final)
    finally:
        if work.exists():
            shutil.rmtree(work, ignore_errors=True)


def describe(path: str | os.PathLike) -> str:
    """What a path holds, for a refusal: ``a file of 12 bytes``, ``an empty folder``,
    ``a folder holding 3 entries (a, b, c)``.

    Parameters
    ----------
    path : str or os.PathLike
        An existing path.

    Returns
    -------
    str
        A short phrase.
    """
    p = Path(path)
    if not p.is_dir():
        return f"a file of {p.stat().st_size:,} bytes" if p.is_file() else "neither file nor folder"
    names = sorted(e.name for e in p.iterdir())
    if not names:
        return "an empty folder"
    shown = ", ".join(names[:5]) + (", ..." if len(names) > 5 else "")
    return f"a folder holding {len(names)} entr{'y' if len(names) == 1 else 'ies'} ({shown})"


def refuse_foreign(path: str | os.PathLike, what: str, holds: str | None = None) -> None:
    """Refuse to replace ``path`` because it is not ``what``, naming what it holds.

    Parameters
    ----------
    path : str or os.PathLike
        The output that exists.
    what : str
        What ``--overwrite`` would replace there (``"an fnstore store"``).
    holds : str, optional
        What it holds instead; default :func:`describe`.

    Raises
    ------
    InputError
        Always.
    """
    raise InputError(
        path,
        f"not {what} but {holds or describe(path)}; --overwrite replaces only {what}",
    )
