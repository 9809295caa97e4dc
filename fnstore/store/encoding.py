"""DNA code tables, one-hot encoding and reverse complements (pure NumPy, no I/O).

The store keeps sequence as one ``uint8`` code per base (A=0, C=1, G=2, T=3, N=4) so a
whole genome costs one byte per base on disk and in cache; models see one-hot arrays
built per batch from those codes.
"""

from __future__ import annotations

import numpy as np

ALPHABET = "ACGTN"
CODE_A, CODE_C, CODE_G, CODE_T, CODE_N = range(5)
N_CODES = 5

#: ASCII byte -> code. Anything that is not A/C/G/T (either case) becomes N.
ASCII_TO_CODE = np.full(256, CODE_N, dtype=np.uint8)
for _i, _b in enumerate("ACGT"):
    ASCII_TO_CODE[ord(_b)] = _i
    ASCII_TO_CODE[ord(_b.lower())] = _i

#: code -> one-hot row; N is all zeros (FactorNet's convention).
ONE_HOT_LUT = np.zeros((N_CODES, 4), dtype=np.float32)
ONE_HOT_LUT[np.arange(4), np.arange(4)] = 1.0

#: code -> complementary code (N stays N).
COMPLEMENT_CODE = np.array([CODE_T, CODE_G, CODE_C, CODE_A, CODE_N], dtype=np.uint8)


def encode_ascii(seq: bytes | str | np.ndarray) -> np.ndarray:
    """Turn a DNA string (or its bytes) into uint8 codes.

    Parameters
    ----------
    seq : bytes, str or numpy.ndarray
        Bases as text, ASCII bytes or an array of ASCII byte values (uint8).

    Returns
    -------
    numpy.ndarray
        uint8 codes (A=0, C=1, G=2, T=3), same length; lower case counts as upper case and
        anything other than A/C/G/T becomes N (4).
    """
    if isinstance(seq, str):
        seq = seq.encode("ascii")
    raw = np.frombuffer(seq, dtype=np.uint8) if isinstance(seq, bytes | bytearray) else seq
    return np.take(ASCII_TO_CODE, raw)


def decode(codes: np.ndarray) -> str:
    """Turn uint8 codes back into an upper-case DNA string.

    Parameters
    ----------
    codes : numpy.ndarray
        1-D uint8 codes (0-4).

    Returns
    -------
    str
        ``ACGTN`` letters, one per code.
    """
    return np.frombuffer(b"ACGTN", dtype=np.uint8)[codes].tobytes().decode("ascii")


def one_hot(codes: np.ndarray, dtype: np.dtype | type = np.float32) -> np.ndarray:
    """One-hot encode codes of any shape ``(..., L)`` into ``(..., L, 4)``.

    ``np.take`` on a small table, because fancy indexing is much slower here (docs/design.md).

    Parameters
    ----------
    codes : numpy.ndarray
        uint8 codes, any shape ``(..., L)``.
    dtype : numpy.dtype or type
        Output dtype; default float32.

    Returns
    -------
    numpy.ndarray
        Shape ``(..., L, 4)`` in A, C, G, T column order; N is an all-zero row.
    """
    lut = ONE_HOT_LUT if dtype == np.float32 else ONE_HOT_LUT.astype(dtype)
    return np.take(lut, codes, axis=0)


def reverse_complement_codes(codes: np.ndarray) -> np.ndarray:
    """Reverse complement codes along the last axis.

    Parameters
    ----------
    codes : numpy.ndarray
        uint8 codes, any shape ``(..., L)``.

    Returns
    -------
    numpy.ndarray
        A new array, same shape: reversed along the last axis, A<->T and C<->G, N stays N.
    """
    return np.take(COMPLEMENT_CODE, codes[..., ::-1])
