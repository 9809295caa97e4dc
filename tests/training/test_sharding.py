"""Multi-process data parallel: every rank draws its part of each global batch, the parts
are disjoint and together they are exactly the single-process epoch."""

from __future__ import annotations

import numpy as np
import pytest

from fnstore.errors import InputError
from fnstore.training.sampler import Sampler


def _sampler(store, **kw) -> Sampler:
    return Sampler(store, "YY1", ["GM12878"], batch_size=37, seed=5, **kw)


@pytest.mark.parametrize(("world", "rc"), [(2, False), (3, True)])
def test_ranks_split_every_batch_disjointly_and_cover_the_epoch(example_store, world, rc) -> None:
    whole = _sampler(example_store, reverse_complement=rc)
    ranks = [
        _sampler(example_store, reverse_complement=rc).shard_by_rank(r, world) for r in range(world)
    ]
    for epoch in (0, 1):
        seen = []
        for i in range(len(whole)):
            x, y = whole.batch(i, epoch)
            parts = [s.batch(i, epoch) for s in ranks]
            assert all(len(p[1]) in (len(y) // world, -(-len(y) // world)) for p in parts)
            np.testing.assert_array_equal(np.concatenate([p[0]["x"] for p in parts]), x["x"])
            np.testing.assert_array_equal(np.concatenate([p[1] for p in parts]), y)
            span = whole._batch_span(i, epoch)
            rows = [np.arange(*s._rank_span(*span)[:2]) for s in ranks]
            seen += [r for part in rows for r in part]
        # every example of the epoch exactly once across the ranks
        assert sorted(seen) == list(range(whole.epoch_size()))
        assert len(seen) == len(set(seen))


def test_shard_by_rank_refuses_what_cannot_be(example_store) -> None:
    with pytest.raises(InputError, match="rank 2 not in"):
        _sampler(example_store).shard_by_rank(2, 2)
    with pytest.raises(InputError, match="smaller than"):
        Sampler(example_store, "YY1", ["GM12878"], batch_size=2).shard_by_rank(0, 3)
