"""Foreign file formats, one module each: what fnstore reads and writes besides its store.

Every reader turns a broken file into one :class:`fnstore.errors.InputError` line naming
the file; every writer streams blocks of rows, so memory stays one block whatever the
output size.
"""
