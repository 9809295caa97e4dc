"""One-hot windows in NLC or NCL order and a chosen dtype."""

from __future__ import annotations

import numpy as np
import pytest

from fnstore.errors import InputError
from fnstore.store.tensor_layout import check_layout, to_layout


def test_layouts_and_dtypes() -> None:
    x = np.arange(2 * 5 * 3, dtype=np.float16).reshape(2, 5, 3)
    assert to_layout(x, "NLC") is x  # nothing to do: no copy
    ncl = to_layout(x, "NCL", "float32")
    assert ncl.shape == (2, 3, 5) and ncl.dtype == np.float32 and ncl.flags.c_contiguous
    np.testing.assert_array_equal(ncl, x.astype(np.float32).transpose(0, 2, 1))
    assert check_layout("ncl") == "NCL"
    with pytest.raises(InputError, match="NLC or NCL"):
        check_layout("LNC", "--layout")
