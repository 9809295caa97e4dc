"""Sampler batches for other frameworks: NCL layout, the torch dataset's worker sharding
(pure, and through a stand-in ``torch`` module, since PyTorch is not a dependency)."""

from __future__ import annotations

import sys
import types

import numpy as np
import pytest

from fnstore.errors import InputError
from fnstore.training.sampler import Sampler
from fnstore.training.torch_data import worker_batches

OPTIONS = {"batch_size": 16, "max_batches": 5, "window": 200, "seed": 3}


def test_worker_batches_split_an_epoch_exactly_once() -> None:
    for n in (0, 1, 7, 10):
        for k in (1, 2, 3, 4):
            parts = [list(worker_batches(n, w, k)) for w in range(k)]
            assert sorted(i for p in parts for i in p) == list(range(n))
            assert all(len(p) - len(parts[0]) in (0, -1) for p in parts)  # balanced
    with pytest.raises(ValueError):
        worker_batches(5, 2, 2)


def test_ncl_batches_are_the_nlc_batches_transposed(example_store) -> None:
    nlc = Sampler(example_store, "YY1", "GM12878", **OPTIONS)
    ncl = Sampler(example_store, "YY1", "GM12878", layout="NCL", dtype="float32", **OPTIONS)
    (a, ya), (b, yb) = nlc.batch(1), ncl.batch(1)
    assert b["x"].shape == (16, a["x"].shape[2], 200) and b["x"].dtype == np.float32
    np.testing.assert_array_equal(b["x"], a["x"].transpose(0, 2, 1).astype(np.float32))
    np.testing.assert_array_equal(ya, yb)
    assert ncl.settings.layout == "NCL"
    with pytest.raises(InputError, match="NLC or NCL"):
        Sampler(example_store, "YY1", "GM12878", layout="CLN", **OPTIONS)


@pytest.mark.skipif("torch" in sys.modules, reason="a real torch is loaded")
def test_as_torch_without_torch_says_what_to_install(example_store, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "torch", None)  # import torch -> ImportError
    sampler = Sampler(example_store, "YY1", "GM12878", **OPTIONS)
    with pytest.raises(InputError, match="pip install torch"):
        sampler.as_torch()


def _fake_torch(monkeypatch, worker: tuple[int, int] | None) -> None:
    """A stand-in ``torch.utils.data`` with the two names as_torch uses."""
    data = types.ModuleType("torch.utils.data")
    data.IterableDataset = type("IterableDataset", (), {})
    info = None if worker is None else types.SimpleNamespace(id=worker[0], num_workers=worker[1])
    data.get_worker_info = lambda: info
    utils = types.ModuleType("torch.utils")
    utils.data = data
    torch = types.ModuleType("torch")
    torch.utils = utils
    for name, mod in (("torch", torch), ("torch.utils", utils), ("torch.utils.data", data)):
        monkeypatch.setitem(sys.modules, name, mod)


def test_as_torch_workers_together_yield_the_epoch_once(example_store, monkeypatch) -> None:
    sampler = Sampler(example_store, "YY1", "GM12878", **OPTIONS)
    whole = [sampler.batch(i, 2)[1] for i in range(len(sampler))]
    got = {}
    for w in range(2):
        _fake_torch(monkeypatch, (w, 2))
        ds = sampler.as_torch()
        ds.set_epoch(2)
        for i, (_, y) in zip(worker_batches(len(sampler), w, 2), ds, strict=True):
            got[i] = y
    assert sorted(got) == list(range(len(sampler)))
    for i, y in got.items():
        np.testing.assert_array_equal(y, whole[i])
    _fake_torch(monkeypatch, None)  # no workers: the whole epoch, in order
    ds = sampler.as_torch()
    ds.set_epoch(2)
    assert len(ds) == len(sampler) and len(list(ds)) == len(sampler)
