"""Shared fixtures: the real hg19 chr20 data in ../shared/data and stores built from it.

Stores are built once per test session (a full chr20 store takes a few seconds) and must
be treated as read-only by tests; tests that modify a store build their own in tmp_path.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

REPO = Path(__file__).resolve().parents[1]

#: cells that get a synthetic DNase bigWig (the shared data has ATAC for GM12878 only)
SYNTHETIC_DNASE_CELLS = ("GM12878", "HepG2", "K562", "A549")


def shared_data_dir() -> Path | None:
    env = os.environ.get("FNSTORE_SHARED_DATA")
    candidates = [Path(env)] if env else []
    candidates += [REPO.parent / "shared" / "data", Path("/work/shared/data")]
    for c in candidates:
        if (c / "hg19" / "hg19_chr20.fa.gz").exists():
            return c
    return None


@pytest.fixture(scope="session")
def shared_data() -> Path:
    d = shared_data_dir()
    if d is None:
        pytest.skip("real data (../shared/data) not available")
    return d


def write_synthetic_dnase(real_bw: Path, out: Path, seed: int, scale: float = 1.0) -> Path:
    """A DNase-like bigWig shaped like the real ATAC track: its intervals, shifted and rescaled.

    Deterministic for a seed, so every session builds the same store.
    """
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


@pytest.fixture(scope="session")
def synthetic_dnase(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("dnase")
    real = shared_data / "atac" / "esATAC_chr20_ATAC_Tn5cuts.derived.bw"
    return {
        cell: write_synthetic_dnase(real, folder / f"{cell}.DNase.bw", seed=i, scale=1 + i)
        for i, cell in enumerate(SYNTHETIC_DNASE_CELLS)
    }


ANNOTATIONS = {
    "cpgisland": "cpgisland.bed.gz",
    "cds": "wgEncodeGencodeBasicV19.cds.merged.bed.gz",
    "intron": "wgEncodeGencodeBasicV19.intron.merged.bed.gz",
    "promoter": "wgEncodeGencodeBasicV19.promoter.merged.bed.gz",
    "utr5": "wgEncodeGencodeBasicV19.utr5.merged.bed.gz",
    "utr3": "wgEncodeGencodeBasicV19.utr3.merged.bed.gz",
    "tss": "wgEncodeGencodeBasicV19.txStart.bed.gz",
}


def chr20_spec_dict(shared: Path, dnase: dict[str, Path], tfs: list[str] | None = None) -> dict:
    """The full real chr20 spec: every peak pair, ATAC for GM12878, synthetic DNase, all features."""
    cells: dict[str, dict] = {}
    for meta in sorted((shared / "cells").glob("*.meta.txt")):
        cells[meta.name.split(".")[0]] = {"metadata": str(meta)}
    for cell, bw in dnase.items():
        cells.setdefault(cell, {})["tracks"] = {"DNase": str(bw)}
    cells["GM12878"]["tracks"]["ATAC"] = str(
        shared / "atac" / "esATAC_chr20_ATAC_Tn5cuts.derived.bw"
    )
    labels: dict = {"peaks_dir": str(shared / "peaks")}
    if tfs:
        labels["tfs"] = tfs
    return {
        "name": "chr20-test",
        "assembly": "hg19",
        "genome": {
            "fasta": str(shared / "hg19" / "hg19_chr20.fa.gz"),
            "chrom_sizes": str(shared / "hg19" / "hg19.autoX.chrom.sizes"),
        },
        "blacklist": [str(shared / "annotations" / "blacklist.bed.gz")],
        "cells": cells,
        "labels": [labels],
        "annotations": {k: str(shared / "annotations" / v) for k, v in ANNOTATIONS.items()},
    }


@pytest.fixture(scope="session")
def chr20_spec(shared_data: Path, synthetic_dnase: dict[str, Path]) -> dict:
    return chr20_spec_dict(shared_data, synthetic_dnase)


@pytest.fixture(scope="session")
def chr20_store_path(chr20_spec: dict, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A complete store of all of chr20 with every TF x cell pair (read-only for tests)."""
    from fnstore.build import build_store

    path = tmp_path_factory.mktemp("stores") / "chr20.zarr"
    build_store(chr20_spec, path)
    return path


@pytest.fixture(scope="session")
def chr20_store(chr20_store_path: Path):
    from fnstore.store.read import open_store

    return open_store(chr20_store_path)
