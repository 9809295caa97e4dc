"""Option parsing and error handling shared by every command."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import Any

import click

from fnstore.errors import FnstoreError


def one_line_errors(func: Callable[..., Any]) -> Callable[..., Any]:
    """Turn expected errors into ``Error: <file>: <problem>`` and exit 1, never a traceback."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except FnstoreError as exc:
            click.echo(f"Error: {exc}", err=True)
            sys.exit(1)
        except KeyboardInterrupt:
            click.echo("Interrupted.", err=True)
            sys.exit(130)

    return wrapper


def split_csv(values: tuple[str, ...] | str | None) -> list[str] | None:
    """Accept ``--x a,b --x c`` and return ``[a, b, c]`` (None when not given)."""
    if not values:
        return None
    if isinstance(values, str):
        values = (values,)
    return [v for value in values for v in value.split(",") if v]


def parse_fdrs(ctx: click.Context, param: click.Parameter, value: str) -> list[float]:
    try:
        fdrs = [float(v) for v in value.split(",") if v.strip()]
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a comma-separated list of numbers") from None
    if not fdrs or any(not 0 < f < 1 for f in fdrs):
        raise click.BadParameter(
            f"{value!r}: each FDR must be a fraction between 0 and 1, e.g. 0.1"
        )
    return fdrs
