"""The one synthetic-data factory of the test suite: small genomes, bigWigs and text files.

Everything is deterministic for a seed, so every session builds the same stores. Real data
comes from the bundled example (``fnstore/example``) or, for tests marked ``shared_data``,
from ``../shared/data``; this module makes only what those lack (DNase, toy genomes).
"""

from __future__ import annotations

import gzip
from collections.abc import Mapping
from pathlib import Path

import numpy as np


def random_sequence(n: int, rng: np.random.Generator) -> str:
    return rng.choice(np.frombuffer(b"ACGT", dtype=np.uint8), n).tobytes().decode()


def write_fasta(
    path: Path,
    lengths: Mapping[str, int] | None = None,
    seed: int = 0,
    *,
    sequences: Mapping[str, str] | None = None,
    n_run: tuple[int, int] | None = None,
    width: int = 60,
) -> Path:
    """A FASTA of random ACGT chromosomes of ``lengths`` (or the given ``sequences``);
    ``n_run=(start, end)`` puts a run of N inside every chromosome."""
    rng = np.random.default_rng(seed)
    seqs = dict(sequences or {})
    for name, n in (lengths or {}).items():
        seqs[name] = "".join(rng.choice(list("ACGT"), n))
    with open(path, "w") as fh:
        for name, seq in seqs.items():
            if n_run is not None:
                seq = seq[: n_run[0]] + "N" * (n_run[1] - n_run[0]) + seq[n_run[1] :]
            fh.write(f">{name}\n")
            fh.writelines(seq[i : i + width] + "\n" for i in range(0, len(seq), width))
    return path


def write_bigwig(
    path: Path,
    lengths: Mapping[str, int],
    seed: int = 0,
    *,
    span: int = 50,
    step: int = 100,
    values: str = "uniform",
) -> Path:
    """A fixed-step bigWig over every chromosome: ``values`` are ``uniform`` in [0, 1) or
    ``gamma`` (skewed like accessibility signal)."""
    import pyBigWig

    rng = np.random.default_rng(seed)
    bw = pyBigWig.open(str(path), "w")
    bw.addHeader(list(lengths.items()))
    for chrom, n in lengths.items():
        count = len(range(0, n - span + 1, step))
        vals = rng.gamma(0.5, 2.0, count) if values == "gamma" else rng.random(count)
        bw.addEntries(chrom, 0, values=vals.tolist(), span=span, step=step)
    bw.close()
    return path


def write_constant_bigwig(path: Path, lengths: Mapping[str, int], value: float) -> Path:
    """One interval per chromosome holding ``value`` everywhere."""
    import pyBigWig

    bw = pyBigWig.open(str(path), "w")
    bw.addHeader(list(lengths.items()))
    names = list(lengths)
    bw.addEntries(
        names, [0] * len(names), ends=[lengths[c] for c in names], values=[value] * len(names)
    )
    bw.close()
    return path


def narrowpeak_row(chrom: str, start: int, end: int) -> str:
    """One narrowPeak line (score 500, signal 5.0, summit 100)."""
    return f"{chrom}\t{start}\t{end}\t.\t500\t.\t5.0\t-1\t0.1\t100\n"


def write_gz(path: Path, text: str) -> Path:
    with gzip.open(path, "wt") as fh:
        fh.write(text)
    return path


def write_synthetic_dnase(real_bw: Path, out: Path, seed: int, scale: float = 1.0) -> Path:
    """A DNase-like bigWig shaped like a real accessibility track: its intervals, shifted
    and rescaled (the real data has ATAC for one cell only)."""
    import pyBigWig

    rng = np.random.default_rng(seed)
    src = pyBigWig.open(str(real_bw))
    chroms = list(src.chroms().items())
    dst = pyBigWig.open(str(out), "w")
    dst.addHeader(chroms)
    for chrom, length in chroms:
        ivs = src.intervals(chrom)
        if not ivs:
            continue
        starts = np.array([s for s, _, _ in ivs], dtype=np.int64)
        ends = np.array([e for _, e, _ in ivs], dtype=np.int64)
        vals = np.array([v for _, _, v in ivs], dtype=np.float64)
        shift = int(rng.integers(-20_000, 20_000))
        starts, ends = starts + shift, ends + shift
        keep = (starts >= 0) & (ends <= length)
        starts, ends = starts[keep], ends[keep]
        vals = vals[keep] * scale * rng.gamma(4.0, 0.25, size=keep.sum())
        dst.addEntries(
            [chrom] * len(starts), starts.tolist(), ends=ends.tolist(), values=vals.tolist()
        )
    dst.close()
    src.close()
    return out


#: chromosomes of :func:`toy_spec`'s genome
TOY_LENGTHS = {"chrA": 30_000, "chrB": 12_000}


def toy_spec(d: Path) -> dict:
    """A small, valid build spec whose files (written into folder ``d``) a test can break:
    two chromosomes, one DNase cell with metadata, CTCF conservative + relaxed peaks, a
    blacklist and a CpG annotation (one of its rows on a chromosome the genome lacks)."""
    cons = "".join(narrowpeak_row("chrA", s, s + 240) for s in (1000, 5000, 20_000))
    rel = cons + narrowpeak_row("chrB", 3000, 3400)
    spec = {
        "genome": {"fasta": str(write_fasta(d / "g.fa", TOY_LENGTHS))},
        "blacklist": [str(write_gz(d / "bl.bed.gz", "chrA\t29000\t30000\n"))],
        "cells": {
            "X": {
                "tracks": {"DNase": str(write_bigwig(d / "x.bw", TOY_LENGTHS))},
                "metadata": str(d / "meta.txt"),
            }
        },
        "labels": [
            {
                "tf": "CTCF",
                "cell": "X",
                "conservative": str(write_gz(d / "c.np.gz", cons)),
                "relaxed": str(write_gz(d / "r.np.gz", rel)),
            }
        ],
        "annotations": {"cpg": str(write_gz(d / "cpg.bed.gz", "chrA\t900\t1300\nchr1\t5\t10\n"))},
        "chunks": {"positions": 8192, "bins": 128},
    }
    (d / "meta.txt").write_text("0.5\tGEPC1\n-0.25\tGEPC2\n")
    return spec
