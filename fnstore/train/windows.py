"""Batch window reads from a store: one fancy index per array per batch, one-hot by table.

Why it is fast (the loader must never be what a GPU waits for):

* chunks are decompressed once into a :class:`~fnstore.train.cache.ChunkCache` arena
  (sequence as uint8 codes, signals already cast to float32 so no per-batch
  float16 conversion, all tracks of a cell interleaved per position);
* a batch's windows are one fancy index into a strided "every window" view of the arena
  (a block copy per window); reverse-strand windows come from a second view with a
  negative position stride, so they are copied already reversed (uint8 codes before the
  table look-up; signals as one item per position) with no extra pass;
* the one-hot is one ``np.take`` of a 5-row table whose rows are 16-byte ``complex128``
  values (one A/C/G/T/N one-hot row each; the complement table for reverse windows), and
  results are written straight into the ``(B, L, 4 + T)`` output through strided
  ``complex`` views, avoiding NumPy's slow copies with a 4-wide inner axis.

Rows of a batch are given forward-strand first, reverse-strand last (``n_fwd``), so each
strand is one contiguous slice of the output.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.lib.stride_tricks import as_strided

from fnstore.encoding import ONE_HOT_LUT
from fnstore.errors import InputError
from fnstore.store import Store
from fnstore.train.cache import ChunkCache

#: one-hot rows as single 16-byte values; the reverse table one-hots the complement
_LUT = np.ascontiguousarray(ONE_HOT_LUT).view(np.complex128).ravel()
_LUT_RC = np.ascontiguousarray(ONE_HOT_LUT[:, ::-1]).view(np.complex128).ravel()
#: float32 value of every float16 bit pattern
_F16_TO_F32 = (
    np.arange(1 << 16, dtype=np.uint32).astype(np.uint16).view(np.float16).astype(np.float32)
)
#: dtype whose one item covers the T float32 signal values of one position
_ROW_VIEW = {1: np.float32, 2: np.complex64, 4: np.complex128}


def _to_float32(values: np.ndarray, out: np.ndarray) -> None:
    """Cast store signal values into ``out`` (a strided arena column).

    float16 goes through a 65,536-entry table (exact, NaN and infinity included): NumPy's
    float16 cast into a strided column costs several ns per value, which dominated loading
    once the chunks an epoch needs no longer fit the cache (each is then decompressed and
    cast once per epoch).
    """
    if values.dtype == np.float16:
        np.take(_F16_TO_F32, values.view(np.uint16), out=out, mode="clip")
    else:
        out[...] = values


def _reversed_windows(flat: np.ndarray, length: int) -> np.ndarray:
    """Read-only view ``(n - length + 1, length, ...)``: window ``p`` is ``flat[p:p+length]``
    reversed along axis 0 (negative stride), so a fancy index of reverse-strand starts copies
    each window already reversed: no reversed gather and no second contiguous copy.
    """
    n = flat.shape[0] - length + 1
    return as_strided(
        flat[length - 1 :],
        shape=(n, length, *flat.shape[1:]),
        strides=(flat.strides[0], -flat.strides[0], *flat.strides[1:]),
        writeable=False,
    )


def _windows(flat: np.ndarray, length: int) -> np.ndarray:
    """Read-only view ``(n - length + 1, length, ...)``: every window of ``flat`` along axis 0.

    Indexing it with an array of starts copies each window as one contiguous block.
    """
    n = flat.shape[0] - length + 1
    return as_strided(
        flat,
        shape=(n, length, *flat.shape[1:]),
        strides=(flat.strides[0], *flat.strides),
        writeable=False,
    )


class WindowReader:
    """Read ``(B, L, 4 + T)`` float32 windows for (cell, global start) pairs.

    ``cells`` are store cell names (rows of signals), ``tracks`` store track names in
    channel order, ``strand_pairs`` track index pairs swapped on reverse windows. The
    memory budget (bytes) bounds both arenas together.
    """

    def __init__(
        self,
        store: Store,
        cells: Sequence[str],
        tracks: Sequence[str],
        window: int,
        memory_budget: int,
        strand_pairs: Sequence[Sequence[int]] = (),
        chunks_needed: int | None = None,
    ) -> None:
        self.store = store
        self.cells = list(cells)
        self.tracks = list(tracks)
        self.window = int(window)
        self.n_tracks = len(self.tracks)
        self.chunk = int(store.position_chunk)
        self.n_chunks = int(store.sequence_array.shape[0]) // self.chunk
        present = store.track_present
        for track in self.tracks:
            store.track_index(track)
            for cell in self.cells:
                if not present.get(track, [True] * len(store.cells))[store.cell_index(cell)]:
                    raise InputError(
                        f"track {track!r}",
                        f"cell {cell!r} has no {track} data in {store.path}; choose tracks that "
                        f"every cell has (--tracks) or other cells",
                    )
        self.store_cell_rows = [store.cell_index(c) for c in self.cells]
        perm = list(range(self.n_tracks))
        for a, b in strand_pairs:
            perm[a], perm[b] = perm[b], perm[a]
        self.rc_perm = None if perm == list(range(self.n_tracks)) else np.asarray(perm)

        slot_len = self.chunk + self.window
        per_slot = slot_len * (1 + 4 * self.n_tracks)
        want = self.n_chunks if chunks_needed is None else chunks_needed
        n_slots = max(1, int(memory_budget) // per_slot)
        seq_slots = min(n_slots, want)
        sig_slots = min(n_slots, want * len(self.cells)) if self.n_tracks else 0
        seq_arr = store.sequence_array

        def load_sequence(key: int, a: int, b: int, out: np.ndarray) -> None:
            out[...] = seq_arr[key * self.chunk + a : key * self.chunk + b]

        self.seq_cache = ChunkCache(
            load_sequence,
            self.n_chunks,
            seq_slots,
            self.chunk,
            self.window,
            np.uint8,
            n_needed=want,
        )
        self.sig_cache: ChunkCache | None = None
        if self.n_tracks:
            arrays = [store.signal_array(t) for t in self.tracks]

            def load_signals(key: int, a: int, b: int, out: np.ndarray) -> None:
                row, chunk = divmod(key, self.n_chunks)
                lo = chunk * self.chunk
                for t, arr in enumerate(arrays):
                    _to_float32(arr[self.store_cell_rows[row], lo + a : lo + b], out[:, t])

            self.sig_cache = ChunkCache(
                load_signals,
                self.n_chunks * len(self.cells),
                sig_slots,
                self.chunk,
                self.window,
                np.float32,
                (self.n_tracks,),
                n_needed=want * len(self.cells),
            )
        self._views()

    def _views(self) -> None:
        self._seq_fwd = _windows(self.seq_cache.flat, self.window)
        self._seq_rev = _reversed_windows(self.seq_cache.flat, self.window)
        if self.sig_cache is not None:
            flat = self.sig_cache.flat
            self._sig_fwd = _windows(flat, self.window)
            view = _ROW_VIEW.get(self.n_tracks)
            # one item per position when the tracks fit a complex/float item: a reversed
            # window is then a plain reversed copy (a permuted strand pair cannot use it)
            self._sig_rev = (
                _reversed_windows(flat.view(view)[:, 0], self.window)
                if view is not None and self.rc_perm is None
                else None
            )

    @property
    def nbytes(self) -> int:
        return self.seq_cache.nbytes + (self.sig_cache.nbytes if self.sig_cache else 0)

    @property
    def evicting(self) -> bool:
        return self.seq_cache.evicting or bool(self.sig_cache and self.sig_cache.evicting)

    @property
    def slots(self) -> int:
        return self.seq_cache.n_slots

    def read(self, cell: np.ndarray, start: np.ndarray, n_fwd: int) -> np.ndarray:
        """Windows ``[start, start + L)`` (global positions) of ``cell`` (indices into
        ``self.cells``); rows ``n_fwd:`` are reverse complemented."""
        L, C = self.window, self.chunk
        start = np.asarray(start, dtype=np.int64)
        chunk = start // C
        off = start - chunk * C
        straddle = off + L > C
        B = len(start)
        x = np.empty((B, L, 4 + self.n_tracks), dtype=np.float32)
        item = x.strides[1]
        seq_part = np.ndarray(
            buffer=x, dtype=np.complex128, shape=(B, L), strides=(x.strides[0], item)
        )

        slot = self.seq_cache.slots(chunk, straddle)
        pos = slot * self.seq_cache.slot_len + off
        if n_fwd:
            seq_part[:n_fwd] = np.take(_LUT, self._seq_fwd[pos[:n_fwd]])
        if n_fwd < B:
            # gather already-reversed rows, then look up the complement one-hots
            seq_part[n_fwd:] = np.take(_LUT_RC, self._seq_rev[pos[n_fwd:]])

        if self.sig_cache is not None:
            key = np.asarray(cell, dtype=np.int64) * self.n_chunks + chunk
            slot = self.sig_cache.slots(key, straddle)
            pos = slot * self.sig_cache.slot_len + off
            view = _ROW_VIEW.get(self.n_tracks)
            if view is not None:
                sig_part = np.ndarray(
                    buffer=x, dtype=view, shape=(B, L), strides=(x.strides[0], item), offset=16
                )

                def rows(a: np.ndarray) -> np.ndarray:
                    return a.view(view)[..., 0]
            else:
                sig_part = x[..., 4:]

                def rows(a: np.ndarray) -> np.ndarray:
                    return a

            if n_fwd:
                sig_part[:n_fwd] = rows(self._sig_fwd[pos[:n_fwd]])
            if n_fwd < B and self._sig_rev is not None:
                sig_part[n_fwd:] = self._sig_rev[pos[n_fwd:]]
            elif n_fwd < B:
                rev = self._sig_fwd[pos[n_fwd:]][:, ::-1]
                # a reversed copy first: NumPy writes a reversed view far slower
                rev = np.ascontiguousarray(
                    rev[..., self.rc_perm] if self.rc_perm is not None else rev
                )
                sig_part[n_fwd:] = rows(rev)
        return x
