"""An epoch of a sampler: which examples, in which order, cut into which batches.

Everything here is a pure function of ``(seed, epoch)`` and the sampler's examples, so any
process can rebuild the plan of any epoch and agree on every batch. Kept apart from the
sampler's reading of windows (:mod:`fnstore.training.sampler`,
:mod:`fnstore.training.windows`) so the ordering rules read on their own: fresh negatives
each epoch, shifts and strands drawn per example, validation in genome order, and under a
small memory budget random groups of chunks that fit it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fnstore.errors import InputError
from fnstore.training.examples import targets
from fnstore.training.windows import Located


@dataclass
class Plan:
    """One epoch's examples in batch order (row ``i`` belongs to batch ``i // batch_size``).

    Within a batch, forward-strand rows come first: a batch is then a plain slice of the
    plan, and each strand a contiguous block of the reader's output.
    """

    cell: np.ndarray  # index into Sampler.cells
    bin: np.ndarray  # global bin index
    shift: np.ndarray
    rc: np.ndarray  # bool
    start: np.ndarray  # global position of the window's first base (forward strand)
    y: np.ndarray  # (n, n_tfs) float32, -1 = masked
    n_fwd: np.ndarray  # per batch: its forward-strand rows come first, then the reverse
    where: Located  # the windows' chunks and offsets, for the reader

    def __len__(self) -> int:
        return len(self.bin)


class EpochPlanner:
    """Epoch plans and batch spans, mixed into :class:`fnstore.training.sampler.Sampler`.

    The sampler provides the examples (``_pos``, ``_runs``, ``_neg``, ``_neg_count``,
    ``_labels`` per cell), the knobs (``seed``, ``split``, ``negatives``, ``one_per_peak``,
    ``max_shift``, ``reverse_complement``, ``batch_size``, ``max_batches``,
    ``shard_index``, ``num_shards``, ``epoch``), ``cells``, ``reader``, ``first_base()`` and
    the plan cache (``_plan``, ``_plan_epoch``, ``_epoch_size``).
    """

    # ------------------------------------------------------------------ plans
    def epoch_size(self) -> int:
        """Examples in a (full) epoch.

        Returns
        -------
        int
            Positives plus drawn negatives, before ``max_batches`` and sharding.
        """
        if self._epoch_size is None:
            self._epoch_size = self._count_examples()
        return self._epoch_size

    def _count_examples(self) -> int:
        n_pos = sum(
            len(r[0]) if self.one_per_peak else len(p)
            for p, r in zip(self._pos, self._runs, strict=True)
        )
        return n_pos + sum(
            int(round(self.negatives * (len(r[0]) if self.one_per_peak else len(p))))
            for p, r in zip(self._pos, self._runs, strict=True)
        )

    def plan(self, epoch: int | None = None) -> Plan:
        """The examples of ``epoch`` (default: the current one) in batch order.

        Parameters
        ----------
        epoch : int, optional
            Epoch whose plan to use; default the current one (a validation sampler has one
            fixed plan).

        Returns
        -------
        Plan
            The last plan is kept: asking again for that epoch returns the same object.
        """
        epoch = self.epoch if epoch is None else int(epoch)
        if self.split == "valid":
            epoch = 0
        if self._plan is not None and self._plan_epoch == epoch:
            return self._plan
        plan = self._make_plan(epoch)
        self._plan, self._plan_epoch = plan, epoch
        return plan

    def _make_plan(self, epoch: int) -> Plan:
        rng = np.random.default_rng([self.seed, epoch, 0 if self.split == "train" else 1])
        cells, bins, ys = [], [], []
        for c, (pos, (rstart, rlen), neg, n_ok, lab) in enumerate(
            zip(self._pos, self._runs, self._neg, self._neg_count, self._labels, strict=True)
        ):
            if self.one_per_peak:
                pos = pos[rstart + (rng.random(len(rstart)) * rlen).astype(np.int64)]
            n_neg = int(round(self.negatives * len(pos)))
            if n_neg and n_ok == 0:
                raise InputError(
                    "sampler", f"no negative bins for {self.cells[c]} in the {self.split} split"
                )
            b = np.concatenate([pos, draw(neg, n_ok, n_neg, rng)]).astype(np.int64)
            bins.append(b)
            cells.append(np.full(len(b), c, dtype=np.int32))
            ys.append(targets(lab[b]))
        cell = np.concatenate(cells)
        bin_ = np.concatenate(bins)
        yy = np.concatenate(ys)
        n = len(bin_)
        shift = (
            rng.integers(-self.max_shift, self.max_shift + 1, n).astype(np.int32)
            if self.max_shift
            else np.zeros(n, np.int32)
        )
        rc = rng.random(n) < 0.5 if self.reverse_complement else np.zeros(n, dtype=bool)
        start = self.first_base(bin_) + shift
        where = self.reader.locate(cell, start)
        if self.split == "valid":
            order = np.lexsort((bin_, cell))  # genome order: each chunk read once
        else:
            order = rng.permutation(n)
            if self.reader.evicting:
                order = self._blocked(order, where.key, rng)
        # forward rows first within each batch (a stable partition keeps the shuffle)
        batch = np.arange(n) // self.batch_size
        order = order[np.argsort(batch * 2 + rc[order], kind="stable")]
        n_fwd = np.bincount(batch, weights=~rc[order], minlength=-(-n // self.batch_size))
        return Plan(
            cell[order],
            bin_[order],
            shift[order],
            rc[order],
            start[order],
            yy[order],
            n_fwd.astype(np.int64),
            where[order],
        )

    def _blocked(self, order: np.ndarray, key: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Reorder so consecutive examples share a budget-sized random group of chunks
        (``key``: each example's (cell, chunk) cache key)."""
        keys, inverse = np.unique(key, return_inverse=True)
        # half the slots per group: a batch straddling two groups still fits the cache
        group_of_key = rng.permutation(len(keys)) // max(1, self.reader.slots // 2)
        group = group_of_key[inverse][order]
        return order[np.argsort(group, kind="stable")]

    # ------------------------------------------------------------------ batches
    def n_batches(self) -> int:
        """Batches per epoch of the whole (unsharded) plan, after ``max_batches``.

        Returns
        -------
        int
            Batches of all shards together; ``len(sampler)`` is this shard's.
        """
        n = -(-self.epoch_size() // self.batch_size)
        return min(n, self.max_batches) if self.max_batches else n

    def __len__(self) -> int:
        """Batches per epoch of this shard."""
        return max(0, -(-(self.n_batches() - self.shard_index) // self.num_shards))

    def batch_rows(self, i: int, epoch: int | None = None) -> tuple[np.ndarray, int]:
        """Plan rows of batch ``i`` in output order (forward windows first) and how many
        are forward.

        Parameters
        ----------
        i : int
            Batch index within this shard, ``0 <= i < len(self)``.
        epoch : int, optional
            Epoch whose plan to use; default the current one (a validation sampler has one
            fixed plan).

        Returns
        -------
        rows : numpy.ndarray
            Row indices into :meth:`plan`.
        n_fwd : int
            How many of them (the first) are forward-strand windows.
        """
        lo, hi, n_fwd = self._batch_span(i, epoch)
        return np.arange(lo, hi), n_fwd

    def _batch_span(self, i: int, epoch: int | None) -> tuple[int, int, int]:
        if not 0 <= i < len(self):
            raise IndexError(f"batch {i} out of range ({len(self)} batches)")
        g = i * self.num_shards + self.shard_index
        plan = self.plan(epoch)
        lo = g * self.batch_size
        return lo, min(lo + self.batch_size, len(plan)), int(plan.n_fwd[g])


def draw(mask: np.ndarray, n_true: int, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` indices drawn uniformly (with replacement) among the True entries of ``mask``.

    Rejection sampling: no index array of every eligible bin is ever built, so a genome's
    negative pool costs one byte per bin.

    Parameters
    ----------
    mask : numpy.ndarray
        Boolean eligibility mask.
    n_true : int
        Number of True entries in ``mask`` (at least 1 when ``n > 0``).
    n : int
        Number of indices to draw.
    rng : numpy.random.Generator
        Source of randomness; the result is a pure function of its state.

    Returns
    -------
    numpy.ndarray
        ``n`` int64 indices into ``mask``.
    """
    out = np.empty(0, dtype=np.int64)
    if n == 0:
        return out
    frac = n_true / len(mask)
    while len(out) < n:
        want = n - len(out)
        cand = rng.integers(0, len(mask), int(want / frac * 1.05) + 64)
        out = np.concatenate([out, cand[mask[cand]][:want]])
    return out
