"""The ``fnstore`` command line: one module per command family over the Python API.

Importing this package registers every family's commands on :data:`main`.
"""

from fnstore.cli import demo, export, interpret, predict, store, sweep, train  # noqa: F401
from fnstore.cli.app import main
from fnstore.cli.options import add_storage_options

for _command in main.commands.values():  # every command that reads a store
    add_storage_options(_command)

__all__ = ["main"]
