"""The balanced index sampler on the real chr20 store: balance, labels, windows, RC,
determinism, resume, multi-task masking, validation split and the small-budget path."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from fnstore.errors import InputError
from fnstore.store.encoding import one_hot, reverse_complement_codes
from fnstore.store.labels import AMBIGUOUS, BOUND, UNBOUND
from fnstore.training.sampler import Sampler, parse_size

L = 300  # small windows keep the tests fast; the code paths are the same as L = 1000


def make(store, **kw):
    args = dict(window=L, batch_size=64, annotations=False, metadata=False, seed=3)
    args.update(kw)
    tfs = args.pop("tfs", "CTCF")
    cells = args.pop("cells", ["K562"])
    return Sampler(store, tfs, cells, **args)


def expected_window(store, sampler, plan, row):
    """Sequence codes and signals read one by one through the public Store API."""
    chrom, bin_start = store.bin_coords(np.array([plan.bin[row]]))
    chrom_name = store.chroms[int(chrom[0])]
    start = int(bin_start[0]) + store.bin_size // 2 - L // 2 + int(plan.shift[row])
    cell = sampler.cells[plan.cell[row]]
    codes = store.sequence(chrom_name, start, start + L)
    sig = [store.signal(cell, t, chrom_name, start, start + L) for t in sampler.tracks]
    return chrom_name, start, codes, np.stack(sig, axis=-1) if sig else np.zeros((L, 0))


def test_balance_and_labels(chr20_store):
    s = make(chr20_store, negatives=2)
    plan = s.plan()
    y = plan.y[:, 0]
    n_pos = int((y == 1).sum())
    assert n_pos == len(s._pos[0]) > 1000
    assert int((y == 0).sum()) == 2 * n_pos
    assert len(plan) == 3 * n_pos == s.epoch_size()
    # every example's stored label agrees with its target; no ambiguous bin anywhere
    task = chr20_store.task_index("CTCF", "K562")
    stored = chr20_store.labels([task], np.sort(plan.bin))[:, 0]
    assert not (stored == AMBIGUOUS).any()
    order = np.argsort(plan.bin, kind="stable")
    assert np.array_equal(stored == BOUND, y[order] == 1)
    assert np.array_equal(stored == UNBOUND, y[order] == 0)
    assert not chr20_store.blacklist(np.unique(plan.bin)).any()
    # negatives are fresh every epoch, positives are the same bins
    plan2 = s.plan(1)
    assert np.array_equal(np.sort(plan.bin[y == 1]), np.sort(plan2.bin[plan2.y[:, 0] == 1]))
    assert not np.array_equal(np.sort(plan.bin[y == 0]), np.sort(plan2.bin[plan2.y[:, 0] == 0]))


def test_windows_are_real_shifted_flanks(chr20_store):
    s = make(chr20_store, max_shift=40, tracks=["DNase"])
    plan = s.plan()
    assert np.abs(plan.shift).max() <= 40 and (plan.shift != 0).mean() > 0.9
    inputs, y = s.batch(0)
    x = inputs["x"]
    # the store's float16: exact for one-hot and stored signals, half of float32's bytes
    assert x.shape == (64, L, 5) and x.dtype == np.float16 and y.shape == (64, 1)
    rows, n_fwd = s.batch_rows(0)
    assert n_fwd == len(rows)
    for j, row in enumerate(rows[:16]):
        chrom, start, codes, sig = expected_window(chr20_store, s, plan, row)
        assert 0 <= start and start + L <= chr20_store.chrom_lengths[0]
        assert np.array_equal(x[j, :, :4], one_hot(codes))
        np.testing.assert_array_equal(x[j, :, 4:], sig)
    assert np.array_equal(y[:, 0], plan.y[rows, 0])


def test_chunk_boundary_windows(chr20_store):
    """Windows straddling a 1 Mi chunk edge come out whole (slot halos)."""
    s = make(chr20_store, tracks=["DNase"])
    C = chr20_store.position_chunk
    starts = np.array([C - 10, 2 * C - L + 1, 3 * C - L // 2, 5 * C + 7], dtype=np.int64)
    x = s.reader.read(np.zeros(4, np.int64), starts, n_fwd=2)
    for j, g in enumerate(starts.tolist()):
        codes = chr20_store.sequence("chr20", g, g + L)
        sig = chr20_store.signal("K562", "DNase", "chr20", g, g + L)
        if j >= 2:
            codes, sig = reverse_complement_codes(codes), sig[::-1]
        assert np.array_equal(x[j, :, :4], one_hot(codes))
        np.testing.assert_array_equal(x[j, :, 4], sig)


def test_reverse_complement_roundtrip(chr20_store):
    s = make(chr20_store, reverse_complement=True, cells=["HepG2"], tracks=["DNase"])
    plan = s.plan()
    assert 0.4 < plan.rc.mean() < 0.6
    inputs, _ = s.batch(1)
    rows, n_fwd = s.batch_rows(1)
    assert 0 < n_fwd < len(rows) and not plan.rc[rows[:n_fwd]].any() and plan.rc[rows[n_fwd:]].all()
    x = inputs["x"]
    for j in range(n_fwd, n_fwd + 8):
        _, _, codes, sig = expected_window(chr20_store, s, plan, rows[j])
        back = x[j, ::-1]  # RC(RC(x)) = x: reverse positions; ACGT reversed = complement
        assert np.array_equal(back[:, [3, 2, 1, 0]], one_hot(codes))
        np.testing.assert_array_equal(back[:, 4:], sig)


@pytest.mark.parametrize("budget", [None, "120MiB"])  # small: evicting, planar signals
@pytest.mark.parametrize("dtype", [None, "float32"])
@pytest.mark.parametrize(
    ("tracks", "pairs"),
    [
        ([], []),  # one-hot only
        (["DNase"], []),  # one item per position
        (["DNase", "ATAC"], []),  # both tracks in one item
        (["DNase", "ATAC"], [(0, 1)]),  # strand pair: per-track copies, columns swapped
        (["DNase", "ATAC", "DNase"], []),  # no item is 3 values wide: per-track copies
    ],
)
def test_every_gather_path_matches_the_store(chr20_store, dtype, tracks, pairs, budget):
    """Each kernel path, in both output dtypes and both signal-arena layouts, against
    windows read through the Store API."""
    s = make(
        chr20_store,
        reverse_complement=True,
        cells=["GM12878"],
        tfs="ATF7",
        tracks=tracks,
        strand_pairs=pairs,
        dtype=dtype,
        batch_size=24,
        memory_budget=budget,
    )
    assert s.reader.planar == (budget is not None and bool(tracks))
    plan = s.plan()
    inputs, _ = s.batch(2)
    x = inputs["x"]
    assert x.dtype == np.dtype(dtype or chr20_store.signal_dtype)
    assert x.shape == (24, L, 4 + len(tracks))
    rows, n_fwd = s.batch_rows(2)
    assert 0 < n_fwd < len(rows)
    perm = list(range(len(tracks)))
    for a, b in pairs:
        perm[a], perm[b] = perm[b], perm[a]
    for j, row in enumerate(rows):
        _, _, codes, sig = expected_window(chr20_store, s, plan, row)
        if j >= n_fwd:
            codes, sig = reverse_complement_codes(codes), sig[::-1][:, perm]
        assert np.array_equal(x[j, :, :4], one_hot(codes))
        np.testing.assert_array_equal(x[j, :, 4:], sig)


def test_strand_pairs_swap_on_reverse(chr20_store):
    """With a _fwd/_rev pair, reverse windows take the partner track's data."""
    s = make(
        chr20_store,
        reverse_complement=True,
        cells=["GM12878"],
        tfs="ATF7",
        tracks=["DNase", "ATAC"],
        strand_pairs=[(0, 1)],
    )
    plan = s.plan()
    inputs, _ = s.batch(0)
    rows, n_fwd = s.batch_rows(0)
    j = n_fwd
    _, _, _, sig = expected_window(chr20_store, s, plan, rows[j])
    back = inputs["x"][j, ::-1, 4:]
    np.testing.assert_array_equal(back, sig[:, ::-1])


def test_determinism_seed_and_resume(chr20_store):
    a, b = make(chr20_store, seed=7), make(chr20_store, seed=7)
    c = make(chr20_store, seed=8)
    xa, ya = a.batch(2)
    xb, yb = b.batch(2)
    assert np.array_equal(xa["x"], xb["x"]) and np.array_equal(ya, yb)
    assert not np.array_equal(a.plan().bin, c.plan().bin)
    # iterate, save state, resume in a fresh sampler: the same stream continues
    it = iter(a)
    for _ in range(3):
        next(it)
    state = a.get_state()
    rest = [next(it)[1] for _ in range(2)]
    fresh = make(chr20_store, seed=7)
    fresh.set_state(state)
    it2 = iter(fresh)
    resumed = [next(it2)[1] for _ in range(2)]
    assert all(np.array_equal(p, q) for p, q in zip(rest, resumed, strict=True))
    with pytest.raises(InputError):
        c.set_state(state)
    # a whole epoch through the iterator moves to the next epoch
    d = make(chr20_store, seed=7, max_batches=3)
    assert len(list(d)) == 3 and d.get_state() == {"seed": 7, "epoch": 1, "position": 0}


def test_multitask_masking(chr20_store):
    # HepG2 has CTCF labels; there is no GM12878-only TF in HepG2? pick one that is missing
    st = chr20_store
    hep = {t.tf for t in st.tasks if t.cell == "HepG2"}
    missing = sorted({t.tf for t in st.tasks} - hep)[0]
    s = make(st, tfs=["CTCF", "MAX", missing], cells=["HepG2"], tracks=["DNase"])
    plan = s.plan()
    assert plan.y.shape[1] == 3
    assert (plan.y[:, 2] == -1).all()  # no labels for that TF in HepG2: masked
    labels = st.labels([st.task_index("CTCF", "HepG2"), st.task_index("MAX", "HepG2")], plan.bin)
    assert np.array_equal(plan.y[:, :2] == -1, labels == AMBIGUOUS)
    assert ((plan.y[:, :2] == 1).any(1) == (labels == BOUND).any(1)).all()
    neg = ~(plan.y[:, :2] == 1).any(1)
    assert (labels[neg] == UNBOUND).any(1).all()


def test_validation_split_and_held_out_cell(chr20_store):
    s = make(chr20_store, max_shift=50)
    v = s.validation()
    (region,) = s.valid_regions
    assert region.chrom == "chr20" and region.end == chr20_store.chrom_lengths[0]
    tr, va = s.plan(), v.plan()
    _, tr_start = chr20_store.bin_coords(tr.bin)
    _, va_start = chr20_store.bin_coords(va.bin)
    assert (va_start >= region.start).all()
    # training windows (widest shift) never reach into the validation region
    assert (tr_start + 100 - L // 2 + L + 50 <= region.start).all()
    assert (va.shift == 0).all() and not va.rc.any()
    assert np.array_equal(v.plan(5).bin, va.bin)  # fixed across epochs
    hv = make(chr20_store, cells=["K562"], valid_cell="HepG2", tracks=["DNase"]).validation()
    assert hv.cells == ["HepG2"]
    custom = make(chr20_store, valid_chroms=["chr20:10000000-20000000"])
    assert str(custom.valid_regions[0]) == "chr20:10000000-20000000"
    with pytest.raises(InputError, match="chr99"):
        make(chr20_store, valid_chroms=["chr99"])
    with pytest.raises(InputError, match="training cell"):
        make(chr20_store, valid_cell="K562")


def test_one_per_peak(chr20_store):
    s = make(chr20_store, one_per_peak=True, negatives=1)
    starts, lengths = s._runs[0]
    plan = s.plan()
    pos = np.sort(plan.bin[plan.y[:, 0] == 1])
    assert len(pos) == len(starts) < len(s._pos[0])
    first = s._pos[0][starts]
    assert ((pos >= first) & (pos < first + lengths)).all()


def test_features_and_errors(chr20_store):
    s = make(chr20_store, annotations=True, metadata=True, tracks=["DNase"])
    inputs, _ = s.batch(0)
    assert inputs["extra"].shape == (64, 8 + 7)
    rows, _ = s.batch_rows(0)
    bins = s.plan().bin[rows]
    np.testing.assert_array_equal(inputs["extra"][:, 8:], chr20_store.annotations(bins))
    np.testing.assert_array_equal(inputs["extra"][0, :8], chr20_store.metadata("K562"))
    with pytest.raises(InputError, match="ATAC"):
        make(chr20_store, tracks=["ATAC"])  # K562 has no ATAC
    with pytest.raises(InputError, match="no labels"):
        make(chr20_store, tfs="HNF4A", cells=["GM12878"])
    assert make(chr20_store, cells=["GM12878"], tfs="ATF7").tracks == ["DNase", "ATAC"]
    assert parse_size("1.5GiB") == int(1.5 * 2**30) and parse_size(1000) == 1000


def test_small_memory_budget_blocks_chunks(chr20_store):
    """A budget of a few chunks: same examples, block order, each chunk read ~once."""
    budget = 8 * (chr20_store.position_chunk + L) * (1 + 4)
    s = make(chr20_store, tracks=["DNase"], memory_budget=budget, batch_size=32)
    full = make(chr20_store, tracks=["DNase"], batch_size=32)
    assert s.reader.evicting and not full.reader.evicting
    p, q = s.plan(), full.plan()
    assert np.array_equal(np.sort(p.bin), np.sort(q.bin))
    for i in range(len(s)):
        s.batch(i)
    chunks = s._chunks
    assert s.reader.seq_cache.loads <= 2 * chunks + 8
    # spot-check correctness after many evictions
    inputs, _ = s.batch(len(s) - 1)
    rows, _ = s.batch_rows(len(s) - 1)
    _, _, codes, sig = expected_window(chr20_store, s, p, rows[0])
    assert np.array_equal(inputs["x"][0, :, :4], one_hot(codes))
    np.testing.assert_array_equal(inputs["x"][0, :, 4:], sig)


def test_pickle_and_shards(chr20_store):
    s = make(chr20_store, tracks=["DNase"])
    clone = pickle.loads(pickle.dumps(s))
    assert np.array_equal(clone.batch(1)[0]["x"], s.batch(1)[0]["x"])
    a = make(chr20_store, shard_index=0, num_shards=2)
    b = make(chr20_store, shard_index=1, num_shards=2)
    assert len(a) + len(b) == len(s)
    assert np.array_equal(b.batch(0)[1], s.batch(1)[1])


def _batch_in_worker(sampler: Sampler, i: int) -> tuple[np.ndarray, np.ndarray]:
    inputs, y = sampler.batch(i)
    return inputs["x"], y


def test_worker_process_gives_the_same_batches(chr20_store):
    """A sampler sent to a fresh (spawned) process rebuilds its store handle, cache and
    compiled kernels there and reads the very same batches."""
    import concurrent.futures
    import multiprocessing

    s = make(
        chr20_store,
        tracks=["DNase", "ATAC"],
        cells=["GM12878"],
        tfs="ATF7",
        reverse_complement=True,
    )
    s.epoch = 2
    ctx = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(1, mp_context=ctx) as pool:
        got = list(pool.map(_batch_in_worker, [s, s], [0, 3]))
    for (x, y), i in zip(got, [0, 3], strict=True):
        ref_inputs, ref_y = s.batch(i)
        assert np.array_equal(x, ref_inputs["x"]) and np.array_equal(y, ref_y)


def test_keras_dataset(chr20_store):
    pytest.importorskip("keras")
    from fnstore.training.keras_data import as_keras_dataset

    s = make(chr20_store, tracks=["DNase"], max_batches=2)
    ds = as_keras_dataset(s, workers=1)
    assert len(ds) == 2
    assert np.array_equal(ds[1][1], s.batch(1)[1])
    ds.on_epoch_end()
    assert s.epoch == 1


def test_config_object_and_keywords_give_the_same_sampler(chr20_store):
    from fnstore.training.config import SamplerConfig

    a = make(chr20_store, tracks=["DNase"], negatives=2, valid_negatives=0.5)
    cfg = SamplerConfig(
        window=L, batch_size=64, annotations=False, metadata=False, seed=3, tracks=("DNase",)
    )
    b = Sampler(chr20_store, "CTCF", ["K562"], config=cfg, negatives=2, valid_negatives=0.5)
    xa, ya = a.batch(1)
    xb, yb = b.batch(1)
    assert np.array_equal(xa["x"], xb["x"]) and np.array_equal(ya, yb)
    assert a.settings == b.settings and a.settings.tracks == ("DNase",)
    # the card's sampler description keeps its keys
    assert set(a.describe()) == {
        "split", "tfs", "cells", "window", "tracks", "annotations", "meta_features",
        "batch_size", "negatives", "max_shift", "reverse_complement", "one_per_peak",
        "valid_regions", "valid_cell", "positives", "examples_per_epoch",
        "batches_per_epoch", "seed", "memory_budget", "dtype", "cache_bytes",
        "block_shuffled",
    }  # fmt: skip
    assert a.describe()["tracks"] == ["DNase"] and a.describe()["annotations"] == []
    # validation inherits valid_negatives (it used to be dropped) but not the batch cap
    v = make(chr20_store, negatives=2, valid_negatives=0.5, max_batches=2).validation()
    assert v.negatives == 0.5 and v.max_batches is None and v.settings.split == "valid"
    with pytest.raises(InputError, match="batch_size"):
        make(chr20_store, batch_size=0)
    with pytest.raises(TypeError, match="bogus"):
        make(chr20_store, bogus=1)
