"""The ``fnstore`` command line: one module per command family over the Python API.

Importing this package registers every family's commands on :data:`main`.
"""

from fnstore.cli import (  # noqa: F401
    demo,
    export,
    interpret,
    predict,
    store,
    sweep,
    train,
    variants,
)
from fnstore.cli.app import main
from fnstore.cli.options import add_storage_options

for _command in main.commands.values():  # every command that reads a store
    add_storage_options(_command)

__all__ = ["main"]
