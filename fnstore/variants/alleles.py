"""Reference and alternate model inputs for a batch of variants (NumPy only, no Keras).

Placement: the window of the model's length ``L`` is centred on the variant, as
:mod:`fnstore.predict.inputs` centres a bin's window: the REF allele's first base sits at
window index ``L // 2`` (so a SNV has ``L // 2`` bases of context on its left and
``L - L // 2 - 1`` on its right), and positions off a chromosome end read as N with zero
signal. The windows are cut by :func:`fnstore.interpret.regions.read_windows` (the one
reader of scattered windows; it reads a few MiB of the store per slice), ``pad`` bases
longer than ``L`` so that a deletion can pull its right flank in.

Alleles: each window's sequence is the genome's left flank, the allele *as the file gives
it*, then the genome from just past the REF span, cut to ``L``. So the REF window equals
the genome's window whenever the REF allele matches the store; when it does not the row is
flagged (``ref_match`` false) and still scored with the alleles as written, which makes a
swapped variant (REF and ALT exchanged) score exactly the opposite difference.

Signals: the cell's own signal tracks at the window's *reference* coordinates, for both
alleles. For a SNV nothing else is possible; for an indel the sequence right of the
variant shifts by the length difference while the signal does not (an insertion pushes
the right flank's last bases out of the window, a deletion pulls in bases from past it),
which is the usual choice when the alternate haplotype's signal is unknown.

The ``extra`` input (cell metadata, annotation flags) is that of the store bin whose
centre is nearest the variant, for both alleles.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from fnstore.interpret.regions import read_windows
from fnstore.io.vcf import VariantBatch, is_simple_allele
from fnstore.predict.inputs import ModelInputs, extra_for_bins
from fnstore.store.encoding import ONE_HOT_LUT, encode_ascii
from fnstore.store.read import Store

#: default longest REF or ALT allele scored; longer ones get status ``allele_too_long``
MAX_ALLELE = 50

SCORED = "scored"
OUTSIDE = "outside_store"
SYMBOLIC = "not_sequence"
TOO_LONG = "allele_too_long"
STATUSES = (SCORED, OUTSIDE, SYMBOLIC, TOO_LONG)


@dataclass
class AlleleInputs:
    """Model inputs for the scorable rows of one batch, and what is known of every row."""

    #: per row of the batch: one of :data:`STATUSES`
    status: np.ndarray
    #: per row: the store's genome has the REF allele at the position (False when unknown)
    ref_match: np.ndarray
    #: per row: a store bin overlapping the REF allele is blacklisted
    blacklisted: np.ndarray
    #: batch rows that are scored, in batch order
    rows: np.ndarray
    #: ``(len(rows), L, C)`` float32 windows of the REF and of the ALT allele
    ref_x: np.ndarray
    alt_x: np.ndarray
    #: ``(len(rows), n_extra)`` float32, or None when the model takes no ``extra`` input
    extra: np.ndarray | None


def _classify(
    store: Store, batch: VariantBatch, max_allele: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(status, chrom index, 0-based position)`` of every row (-1 where not on the store)."""
    n = len(batch)
    status = np.full(n, SCORED, dtype=object)
    chrom_idx = np.full(n, -1, dtype=np.int64)
    pos0 = np.asarray(batch.pos, dtype=np.int64) - 1
    index = {c: i for i, c in enumerate(store.chroms)}
    for i in range(n):
        ref, alt = batch.ref[i], batch.alt[i]
        c = index.get(batch.chrom[i], -1)
        if c < 0 or pos0[i] < 0 or pos0[i] + len(ref) > int(store.chrom_lengths[c]):
            status[i] = OUTSIDE
        elif not (is_simple_allele(ref) and is_simple_allele(alt)):
            status[i] = SYMBOLIC
        elif max(len(ref), len(alt)) > max_allele:
            status[i] = TOO_LONG
        else:
            chrom_idx[i] = c
    return status, chrom_idx, pos0


def _blacklisted(
    store: Store, chrom_idx: np.ndarray, pos0: np.ndarray, span: np.ndarray
) -> np.ndarray:
    """Whether any bin overlapping ``[pos0, pos0 + span)`` is blacklisted (one store read)."""
    firsts, lasts = [], []
    for c, p, s in zip(chrom_idx.tolist(), pos0.tolist(), span.tolist(), strict=True):
        a, b = store.bins_overlapping(store.chroms[c], p, p + s)
        firsts.append(a)
        lasts.append(b)
    if not firsts:
        return np.zeros(0, dtype=bool)
    counts = np.asarray(lasts) - np.asarray(firsts)
    bins = np.concatenate([np.arange(a, b) for a, b in zip(firsts, lasts, strict=True)])
    unique, where = np.unique(bins, return_inverse=True)
    flags = np.asarray(store.blacklist(unique), dtype=bool)[where]
    owner = np.repeat(np.arange(len(firsts)), counts)
    out = np.zeros(len(firsts), dtype=bool)
    np.logical_or.at(out, owner, flags)
    return out


def nearest_bins(store: Store, chrom_idx: np.ndarray, pos0: np.ndarray) -> np.ndarray:
    """Global index of the bin whose centre is nearest each position (its ``extra`` row).

    Parameters
    ----------
    store : Store
        The store's bin grid.
    chrom_idx : numpy.ndarray
        Store chromosome index of each position.
    pos0 : numpy.ndarray
        0-based chromosome positions.

    Returns
    -------
    numpy.ndarray
        int64 global bin indices, clipped to each chromosome's bins.
    """
    ranges = np.array([store.bin_range(name) for name in store.chroms], dtype=np.int64)
    lo, hi = ranges[chrom_idx, 0], ranges[chrom_idx, 1]
    k = np.rint((pos0 - store.bin_size // 2) / store.stride).astype(np.int64)
    return lo + np.clip(k, 0, np.maximum(hi - lo - 1, 0))


def _codes_of(onehot: np.ndarray) -> np.ndarray:
    """Base codes (A=0 .. T=3, N=4) of one-hot rows."""
    return np.where(onehot.sum(axis=-1) > 0, onehot.argmax(axis=-1), 4)


def _place(wide: np.ndarray, window: int, ref_len: int, allele: str) -> np.ndarray:
    """An ``L``-long window: left flank, ``allele`` at ``L // 2``, genome past the REF span;
    the signal columns stay those of the reference coordinates."""
    half = window // 2
    out = wide[:window].copy()
    codes = encode_ascii(allele)[: window - half]
    out[half : half + codes.size, :4] = ONE_HOT_LUT[codes]
    rest = window - half - codes.size
    if rest > 0:
        out[half + codes.size :, :4] = wide[half + ref_len : half + ref_len + rest, :4]
    return out


def allele_inputs(
    store: Store, inputs: ModelInputs, batch: VariantBatch, max_allele: int = MAX_ALLELE
) -> AlleleInputs:
    """REF and ALT windows (and ``extra`` rows) of the scorable rows of ``batch``.

    Parameters
    ----------
    store : Store
        The store whose genome and signals give the windows.
    inputs : ModelInputs
        How the store feeds the model (:func:`fnstore.predict.inputs.resolve_inputs`).
    batch : VariantBatch
        Variant rows (multi-allelic records split).
    max_allele : int
        Longest REF or ALT allele to score; longer rows get status ``allele_too_long``.

    Returns
    -------
    AlleleInputs
        Per-row status and flags, and the windows of the rows with status ``scored``.
    """
    status, chrom_idx, pos0 = _classify(store, batch, max_allele)
    n = len(batch)
    ref_match = np.zeros(n, dtype=bool)
    blacklisted = np.zeros(n, dtype=bool)
    rows = np.flatnonzero(status == SCORED)
    window = inputs.window
    empty = np.zeros((0, window, inputs.n_channels), dtype=np.float32)
    if rows.size == 0:
        extra = None if inputs.n_extra == 0 else np.zeros((0, inputs.n_extra), np.float32)
        return AlleleInputs(status, ref_match, blacklisted, rows, empty, empty.copy(), extra)
    refs = [batch.ref[i] for i in rows]
    alts = [batch.alt[i] for i in rows]
    ref_len = np.array([len(r) for r in refs], dtype=np.int64)
    c, p = chrom_idx[rows], pos0[rows]
    wide_inputs = dataclasses.replace(inputs, window=window + max_allele)
    wide = read_windows(store, wide_inputs, c, p - window // 2)
    half = window // 2
    snv = (ref_len == 1) & np.array([len(a) == 1 for a in alts])
    ref_x = np.empty((rows.size, window, inputs.n_channels), dtype=np.float32)
    alt_x = np.empty_like(ref_x)
    for j in range(rows.size):
        genome = _codes_of(wide[j, half : half + ref_len[j], :4])
        ref_match[rows[j]] = bool(np.array_equal(genome, encode_ascii(refs[j])))
        if not snv[j]:
            ref_x[j] = _place(wide[j], window, int(ref_len[j]), refs[j])
            alt_x[j] = _place(wide[j], window, int(ref_len[j]), alts[j])
    s = np.flatnonzero(snv)
    if s.size:  # SNVs, the common case: one base set in each copy
        ref_x[s] = wide[s, :window]
        alt_x[s] = wide[s, :window]
        ref_x[s, half, :4] = ONE_HOT_LUT[encode_ascii("".join(refs[j] for j in s))]
        alt_x[s, half, :4] = ONE_HOT_LUT[encode_ascii("".join(alts[j] for j in s))]
    blacklisted[rows] = _blacklisted(store, c, p, np.maximum(ref_len, 1))
    extra = extra_for_bins(store, inputs, nearest_bins(store, c, p))
    return AlleleInputs(status, ref_match, blacklisted, rows, ref_x, alt_x, extra)
