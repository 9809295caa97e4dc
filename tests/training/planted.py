"""A one-chromosome store with a motif planted in every peak: models must learn it."""

from __future__ import annotations

from pathlib import Path

import numpy as np

MOTIF = "TTGACGTCAA"
CHROM_LEN = 300_000
TINY = {
    "window": 300,
    "n_kernels": 16,
    "kernel_width": 12,
    "lstm_units": 0,
    "position_dense": 0,
    "dense_units": 8,
    "conv_dropout": 0.0,
    "recurrent_dropout": 0.0,
}


def build_planted(d: Path) -> Path:
    """One random chromosome; 200 bp peaks every ~1.5 kb with MOTIF planted at their centre."""
    from fnstore.build import build_store

    rng = np.random.default_rng(0)
    seq = rng.choice(np.frombuffer(b"ACGT", dtype=np.uint8), CHROM_LEN)
    grid = np.arange(1_000, CHROM_LEN - 1_000, 1_500)
    centres = grid + rng.integers(-300, 300, len(grid))
    for c in centres:
        seq[c - len(MOTIF) // 2 : c - len(MOTIF) // 2 + len(MOTIF)] = np.frombuffer(
            MOTIF.encode(), np.uint8
        )
    text = seq.tobytes().decode()
    (d / "genome.fa").write_text(
        ">chrS\n" + "\n".join(text[i : i + 80] for i in range(0, len(text), 80)) + "\n"
    )
    peaks = "".join(
        f"chrS\t{c - 100}\t{c + 100}\tp{i}\t0\t.\t10\t-1\t-1\t100\n" for i, c in enumerate(centres)
    )
    (d / "peaks.narrowPeak").write_text(peaks)
    spec = {
        "genome": {"fasta": str(d / "genome.fa")},
        "cells": {"C1": {}},
        "labels": [{"tf": "PLANT", "cell": "C1", "conservative": str(d / "peaks.narrowPeak")}],
    }
    build_store(spec, d / "planted.zarr")
    return d / "planted.zarr"
