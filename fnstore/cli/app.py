"""The ``fnstore`` command group; the command families register on it.

Heavy libraries (TensorFlow/Keras, matplotlib) are imported inside the commands that need
them, so ``fnstore --help`` and ``fnstore info`` start instantly. Every failure is printed
as one line ``Error: <file>: <problem>`` with exit code 1; ``--verbose`` shows the full
traceback and the deep-learning framework's own start-up logging instead.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import sys
from collections.abc import Iterator

import click

from fnstore import __version__
from fnstore.errors import FnstoreError
from fnstore.progress import progress_mode, set_progress_mode


def error_line(exc: BaseException) -> str:
    """The one line a user sees for ``exc``: the file first where there is one."""
    if isinstance(exc, FnstoreError):
        return f"Error: {exc}"
    if isinstance(exc, OSError) and exc.strerror:
        where = exc.filename
        return f"Error: {where}: {exc.strerror}" if where else f"Error: {exc.strerror}"
    return f"Error: unexpected {type(exc).__name__}: {exc} (rerun with --verbose for details)"


@contextlib.contextmanager
def muted_native_stderr() -> Iterator[None]:
    """Send file descriptor 2 to /dev/null: TensorFlow's C++ (absl) start-up logging
    ignores ``TF_CPP_MIN_LOG_LEVEL`` and writes there directly while it is imported."""
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def load_keras_quietly() -> None:
    """Import Keras (and its backend) once, with the native start-up noise muted."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if "keras" in sys.modules:
        return
    with muted_native_stderr():
        importlib.import_module("keras")


class KerasCommand(click.Command):
    """A command that uses Keras: the framework is imported, its C++ start-up logging
    muted (unless ``--verbose``), once the command's arguments are parsed, so ``--help``
    and usage errors stay instant."""

    def invoke(self, ctx: click.Context) -> object:
        from fnstore.backend import require_framework

        require_framework(ctx.info_name or "")
        if not ctx.find_root().params.get("verbose"):
            load_keras_quietly()
        return super().invoke(ctx)


class OneLineErrors(click.Group):
    """The one place where a failure becomes ``Error: <file>: <problem>``.

    Handling it at the group rather than per command also covers what option callbacks
    raise while a command's arguments are parsed. Click's own usage errors and exits pass
    through untouched.
    """

    def invoke(self, ctx: click.Context) -> object:
        verbose = bool(ctx.params.get("verbose"))
        try:
            return super().invoke(ctx)
        except (click.exceptions.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except KeyboardInterrupt:
            click.echo("Interrupted.", err=True)
            ctx.exit(130)
        except Exception as exc:
            if verbose:
                raise
            click.echo(error_line(exc), err=True)
            ctx.exit(1)


@click.group(
    cls=OneLineErrors,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(__version__, prog_name="fnstore")
@click.option(
    "-v", "--verbose", is_flag=True, help="Full tracebacks and framework logging on failure."
)
@click.option(
    "-q", "--quiet", is_flag=True, help="No progress output from any command (bars, lines, epochs)."
)
@click.option(
    "--backend",
    type=click.Choice(["tensorflow", "jax", "torch"]),
    help="Keras backend for train/predict/interpret (default: $KERAS_BACKEND, else tensorflow).",
)
@click.pass_context
def main(ctx: click.Context, verbose: bool, quiet: bool, backend: str | None) -> None:
    """fnstore: build a FactorNet-style Zarr store once, train many models against it,
    predict, evaluate and export.

    Progress goes to stderr: a bar on a terminal, a plain line every few seconds in a log
    (FNSTORE_PROGRESS=bar|lines|off forces one).

    \b
    Quick start on the bundled example:
      fnstore demo /tmp/fnstore-demo
    """
    if quiet:
        before = set_progress_mode("off")
        ctx.call_on_close(lambda: set_progress_mode(before))
    progress_mode()  # a bad FNSTORE_PROGRESS fails here, before a command writes anything
    if backend:
        from fnstore.backend import select_backend

        select_backend(backend)
