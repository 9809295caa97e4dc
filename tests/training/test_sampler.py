"""The balanced index sampler: balance, labels, windows, RC, determinism, resume, multi-task
masking, validation split and the small-budget path.

Every test runs on the bundled example (plus a synthetic DNase track), so a fresh clone tests
the loader, and again on the real chr20 store when ../shared/data is there.
"""

from __future__ import annotations

import pickle
from dataclasses import dataclass

import numpy as np
import pytest

from fnstore.errors import InputError
from fnstore.store.encoding import one_hot, reverse_complement_codes
from fnstore.store.labels import AMBIGUOUS, BOUND, UNBOUND
from fnstore.training.sampler import Sampler, parse_size

L = 300  # small windows keep the tests fast; the code paths are the same as L = 1000


@dataclass(frozen=True)
class Env:
    """A store and the TFs/cells of it that each test needs."""

    store: object
    tf: str  # labelled in `cell` and `cell2`
    cell: str  # has a DNase track
    cell2: str  # another cell with DNase and `tf` labels
    multi_cell: str  # a cell with DNase that lacks labels for some TF of the store
    multi_tfs: tuple[str, str]  # both labelled in `multi_cell`
    two_track_cell: str  # has DNase and ATAC
    two_track_tf: str  # labelled in `two_track_cell`
    unlabelled: tuple[str, str]  # (TF, cell) without labels
    absent_track: str  # a track `cell` has no data for
    custom_valid: str  # a CHROM:START-END inside the store
    min_positives: int


ENVS = {
    "example": (
        "example_dnase_store",
        dict(
            tf="YY1",
            cell="HepG2",
            cell2="GM12878",
            multi_cell="HepG2",
            multi_tfs=("YY1", "ZNF143"),
            two_track_cell="GM12878",
            two_track_tf="SPI1",
            unlabelled=("SPI1", "HepG2"),
            absent_track="ATAC",
            custom_valid="chr20_slice:1000000-2000000",
            min_positives=100,
        ),
    ),
    "chr20": (
        "chr20_store",
        dict(
            tf="CTCF",
            cell="K562",
            cell2="HepG2",
            multi_cell="HepG2",
            multi_tfs=("CTCF", "MAX"),
            two_track_cell="GM12878",
            two_track_tf="ATF7",
            unlabelled=("HNF4A", "GM12878"),
            absent_track="ATAC",
            custom_valid="chr20:10000000-20000000",
            min_positives=1000,
        ),
    ),
}


@pytest.fixture(
    scope="module",
    params=["example", pytest.param("chr20", marks=pytest.mark.shared_data)],
)
def env(request) -> Env:
    fixture, names = ENVS[request.param]
    return Env(store=request.getfixturevalue(fixture), **names)


def make(env: Env, **kw):
    args = dict(window=L, batch_size=64, annotations=False, metadata=False, seed=3)
    args.update(kw)
    tfs = args.pop("tfs", env.tf)
    cells = args.pop("cells", [env.cell])
    return Sampler(env.store, tfs, cells, **args)


def expected_window(store, sampler, plan, row):
    """Sequence codes and signals read one by one through the public Store API."""
    chrom, bin_start = store.bin_coords(np.array([plan.bin[row]]))
    chrom_name = store.chroms[int(chrom[0])]
    start = int(bin_start[0]) + store.bin_size // 2 - L // 2 + int(plan.shift[row])
    cell = sampler.cells[plan.cell[row]]
    codes = store.sequence(chrom_name, start, start + L)
    sig = [store.signal(cell, t, chrom_name, start, start + L) for t in sampler.tracks]
    return chrom_name, start, codes, np.stack(sig, axis=-1) if sig else np.zeros((L, 0))


def test_balance_and_labels(env):
    s = make(env, negatives=2)
    plan = s.plan()
    y = plan.y[:, 0]
    n_pos = int((y == 1).sum())
    assert n_pos == len(s._pos[0]) > env.min_positives
    assert int((y == 0).sum()) == 2 * n_pos
    assert len(plan) == 3 * n_pos == s.epoch_size()
    # every example's stored label agrees with its target; no ambiguous bin anywhere
    task = env.store.task_index(env.tf, env.cell)
    stored = env.store.labels([task], np.sort(plan.bin))[:, 0]
    assert not (stored == AMBIGUOUS).any()
    order = np.argsort(plan.bin, kind="stable")
    assert np.array_equal(stored == BOUND, y[order] == 1)
    assert np.array_equal(stored == UNBOUND, y[order] == 0)
    assert not env.store.blacklist(np.unique(plan.bin)).any()
    # negatives are fresh every epoch, positives are the same bins
    plan2 = s.plan(1)
    assert np.array_equal(np.sort(plan.bin[y == 1]), np.sort(plan2.bin[plan2.y[:, 0] == 1]))
    assert not np.array_equal(np.sort(plan.bin[y == 0]), np.sort(plan2.bin[plan2.y[:, 0] == 0]))


def test_windows_are_real_shifted_flanks(env):
    s = make(env, max_shift=40, tracks=["DNase"])
    plan = s.plan()
    assert np.abs(plan.shift).max() <= 40 and (plan.shift != 0).mean() > 0.9
    inputs, y = s.batch(0)
    x = inputs["x"]
    # the store's float16: exact for one-hot and stored signals, half of float32's bytes
    assert x.shape == (64, L, 5) and x.dtype == np.float16 and y.shape == (64, 1)
    rows, n_fwd = s.batch_rows(0)
    assert n_fwd == len(rows)
    for j, row in enumerate(rows[:16]):
        chrom, start, codes, sig = expected_window(env.store, s, plan, row)
        assert 0 <= start and start + L <= env.store.chrom_lengths[0]
        assert np.array_equal(x[j, :, :4], one_hot(codes))
        np.testing.assert_array_equal(x[j, :, 4:], sig)
    assert np.array_equal(y[:, 0], plan.y[rows, 0])


def test_chunk_boundary_windows(env):
    """Windows straddling a 1 Mi chunk edge come out whole (slot halos)."""
    s = make(env, tracks=["DNase"])
    C = env.store.position_chunk
    n_chunks = -(-int(env.store.chrom_lengths[0]) // C)
    assert n_chunks >= 4
    last = (n_chunks - 1) * C + 7  # a window inside the last, partial chunk
    starts = np.array([C - 10, 2 * C - L + 1, 3 * C - L // 2, last], dtype=np.int64)
    chrom = env.store.chroms[0]
    x = s.reader.read(np.zeros(4, np.int64), starts, n_fwd=2)
    for j, g in enumerate(starts.tolist()):
        codes = env.store.sequence(chrom, g, g + L)
        sig = env.store.signal(env.cell, "DNase", chrom, g, g + L)
        if j >= 2:
            codes, sig = reverse_complement_codes(codes), sig[::-1]
        assert np.array_equal(x[j, :, :4], one_hot(codes))
        np.testing.assert_array_equal(x[j, :, 4], sig)


def test_reverse_complement_roundtrip(env):
    s = make(env, reverse_complement=True, cells=[env.cell2], tracks=["DNase"])
    plan = s.plan()
    assert 0.4 < plan.rc.mean() < 0.6
    inputs, _ = s.batch(1)
    rows, n_fwd = s.batch_rows(1)
    assert 0 < n_fwd < len(rows) and not plan.rc[rows[:n_fwd]].any() and plan.rc[rows[n_fwd:]].all()
    x = inputs["x"]
    for j in range(n_fwd, n_fwd + 8):
        _, _, codes, sig = expected_window(env.store, s, plan, rows[j])
        back = x[j, ::-1]  # RC(RC(x)) = x: reverse positions; ACGT reversed = complement
        assert np.array_equal(back[:, [3, 2, 1, 0]], one_hot(codes))
        np.testing.assert_array_equal(back[:, 4:], sig)


@pytest.mark.parametrize("budget", [None, "small"])  # small: evicting, planar signals
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
def test_every_gather_path_matches_the_store(env, dtype, tracks, pairs, budget):
    """Each kernel path, in both output dtypes and both signal-arena layouts, against
    windows read through the Store API."""
    s = make(
        env,
        reverse_complement=True,
        cells=[env.two_track_cell],
        tfs=env.two_track_tf,
        tracks=tracks,
        strand_pairs=pairs,
        dtype=dtype,
        batch_size=24,
        memory_budget=budget and 6 * (env.store.position_chunk + L),  # a few chunks
    )
    assert s.reader.planar == (budget is not None and bool(tracks))
    plan = s.plan()
    inputs, _ = s.batch(2)
    x = inputs["x"]
    assert x.dtype == np.dtype(dtype or env.store.signal_dtype)
    assert x.shape == (24, L, 4 + len(tracks))
    rows, n_fwd = s.batch_rows(2)
    assert 0 < n_fwd < len(rows)
    perm = list(range(len(tracks)))
    for a, b in pairs:
        perm[a], perm[b] = perm[b], perm[a]
    for j, row in enumerate(rows):
        _, _, codes, sig = expected_window(env.store, s, plan, row)
        if j >= n_fwd:
            codes, sig = reverse_complement_codes(codes), sig[::-1][:, perm]
        assert np.array_equal(x[j, :, :4], one_hot(codes))
        np.testing.assert_array_equal(x[j, :, 4:], sig)


def test_strand_pairs_swap_on_reverse(env):
    """With a _fwd/_rev pair, reverse windows take the partner track's data."""
    s = make(
        env,
        reverse_complement=True,
        cells=[env.two_track_cell],
        tfs=env.two_track_tf,
        tracks=["DNase", "ATAC"],
        strand_pairs=[(0, 1)],
    )
    plan = s.plan()
    inputs, _ = s.batch(0)
    rows, n_fwd = s.batch_rows(0)
    j = n_fwd
    _, _, _, sig = expected_window(env.store, s, plan, rows[j])
    back = inputs["x"][j, ::-1, 4:]
    np.testing.assert_array_equal(back, sig[:, ::-1])


def test_determinism_seed_and_resume(env):
    a, b = make(env, seed=7), make(env, seed=7)
    c = make(env, seed=8)
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
    fresh = make(env, seed=7)
    fresh.set_state(state)
    it2 = iter(fresh)
    resumed = [next(it2)[1] for _ in range(2)]
    assert all(np.array_equal(p, q) for p, q in zip(rest, resumed, strict=True))
    with pytest.raises(InputError):
        c.set_state(state)
    # a whole epoch through the iterator moves to the next epoch
    d = make(env, seed=7, max_batches=3)
    assert len(list(d)) == 3 and d.get_state() == {"seed": 7, "epoch": 1, "position": 0}


def test_multitask_masking(env):
    # two TFs labelled in multi_cell, and one TF the store has but not there
    st = env.store
    hep = {t.tf for t in st.tasks if t.cell == env.multi_cell}
    missing = sorted({t.tf for t in st.tasks} - hep)[0]
    s = make(env, tfs=[*env.multi_tfs, missing], cells=[env.multi_cell], tracks=["DNase"])
    plan = s.plan()
    assert plan.y.shape[1] == 3
    assert (plan.y[:, 2] == -1).all()  # no labels for that TF in that cell: masked
    labels = st.labels([st.task_index(tf, env.multi_cell) for tf in env.multi_tfs], plan.bin)
    assert np.array_equal(plan.y[:, :2] == -1, labels == AMBIGUOUS)
    assert ((plan.y[:, :2] == 1).any(1) == (labels == BOUND).any(1)).all()
    neg = ~(plan.y[:, :2] == 1).any(1)
    assert (labels[neg] == UNBOUND).any(1).all()


def test_validation_split_and_held_out_cell(env):
    s = make(env, max_shift=50)
    v = s.validation()
    (region,) = s.valid_regions
    assert region.chrom == env.store.chroms[0] and region.end == env.store.chrom_lengths[0]
    tr, va = s.plan(), v.plan()
    _, tr_start = env.store.bin_coords(tr.bin)
    _, va_start = env.store.bin_coords(va.bin)
    assert (va_start >= region.start).all()
    # training windows (widest shift) never reach into the validation region
    assert (tr_start + 100 - L // 2 + L + 50 <= region.start).all()
    assert (va.shift == 0).all() and not va.rc.any()
    assert np.array_equal(v.plan(5).bin, va.bin)  # fixed across epochs
    hv = make(env, cells=[env.cell], valid_cell=env.cell2, tracks=["DNase"]).validation()
    assert hv.cells == [env.cell2]
    custom = make(env, valid_chroms=[env.custom_valid])
    assert str(custom.valid_regions[0]) == env.custom_valid
    with pytest.raises(InputError, match="chr99"):
        make(env, valid_chroms=["chr99"])
    with pytest.raises(InputError, match="training cell"):
        make(env, valid_cell=env.cell)


def test_one_per_peak(env):
    s = make(env, one_per_peak=True, negatives=1)
    starts, lengths = s._runs[0]
    plan = s.plan()
    pos = np.sort(plan.bin[plan.y[:, 0] == 1])
    assert len(pos) == len(starts) < len(s._pos[0])
    first = s._pos[0][starts]
    assert ((pos >= first) & (pos < first + lengths)).all()


def test_features_and_errors(env):
    s = make(env, annotations=True, metadata=True, tracks=["DNase"])
    inputs, _ = s.batch(0)
    n_meta, n_ann = len(env.store.meta_feature_names), len(env.store.annotation_names)
    assert n_meta and n_ann and inputs["extra"].shape == (64, n_meta + n_ann)
    rows, _ = s.batch_rows(0)
    bins = s.plan().bin[rows]
    np.testing.assert_array_equal(inputs["extra"][:, n_meta:], env.store.annotations(bins))
    np.testing.assert_array_equal(inputs["extra"][0, :n_meta], env.store.metadata(env.cell))
    with pytest.raises(InputError, match=env.absent_track):
        make(env, tracks=[env.absent_track])  # the cell has no data for it
    with pytest.raises(InputError, match="no labels"):
        make(env, tfs=env.unlabelled[0], cells=[env.unlabelled[1]])
    both = make(env, cells=[env.two_track_cell], tfs=env.two_track_tf)
    assert both.tracks == list(env.store.tracks) and set(both.tracks) == {"DNase", "ATAC"}
    assert parse_size("1.5GiB") == int(1.5 * 2**30) and parse_size(1000) == 1000


def test_small_memory_budget_blocks_chunks(env):
    """A budget of a few chunks: same examples, block order, each chunk read ~once."""
    n_chunks = -(-int(env.store.chrom_lengths.sum()) // env.store.position_chunk)
    slot = env.store.position_chunk + L
    # the whole packed sequence (half a byte a position) and a third of the float16 chunks
    budget = n_chunks * slot // 2 + max(2, n_chunks // 3) * slot * 2
    s = make(env, tracks=["DNase"], memory_budget=budget, batch_size=32)
    full = make(env, tracks=["DNase"], batch_size=32)
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
    _, _, codes, sig = expected_window(env.store, s, p, rows[0])
    assert np.array_equal(inputs["x"][0, :, :4], one_hot(codes))
    np.testing.assert_array_equal(inputs["x"][0, :, 4:], sig)


def test_pickle_and_shards(env):
    s = make(env, tracks=["DNase"])
    clone = pickle.loads(pickle.dumps(s))
    assert np.array_equal(clone.batch(1)[0]["x"], s.batch(1)[0]["x"])
    a = make(env, shard_index=0, num_shards=2)
    b = make(env, shard_index=1, num_shards=2)
    assert len(a) + len(b) == len(s)
    assert np.array_equal(b.batch(0)[1], s.batch(1)[1])


def _batch_in_worker(sampler: Sampler, i: int) -> tuple[np.ndarray, np.ndarray]:
    inputs, y = sampler.batch(i)
    return inputs["x"], y


def test_worker_process_gives_the_same_batches(env):
    """A sampler sent to a fresh (spawned) process rebuilds its store handle, cache and
    compiled kernels there and reads the very same batches."""
    import concurrent.futures
    import multiprocessing

    s = make(
        env,
        tracks=["DNase", "ATAC"],
        cells=[env.two_track_cell],
        tfs=env.two_track_tf,
        reverse_complement=True,
    )
    s.epoch = 2
    ctx = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(1, mp_context=ctx) as pool:
        got = list(pool.map(_batch_in_worker, [s, s], [0, 3]))
    for (x, y), i in zip(got, [0, 3], strict=True):
        ref_inputs, ref_y = s.batch(i)
        assert np.array_equal(x, ref_inputs["x"]) and np.array_equal(y, ref_y)


def test_keras_dataset(env):
    pytest.importorskip("keras")
    from fnstore.training.keras_data import as_keras_dataset

    s = make(env, tracks=["DNase"], max_batches=2)
    ds = as_keras_dataset(s, workers=1)
    assert len(ds) == 2
    assert np.array_equal(ds[1][1], s.batch(1)[1])
    ds.on_epoch_end()
    assert s.epoch == 1


def test_config_object_and_keywords_give_the_same_sampler(env):
    from fnstore.training.config import SamplerConfig

    a = make(env, tracks=["DNase"], negatives=2, valid_negatives=0.5)
    cfg = SamplerConfig(
        window=L, batch_size=64, annotations=False, metadata=False, seed=3, tracks=("DNase",)
    )
    b = Sampler(env.store, env.tf, [env.cell], config=cfg, negatives=2, valid_negatives=0.5)
    xa, ya = a.batch(1)
    xb, yb = b.batch(1)
    assert np.array_equal(xa["x"], xb["x"]) and np.array_equal(ya, yb)
    assert a.settings == b.settings and a.settings.tracks == ("DNase",)
    # the card's sampler description keeps its keys
    assert set(a.describe()) == {
        "split", "tfs", "cells", "window", "tracks", "annotations", "meta_features",
        "batch_size", "negatives", "max_shift", "reverse_complement", "one_per_peak",
        "valid_regions", "valid_cell", "exclude", "positives", "examples_per_epoch",
        "batches_per_epoch", "seed", "memory_budget", "dtype", "cache_bytes",
        "block_shuffled",
    }  # fmt: skip
    assert a.describe()["tracks"] == ["DNase"] and a.describe()["annotations"] == []
    # validation inherits valid_negatives (it used to be dropped) but not the batch cap
    v = make(env, negatives=2, valid_negatives=0.5, max_batches=2).validation()
    assert v.negatives == 0.5 and v.max_batches is None and v.settings.split == "valid"
    with pytest.raises(InputError, match="batch_size"):
        make(env, batch_size=0)
    with pytest.raises(TypeError, match="bogus"):
        make(env, bogus=1)


def test_exclude_keeps_every_window_of_both_splits_off_the_region(example_store) -> None:
    from fnstore.store.regions import window_start
    from fnstore.training.sampler import Sampler

    st = example_store
    chrom = st.chroms[0]
    lo_bp, hi_bp = 2_000_000, 3_000_000
    options = {"window": 400, "max_shift": 50, "valid_chroms": [f"{chrom}:3600000-4500000"]}
    for split in ("train", "valid"):
        plain = Sampler(st, "YY1", ["GM12878"], split=split, **options)
        kept = Sampler(
            st, "YY1", ["GM12878"], split=split, exclude=[f"{chrom}:{lo_bp}-{hi_bp}"], **options
        )
        bins = np.concatenate(kept._pos)
        _, start = st.bin_coords(bins)
        left = window_start(start, 400, st.bin_size) - 50
        assert not np.any((left + 400 + 100 > lo_bp) & (left < hi_bp))
        if split == "train":  # the region holds bound bins, now gone from training
            assert len(bins) < len(np.concatenate(plain._pos))
