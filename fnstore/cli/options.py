"""Option parsing and error handling shared by every command.

Options are parsed at the edge (comma lists split, aliases read) by click callbacks, so
a command receives the values its Python API takes and forwards them unchanged.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click


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


def csv_list(
    ctx: click.Context, param: click.Parameter, value: tuple[str, ...]
) -> list[str] | None:
    """Callback form of :func:`split_csv`: ``--x a,b --x c`` arrives as ``[a, b, c]``."""
    return split_csv(value)


def csv_option(name: str, dest: str | None = None, *, help: str) -> Callable[..., Any]:
    """A repeatable option whose comma-separated values arrive as one list (None if absent)."""
    decls = [name, dest] if dest else [name]
    return click.option(*decls, multiple=True, callback=csv_list, help=help)


def chroms_option(help: str, metavar: str | None = None) -> Callable[..., Any]:
    """``--chroms``: chromosomes (or regions), comma-separated or repeated, as a list."""
    return click.option("--chroms", multiple=True, callback=csv_list, metavar=metavar, help=help)


def regions_option(help: str) -> Callable[..., Any]:
    """``--regions``: a BED file path."""
    return click.option("--regions", type=click.Path(dir_okay=False), help=help)


def choice_option(
    name: str, choices: list[str], default: str, help: str, **kwargs: Any
) -> Callable[..., Any]:
    """An option taking one of ``choices``, its default shown in ``--help``."""
    return click.option(
        name, type=click.Choice(choices), default=default, show_default=True, help=help, **kwargs
    )


#: ``--quiet`` of the commands that draw one progress bar
quiet_option = click.option("--quiet", is_flag=True, help="No progress bar.")


def track_aliases(ctx: click.Context, param: click.Parameter, value: tuple[str, ...]) -> dict:
    """Callback: ``--track-alias A=B`` options as a ``{A: B}`` mapping (checked there)."""
    from fnstore.model.legacy import parse_track_aliases

    return parse_track_aliases(value)


#: ``--json`` on every command that prints a summary (stdout is then only the JSON)
json_option = click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Print the result as JSON on stdout (progress and notes go to stderr).",
)


def as_plain(result: Any) -> Any:
    """A result object as JSON-able data: its ``to_dict()``, a dataclass's fields, a mapping.

    Parameters
    ----------
    result
        What a command's API call returned.

    Returns
    -------
    Any
        Plain dicts, lists and scalars (paths and other objects become strings when dumped).
    """
    import dataclasses

    if hasattr(result, "to_dict"):
        return result.to_dict()
    if dataclasses.is_dataclass(result) and not isinstance(result, type):
        return dataclasses.asdict(result)
    return dict(result) if isinstance(result, dict) else result


def echo_result(result: Any, as_json: bool, text: str | None = None) -> None:
    """Print ``result``: JSON when ``as_json``, else ``text`` (default: its ``summary()``).

    Parameters
    ----------
    result
        The API call's result.
    as_json
        The ``--json`` flag.
    text
        The human summary when it is not ``result.summary()``.
    """
    import json

    if as_json:
        click.echo(json.dumps(as_plain(result), indent=2, default=str))
    else:
        click.echo(text if text is not None else result.summary())


#: parameter names of the commands that read a store: each gets ``--storage-options``
STORE_PARAMS = frozenset({"store", "store_opt", "path"})


def _storage_options(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
    """Check the JSON and hand it to every store opened by this command (through the
    environment, so each API call below reads it without a new argument)."""
    if value is None:
        return
    import json
    import os

    from fnstore.store.backends import STORAGE_OPTIONS_ENV

    try:
        parsed = json.loads(value)
    except json.JSONDecodeError as exc:
        raise click.BadParameter(f"not JSON ({exc})") from None
    if not isinstance(parsed, dict):
        raise click.BadParameter("must be a JSON object, e.g. '{\"anon\": true}'")
    before = os.environ.get(STORAGE_OPTIONS_ENV)
    os.environ[STORAGE_OPTIONS_ENV] = value

    def restore() -> None:
        if before is None:
            os.environ.pop(STORAGE_OPTIONS_ENV, None)
        else:
            os.environ[STORAGE_OPTIONS_ENV] = before

    ctx.call_on_close(restore)


def add_storage_options(command: click.Command) -> None:
    """Give a command that reads a store ``--storage-options JSON`` (once).

    Parameters
    ----------
    command : click.Command
        A command; one without a store argument is left as it is.
    """
    names = {p.name for p in command.params}
    if "storage_options" in names or not names & STORE_PARAMS:
        return
    command.params.append(
        click.Option(
            ["--storage-options"],
            metavar="JSON",
            expose_value=False,
            is_eager=True,
            callback=_storage_options,
            help="fsspec storage options of a remote store (http(s)://, s3://, gs://, "
            "icechunk://s3://...) as a JSON object, e.g. '{\"anon\": true}' "
            "(default: $FNSTORE_STORAGE_OPTIONS).",
        )
    )
