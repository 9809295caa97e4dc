"""Run-length encoding of per-base signal values, the shape bigWig and bedGraph entries take.

Zeros are not written (the store cannot tell "no data" from 0, and bigWig/bedGraph files
conventionally leave empty regions out), so reading an export back gives NaN/absent
where the store holds 0.
"""

from __future__ import annotations

import numpy as np


def nonzero_value_runs(values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Runs of equal, non-zero, non-NaN values.

    Parameters
    ----------
    values
        Per-base values of one stretch.

    Returns
    -------
    tuple of numpy.ndarray
        ``(starts, ends, values)``: half-open offsets into ``values`` (int64) and each
        run's value (float32).
    """
    v = np.asarray(values, dtype=np.float32)
    if v.size == 0:
        empty = np.zeros(0, np.int64)
        return empty, empty, np.zeros(0, np.float32)
    change = np.flatnonzero(v[1:] != v[:-1]) + 1
    starts = np.concatenate([[0], change]).astype(np.int64)
    ends = np.concatenate([change, [v.size]]).astype(np.int64)
    vals = v[starts]
    keep = (vals != 0) & ~np.isnan(vals)
    return starts[keep], ends[keep], vals[keep]
