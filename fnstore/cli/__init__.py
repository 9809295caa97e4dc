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

__all__ = ["main"]
