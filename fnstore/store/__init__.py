"""The store: the one place that knows fnstore's Zarr layout (schema version 1).

Modules: :mod:`~fnstore.store.layout` (names, chunking, coordinate arithmetic),
:mod:`~fnstore.store.backends` (folder, ``.zip`` or URL), :mod:`~fnstore.store.write`
(create and commit), :mod:`~fnstore.store.chunks` (whole-chunk reads),
:mod:`~fnstore.store.grid` (bin and region arithmetic), :mod:`~fnstore.store.read`
(:class:`Store`), :mod:`~fnstore.store.regions` (the one region type, window placement,
runs of bins), :mod:`~fnstore.store.labels` (the labelling rule),
:mod:`~fnstore.store.encoding` (base codes) and :mod:`~fnstore.store.validate`.
"""

from fnstore.store.backends import is_remote, remove_store, store_exists, store_size
from fnstore.store.chunks import ChunkReader, whole_chunk_reader
from fnstore.store.layout import (
    DEFAULT_BIN_CHUNK,
    DEFAULT_POSITION_CHUNK,
    FORMAT_NAME,
    SCHEMA_VERSION,
    STATUS_BUILDING,
    STATUS_COMPLETE,
    Layout,
    Task,
)
from fnstore.store.read import Store, open_store
from fnstore.store.write import create_store, mark_complete, open_for_writing

__all__ = [
    "DEFAULT_BIN_CHUNK",
    "DEFAULT_POSITION_CHUNK",
    "FORMAT_NAME",
    "SCHEMA_VERSION",
    "STATUS_BUILDING",
    "STATUS_COMPLETE",
    "ChunkReader",
    "Layout",
    "Store",
    "Task",
    "create_store",
    "is_remote",
    "mark_complete",
    "open_for_writing",
    "open_store",
    "remove_store",
    "store_exists",
    "store_size",
    "whole_chunk_reader",
]
