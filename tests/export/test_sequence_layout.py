"""``export --what sequence`` in either axis order and dtype (the example store)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from fnstore.errors import InputError
from fnstore.export.run import export


def test_sequence_layout_and_dtype(example_store, tmp_path: Path) -> None:
    kw = {"tf": "YY1", "label": "B", "window": 101}
    export(example_store, tmp_path / "ncl.npz", "sequence", **kw)
    export(example_store, tmp_path / "nlc.npz", "sequence", layout="NLC", dtype="float32", **kw)
    ncl, nlc = np.load(tmp_path / "ncl.npz"), np.load(tmp_path / "nlc.npz")
    assert ncl["x"].dtype == np.uint8 and nlc["x"].dtype == np.float32
    assert ncl["x"].shape[1:] == (4, 101) and nlc["x"].shape[1:] == (101, 4)
    np.testing.assert_array_equal(nlc["x"], ncl["x"].transpose(0, 2, 1).astype(np.float32))
    np.testing.assert_array_equal(nlc["y"], ncl["y"])

    export(example_store, tmp_path / "nlc.h5", "sequence", layout="NLC", dtype="float16", **kw)
    h5py = pytest.importorskip("h5py")
    with h5py.File(tmp_path / "nlc.h5") as f:
        assert f["x"].dtype == np.float16 and f["x"].shape[1:] == (101, 4)
        assert "N x L x 4" in f.attrs["layout"]
        np.testing.assert_array_equal(f["x"][:], nlc["x"].astype(np.float16))


@pytest.mark.faults
def test_layout_options_are_checked(example_store, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="only apply to --what sequence"):
        export(example_store, tmp_path / "a.bed", "labels", tf="YY1", layout="NLC")
    with pytest.raises(InputError, match="--dtype"):
        export(example_store, tmp_path / "a.npz", "sequence", tf="YY1", dtype="int64")
    with pytest.raises(InputError, match="--layout"):
        export(example_store, tmp_path / "a.npz", "sequence", tf="YY1", layout="CNL")
