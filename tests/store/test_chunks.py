"""``whole_chunk_reader``: the sampler's fast chunk decode must give zarr's own values."""

from __future__ import annotations

import numpy as np
import pytest
import zarr
from zarr.codecs import BloscCodec

from fnstore.errors import StoreError
from fnstore.store.chunks import whole_chunk_reader


def _array(tmp_path, **kw) -> zarr.Array:
    arr = zarr.create_array(
        tmp_path / "a.zarr", shape=(3, 4096), chunks=(1, 1024), dtype="float16", fill_value=0, **kw
    )
    rng = np.random.default_rng(0)
    data = rng.random((3, 4096)).astype(np.float16)
    data[1, 1024:2048] = 0  # an all-fill chunk: zarr does not write it
    arr[:] = data
    return arr


@pytest.mark.parametrize("compressors", [None, BloscCodec(cname="lz4")])
def test_every_chunk_matches_zarr(tmp_path, compressors):
    kw = {} if compressors is None else {"compressors": compressors}
    arr = _array(tmp_path, **kw)
    read = whole_chunk_reader(arr)
    # zarr's default codecs (bytes + zstd) take the fast path; Blosc falls back to zarr
    assert read.__name__ == ("read_chunk_file" if compressors is None else "read_with_zarr")
    for row in range(3):
        for c in range(4):
            out = np.full((1, 1024), 7, dtype=np.float16)
            read((row, c), out)
            np.testing.assert_array_equal(out[0], arr[row, c * 1024 : (c + 1) * 1024])
    # a strided destination of another dtype takes the decoded values too
    out = np.zeros((1, 2048), dtype=np.float32)[:, ::2]
    read((2, 3), out)
    np.testing.assert_array_equal(out[0], arr[2, 3072:].astype(np.float32))


def test_missing_and_damaged_chunks(tmp_path):
    arr = _array(tmp_path)  # default codecs: bytes + zstd, the fast path
    assert not (tmp_path / "a.zarr" / "c" / "1" / "1").exists()
    out = np.ones((1, 1024), dtype=np.float16)
    whole_chunk_reader(arr)((1, 1), out)
    assert not out.any()
    (tmp_path / "a.zarr" / "c" / "0" / "2").write_bytes(b"not zstd")
    with pytest.raises(StoreError, match=r"c/0/2: damaged chunk"):
        whole_chunk_reader(arr)((0, 2), out)
