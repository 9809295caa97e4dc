"""The balanced, index-based training sampler (``fnstore.Sampler``); no Keras import.

A :class:`Sampler` turns a store into batches ``({"x": (B, L, 4+T), "extra": (B, E)}, y)``
for the model contract in ``fnstore.model``. Everything a batch contains is a pure
function of ``(seed, epoch, batch index)``: workers in other processes, a resumed run and
a second run with the same seed see the same batches, and Keras may ask for batches in any
order. :func:`fnstore.training.keras_data.as_keras_dataset` wraps it as a
``keras.utils.PyDataset`` (workers and multiprocessing included); iterating it directly
gives NumPy batches for any framework. The sampler knows nothing of Keras: the adapter
depends on it, never the other way round. Its knobs are the fields of
:class:`~fnstore.training.config.SamplerConfig`.

Each training epoch is the positives (every usable bound bin, or with
``one_per_peak=True`` one random bin of each run of consecutive bound bins: the store has
labels, not peaks) plus ``negatives`` negatives per positive drawn afresh (uniformly,
with replacement) from unbound usable bins, all in a random order, each window shifted by
a random ``[-max_shift, max_shift]`` and, with ``reverse_complement=True``, reverse
complemented with probability 1/2. A validation sampler (``split="valid"``) is fixed: all
its positives plus negatives drawn once, no shift, no reverse complement, in genome order.

Memory: reads go through a chunk cache bounded by ``memory_budget`` bytes. When the chunks
an epoch needs do not all fit, the epoch is ordered in blocks of randomly grouped chunks
(each group fits the budget; examples are shuffled within a group and groups come in
random order) so that each chunk is decompressed once per epoch rather than once per
example; batches then mix examples from up to a budget's worth of random 1 Mi regions.
"""

from __future__ import annotations

import ctypes
import os
from collections.abc import Iterator, Sequence
from dataclasses import asdict, fields, replace
from typing import Any

import numpy as np

from fnstore.errors import InputError
from fnstore.store.read import Store, open_store
from fnstore.store.regions import bin_runs, window_start
from fnstore.store.tensor_layout import to_layout
from fnstore.training.config import (
    DEFAULT_MAX_SHIFT,
    DEFAULT_MEMORY_BUDGET,
    SamplerConfig,
    from_options,
    parse_size,
    with_knob_signature,
)
from fnstore.training.epoch import EpochPlanner, Plan, draw
from fnstore.training.examples import (
    default_valid_regions,
    parse_regions,
    positive_negative_masks,
    read_task_labels,
    split_masks,
)
from fnstore.training.windows import WindowReader

__all__ = [
    "DEFAULT_MAX_SHIFT",
    "DEFAULT_MEMORY_BUDGET",
    "Batch",
    "Plan",
    "Sampler",
    "SamplerConfig",
    "draw",
    "parse_size",
]

#: knobs whose value on a validation sampler is not inherited from its training sampler
_NOT_INHERITED_BY_VALIDATION = {"max_batches": None, "shard_index": 0, "num_shards": 1}

Batch = tuple[dict[str, np.ndarray], np.ndarray]


class Sampler(EpochPlanner):
    """Balanced batches of store windows for TF(s) ``tfs`` in reference ``cells``.

    See the module docstring for the sampling rules. ``split="valid"`` gives the fixed
    validation set of the same configuration (on ``valid_cell`` when given).
    ``tracks=None`` uses every store track all cells have. ``max_batches`` caps batches
    per epoch (quick runs); ``shard_index``/``num_shards`` take every ``num_shards``-th
    batch (one shard per data-parallel worker). ``dtype`` of ``x`` is the store's signal
    dtype unless given (float16 for default stores: exact for the one-hot and the stored
    signals, half the bytes of float32; Keras casts inputs to the model's dtype on the
    device, other frameworks may want ``dtype="float32"``).

    Parameters
    ----------
    store
        An open :class:`~fnstore.store.read.Store` or its path.
    tfs, cells
        TF name(s) and reference cell name(s) to draw examples for.
    config
        A :class:`~fnstore.training.config.SamplerConfig`; default: all defaults.
    **options
        Any :class:`~fnstore.training.config.SamplerConfig` field (``window``,
        ``batch_size``, ``negatives``, ``seed``, ...), overriding ``config``.

    Raises
    ------
    InputError
        For an out-of-range knob, unknown names, or a split without bound bins.
    """

    @with_knob_signature((SamplerConfig, False))
    def __init__(
        self,
        store: Store | str | os.PathLike,
        tfs: str | Sequence[str],
        cells: str | Sequence[str],
        *,
        config: SamplerConfig | None = None,
        **options: Any,
    ) -> None:
        self.config = from_options(SamplerConfig, config, options)
        self.store = store if isinstance(store, Store) else open_store(store)
        self.tfs = [tfs] if isinstance(tfs, str) else list(tfs)
        self.train_cells = [cells] if isinstance(cells, str) else list(cells)
        if not self.tfs or not self.train_cells:
            raise InputError("sampler", "give at least one TF and one cell")
        if self.config.valid_cell is not None and self.config.valid_cell in self.train_cells:
            raise InputError("valid_cell", f"{self.config.valid_cell!r} is also a training cell")
        self._apply_knobs(self.config)
        self._choose_features(self.config)
        usable = self._find_examples(self.config)
        self._epoch_size: int | None = None
        self._chunks = self._chunks_needed(usable)
        del usable
        _return_freed_memory()
        self.reader = self._make_reader()
        self.epoch = 0
        self.position = 0  # next batch of the plain iterator
        self._plan: Plan | None = None
        self._plan_epoch = -1
        self.rank, self.world_size = 0, 1  # see shard_by_rank

    # ------------------------------------------------------------------ set-up steps
    def _apply_knobs(self, c: SamplerConfig) -> None:
        """The knobs as this split uses them: validation draws fixed, unshifted windows."""
        train = c.split == "train"
        self.split = c.split
        self.cells = [c.valid_cell] if (not train and c.valid_cell) else self.train_cells
        self.valid_cell = c.valid_cell
        self.window = c.window
        self.batch_size = c.batch_size
        use_valid_negatives = not train and c.valid_negatives is not None
        self.negatives = float(c.valid_negatives if use_valid_negatives else c.negatives)
        self.max_shift = c.max_shift if train else 0
        self.reverse_complement = c.reverse_complement and train
        self.one_per_peak = c.one_per_peak and train
        self.seed = c.seed
        self.max_batches = c.max_batches
        self.shard_index, self.num_shards = c.shard_index, c.num_shards
        self.memory_budget = int(c.memory_budget)
        self.dtype = str(np.dtype(self.store.signal_dtype if c.dtype is None else c.dtype))
        self.layout = c.layout

    def _choose_features(self, c: SamplerConfig) -> None:
        """Tracks, annotations and metadata columns of the batches (checked against the store)."""
        st = self.store
        self.tracks = list(c.tracks) if c.tracks is not None else self._shared_tracks()
        if c.annotations is True:
            self.annotations = list(st.annotation_names)
        else:
            self.annotations = list(c.annotations or ())
            for a in self.annotations:
                if a not in st.annotation_names:
                    raise InputError(
                        "annotations", f"{a!r} not in the store ({', '.join(st.annotation_names)})"
                    )
        self.meta_features = list(st.meta_feature_names) if c.metadata else []
        self._meta = self._read_metadata()
        self._annot_bits = self._read_annotation_bits() if self.annotations else None
        if c.strand_pairs is None:
            from fnstore.model.tracks import strand_pairs_for

            self.strand_pairs = strand_pairs_for(self.tracks)
        else:
            self.strand_pairs = [tuple(p) for p in c.strand_pairs]

    def _shared_tracks(self) -> list[str]:
        """Every store track that all cells (training and validation) have."""
        st = self.store
        present = st.track_present
        cells = set(self.cells) | set(self.train_cells)
        return [
            t
            for t in st.tracks
            if all(present.get(t, [True] * len(st.cells))[st.cell_index(c)] for c in cells)
        ]

    def _read_metadata(self) -> np.ndarray:
        """``(n_cells, n_meta)`` cell metadata; a cell without any is an error when asked for."""
        meta = np.zeros((len(self.cells), len(self.meta_features)), dtype=np.float32)
        if self.meta_features:
            for i, c in enumerate(self.cells):
                values = self.store.metadata(c)
                if np.isnan(values).any():
                    raise InputError(
                        f"cell {c!r}", "has no metadata in the store; use --no-metadata"
                    )
                meta[i] = values
        return meta

    def _find_examples(self, c: SamplerConfig) -> np.ndarray:
        """Positives, runs and negative pools per cell; returns the split's usable-bin mask.

        The split masks use the configured ``max_shift`` on both splits, so that training
        windows at their widest shift stay clear of the validation regions.
        """
        st = self.store
        if c.valid_chroms:
            self.valid_regions = parse_regions(st, list(c.valid_chroms))
        else:
            self.valid_regions = default_valid_regions(st, c.valid_fraction)
        train_mask, valid_mask = split_masks(st, self.valid_regions, self.window, c.max_shift)
        usable = train_mask if self.split == "train" else valid_mask
        del train_mask, valid_mask
        if c.exclude:  # no window of either split may touch a held-out test region
            clear, _ = split_masks(st, parse_regions(st, list(c.exclude)), self.window, c.max_shift)
            usable &= clear
        usable &= ~np.asarray(st.blacklist(), dtype=bool)
        self._pos: list[np.ndarray] = []
        self._runs: list[tuple[np.ndarray, np.ndarray]] = []
        self._neg: list[np.ndarray] = []  # bool masks: rejection sampling needs 1 byte/bin
        self._neg_count: list[int] = []
        self._labels: list[np.ndarray] = []
        for tl in read_task_labels(st, self.tfs, self.cells):
            pos, neg = positive_negative_masks(tl.labels, usable)
            pos_bins = np.flatnonzero(pos)
            self._pos.append(pos_bins)
            self._runs.append(bin_runs(pos_bins, st.bin_coords(pos_bins)[0]))
            self._neg.append(neg)
            self._neg_count.append(int(neg.sum()))
            self._labels.append(tl.labels)
        if sum(len(p) for p in self._pos) == 0:
            where = ", ".join(str(r) for r in self.valid_regions)
            raise InputError(
                "sampler",
                f"no bound bins for {', '.join(self.tfs)} in {', '.join(self.cells)} in the "
                f"{self.split} split"
                + (f" (validation regions: {where})" if self.split == "valid" else ""),
            )
        return usable

    @property
    def settings(self) -> SamplerConfig:
        """:attr:`config` with every store-dependent choice made and the split's effective
        values (what :meth:`validation` and the model card build on)."""
        return replace(
            self.config,
            negatives=self.negatives,
            max_shift=self.max_shift,
            reverse_complement=self.reverse_complement,
            one_per_peak=self.one_per_peak,
            tracks=tuple(self.tracks),
            annotations=tuple(self.annotations),
            metadata=bool(self.meta_features),
            valid_chroms=tuple(str(r) for r in self.valid_regions),
            memory_budget=self.memory_budget,
            strand_pairs=tuple(self.strand_pairs),
            dtype=self.dtype,
        )

    def _make_reader(self) -> WindowReader:
        return WindowReader(
            self.store,
            self.cells,
            self.tracks,
            self.window,
            self.memory_budget,
            self.strand_pairs,
            chunks_needed=self._chunks,
            dtype=self.dtype,
        )

    def __getstate__(self) -> dict[str, Any]:
        """Pickle without the store handle and the cache (rebuilt in the new process)."""
        state = dict(self.__dict__)
        state["store"] = self.store.path
        state["reader"] = None
        state["_plan"] = None
        state["_plan_epoch"] = -1
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self.store = open_store(state["store"])
        self.reader = self._make_reader()

    def first_base(self, bins: np.ndarray) -> np.ndarray:
        """Global position of the first base of the unshifted window of each bin.

        Parameters
        ----------
        bins : numpy.ndarray
            Global bin indices (int).

        Returns
        -------
        numpy.ndarray
            int64 global positions (chromosome offset + window start; may precede the
            chromosome start for bins near its beginning).
        """
        st = self.store
        chrom, start = st.bin_coords(bins)
        return st.chrom_offsets[chrom] + window_start(start, self.window, st.bin_size)

    # ------------------------------------------------------------------ features
    def _read_annotation_bits(self) -> np.ndarray:
        """Annotation flags packed 8 per byte (a whole genome costs n_bins bytes)."""
        st = self.store
        cols = [st.annotation_names.index(a) for a in self.annotations]
        out = np.empty((st.n_bins, (len(cols) + 7) // 8), dtype=np.uint8)
        step = max(st.bin_chunk, 1)
        for lo in range(0, st.n_bins, step):
            block = st.annotations(slice(lo, lo + step))[:, cols]
            out[lo : lo + len(block)] = np.packbits(block.astype(bool), axis=1)
        return out

    def _chunks_needed(self, usable: np.ndarray) -> int:
        """Chunks spanned by the usable bins' windows (sizes the cache when all fit)."""
        st, C = self.store, self.store.position_chunk
        total = 0
        for i in range(len(st.chroms)):
            b0 = int(st.chrom_first_bin[i])
            idx = np.flatnonzero(usable[b0 : b0 + int(st.bins_per_chrom[i])])
            if len(idx):
                first = self.first_base(np.asarray([b0 + idx[0], b0 + idx[-1]]))
                lo, hi = (
                    int(first[0]) - self.max_shift,
                    int(first[1]) + self.window + self.max_shift,
                )
                total += hi // C - lo // C + 1
        return max(total, 1)

    @property
    def n_extra(self) -> int:
        return len(self.meta_features) + len(self.annotations)

    @property
    def n_tracks(self) -> int:
        return len(self.tracks)

    def batch(self, i: int, epoch: int | None = None) -> Batch:
        """Batch ``i`` of ``epoch`` (default: current): ``({"x": ..., "extra": ...}, y)``.

        Parameters
        ----------
        i : int
            Batch index within this shard, as for :meth:`batch_rows`.
        epoch : int, optional
            Epoch whose plan to draw the batch from; default the current one.

        Returns
        -------
        Batch
            ``x`` ``(B, window, 4 + n_tracks)`` of the sampler's dtype (``(B, 4 + n_tracks,
            window)`` with ``layout="NCL"``), ``extra``
            ``(B, n_extra)`` float32 when the model has one, and ``y`` ``(B, n_tfs)`` float32
            (-1 = masked). The last batch may be short.

        Raises
        ------
        IndexError
            For ``i`` out of range.
        """
        lo, hi, n_fwd = self._rank_span(*self._batch_span(i, epoch))
        plan = self.plan(epoch)
        x = to_layout(self.reader.read_located(plan.where[lo:hi], n_fwd), self.layout)
        inputs = {"x": x}
        if self.n_extra:
            inputs["extra"] = self.extra(plan.cell[lo:hi], plan.bin[lo:hi])
        return inputs, plan.y[lo:hi].copy()

    def shard_by_rank(self, rank: int, world_size: int) -> Sampler:
        """Give this process only its part of every batch (multi-process data parallel).

        Every process plans the same epochs from ``(seed, epoch)``; rank ``r`` of ``W``
        takes the ``r``-th of ``W`` contiguous, near-equal parts of each global batch (the
        sampler's ``batch_size`` stays the global batch). So ranks draw disjoint examples,
        their union is the single-process epoch, and the devices together see the very
        batches one device would (how Keras's ``DataParallel`` splits a global batch).
        Forward-strand rows stay first within each part, as the reader needs.

        Parameters
        ----------
        rank, world_size
            This process's rank and the number of processes.

        Returns
        -------
        Sampler
            This sampler, now sharded.

        Raises
        ------
        InputError
            For a rank outside ``[0, world_size)`` or a batch smaller than the world.
        """
        if not 0 <= rank < world_size:
            raise InputError("rank", f"rank {rank} not in [0, {world_size})")
        if self.batch_size < world_size:
            raise InputError(
                "--batch-size", f"{self.batch_size} is smaller than {world_size} processes"
            )
        self.rank, self.world_size = int(rank), int(world_size)
        return self

    def _rank_span(self, lo: int, hi: int, n_fwd: int) -> tuple[int, int, int]:
        """This rank's rows ``[lo, hi)`` of a global batch and how many are forward."""
        if self.world_size == 1:
            return lo, hi, n_fwd
        n = hi - lo
        a = lo + n * self.rank // self.world_size
        b = lo + n * (self.rank + 1) // self.world_size
        return a, b, int(np.clip(lo + n_fwd - a, 0, b - a))

    def extra(self, cell: np.ndarray, bins: np.ndarray) -> np.ndarray:
        """Cell metadata then annotation flags, ``(n, n_extra)`` float32.

        Parameters
        ----------
        cell : numpy.ndarray
            Index into :attr:`cells` of each row.
        bins : numpy.ndarray
            Global bin of each row.

        Returns
        -------
        numpy.ndarray
            ``(n, n_extra)`` float32; only call when ``n_extra > 0``.
        """
        parts = []
        if self.meta_features:
            parts.append(self._meta[cell])
        if self._annot_bits is not None:
            bits = np.unpackbits(self._annot_bits[bins], axis=1, count=len(self.annotations))
            parts.append(bits.astype(np.float32))
        return np.concatenate(parts, axis=1) if len(parts) > 1 else parts[0]

    def as_torch(self) -> Any:
        """This sampler as a PyTorch ``IterableDataset`` sharded by DataLoader worker.

        Returns
        -------
        torch.utils.data.IterableDataset
            See :func:`fnstore.training.torch_data.as_torch_dataset` (PyTorch is imported
            only here).
        """
        from fnstore.training.torch_data import as_torch_dataset

        return as_torch_dataset(self)

    def __getitem__(self, i: int) -> Batch:
        return self.batch(i)

    def __iter__(self) -> Iterator[Batch]:
        """The rest of the current epoch from the saved position; then the next epoch starts."""
        while self.position < len(self):
            i = self.position
            self.position += 1
            yield self.batch(i)
        self.on_epoch_end()

    def on_epoch_end(self) -> None:
        self.epoch += 1
        self.position = 0
        self._plan = None

    # ------------------------------------------------------------------ state
    def get_state(self) -> dict[str, Any]:
        """Everything needed to continue the same stream (JSON-able).

        Returns
        -------
        dict
            ``seed``, ``epoch`` and ``position`` (next batch of the plain iterator).
        """
        return {"seed": self.seed, "epoch": self.epoch, "position": self.position}

    def set_state(self, state: dict[str, Any]) -> None:
        """Continue the stream saved by :meth:`get_state`.

        Parameters
        ----------
        state : dict
            From :meth:`get_state` of a sampler with the same seed.

        Raises
        ------
        InputError
            When the state's seed differs from this sampler's.
        """
        if int(state["seed"]) != self.seed:
            raise InputError(
                "sampler state", f"seed {state['seed']} differs from this sampler's {self.seed}"
            )
        self.epoch = int(state["epoch"])
        self.position = int(state["position"])

    def validation(self, **overrides: Any) -> Sampler:
        """The fixed validation sampler of this configuration.

        Parameters
        ----------
        **overrides
            :class:`~fnstore.training.config.SamplerConfig` fields to change (e.g.
            ``max_batches``); this sampler's batch cap and shard are not inherited.

        Returns
        -------
        Sampler
            A ``split="valid"`` sampler on the same store, TFs and training cells.
        """
        config = replace(self.settings, split="valid", **_NOT_INHERITED_BY_VALIDATION)
        return Sampler(self.store, self.tfs, self.train_cells, config=config, **overrides)

    @property
    def _config(self) -> dict[str, Any]:
        """:attr:`settings` as a plain, JSON-able dict."""
        return {k: _plain(v) for k, v in asdict(self.settings).items()}

    def describe(self) -> dict[str, Any]:
        """A JSON-able summary for model cards and logs.

        The knobs come from :attr:`settings` (those not marked ``card=False``), so a new
        knob reaches the card without a change here.

        Returns
        -------
        dict
            The card knobs plus TFs, cells, metadata features, validation regions, counts of
            positives, examples and batches per epoch, cache bytes and whether the epoch is
            block-shuffled.
        """
        knobs = {
            f.name: _plain(getattr(self.settings, f.name))
            for f in fields(SamplerConfig)
            if f.metadata.get("card", True)
        }
        return {
            **knobs,
            "tfs": self.tfs,
            "cells": self.cells,
            "meta_features": self.meta_features,
            "valid_regions": [str(r) for r in self.valid_regions],
            "positives": int(sum(len(p) for p in self._pos)),
            "examples_per_epoch": self.epoch_size(),
            "batches_per_epoch": len(self),
            "cache_bytes": self.reader.nbytes,
            "block_shuffled": self.reader.evicting,
        }

    def __repr__(self) -> str:
        return (
            f"<fnstore.Sampler {self.split} {'+'.join(self.tfs)} in {','.join(self.cells)}: "
            f"{self.epoch_size():,} examples, {len(self)} batches of {self.batch_size}, "
            f"L={self.window}, tracks={self.tracks}>"
        )


def _plain(value: Any) -> Any:
    """Tuples as lists: descriptions keep the list values they always had."""
    return [_plain(v) for v in value] if isinstance(value, tuple) else value


def _return_freed_memory() -> None:
    """Hand freed heap memory back to the operating system (glibc only; else a no-op).

    Why: the label masks of a large genome are built from arrays of tens of MB that are
    freed again; glibc keeps such blocks in the heap once its mmap threshold has risen,
    which showed on the 10x benchmark store as RSS that no array held (docs/design.md).
    """
    try:
        trim = ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):
        return
    trim(0)
