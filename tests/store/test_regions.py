"""The one home of regions and grid placement: parsing, BED/tuple/string input, window
placement, the bedGraph centre rule and runs of bins (pure, no store needed)."""

from __future__ import annotations

import gzip

import numpy as np
import pytest

from fnstore.errors import InputError
from fnstore.store.regions import (
    Region,
    as_regions,
    bin_runs,
    centre_span,
    check_regions,
    parse_region,
    parse_span,
    window_offset,
    window_start,
)

LENGTHS = {"chr1": 10_000, "chr2": 5_000}


def test_parse_region_accepts_separators_and_unpacks():
    r = parse_region(" chr20:1,000-2_000 ")
    assert r == Region("chr20", 1000, 2000)
    assert str(r) == "chr20:1000-2000"
    chrom, start, end = r
    assert (chrom, start, end) == r.as_tuple() == ("chr20", 1000, 2000)


@pytest.mark.parametrize(
    ("text", "needle"),
    [("chr20", "is not chrom:start-end"), ("chr20:5-x", "is not"), ("chr20:9-3", "end must")],
)
def test_parse_region_errors_name_the_source(text, needle):
    with pytest.raises(InputError, match=needle) as err:
        parse_region(text, "--where")
    assert "--where" in str(err.value)


def test_parse_span_whole_chromosome_or_checked_range():
    assert parse_span("chr2", LENGTHS) == Region("chr2", 0, 5000)
    assert parse_span("chr1:100-200", LENGTHS) == Region("chr1", 100, 200)
    with pytest.raises(InputError, match="'chrX' is not in the store"):
        parse_span("chrX", LENGTHS)
    with pytest.raises(InputError, match=r"is outside chr2 \(length 5000\)"):
        parse_span("chr2:4000-6000", LENGTHS, "valid_chroms")


def test_as_regions_from_tuples_strings_and_a_gzip_bed(tmp_path):
    bed = tmp_path / "r.bed.gz"
    with gzip.open(bed, "wt") as fh:
        fh.write("track name=x\n#comment\nchr1\t10\t20\tpeak\nchr2\t5\t9\n")
    assert as_regions(bed) == [Region("chr1", 10, 20), Region("chr2", 5, 9)]
    mixed = as_regions([("chr1", 1, 2), "chr2:3-4", Region("chr1", 5, 6)])
    assert mixed == [Region("chr1", 1, 2), Region("chr2", 3, 4), Region("chr1", 5, 6)]


def test_check_regions_refuses_empty_and_off_chromosome():
    check_regions([Region("chr1", 0, 10_000)], LENGTHS)
    with pytest.raises(InputError, match="chr1:5-5: region is empty"):
        check_regions([Region("chr1", 5, 5)], LENGTHS)
    with pytest.raises(InputError, match=r"chr2:-1-10: region is outside chr2"):
        check_regions([Region("chr2", -1, 10)], LENGTHS)


@pytest.mark.parametrize(
    ("window", "expected"), [(1002, -401), (1001, -400), (200, 0), (201, 0), (100, 50)]
)
def test_window_start_centres_rounding_down(window, expected):
    assert window_offset(window, 200) == expected
    starts = np.array([0, 50, 1000])
    np.testing.assert_array_equal(window_start(starts, window, 200), starts + expected)
    # the window's centre is the bin's centre (to the base below for odd/even mismatch)
    assert window_start(0, window, 200) + window // 2 == 100


def test_centre_span():
    assert centre_span(200, 50) == (75, 50)
    assert centre_span(200, 200) == (0, 200)
    assert centre_span(200, 75) == (0, 200)  # no whole-base centre: draw the whole bin


def test_bin_runs_break_at_gaps_and_chromosomes():
    bins = np.array([3, 4, 5, 9, 10, 11, 12])
    chrom = np.array([0, 0, 0, 0, 0, 1, 1])
    first, length = bin_runs(bins, chrom)
    assert first.tolist() == [0, 3, 5] and length.tolist() == [3, 2, 2]
    first, length = bin_runs(np.zeros(0, np.int64), np.zeros(0, np.int64))
    assert first.size == 0 and length.dtype == np.int64


def test_bins_within_are_the_bins_wholly_inside(example_store) -> None:
    import numpy as np

    st = example_store
    chrom = st.chroms[0]
    lo, hi = st.bin_range(chrom)
    length = int(st.chrom_lengths[0])
    starts = np.arange(hi - lo) * st.stride
    rng = np.random.default_rng(0)
    spans = [
        (0, 199),
        (0, 200),
        (1, 251),
        (length - 199, length),
        (-100, 150),
        (length, length + 9),
    ]
    spans += [tuple(sorted(rng.integers(-500, length + 500, 2).tolist())) for _ in range(300)]
    for a, b in spans:
        inside = lo + np.flatnonzero((starts >= a) & (starts + st.bin_size <= b))
        assert np.arange(*st.bins_within(chrom, a, b)).tolist() == inside.tolist(), (a, b)
