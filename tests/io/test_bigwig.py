"""bigWigs fnstore writes: summaries read through ``stats()`` (the default, zoom-based
path) agree with the per-base values they summarise."""

from __future__ import annotations

import numpy as np
import pyBigWig
import pytest

from fnstore.io.bigwig import BigWigWriter

LENGTHS = {"chr1": 3_000_000, "chr2": 700_000}


@pytest.fixture(scope="module")
def written(tmp_path_factory) -> tuple[str, dict[str, np.ndarray]]:
    """> 10,000 intervals of varied lengths, gaps and values, written in chunks."""
    rng = np.random.default_rng(7)
    path = tmp_path_factory.mktemp("bw") / "signal.bw"
    per_base = {}
    with BigWigWriter(path, list(LENGTHS.items())) as bw:
        for chrom, n in LENGTHS.items():
            runs = rng.integers(1, 60, size=n // 20)
            vals = np.repeat(rng.gamma(0.5, 2.0, runs.size), runs)[:n]
            vals[rng.random(vals.size) < 0.3] = 0.0  # gaps (zeros are not written)
            values = np.zeros(n, dtype=np.float32)
            values[: vals.size] = vals
            per_base[chrom] = values
            for off in range(0, n, 100_000):
                bw.write(chrom, off, values[off : off + 100_000])
        assert bw.entries > 10_000
    return str(path), per_base


@pytest.mark.parametrize("kind", ["mean", "max", "coverage"])
def test_stats_agree_with_per_base_values(written, kind):
    path, per_base = written
    bw = pyBigWig.open(path)
    rng = np.random.default_rng(1)
    for chrom, values in per_base.items():
        n = values.size
        windows = [(s, s + w) for w in (1_000, 50_000, 400_000) for s in range(0, n - w, 20 * w)]
        windows += [(s, s + 400_000) for s in range(0, n - 400_000, 400_000)]
        windows += [tuple(sorted(rng.integers(0, n, 2))) for _ in range(200)]
        for s, e in windows:
            if e <= s:
                continue
            got = bw.stats(chrom, int(s), int(e), type=kind)[0]
            part = values[s:e]
            covered = part != 0
            if kind == "coverage":
                want = covered.mean()
            elif not covered.any():
                assert got is None
                continue
            else:
                want = part[covered].mean() if kind == "mean" else part[covered].max()
            assert got == pytest.approx(want, rel=1e-4, abs=1e-6), (chrom, s, e, kind)
    bw.close()


def test_many_bins_per_call(written):
    """``nBins`` > 1 reads zooms too: every bin of a whole-chromosome call is right."""
    path, per_base = written
    bw = pyBigWig.open(path)
    values = per_base["chr1"]
    got = np.array(bw.stats("chr1", 0, values.size, type="mean", nBins=300), dtype=float)
    for i, part in enumerate(np.array_split(values, 300)):
        want = part[part != 0].mean()
        assert got[i] == pytest.approx(want, rel=1e-4), i
    bw.close()
