"""Readers of build inputs and the chunked, parallel, resumable store build."""

from fnstore.build.builder import build_store, prepare
from fnstore.build.spec import load_spec

__all__ = ["build_store", "load_spec", "prepare"]
