"""A fixed-size arena of decompressed store chunks, shared by every batch a sampler reads.

Why an arena and not a dict of arrays: a batch's windows are gathered by one compiled
loop that addresses every window as ``slot * slot_len + offset`` in one NumPy buffer, so
every cached chunk lives in that buffer. Each slot holds a whole position chunk plus a *halo*
(the first ``halo`` positions of the next chunk), so a window that starts near the end of
a chunk is still one contiguous row of the arena. Heads of chunks are remembered forever
(a few kB each), so a halo costs at most one extra chunk decompression per chunk per
process lifetime.

Eviction is least-recently-used over slots, never evicting a slot the current batch needs.
Pure NumPy; the caller supplies a ``load(key, start, stop, out)`` function that writes the
data of one key's positions ``[start, stop)`` (chunk-relative) into ``out``, a view of the
arena slot, so this module knows nothing about Zarr. Writing in place (rather than
returning an array that is then copied in) saves a full-chunk copy per load, and lets the
loader cast or interleave straight into the arena.

A cache may hold its data *packed*, ``pack`` positions per arena item (``encode`` turns
positions into items): the sequence cache keeps two base codes per byte, so a genome ten
times chr20's stays resident in a budget that would hold less than half of it as one
byte per base, and sequence chunks are then decompressed once per process, not once per
epoch. ``load`` then fills a staging buffer of positions that ``encode`` packs.

A cache of several values per position may also be *planar* (``planar=True``: slot
arrays ``(row, position)`` rather than ``(position, row)``), so a loader can decompress
each track's chunk straight into place. The window reader uses it only when chunks are
decompressed again every epoch; interleaved rows are faster to gather from.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from fnstore.errors import InputError

#: load(key, start, stop, out): fill ``out`` (shape ``(stop - start, *row_shape)``, or
#: ``(*row_shape, stop - start)`` in a planar cache)
Loader = Callable[[int, int, int, np.ndarray], None]
#: encode(positions, out): pack ``positions`` values into ``out`` (len(positions) // pack)
Encoder = Callable[[np.ndarray, np.ndarray], None]


def slot_length(chunk: int, halo: int, pack: int = 1) -> int:
    """Positions in one slot: the chunk plus its halo rounded up to whole packed items.

    Parameters
    ----------
    chunk : int
        Positions per store chunk.
    halo : int
        Positions of the next chunk kept after it (at least the window length).
    pack : int
        Positions per arena item; the halo is rounded up to a multiple of it.

    Returns
    -------
    int
        Positions per slot, a multiple of ``pack`` when ``chunk`` is.
    """
    return int(chunk) + -(-int(halo) // pack) * pack


class ChunkCache:
    """LRU cache of ``n_slots`` chunks, each ``chunk + halo`` positions of ``row_shape`` values.

    Keys are integers ``row * n_chunks + chunk`` (row = cell for signals, 0 for sequence);
    the chunk after key ``k`` is ``k + 1`` (callers never ask for a halo past the end of a
    chromosome, and chromosomes never share a chunk). With ``pack > 1`` the halo is
    rounded up to a multiple of ``pack`` and ``dtype`` is the packed items' dtype; the
    values ``load`` writes are ``value_dtype``.
    """

    def __init__(
        self,
        load: Loader,
        n_keys: int,
        n_slots: int,
        chunk: int,
        halo: int,
        dtype: np.dtype | type,
        row_shape: tuple[int, ...] = (),
        n_needed: int | None = None,
        pack: int = 1,
        encode: Encoder | None = None,
        value_dtype: np.dtype | type | None = None,
        planar: bool = False,
    ) -> None:
        if n_slots < 1:
            raise InputError("memory budget", "too small to cache a single chunk")
        if pack > 1 and (encode is None or chunk % pack or row_shape):
            raise ValueError("a packed cache needs an encoder, chunk % pack == 0, scalar rows")
        self.load = load
        self.pack = int(pack)
        self.encode = encode
        self.chunk = int(chunk)
        self.slot_len = slot_length(chunk, halo, self.pack)
        self.halo = self.slot_len - self.chunk
        needed = n_keys if n_needed is None else min(n_needed, n_keys)
        self.n_slots = int(max(1, min(n_slots, needed)))
        # np.empty does not touch pages: RSS grows only as slots are filled
        self.planar = bool(planar)
        span = (self.slot_len // self.pack,)
        shape = (*row_shape, *span) if self.planar else (*span, *row_shape)
        self.arena = np.empty((self.n_slots, *shape), dtype=dtype)
        self.row_shape = tuple(row_shape)
        self.value_dtype = np.dtype(dtype if value_dtype is None else value_dtype)
        #: positions of one chunk before packing (packed caches only)
        self._staging = np.empty(self.chunk, dtype=self.value_dtype) if self.pack > 1 else None
        self.slot_of = np.full(n_keys, -1, dtype=np.int64)
        self.key_of = np.full(self.n_slots, -1, dtype=np.int64)
        self.halo_ok = np.zeros(self.n_slots, dtype=bool)
        self.last_used = np.zeros(self.n_slots, dtype=np.int64)
        self.heads: dict[int, np.ndarray] = {}
        self.tick = 0
        self.n_loaded = 0
        self.loads = 0  # chunk decompressions so far (for benchmarks and tests)
        #: False when every key fits: then no recency bookkeeping is needed per batch
        self.evicting = self.n_slots < needed

    @property
    def flat(self) -> np.ndarray:
        """The arena as one axis of items: slot ``s`` starts at position ``s * slot_len``
        (item ``s * slot_len // pack``). Not for planar caches: index ``arena`` itself."""
        return self.arena.reshape(-1, *self.arena.shape[2:])

    def _span(self, s: int, lo: int, hi: int | None = None) -> np.ndarray:
        """Items ``[lo, hi)`` of slot ``s`` (item indices), whatever the layout."""
        if self.planar:
            return self.arena[s, ..., lo:hi]
        return self.arena[s, lo:hi]

    def _head_of(self, data: np.ndarray) -> np.ndarray:
        return np.array(data[..., : self.halo] if self.planar else data[: self.halo], copy=True)

    @property
    def nbytes(self) -> int:
        return int(self.arena.nbytes)

    def slots(self, keys: np.ndarray, need_halo: np.ndarray | None = None) -> np.ndarray:
        """Slot of each key, loading missing keys (and halos where ``need_halo``) first.

        Parameters
        ----------
        keys : numpy.ndarray
            int64 cache keys, one per window (repeats allowed).
        need_halo : numpy.ndarray of bool, optional
            Per key: the window runs into the next chunk, so the slot's halo must be filled.

        Returns
        -------
        numpy.ndarray
            int64 slot index of each key; valid until the next call.

        Raises
        ------
        InputError
            When an evicting cache has fewer slots than one call's distinct keys.
        """
        slot = self.slot_of[keys]
        missing = slot < 0
        if self.evicting:
            # mark this batch's keys as most recent so eviction never picks them
            self.tick += 1
            self.last_used[slot[~missing]] = self.tick
        if missing.any():
            wanted = np.unique(keys[missing])
            if self.evicting and len(np.unique(keys)) > self.n_slots:
                raise InputError(
                    "memory budget",
                    f"one batch needs {len(np.unique(keys))} chunks but only {self.n_slots} fit; "
                    "raise the memory budget or lower the batch size",
                )
            for key in wanted.tolist():
                self._load(int(key))
            slot = self.slot_of[keys]
        if need_halo is not None:
            lacking = need_halo & ~self.halo_ok[slot]
            if lacking.any():
                for key in np.unique(keys[lacking]).tolist():
                    self._fill_halo(int(key), int(self.slot_of[key]))
        return slot

    def _victim(self) -> int:
        if self.n_loaded < self.n_slots:
            return self.n_loaded
        return int(np.argmin(self.last_used))

    def _load(self, key: int) -> None:
        s = self._victim()
        old = int(self.key_of[s])
        if old >= 0:
            self.slot_of[old] = -1
        else:
            self.n_loaded += 1
        body = self._span(s, 0, self.chunk // self.pack)
        data = body if self._staging is None else self._staging
        self.load(key, 0, self.chunk, data)
        if self._staging is not None:
            self.encode(data, body)
        self.loads += 1
        self.key_of[s] = key
        self.slot_of[key] = s
        self.last_used[s] = self.tick
        self.halo_ok[s] = False
        if self.halo:
            # heads are kept as values (unpacked): a halo is re-encoded where it is placed
            self.heads[key] = self._head_of(data)
            nxt = self.heads.get(key + 1)
            if nxt is not None:
                self._put_halo(s, nxt)
            prev = self.slot_of[key - 1] if key > 0 else -1
            if prev >= 0 and not self.halo_ok[prev]:
                self._put_halo(int(prev), self.heads[key])

    def _put_halo(self, s: int, head: np.ndarray) -> None:
        tail = self._span(s, self.chunk // self.pack)
        if self.encode is None:
            tail[...] = head
        else:
            self.encode(head, tail)
        self.halo_ok[s] = True

    def _fill_halo(self, key: int, s: int) -> None:
        # every loaded chunk left its head in self.heads, so a missing head means the next
        # chunk was never loaded: read just its head
        head = self.heads.get(key + 1)
        if head is None:
            shape = (*self.row_shape, self.halo) if self.planar else (self.halo, *self.row_shape)
            head = np.empty(shape, dtype=self.value_dtype)
            self.load(key + 1, 0, self.halo, head)
            self.loads += 1
            self.heads[key + 1] = head
        self._put_halo(s, head)
