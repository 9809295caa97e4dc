"""The bundled example is complete and real-looking, and ``fnstore demo --quick`` runs end to end."""

from __future__ import annotations

import gzip
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from fnstore.demo import EXAMPLE_DIR, EXAMPLE_SPEC

REPO = Path(__file__).resolve().parents[1]


def test_example_is_small_and_complete() -> None:
    files = [p for p in EXAMPLE_DIR.rglob("*") if p.is_file()]
    total = sum(p.stat().st_size for p in files)
    assert total <= 5_000_000, f"bundled example is {total / 1e6:.1f} MB (limit 5 MB)"
    names = {p.relative_to(EXAMPLE_DIR).as_posix() for p in files}
    for needed in (
        "spec.yaml",
        "README.md",
        "genome/chr20_slice.fa.gz",
        "genome/chr20_slice.fa.gz.fai",
        "genome/chr20_slice.fa.gz.gzi",
        "signal/GM12878.ATAC.Tn5cuts.bw",
        "cells/GM12878.meta.txt",
    ):
        assert needed in names, f"{needed} missing from {EXAMPLE_DIR}"
    assert any(n.startswith("peaks/GM12878/") for n in names)


def test_example_is_a_shifted_window_of_real_chr20(shared_data: Path) -> None:
    """The slice is hg19 chr20:2,000,000-6,500,000 and its intervals are the shifted originals."""
    import pyBigWig
    import pysam

    offset = 2_000_000
    ex = pysam.FastaFile(str(EXAMPLE_DIR / "genome" / "chr20_slice.fa.gz"))
    ref = pysam.FastaFile(str(shared_data / "hg19" / "hg19_chr20.fa.gz"))
    assert list(ex.references) == ["chr20_slice"]
    assert ex.get_reference_length("chr20_slice") == 4_500_000
    for s in (0, 1_234_567, 4_499_000):
        assert (
            ex.fetch("chr20_slice", s, s + 1000)
            == ref.fetch("chr20", offset + s, offset + s + 1000).upper()
        )

    bw = pyBigWig.open(str(EXAMPLE_DIR / "signal" / "GM12878.ATAC.Tn5cuts.bw"))
    src = pyBigWig.open(str(shared_data / "atac" / "esATAC_chr20_ATAC_Tn5cuts.derived.bw"))
    assert bw.chroms() == {"chr20_slice": 4_500_000}
    got = bw.values("chr20_slice", 1_000_000, 1_100_000, numpy=True)
    want = src.values("chr20", offset + 1_000_000, offset + 1_100_000, numpy=True)
    assert np.array_equal(got, want, equal_nan=True)  # NaN where there is no data
    assert np.nansum(got) > 0

    peak = (
        EXAMPLE_DIR
        / "peaks"
        / "GM12878"
        / "ChIPseq.GM12878.ZNF143.conservative.train.narrowPeak.gz"
    )
    rows = [line.split("\t") for line in gzip.open(peak, "rt")]
    original = {
        (int(r[1]), int(r[2]))
        for r in (
            line.split("\t")
            for line in gzip.open(shared_data / "peaks" / "GM12878" / peak.name, "rt")
        )
        if r[0] == "chr20"
    }
    assert rows and all(r[0] == "chr20_slice" for r in rows)
    assert {(int(r[1]) + offset, int(r[2]) + offset) for r in rows} <= original


def test_example_builds_a_store(tmp_path: Path) -> None:
    from fnstore.build import build_store
    from fnstore.store.read import open_store

    build_store(str(EXAMPLE_SPEC), str(tmp_path / "ex.zarr"), progress=False)
    st = open_store(tmp_path / "ex.zarr")
    assert st.chroms == ["chr20_slice"]
    assert st.tracks == ["ATAC"]
    assert {t.tf for t in st.tasks_for(cell="GM12878")} == {"ZNF143", "YY1", "SPI1"}
    counts = st.info()["tasks"]
    assert all(t["B"] > 100 for t in counts if t["cell"] == "GM12878"), counts


def test_demo_quick_end_to_end(tmp_path: Path) -> None:
    """The real command in a fresh process: prints metrics and writes every file it lists."""
    out = tmp_path / "demo"
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "CUDA_VISIBLE_DEVICES": ""}
    proc = subprocess.run(
        [sys.executable, "-m", "fnstore.cli", "demo", str(out), "--quick"],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    text = proc.stdout
    assert "Held-out metrics" in text and "auROC" in text
    rows = re.findall(
        r"^(ZNF143|YY1|SPI1)\s+[\d,]+\s+[\d,]+\s+([01]\.\d{3})\s+([01]\.\d{3})", text, re.M
    )
    assert {r[0] for r in rows} == {"ZNF143", "YY1", "SPI1"}, text
    assert (out / "example.zarr").is_dir()
    assert (out / "model" / "model.keras").is_file()
    assert (out / "model" / "model_card.json").is_file()
    listed = re.findall(r"^\s+(?:predictions|curves)\s+(\S+)$", text, re.M)
    assert len(listed) >= 6, text  # 3 prediction files + ROC and PR per TF
    for path in listed:
        assert Path(path).is_file() and Path(path).stat().st_size > 0, path
    assert "fnstore info" in text  # what to run next


@pytest.mark.parametrize("bad", ["--epochs=0"])
def test_demo_rejects_bad_options(bad: str, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from fnstore.cli import main

    result = CliRunner().invoke(main, ["demo", str(tmp_path / "d"), bad])
    assert result.exit_code != 0
    assert not (tmp_path / "d").exists()
