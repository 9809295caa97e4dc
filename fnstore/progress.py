"""The one progress policy: bars on a terminal, plain lines in a log, nothing when asked.

A tqdm bar (or Keras's per-batch bar) redrawn into a file is one enormous line of carriage
returns and escape codes, unreadable in a batch-job log. So every command shows progress
through :func:`progress_bar`, which draws a tqdm bar only when stderr is a terminal and
otherwise prints a plain line (``export: 40% (12,000/30,000 bins) 3.1 s``) now and then and
at the end; Keras's ``verbose`` goes through :func:`keras_verbose` for the same reason.

The mode is decided once per bar: ``fnstore -q`` (:func:`set_progress_mode`) wins, then the
``FNSTORE_PROGRESS`` environment variable (``bar``, ``lines`` or ``off``, which tests and
job scripts use to force a mode), then whether the stream is a terminal. Only the standard
library is imported here; tqdm is imported when a bar is drawn.
"""

from __future__ import annotations

import os
import sys
import time
from typing import IO, Any

from fnstore.errors import InputError

#: environment variable forcing a mode
ENV = "FNSTORE_PROGRESS"
#: the modes: a redrawn bar, occasional plain lines, nothing
MODES = ("bar", "lines", "off")
#: seconds between two plain progress lines (the last, at 100 %, is always printed)
LINE_INTERVAL = 10.0

#: units whose plural is the same word
_NO_PLURAL = {"bp"}

_forced: str | None = None
#: the clock lines are spaced by (a test replaces it)
_clock = time.monotonic


def set_progress_mode(mode: str | None) -> str | None:
    """Force a mode for this process (``fnstore -q`` sets ``off``); None restores the default.

    Parameters
    ----------
    mode : str or None
        One of :data:`MODES`, or None to follow ``FNSTORE_PROGRESS`` and the terminal again.

    Returns
    -------
    str or None
        The mode forced before, to restore it afterwards.
    """
    global _forced
    if mode is not None and mode not in MODES:
        raise ValueError(f"progress mode must be one of {', '.join(MODES)}, not {mode!r}")
    before, _forced = _forced, mode
    return before


def progress_mode(stream: IO[str] | None = None) -> str:
    """The mode progress on ``stream`` is shown in: ``bar``, ``lines`` or ``off``.

    Parameters
    ----------
    stream : file, optional
        Where the progress goes (default: the current ``sys.stderr``).

    Returns
    -------
    str
        The forced mode, else ``FNSTORE_PROGRESS``, else ``bar`` on a terminal and ``lines``
        elsewhere.
    """
    if _forced is not None:
        return _forced
    env = os.environ.get(ENV, "").strip().lower()
    if env:
        if env not in MODES:
            raise InputError(ENV, f"expected one of {', '.join(MODES)}, got {env!r}")
        return env
    stream = sys.stderr if stream is None else stream
    try:
        return "bar" if stream.isatty() else "lines"
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return "lines"


def is_interactive(stream: IO[str] | None = None) -> bool:
    """Whether progress on ``stream`` is drawn as a redrawn bar (a terminal, or forced).

    Parameters
    ----------
    stream : file, optional
        Where the progress goes (default: the current ``sys.stderr``).

    Returns
    -------
    bool
        True in ``bar`` mode.
    """
    return progress_mode(stream) == "bar"


def keras_verbose(requested: int) -> int:
    """Keras's ``verbose`` for ``requested``: a line per epoch (2) instead of a bar (1) off a
    terminal, since Keras redraws its bar with carriage returns and escape codes.

    Parameters
    ----------
    requested : int
        What the caller asked for: 0 silent, 1 a bar, 2 one line per epoch.

    Returns
    -------
    int
        0 stays 0 and progress ``off`` gives 0; 1 becomes 2 unless stdout is a terminal (or
        the ``bar`` mode is forced); 2 stays 2.
    """
    if requested == 0:
        return 0
    mode = progress_mode(sys.stdout)
    if mode == "off":
        return 0
    return 2 if mode == "lines" else requested


def progress_bar(
    total: int, desc: str, unit: str, enabled: bool = True, initial: int = 0
) -> Progress:
    """A progress counter for ``total`` units of work, shown the way :func:`progress_mode` says.

    Use it as a context manager and call ``update(n)`` as work is done; leaving the block
    closes the bar (a plain-lines counter then prints its 100 % line if it has not yet).

    Parameters
    ----------
    total : int
        Units of work in all.
    desc : str
        Label at the start of each line (``predict K562``).
    unit : str
        Name of one unit (``bin``, ``bp``, ``chunk``).
    enabled : bool
        False shows nothing whatever the mode (a command's own ``--quiet``).
    initial : int
        Units already done (a resumed run).

    Returns
    -------
    Progress
        A tqdm bar in ``bar`` mode, a plain-lines counter in ``lines`` mode, else a counter
        that prints nothing.
    """
    mode = progress_mode() if enabled else "off"
    if mode == "bar":
        return _TqdmProgress(total, desc, unit, initial)
    if mode == "lines":
        return _LineProgress(total, desc, unit, initial)
    return Progress(total, desc, unit, initial)


class Progress:
    """Counts work done; shows nothing itself (the ``off`` mode), its subclasses show it."""

    def __init__(self, total: int, desc: str, unit: str, initial: int = 0) -> None:
        self.total, self.desc, self.unit, self.n = int(total), desc, unit, int(initial)

    def update(self, n: int = 1) -> None:
        """Count ``n`` more units done.

        Parameters
        ----------
        n : int
            Units just finished.

        Returns
        -------
        None
        """
        self.n += int(n)

    def close(self, finished: bool = True) -> None:
        """Stop showing progress.

        Parameters
        ----------
        finished : bool
            False when the work stopped early (an error): no final line.

        Returns
        -------
        None
        """

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, exc_type: Any, *_: Any) -> None:
        self.close(finished=exc_type is None)


class _TqdmProgress(Progress):
    """A tqdm bar on stderr (on a terminal, or ``FNSTORE_PROGRESS=bar``)."""

    def __init__(self, total: int, desc: str, unit: str, initial: int = 0) -> None:
        super().__init__(total, desc, unit, initial)
        from tqdm.auto import tqdm

        self._bar = tqdm(
            total=self.total, initial=self.n, desc=desc, unit=unit, unit_scale=True, file=sys.stderr
        )

    def update(self, n: int = 1) -> None:
        """Count ``n`` more units and redraw the bar.

        Parameters
        ----------
        n : int
            Units just finished.

        Returns
        -------
        None
        """
        super().update(n)
        self._bar.update(int(n))

    def close(self, finished: bool = True) -> None:  # noqa: ARG002
        """Close the bar.

        Parameters
        ----------
        finished : bool
            Unused: tqdm leaves the bar as it stands.

        Returns
        -------
        None
        """
        self._bar.close()


class _LineProgress(Progress):
    """Plain lines on stderr: one every :data:`LINE_INTERVAL` seconds at most, and one at
    100 %; never a carriage return or an escape code, so a log file reads line by line."""

    def __init__(self, total: int, desc: str, unit: str, initial: int = 0) -> None:
        super().__init__(total, desc, unit, initial)
        self._stream = sys.stderr
        self._start = self._last = _clock()
        self._done = False

    def update(self, n: int = 1) -> None:
        """Count ``n`` more units; print a line at 100 % or when the last is old enough.

        Parameters
        ----------
        n : int
            Units just finished.

        Returns
        -------
        None
        """
        super().update(n)
        now = _clock()
        if self.n >= self.total or now - self._last >= LINE_INTERVAL:
            self._print(now)

    def close(self, finished: bool = True) -> None:
        """Print the 100 % line if the work finished and it has not been printed.

        Parameters
        ----------
        finished : bool
            False when the work stopped early (an error): no final line.

        Returns
        -------
        None
        """
        if finished and not self._done:
            self._print(_clock())

    def _print(self, now: float) -> None:
        if self._done:
            return
        self._last = now
        self._done = self.n >= self.total
        print(self.line(now - self._start), file=self._stream, flush=True)

    def line(self, seconds: float) -> str:
        """The progress line after ``seconds``: ``desc: 40% (12,000/30,000 bins) 3.1 s``.

        Parameters
        ----------
        seconds : float
            Time since the counter started.

        Returns
        -------
        str
            One line, no carriage return or escape code.
        """
        pct = 100 if self.total <= 0 else min(100, int(100 * self.n / self.total))
        unit = self.unit if self.total == 1 or self.unit in _NO_PLURAL else f"{self.unit}s"
        return f"{self.desc}: {pct}% ({self.n:,}/{self.total:,} {unit}) {_duration(seconds)}"


def _duration(seconds: float) -> str:
    """``3.1 s``, ``2 min 05 s``, ``1 h 02 min``: short and readable in a log."""
    if seconds < 60:
        return f"{seconds:.1f} s"
    s = int(seconds)
    if s < 3600:
        return f"{s // 60} min {s % 60:02d} s"
    return f"{s // 3600} h {s % 3600 // 60:02d} min"
