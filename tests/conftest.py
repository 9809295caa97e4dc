"""Shared fixtures: the bundled example store (always there) and, for tests marked
``shared_data``, the real hg19 chr20 data in ../shared/data and stores built from it.

Stores are built once per test session (a full chr20 store takes a few seconds) and must
be treated as read-only by tests; tests that modify a store build their own in tmp_path.
Tests that need ../shared/data say so with ``@pytest.mark.shared_data`` (or by using one of
its fixtures, which marks them too) and are skipped, with a reason, when it is absent.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from shared_data import shared_data_dir
from synthetic import write_synthetic_dnase

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

REPO = Path(__file__).resolve().parents[1]
EXAMPLE_DIR = REPO / "fnstore" / "example"
EXAMPLE_SPEC = EXAMPLE_DIR / "spec.yaml"
#: fixtures that need ../shared/data: a test using any of them is marked shared_data
SHARED_FIXTURES = {
    "shared_data",
    "synthetic_dnase",
    "chr20_spec",
    "chr20_store_path",
    "chr20_store",
}

#: cells that get a synthetic DNase bigWig (the shared data has ATAC for GM12878 only)
SYNTHETIC_DNASE_CELLS = ("GM12878", "HepG2", "K562", "A549")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every test that uses the real data, and skip those when it is absent."""
    available = shared_data_dir() is not None
    skip = pytest.mark.skip(reason="real data (../shared/data) not available")
    for item in items:
        if SHARED_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.shared_data)
        if not available and item.get_closest_marker("shared_data"):
            item.add_marker(skip)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    d = shared_data_dir()
    if d is None:
        pytest.skip("real data (../shared/data) not available")
    return d


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


# --------------------------------------------------------------------------- bundled example


@pytest.fixture(scope="session")
def example_store_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled example built as the demo builds it (no ../shared/data needed)."""
    from fnstore.build import build_store

    path = tmp_path_factory.mktemp("example") / "example.zarr"
    build_store(str(EXAMPLE_SPEC), path, progress=False)
    return path


@pytest.fixture(scope="session")
def example_store(example_store_path: Path):
    from fnstore.store.read import open_store

    return open_store(example_store_path)


@pytest.fixture(scope="session")
def example_dnase(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Synthetic DNase bigWigs for GM12878 and HepG2, shaped like the example's ATAC track."""
    import yaml

    folder = tmp_path_factory.mktemp("example-dnase-inputs")
    spec = yaml.safe_load(EXAMPLE_SPEC.read_text())
    atac = EXAMPLE_DIR / spec["cells"]["GM12878"]["tracks"]["ATAC"]
    return {
        cell: write_synthetic_dnase(atac, folder / f"{cell}.DNase.bw", seed=i, scale=1 + i)
        for i, cell in enumerate(("GM12878", "HepG2"))
    }


@pytest.fixture(scope="session")
def example_dnase_spec(example_dnase: dict[str, Path]) -> dict:
    """The bundled example's spec with absolute paths, plus the synthetic DNase tracks."""
    import yaml

    spec = yaml.safe_load(EXAMPLE_SPEC.read_text())
    for cell, bw in example_dnase.items():
        spec["cells"][cell].setdefault("tracks", {})["DNase"] = str(bw)
    for cell in spec["cells"].values():
        for key, value in list(cell.get("tracks", {}).items()):
            cell["tracks"][key] = str(EXAMPLE_DIR / value)
        if "metadata" in cell:
            cell["metadata"] = str(EXAMPLE_DIR / cell["metadata"])
    spec["genome"]["fasta"] = str(EXAMPLE_DIR / spec["genome"]["fasta"])
    spec["blacklist"] = [str(EXAMPLE_DIR / b) for b in spec["blacklist"]]
    spec["labels"] = [{"peaks_dir": str(EXAMPLE_DIR / "peaks")}]
    spec["annotations"] = {k: str(EXAMPLE_DIR / v) for k, v in spec["annotations"].items()}
    return spec


@pytest.fixture(scope="session")
def example_dnase_store_path(
    example_dnase_spec: dict, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """The bundled example plus a synthetic DNase track for GM12878 and HepG2, so two
    cells have signal and GM12878 has two tracks (what sampler and export tests need)."""
    from fnstore.build import build_store

    path = tmp_path_factory.mktemp("example-dnase") / "example-dnase.zarr"
    build_store(example_dnase_spec, path, progress=False)
    return path


@pytest.fixture(scope="session")
def example_dnase_store(example_dnase_store_path: Path):
    from fnstore.store.read import open_store

    return open_store(example_dnase_store_path)
