"""bigWigs fnstore writes: summaries read through ``stats()`` (the default, zoom-based
path) agree with the per-base values they summarise.

A zoom record summarises one bin of its level; a window that cuts a record is estimated
from the overlap, so windows here are whole multiples of a level's bin, aligned to it:
there, correct zoom levels give the exact answer.
"""

from __future__ import annotations

import struct

import numpy as np
import pyBigWig
import pytest

from fnstore.io.bigwig import BigWigWriter

LENGTHS = {"chr2": 3_000_000, "chr10": 700_000, "chr1": 5_000}  # not in name order


def zoom_reductions(path: str) -> list[int]:
    """The bin size of each zoom level, from the bigWig header."""
    with open(path, "rb") as fh:
        head = fh.read(64 + 24 * 10)
    n = struct.unpack_from("<H", head, 6)[0]
    return [struct.unpack_from("<I", head, 64 + 24 * z)[0] for z in range(n)]


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
    for chrom, values in per_base.items():
        n = values.size
        windows = [
            (s, s + w)
            for r in zoom_reductions(path)
            for w in (r, 3 * r, 7 * r)
            for s in range(0, n - w, max(w, n // 300 // w * w))
        ]
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


def test_has_zoom_levels(written):
    """Browsers need zooms: several levels, coarsest above 100 kb on these chromosomes."""
    reductions = zoom_reductions(written[0])
    assert len(reductions) >= 4 and reductions[-1] >= 100_000


def test_many_bins_per_call(written):
    """``nBins`` > 1 reads zooms too: every bin of a whole-chromosome call is right."""
    path, per_base = written
    bw = pyBigWig.open(path)
    values = per_base["chr2"]
    r = zoom_reductions(path)[1]
    n_bins = values.size // r
    got = np.array(bw.stats("chr2", 0, n_bins * r, type="mean", nBins=n_bins), dtype=float)
    for i, part in enumerate(np.split(values[: n_bins * r], n_bins)):
        if not part.any():
            assert np.isnan(got[i])
            continue
        want = part[part != 0].mean()
        assert got[i] == pytest.approx(want, rel=1e-4), i
    bw.close()
