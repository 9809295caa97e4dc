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


@pytest.mark.parametrize("context", ["fork", "spawn"])
def test_real_dataloader_with_two_workers_yields_each_batch_once(example_store, context) -> None:
    """A real ``torch.utils.data.DataLoader(num_workers=2)``: each epoch's batches come out
    exactly once across the workers, equal to the sampler's own (also when the workers are
    spawned, which pickles the dataset)."""
    torch = pytest.importorskip("torch")
    from torch.utils.data import DataLoader

    sampler = Sampler(example_store, "YY1", "GM12878", layout="NCL", dtype="float32", **OPTIONS)
    ds = sampler.as_torch()
    loader = DataLoader(ds, batch_size=None, num_workers=2, multiprocessing_context=context)
    for epoch in (0, 1):
        ds.set_epoch(epoch)
        want = [sampler.batch(i, epoch) for i in range(len(sampler))]
        seen = []
        for inputs, y in loader:
            assert isinstance(inputs["x"], torch.Tensor) and inputs["x"].dtype == torch.float32
            x = inputs["x"].numpy()
            match = [
                i
                for i, (w, wy) in enumerate(want)
                if np.array_equal(w["x"], x) and np.array_equal(wy, y.numpy())
            ]
            assert len(match) == 1
            seen.extend(match)
        assert sorted(seen) == list(range(len(sampler)))
    # epochs differ (fresh negatives and shifts), so matching by content is meaningful
    assert not np.array_equal(sampler.batch(0, 0)[0]["x"], sampler.batch(0, 1)[0]["x"])


@pytest.mark.parametrize("how", ["keyword", "config"])
def test_train_refuses_ncl_with_one_input_error(example_store_path, tmp_path, how) -> None:
    """Keras models take NLC; ``fnstore.train(..., layout="NCL")`` (or a config saying so)
    is refused before anything is written, with one line naming the option."""
    import fnstore
    from fnstore.training.config import SamplerConfig, TrainConfig

    if how == "keyword":
        kw = {"layout": "ncl"}
    else:
        kw = {"config": TrainConfig(sampler=SamplerConfig(layout="NCL"))}
    with pytest.raises(InputError) as caught:
        fnstore.train(example_store_path, tmp_path / "m", "YY1", ["GM12878"], epochs=1, **kw)
    assert str(caught.value).startswith("layout: fnstore.train needs NLC")
    assert "\n" not in str(caught.value)
    assert not (tmp_path / "m").exists()
    with pytest.raises(InputError, match="NLC or NCL"):
        fnstore.train(example_store_path, tmp_path / "m", "YY1", ["GM12878"], layout="CLN")
