"""Store slices to other tools' formats, streamed chunk by chunk: ``fnstore.export.export``."""

from fnstore.export.run import ExportResult, export

__all__ = ["ExportResult", "export"]
