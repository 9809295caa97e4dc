"""Batch window reads from a store: one compiled gather per batch, one-hot by table.

Why it is fast (the loader must never be what a GPU waits for):

* chunks are decoded straight from their files (:func:`fnstore.store.whole_chunk_reader`)
  into a :class:`~fnstore.training.cache.ChunkCache` arena: sequence packed two base codes
  per byte (a genome ten times chr20 stays resident in a few hundred MB), signals already
  in the output dtype, all tracks of a cell interleaved per position; when the signal
  chunks an epoch needs do not fit, so that they are decoded again every epoch, their
  arena is planar instead and each track decodes in place (interleaving cost more than
  the decode), at some cost in the gather;
* the output dtype defaults to the store's signal dtype (float16 in stores built with the
  defaults): one-hot values and float16 signals are exact in it, so nothing is lost, and a
  batch is half the bytes of float32 to write, queue and copy to an accelerator; Keras
  layers cast their inputs to the model's compute dtype on the device;
* a batch is one pass of a small Numba kernel that walks each window once, writing a
  position's one-hot row (one 8- or 16-byte item from a table indexed by packed byte and
  position parity, the complement table on reverse windows) and its T signal values (one
  item too when they fit 2, 4, 8 or 16 bytes) straight into the ``(B, L, 4 + T)``
  output; reverse windows are walked backwards, so they come out reversed with no extra
  pass. A NumPy gather (fancy index of a strided "every window" view, ``np.take`` of the
  table, strided copies) makes three passes over each batch through temporaries; the
  measured difference is in docs/design.md.

Rows of a batch are given forward-strand first, reverse-strand last (``n_fwd``), so each
strand is one contiguous slice of the output.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numba
import numpy as np

from fnstore.errors import InputError
from fnstore.store.chunks import whole_chunk_reader
from fnstore.store.encoding import ONE_HOT_LUT
from fnstore.store.read import Store
from fnstore.training.cache import ChunkCache, slot_length

#: float32 value of every float16 bit pattern
_F16_TO_F32 = (
    np.arange(1 << 16, dtype=np.uint32).astype(np.uint16).view(np.float16).astype(np.float32)
)
#: an unstructured dtype of each byte width: one item covers a position's values
_ITEM_OF_WIDTH = {
    2: np.dtype(np.uint16),
    4: np.dtype(np.uint32),
    8: np.dtype(np.uint64),
    16: np.dtype(np.complex128),
}


def _one_hot_tables(dtype: np.dtype) -> tuple[np.ndarray, np.ndarray]:
    """Forward and complement one-hot tables of ``dtype``, indexed ``byte * 2 + parity``.

    The sequence cache packs two base codes per byte (low nibble first); one look-up of
    (byte, position parity) gives the position's one-hot row as one item. Codes above N
    (never written by fnstore) read as N.
    """
    item = _ITEM_OF_WIDTH[4 * dtype.itemsize]
    nibbles = np.arange(256)[:, None] >> np.array([0, 4]) & 15
    codes = np.minimum(nibbles, len(ONE_HOT_LUT) - 1).ravel()
    fwd = np.ascontiguousarray(ONE_HOT_LUT.astype(dtype)[codes]).view(item).ravel()
    rev = np.ascontiguousarray(ONE_HOT_LUT[:, ::-1].astype(dtype)[codes]).view(item).ravel()
    return fwd, rev


#: base codes per byte of the sequence cache (see :func:`_pack_codes`)
_SEQ_PACK = 2


def _pack_codes(codes: np.ndarray, out: np.ndarray) -> None:
    """Two base codes per byte, the even position in the low nibble."""
    np.bitwise_or(codes[0::2], codes[1::2] << 4, out=out)


def _share_budget(
    budget: int, want_seq: int, want_sig: int, seq_bytes: int, sig_bytes: int
) -> tuple[int, int]:
    """Slots of the sequence and signal caches within ``budget`` bytes.

    The packed sequence is shared by every cell and small, so when not everything fits it
    stays wholly resident if that leaves a quarter of the budget to signals; otherwise
    both caches get the same number of slots (a block of the epoch needs as many of each).
    """
    if want_seq * seq_bytes + want_sig * sig_bytes <= budget or not want_sig:
        return min(want_seq, max(1, budget // seq_bytes)), want_sig
    if want_seq * seq_bytes <= 0.75 * budget:
        return want_seq, max(1, (budget - want_seq * seq_bytes) // sig_bytes)
    n = max(1, budget // (seq_bytes + sig_bytes))
    return min(n, want_seq), min(n, want_sig)


def _cast_into(values: np.ndarray, out: np.ndarray) -> None:
    """Write store signal values into ``out`` (a strided arena column) in its dtype.

    float16 to float32 goes through a 65,536-entry table (exact, NaN and infinity
    included): NumPy's float16 cast into a strided column costs several ns per value,
    which dominated loading once the chunks an epoch needs no longer fit the cache.
    """
    if values.dtype == np.float16 and out.dtype == np.float32:
        np.take(_F16_TO_F32, values.view(np.uint16), out=out, mode="clip")
    else:
        out[...] = values


# The kernels work on integer (or complex) views whose one item is a position's one-hot
# row or signal values: copying items is dtype-agnostic and compiles to plain loads and
# stores. ``cache=True`` keeps the compiled code on disk across processes and workers.
#
# Every index is unsigned (``_U``): Numba wraps negative indices around unless the index
# type is unsigned, and that check (a sign test and an add per load and store) cost up to a
# quarter of the gather's time on chr20. Mixing uint64 with int64 gives float64 in Numba,
# so constants are uint64 too (``_ONE``).

_U = numba.uint64
_ONE = np.uint64(1)


@numba.njit(nogil=True, cache=True, inline="always")
def _code_item(seq, k):  # noqa: ANN001, ANN202
    """Table index of position ``k`` of the packed sequence (see :func:`_one_hot_tables`)."""
    return (_U(seq[k >> _ONE]) << _ONE) | (k & _ONE)


@numba.njit(nogil=True, cache=True, boundscheck=False)
def _gather(seq, sig_fwd, sig_rev, seq_pos, sig_pos, n_fwd, lut, lut_rc, out_seq, out_sig):  # noqa: ANN001
    """One-hot ``seq`` codes and copy one signal item per position, both strands, one pass.

    ``seq`` holds two codes per byte (see :func:`_one_hot_tables`). Row ``b`` reads
    ``[seq_pos[b], seq_pos[b] + L)`` (and the same span of the signal arena from
    ``sig_pos[b]``); rows ``n_fwd:`` are read backwards, through ``lut_rc`` and
    from ``sig_rev`` (the strand-swapped column, when tracks come in strand pairs).
    """
    n_rows, length = out_seq.shape
    n = _U(length)
    for b in range(n_rows):
        o, v = out_seq[b], out_sig[b]
        p, q = _U(seq_pos[b]), _U(sig_pos[b])
        if b < n_fwd:
            for i in range(n):
                o[i] = lut[_code_item(seq, p + i)]
                v[i] = sig_fwd[q + i]
        else:
            p, q = p + n - _ONE, q + n - _ONE
            for i in range(n):
                o[i] = lut_rc[_code_item(seq, p - i)]
                v[i] = sig_rev[q - i]


@numba.njit(nogil=True, cache=True, boundscheck=False)
def _gather_planar(
    seq, sig, seq_pos, sig_pos, n_fwd, fwd_off, rev_off, lut, lut_rc, out_seq, out_sig
):  # noqa: ANN001
    """:func:`_gather` from a planar signal arena (each track's chunk contiguous).

    Track ``t`` of row ``b`` starts at ``sig[sig_pos[b] + fwd_off[t]]`` (reverse rows:
    ``rev_off[t]``, the strand partner's plane). One value per item, track by track.
    """
    n_rows, length = out_seq.shape
    n_tracks = out_sig.shape[2]
    n = _U(length)
    for b in range(n_rows):
        o, v = out_seq[b], out_sig[b]
        p = _U(seq_pos[b])
        if b < n_fwd:
            for i in range(n):
                o[i] = lut[_code_item(seq, p + i)]
            for t in range(n_tracks):
                q, vt = _U(sig_pos[b] + fwd_off[t]), v[:, t]
                for i in range(n):
                    vt[i] = sig[q + i]
        else:
            p += n - _ONE
            for i in range(n):
                o[i] = lut_rc[_code_item(seq, p - i)]
            for t in range(n_tracks):
                q, vt = _U(sig_pos[b] + rev_off[t]) + n - _ONE, v[:, t]
                for i in range(n):
                    vt[i] = sig[q - i]


@numba.njit(nogil=True, cache=True, boundscheck=False)
def _gather_codes(seq, seq_pos, n_fwd, lut, lut_rc, out_seq):  # noqa: ANN001
    """The one-hot half of :func:`_gather`, for windows without signal tracks."""
    n_rows, length = out_seq.shape
    n = _U(length)
    for b in range(n_rows):
        o, p = out_seq[b], _U(seq_pos[b])
        if b < n_fwd:
            for i in range(n):
                o[i] = lut[_code_item(seq, p + i)]
        else:
            p += n - _ONE
            for i in range(n):
                o[i] = lut_rc[_code_item(seq, p - i)]


@numba.njit(nogil=True, cache=True, boundscheck=False)
def _gather_values(sig_fwd, sig_rev, sig_pos, n_fwd, out_sig):  # noqa: ANN001
    """The signal half of :func:`_gather`, for the extra columns of the per-track path."""
    n_rows, length = out_sig.shape
    n = _U(length)
    for b in range(n_rows):
        v, q = out_sig[b], _U(sig_pos[b])
        if b < n_fwd:
            for i in range(n):
                v[i] = sig_fwd[q + i]
        else:
            q += n - _ONE
            for i in range(n):
                v[i] = sig_rev[q - i]


@dataclass(frozen=True)
class Located:
    """Windows placed in the store's position chunks (see :meth:`WindowReader.locate`)."""

    chunk: np.ndarray  # chunk of each window's first base
    off: np.ndarray  # offset of that base in its chunk
    straddle: np.ndarray  # window runs into the next chunk (needs the slot's halo)
    key: np.ndarray  # signal cache key: cell * n_chunks + chunk

    def __getitem__(self, rows: slice | np.ndarray) -> Located:
        return Located(self.chunk[rows], self.off[rows], self.straddle[rows], self.key[rows])


class WindowReader:
    """Read ``(B, L, 4 + T)`` windows for (cell, global start) pairs.

    ``cells`` are store cell names (rows of signals), ``tracks`` store track names in
    channel order, ``strand_pairs`` track index pairs swapped on reverse windows. The
    memory budget (bytes) bounds both arenas together. ``dtype`` (float16 or float32) is
    the output's; None means the store's signal dtype, which loses nothing.
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
        dtype: str | np.dtype | None = None,
    ) -> None:
        self.dtype = np.dtype(store.signal_dtype if dtype is None else dtype)
        if self.dtype not in (np.float16, np.float32):
            raise InputError("dtype", f"must be float16 or float32, got {self.dtype}")
        self._lut, self._lut_rc = _one_hot_tables(self.dtype)
        self.store = store
        self.cells = list(cells)
        self.tracks = list(tracks)
        self.window = int(window)
        self.n_tracks = len(self.tracks)
        self.chunk = int(store.position_chunk)
        self.n_chunks = int(store.sequence_array.shape[0]) // self.chunk
        self._check_tracks()
        self.store_cell_rows = [store.cell_index(c) for c in self.cells]
        perm = list(range(self.n_tracks))
        for a, b in strand_pairs:
            perm[a], perm[b] = perm[b], perm[a]
        #: track read on reverse rows for each output track (identity without strand pairs)
        self._rev_track = np.asarray(perm, dtype=np.int64)
        self._swaps_strands = perm != list(range(self.n_tracks))

        want = self.n_chunks if chunks_needed is None else chunks_needed
        seq_slots, sig_slots = _share_budget(
            int(memory_budget),
            want,
            want * len(self.cells) if self.n_tracks else 0,
            seq_bytes=slot_length(self.chunk, self.window, _SEQ_PACK) // _SEQ_PACK,
            sig_bytes=slot_length(self.chunk, self.window) * self.dtype.itemsize * self.n_tracks,
        )
        self.seq_cache = self._sequence_cache(seq_slots, want)
        self.sig_cache: ChunkCache | None = None
        self.planar = False
        if self.n_tracks:
            # chunks decompressed again every epoch go straight into a planar arena; ones
            # decompressed once are interleaved (a copy, paid once) for the faster gather
            self.planar = sig_slots < want * len(self.cells)
            self.sig_cache = self._signal_cache(sig_slots, want * len(self.cells))

    def _check_tracks(self) -> None:
        """Every track exists and every cell has it (a missing one would read as zeros)."""
        store = self.store
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

    def _sequence_cache(self, n_slots: int, n_needed: int) -> ChunkCache:
        """The packed sequence cache: whole chunks decoded straight from their files."""
        seq_arr = self.store.sequence_array
        read_seq_chunk = whole_chunk_reader(seq_arr)

        def load_sequence(key: int, a: int, b: int, out: np.ndarray) -> None:
            if (a, b) == (0, self.chunk):
                read_seq_chunk((key,), out)
            else:  # a halo: the head of a chunk
                out[...] = seq_arr[key * self.chunk + a : key * self.chunk + b]

        return ChunkCache(
            load_sequence,
            self.n_chunks,
            n_slots,
            self.chunk,
            self.window,
            np.uint8,
            n_needed=n_needed,
            pack=_SEQ_PACK,
            encode=_pack_codes,
        )

    def _signal_cache(self, n_slots: int, n_needed: int) -> ChunkCache:
        """The signal cache of every (cell, chunk), all tracks per slot, in ``self.dtype``."""
        arrays = [self.store.signal_array(t) for t in self.tracks]
        readers = [whole_chunk_reader(arr) for arr in arrays]
        # one chunk of each store dtype, reused: decoded here, then cast into the arena
        staging = {arr.dtype: np.empty((1, self.chunk), dtype=arr.dtype) for arr in arrays}

        def load_signals(key: int, a: int, b: int, out: np.ndarray) -> None:
            row, chunk = divmod(key, self.n_chunks)
            cell_row, lo = self.store_cell_rows[row], chunk * self.chunk
            for t, arr in enumerate(arrays):
                dest = out[t] if self.planar else out[:, t]
                if (a, b) != (0, self.chunk):  # a halo: the head of a chunk
                    _cast_into(arr[cell_row, lo + a : lo + b], dest)
                elif self.planar and arr.dtype == self.dtype:
                    readers[t]((cell_row, chunk), dest[None])
                else:
                    buf = staging[arr.dtype]
                    readers[t]((cell_row, chunk), buf)
                    _cast_into(buf[0], dest)

        return ChunkCache(
            load_signals,
            self.n_chunks * len(self.cells),
            n_slots,
            self.chunk,
            self.window,
            self.dtype,
            (self.n_tracks,),
            n_needed=n_needed,
            planar=self.planar,
        )

    @property
    def _sig_item(self) -> np.dtype | None:
        """One item covering a position's T signal values, if such a dtype exists."""
        return _ITEM_OF_WIDTH.get(self.n_tracks * self.dtype.itemsize)

    @property
    def nbytes(self) -> int:
        return self.seq_cache.nbytes + (self.sig_cache.nbytes if self.sig_cache else 0)

    @property
    def evicting(self) -> bool:
        return self.seq_cache.evicting or bool(self.sig_cache and self.sig_cache.evicting)

    @property
    def slots(self) -> int:
        """Chunks a block of an epoch may span: the smallest evicting cache's slots."""
        caches = [c for c in (self.seq_cache, self.sig_cache) if c is not None and c.evicting]
        return min(c.n_slots for c in caches) if caches else self.seq_cache.n_slots

    def locate(self, cell: np.ndarray, start: np.ndarray) -> Located:
        """Where windows ``[start, start + L)`` of ``cell`` lie in the store's chunks.

        Pure arithmetic, so the sampler does it once per epoch for every example rather
        than once per batch.

        Parameters
        ----------
        cell : numpy.ndarray
            Index into ``self.cells`` of each window.
        start : numpy.ndarray
            Global position of each window's first base.

        Returns
        -------
        Located
            Chunk, offset, halo need and cache key of each window.
        """
        start = np.asarray(start, dtype=np.int64)
        chunk = start // self.chunk
        off = start - chunk * self.chunk
        key = np.asarray(cell, dtype=np.int64) * self.n_chunks + chunk
        return Located(chunk, off, off + self.window > self.chunk, key)

    def read(self, cell: np.ndarray, start: np.ndarray, n_fwd: int) -> np.ndarray:
        """Windows ``[start, start + L)`` (global positions) of ``cell`` (indices into
        ``self.cells``); rows ``n_fwd:`` are reverse complemented.

        Parameters
        ----------
        cell, start : numpy.ndarray
            The windows' cells and first bases, as for :meth:`locate`.
        n_fwd : int
            Number of leading forward-strand rows.

        Returns
        -------
        numpy.ndarray
            ``(B, L, 4 + T)`` of the reader's dtype: one-hot ACGT, then the tracks.
        """
        return self.read_located(self.locate(cell, start), n_fwd)

    def read_located(self, where: Located, n_fwd: int) -> np.ndarray:
        """:meth:`read` of windows already :meth:`locate`-d.

        Parameters
        ----------
        where : Located
            From :meth:`locate` (rows may be a subset).
        n_fwd : int
            Number of leading forward-strand rows.

        Returns
        -------
        numpy.ndarray
            ``(B, L, 4 + T)`` of the reader's dtype, as :meth:`read`.
        """
        L = self.window
        chunk, off, straddle, key = where.chunk, where.off, where.straddle, where.key
        B = len(chunk)
        x = np.empty((B, L, 4 + self.n_tracks), dtype=self.dtype)
        n_fwd = int(n_fwd)

        def part(item: np.dtype, channel: int) -> np.ndarray:
            """``(B, L)`` view of ``x`` whose one item starts at ``channel``."""
            return np.ndarray(
                buffer=x,
                dtype=item,
                shape=(B, L),
                strides=x.strides[:2],
                offset=channel * self.dtype.itemsize,
            )

        seq_out = part(self._lut.dtype, 0)
        seq_pos = self.seq_cache.slots(chunk, straddle) * self.seq_cache.slot_len + off
        seq = self.seq_cache.flat
        if self.sig_cache is None:
            _gather_codes(seq, seq_pos, n_fwd, self._lut, self._lut_rc, seq_out)
            return x
        column = _ITEM_OF_WIDTH[self.dtype.itemsize]
        perm = self._rev_track
        if self.planar:
            slot_len = self.sig_cache.slot_len
            sig_pos = self.sig_cache.slots(key, straddle) * (self.n_tracks * slot_len) + off
            _gather_planar(
                seq,
                self.sig_cache.arena.reshape(-1).view(column),
                seq_pos,
                sig_pos,
                n_fwd,
                np.arange(self.n_tracks) * slot_len,
                perm * slot_len,
                self._lut,
                self._lut_rc,
                seq_out,
                x[..., 4:].view(column),
            )
            return x
        sig_pos = self.sig_cache.slots(key, straddle) * self.sig_cache.slot_len + off
        flat = self.sig_cache.flat
        item = self._sig_item
        if item is not None and not self._swaps_strands:
            # every track of a position is one item: one pass does the whole batch
            items = flat.view(item)[:, 0]
            out = part(item, 4)
            _gather(
                seq, items, items, seq_pos, sig_pos, n_fwd, self._lut, self._lut_rc, seq_out, out
            )
            return x
        # per track (strand pairs swap columns on reverse rows, or no item fits T values)
        values = flat.view(column)
        fwd, rev = values[:, 0], values[:, int(perm[0])]
        _gather(
            seq,
            fwd,
            rev,
            seq_pos,
            sig_pos,
            n_fwd,
            self._lut,
            self._lut_rc,
            seq_out,
            part(column, 4),
        )
        for t in range(1, self.n_tracks):
            fwd, rev = values[:, t], values[:, int(perm[t])]
            _gather_values(fwd, rev, sig_pos, n_fwd, part(column, 4 + t))
        return x
