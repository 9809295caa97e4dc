"""The ``fnstore`` command group; the command families register on it.

Heavy libraries (TensorFlow/Keras, matplotlib) are imported inside the commands that need
them, so ``fnstore --help`` and ``fnstore info`` start instantly. Every expected failure
is an :class:`fnstore.errors.FnstoreError` and is printed as one line with exit code 1.
"""

from __future__ import annotations

import click

from fnstore import __version__
from fnstore.errors import FnstoreError


class OneLineErrors(click.Group):
    """The one place where an expected failure becomes ``Error: <file>: <problem>``.

    Handling it at the group rather than per command also covers what option callbacks
    raise while a command's arguments are parsed.
    """

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except FnstoreError as exc:
            click.echo(f"Error: {exc}", err=True)
            ctx.exit(1)
        except KeyboardInterrupt:
            click.echo("Interrupted.", err=True)
            ctx.exit(130)


@click.group(
    cls=OneLineErrors,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(__version__, prog_name="fnstore")
def main() -> None:
    """fnstore: build a FactorNet-style Zarr store once, train many models against it,
    predict, evaluate and export.

    \b
    Quick start on the bundled example:
      fnstore demo /tmp/fnstore-demo
    """
