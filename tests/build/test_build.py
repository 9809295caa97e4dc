"""The builder against real chr20 data and independent slow re-implementations."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pyBigWig
import pysam
import pytest

from fnstore.build import build_store, load_spec
from fnstore.io.bed import read_bed
from fnstore.store.read import open_store

# ----------------------------------------------------------------- slow, independent references


def slow_label(chrom: str, start: int, end: int, conservative: list, relaxed: list | None) -> str:
    """The ENCODE-DREAM rule for one bin, written as plainly as possible."""
    size = end - start
    for c, s, e in conservative:
        if c != chrom:
            continue
        ov = min(end, e) - max(start, s)
        if ov > 0 and (ov >= 0.5 * size or ov >= 0.5 * (e - s)):
            return "B"
    for c, s, e in relaxed if relaxed is not None else conservative:
        if c == chrom and min(end, e) - max(start, s) >= 1:
            return "A"
    return "U"


def bed_rows(path) -> list[tuple[str, int, int]]:
    rows = []
    with gzip.open(path, "rt") as fh:
        for line in fh:
            p = line.split("\t")
            rows.append((p[0], int(p[1]), int(p[2])))
    return rows


def test_labels_match_slow_rule_on_sampled_bins(chr20_store, chr20_spec):
    spec = load_spec(chr20_spec)
    rng = np.random.default_rng(0)
    store = chr20_store
    letters = {0: "U", 1: "B", 2: "A"}
    checked = {"B": 0, "A": 0, "U": 0}
    for t in rng.choice(len(spec.peak_tasks), size=12, replace=False):
        pt = spec.peak_tasks[t]
        cons = bed_rows(pt.conservative)
        rel = bed_rows(pt.relaxed) if pt.relaxed else None
        ti = store.task_index(pt.tf, pt.cell)
        col = store.labels([ti])[:, 0]
        # sample bins near peaks (where the rule matters) and anywhere
        picks = rng.permutation(len(cons))[:20]
        near = [
            store.bin_index("chr20", max(0, (cons[i][1] // 50) * 50 + d))
            for i in picks
            for d in (-200, -150, -100, -50, 0, 50)
        ]
        bins = np.unique(
            np.concatenate([np.array(near).ravel(), rng.integers(0, store.n_bins, 200)])
        )
        _, starts = store.bin_coords(bins)
        for b, s in zip(bins, starts, strict=True):
            want = slow_label("chr20", int(s), int(s) + 200, cons, rel)
            assert letters[int(col[b])] == want, (pt.tf, pt.cell, int(s))
            checked[want] += 1
    assert checked["B"] > 50 and checked["U"] > 50 and checked["A"] > 0


def test_sequence_matches_fasta(chr20_store, shared_data):
    fa = pysam.FastaFile(str(shared_data / "hg19" / "hg19_chr20.fa.gz"))
    rng = np.random.default_rng(1)
    n = fa.get_reference_length("chr20")
    starts = list(rng.integers(0, n - 5000, 20)) + [0, n - 5000, (1 << 20) - 2500]
    for s in starts:
        s = int(s)
        got = chr20_store.sequence("chr20", s, s + 5000)
        want = fa.fetch("chr20", s, s + 5000).upper()
        assert "".join("ACGTN"[c] for c in got) == "".join(
            ch if ch in "ACGT" else "N" for ch in want
        )


def test_signals_match_pybigwig(chr20_store, chr20_spec):
    rng = np.random.default_rng(2)
    for cell, entry in chr20_spec["cells"].items():
        for track, path in entry.get("tracks", {}).items():
            bw = pyBigWig.open(path)
            ivs = bw.intervals("chr20")
            # windows centred on real signal, plus random ones
            centres = [ivs[i][0] for i in rng.integers(0, len(ivs), 10)] + list(
                rng.integers(0, 62_000_000, 5)
            )
            for c in centres:
                s = max(0, int(c) - 500)
                want = np.nan_to_num(bw.values("chr20", s, s + 1000, numpy=True)).astype(np.float32)
                got = chr20_store.signal(cell, track, "chr20", s, s + 1000)
                np.testing.assert_allclose(
                    got, want.astype(np.float16).astype(np.float32), rtol=0, atol=0
                )
                np.testing.assert_allclose(got, want, rtol=1e-3, atol=1e-3)
            bw.close()
    # a cell without a track reads as zeros and is marked absent
    present = chr20_store.track_present["ATAC"]
    absent = [c for c, p in zip(chr20_store.cells, present, strict=True) if not p]
    assert absent and not chr20_store.signal(absent[0], "ATAC", "chr20", 0, 10_000_000).any()


def test_blacklist_and_annotations_match_intervals(chr20_store, chr20_spec):
    rng = np.random.default_rng(3)
    bl = read_bed(chr20_spec["blacklist"][0])
    bins = rng.integers(0, chr20_store.n_bins, 3000)
    _, starts = chr20_store.bin_coords(bins)
    flags = chr20_store.blacklist(bins)
    s_arr, e_arr = bl.get("chr20")
    for s, f in zip(starts, flags, strict=True):
        assert bool(f) == bool(np.any((s_arr < s + 200) & (e_arr > s)))
    ann = chr20_store.annotations(bins)
    for a, name in enumerate(chr20_store.annotation_names):
        s_arr, e_arr = read_bed(chr20_spec["annotations"][name]).get("chr20")
        for s, f in zip(starts[:500], ann[:500, a], strict=True):
            assert bool(f) == bool(np.any((s_arr < s + 200) & (e_arr > s))), name


def test_metadata_and_provenance(chr20_store, chr20_spec, shared_data):
    v = chr20_store.metadata("HepG2")
    first = (shared_data / "cells" / "HepG2.meta.txt").read_text().split()[0]
    assert v[0] == pytest.approx(float(first))
    prov = chr20_store.provenance
    assert prov["versions"]["zarr"].startswith("3")
    fasta = chr20_spec["genome"]["fasta"]  # an absolute path, recorded relative to the spec
    assert fasta not in prov["inputs"] and prov["inputs_base"] is not None
    [record] = [r for r in prov["inputs"].values() if r["name"] == Path(fasta).name]
    assert len(record["sha256"]) == 64
    assert prov["parameters"]["signal_dtype"] == "float16"
    assert chr20_store.labelling["bin_fraction"] == 0.5
    src = chr20_store.attrs["task_sources"][0]
    assert len(src["conservative"]["sha256"]) == 64


def test_bins_grid(chr20_store):
    s = chr20_store
    lo, hi = s.bin_range("chr20")
    assert (lo, hi) == (0, (63_025_520 - 200) // 50 + 1)
    np.testing.assert_array_equal(s.root["bin_start"][:1000], np.arange(1000) * 50)
    assert s.bins_overlapping("chr20", 1000, 1200) == (17, 24)


def test_store_opens_with_plain_xarray(chr20_store_path):
    import xarray as xr

    ds = xr.open_zarr(chr20_store_path, consolidated=False)
    assert ds["labels"].dims == ("bin", "task")
    assert "CTCF.A549" in ds["task"].attrs["names"]  # names are UTF-8 bytes (any Zarr reader)
    assert ds["signals/DNase"].dims == ("cell", "position") if "signals/DNase" in ds else True


def test_zip_and_memory_urls(tmp_path, chr20_spec):
    """Stores may live in a zip file or behind an fsspec URL."""
    small = dict(
        chr20_spec, labels=[dict(chr20_spec["labels"][0], tfs=["CTCF"])], cells={}, annotations={}
    )
    build_store(small, tmp_path / "s.zip")
    z = open_store(tmp_path / "s.zip")
    assert z.tasks and z.sequence("chr20", 100_000, 100_010).size == 10
    build_store(small, "memory://fnstore-test/s.zarr")
    m = open_store("memory://fnstore-test/s.zarr")
    np.testing.assert_array_equal(m.labels(), z.labels())
