"""File writers for ``fnstore export``: each takes row blocks and streams them to disk.

Writers never see the store; :mod:`fnstore.export` reads the store chunk by chunk and
hands every block to one writer, so memory stays one block whatever the export size.
"""
