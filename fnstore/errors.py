"""One exception family, so the CLI can turn any expected failure into one line."""

from __future__ import annotations


class FnstoreError(Exception):
    """Base class for every error fnstore expects and reports as one line."""


class InputError(FnstoreError):
    """A user-supplied file or option is missing, malformed or inconsistent.

    The message always names the offending file (or option) first, so the CLI can
    print it verbatim: ``"peaks.narrowPeak.gz: line 3: end < start"``.
    """

    def __init__(self, source: object, problem: str) -> None:
        self.source = str(source)
        self.problem = problem
        super().__init__(f"{self.source}: {problem}")


class StoreError(FnstoreError):
    """A store is missing, incomplete, of an unsupported schema version, or damaged."""
