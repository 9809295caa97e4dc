"""The ENCODE-DREAM / FactorNet labelling rule, as pure NumPy interval arithmetic.

A bin is **bound** when it overlaps a conservative peak by at least ``bin_fraction`` of
the bin or at least ``peak_fraction`` of the peak; **ambiguous** when not bound but it
overlaps an ambiguity peak (the relaxed set, or the conservative set when there is no
relaxed file) by at least ``ambiguous_min_overlap`` bp; **unbound** otherwise.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

#: Label codes stored in the ``labels`` array.
UNBOUND, BOUND, AMBIGUOUS, MISSING = 0, 1, 2, -1
LABEL_NAMES = {UNBOUND: "U", BOUND: "B", AMBIGUOUS: "A", MISSING: "."}
#: letter -> code of the three labels a source can state (ENCODE-DREAM label TSVs use them).
LETTER_TO_CODE = {name: code for code, name in LABEL_NAMES.items() if code != MISSING}

_NOT_A_LETTER = -128
_ASCII_TO_LABEL = np.full(256, _NOT_A_LETTER, dtype=np.int16)
for _letter, _code in LETTER_TO_CODE.items():
    _ASCII_TO_LABEL[ord(_letter)] = _code


@dataclass(frozen=True)
class LabelRule:
    """Thresholds of the labelling rule; recorded in every store."""

    bin_fraction: float = 0.5
    peak_fraction: float = 0.5
    ambiguous_min_overlap: int = 1

    def to_dict(self) -> dict:
        """The thresholds as a plain dict (the form recorded in a store).

        Returns
        -------
        dict
            ``bin_fraction``, ``peak_fraction`` and ``ambiguous_min_overlap``.
        """
        return asdict(self)


def _overlapping_pairs(
    bin_starts: np.ndarray, bin_size: int, starts: np.ndarray, ends: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every (bin, interval) pair that overlaps by at least 1 bp.

    ``bin_starts`` must be sorted. Returns bin positions (indices into ``bin_starts``),
    interval indices, and the overlap length in bp of each pair.
    """
    starts = np.asarray(starts, dtype=np.int64)
    ends = np.asarray(ends, dtype=np.int64)
    # a bin [b, b+size) overlaps [s, e) iff s - size < b < e
    lo = np.searchsorted(bin_starts, starts - bin_size, side="right")
    hi = np.searchsorted(bin_starts, ends, side="left")
    counts = np.maximum(hi - lo, 0)
    interval_idx = np.repeat(np.arange(len(starts)), counts)
    if interval_idx.size == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, empty
    first = np.repeat(lo, counts)
    within = np.arange(interval_idx.size) - np.repeat(np.cumsum(counts) - counts, counts)
    bin_idx = first + within
    b = bin_starts[bin_idx]
    overlap = np.minimum(b + bin_size, ends[interval_idx]) - np.maximum(b, starts[interval_idx])
    return bin_idx, interval_idx, overlap


def label_bins(
    bin_starts: np.ndarray,
    bin_size: int,
    conservative: tuple[np.ndarray, np.ndarray],
    relaxed: tuple[np.ndarray, np.ndarray] | None = None,
    rule: LabelRule = LabelRule(),
) -> np.ndarray:
    """Label bins of one chromosome for one TF x cell pair.

    ``conservative`` and ``relaxed`` are ``(starts, ends)`` arrays of peaks on the same
    chromosome.

    Parameters
    ----------
    bin_starts : numpy.ndarray
        Sorted bin start positions (bp) on the chromosome.
    bin_size : int
        Bin length in bp.
    conservative : tuple of numpy.ndarray
        ``(starts, ends)`` of the conservative peaks, 0-based half-open.
    relaxed : tuple of numpy.ndarray, optional
        ``(starts, ends)`` of the relaxed peaks, the ambiguity set; when None the
        conservative peaks serve as the ambiguity set.
    rule : LabelRule
        The thresholds; default the ENCODE-DREAM rule.

    Returns
    -------
    numpy.ndarray
        int8 UNBOUND / BOUND / AMBIGUOUS code per bin, same length as ``bin_starts``.
    """
    bin_starts = np.asarray(bin_starts, dtype=np.int64)
    labels = np.full(bin_starts.shape, UNBOUND, dtype=np.int8)
    amb_starts, amb_ends = relaxed if relaxed is not None else conservative
    bins, _, overlap = _overlapping_pairs(bin_starts, bin_size, amb_starts, amb_ends)
    labels[bins[overlap >= rule.ambiguous_min_overlap]] = AMBIGUOUS
    c_starts, c_ends = (np.asarray(a, dtype=np.int64) for a in conservative)
    bins, peaks, overlap = _overlapping_pairs(bin_starts, bin_size, c_starts, c_ends)
    peak_len = (c_ends - c_starts)[peaks]
    bound = (overlap >= rule.bin_fraction * bin_size) | (overlap >= rule.peak_fraction * peak_len)
    labels[bins[bound]] = BOUND
    return labels


def any_overlap(
    bin_starts: np.ndarray, bin_size: int, starts: np.ndarray, ends: np.ndarray
) -> np.ndarray:
    """Boolean per bin: does it overlap any interval by at least 1 bp (blacklist, annotations).

    Parameters
    ----------
    bin_starts : numpy.ndarray
        Sorted starts (bp) of the bins to test, as for :func:`label_bins`.
    bin_size : int
        Their common length in bp.
    starts, ends : numpy.ndarray
        The intervals on the same chromosome, 0-based half-open.

    Returns
    -------
    numpy.ndarray
        bool, one per bin.
    """
    flags = np.zeros(len(bin_starts), dtype=bool)
    bins, _, overlap = _overlapping_pairs(np.asarray(bin_starts, np.int64), bin_size, starts, ends)
    flags[bins[overlap >= 1]] = True
    return flags


def countable(labels: np.ndarray, blacklisted: np.ndarray) -> np.ndarray:
    """Which bins a score counts: labelled bound or unbound and not blacklisted.

    The one definition of the ENCODE-DREAM scoring rule (ambiguous, unlabelled and
    blacklisted bins left out), shared by ``evaluate`` and the honest validation so the two
    cannot drift apart.

    Parameters
    ----------
    labels : numpy.ndarray
        Label codes per bin (:data:`BOUND`, :data:`UNBOUND`, :data:`AMBIGUOUS`, :data:`MISSING`).
    blacklisted : numpy.ndarray
        Boolean per bin, the same shape (broadcastable).

    Returns
    -------
    numpy.ndarray
        Boolean per bin.
    """
    return ((labels == BOUND) | (labels == UNBOUND)) & ~np.asarray(blacklisted, dtype=bool)


def letters_to_codes(letters: bytes | str) -> np.ndarray:
    """Turn a run of U/B/A label letters into int8 label codes with one table lookup.

    Label TSVs hold millions of letters; a 256-entry table avoids a Python loop per row.

    Parameters
    ----------
    letters
        The letters, one per label, as ASCII bytes or a string.

    Returns
    -------
    numpy.ndarray
        int8 codes (:data:`UNBOUND`, :data:`BOUND`, :data:`AMBIGUOUS`), one per letter.

    Raises
    ------
    ValueError
        When any letter is not U, B or A.
    """
    raw = letters.encode() if isinstance(letters, str) else letters
    codes = _ASCII_TO_LABEL[np.frombuffer(raw, dtype=np.uint8)]
    if np.any(codes == _NOT_A_LETTER):
        raise ValueError("label letters must be B, U or A")
    return codes.astype(np.int8)


def labelling_codes() -> dict[str, int]:
    """The ``labelling.codes`` attribute: every letter's code plus the no-data code.

    Returns
    -------
    dict of str to int
        ``{"U": 0, "B": 1, "A": 2, "no data": -1}``.
    """
    return {**LETTER_TO_CODE, "no data": MISSING}
