"""Streaming writers appear under their final names only once closed; an error inside
``with`` leaves neither a half file nor a temporary behind."""

from __future__ import annotations

import gzip

import numpy as np
import pytest

from fnstore.io.bed import count_header_lines, read_region_file
from fnstore.io.bedgraph import BedGraphWriter
from fnstore.io.bigwig import BigWigWriter
from fnstore.io.signal_runs import nonzero_value_runs
from fnstore.io.tables import NpzWriter, ParquetWriter, TsvWriter


def test_tsv_gzip_appears_only_when_closed_and_is_reproducible(tmp_path):
    outs = []
    for name in ("a.tsv.gz", "b.tsv.gz"):
        path = tmp_path / name
        with TsvWriter(path, ["x", "y"]) as w:
            w.write({"x": np.array([1, 2]), "y": np.array([0.5, 1.5])})
            assert not path.exists()
            w.close()
        outs.append(path.read_bytes())
    assert gzip.decompress(outs[0]) == b"x\ty\n1\t0.5\n2\t1.5\n"
    assert outs[0] == outs[1]  # no time stamp or name in the gzip header


@pytest.mark.parametrize(
    "make",
    [
        lambda p: TsvWriter(p / "t.tsv"),
        lambda p: NpzWriter(p / "t.npz", {"x": np.int64}),
        lambda p: ParquetWriter(p / "t.parquet"),
        lambda p: BedGraphWriter(p / "t.bedGraph.gz", "t"),
        lambda p: BigWigWriter(p / "t.bw", [("chr1", 1000)]),
    ],
)
def test_an_error_leaves_nothing(tmp_path, make):
    with pytest.raises(RuntimeError), make(tmp_path) as w:
        if isinstance(w, BigWigWriter | BedGraphWriter):
            w.write("chr1", 0, np.ones(10, np.float32))
        else:
            w.write({"x": np.arange(3)})
        raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []


def test_bigwig_writer_round_trip(tmp_path):
    import pyBigWig

    path = tmp_path / "s.bw"
    with BigWigWriter(path, [("chr1", 1000), ("chr2", 500)]) as w:
        w.write("chr1", 100, np.array([0, 2, 2, 0, 3], np.float32))
        w.add_intervals(["chr2", "chr2"], np.array([0, 50]), np.array([50, 100]), np.ones(2))
        w.close()
    assert w.entries == 4
    bw = pyBigWig.open(str(path))
    assert bw.intervals("chr1") == ((101, 103, 2.0), (104, 105, 3.0))
    assert bw.intervals("chr2") == ((0, 50, 1.0), (50, 100, 1.0))


def test_nonzero_value_runs():
    s, e, v = nonzero_value_runs(np.array([0, 1, 1, np.nan, 2, 0], np.float32))
    assert s.tolist() == [1, 4] and e.tolist() == [3, 5] and v.tolist() == [1.0, 2.0]


def test_region_file_header_lines_once(tmp_path):
    """Leading track/browser/# lines, or a column-name first line, are skipped, in plain
    and gzip files (whatever the name says)."""
    rows = "chr1\t0\t200\tx\nchr1\t50\t250\ty\n"
    for head, n in (("browser x\ntrack y\n#c\n", 3), ("chrom\tstart\tend\n", 1)):
        plain, packed = tmp_path / "r.bed", tmp_path / "r.txt"
        plain.write_text(head + rows)
        packed.write_bytes(gzip.compress((head + rows).encode()))
        for path in (plain, packed):
            assert count_header_lines(path) == n
            found = read_region_file(path)
            assert found.starts.tolist() == [0, 50]
            assert found.where(1) == f"line {n + 2} (chr1:50-250)"
