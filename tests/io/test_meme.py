"""MEME minimal-format reading and writing, reverse complements and log-odds (pure NumPy)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from fnstore.errors import InputError
from fnstore.io.meme import (
    Motif,
    find_motifs,
    format_meme,
    log_odds,
    parse_meme,
    read_meme,
    reverse_complement,
    write_meme,
)

HEADER = "MEME version 4\n\nALPHABET= ACGT\n\nstrands: + -\n\n"


def test_parse_hocomoco(shared_data: Path) -> None:
    motifs = read_meme(shared_data / "motifs" / "HOCOMOCOv9.meme")
    assert len(motifs) == 428
    first = motifs[0]
    assert (first.name, first.alt_name, first.width, first.nsites) == ("AHR_si", "AHR", 9, 154)
    np.testing.assert_allclose(first.pwm[0], [0.266234, 0.116883, 0.363636, 0.253247])
    for m in motifs:
        assert m.pwm.shape == (m.width, 4)
        np.testing.assert_allclose(m.pwm.sum(axis=1), 1.0, atol=0.02)
    assert len({m.name for m in motifs}) == 428
    assert [m.name for m in find_motifs(motifs, "rest")] == ["REST_f1"]


def test_write_read_round_trip(shared_data: Path, tmp_path: Path) -> None:
    motifs = read_meme(shared_data / "motifs" / "HOCOMOCOv9.meme")
    path = write_meme(tmp_path / "out.meme", motifs, background=[0.3, 0.2, 0.2, 0.3])
    again = read_meme(path)
    assert [m.name for m in again] == [m.name for m in motifs]
    assert [m.alt_name for m in again] == [m.alt_name for m in motifs]
    assert [m.nsites for m in again] == [m.nsites for m in motifs]
    for a, b in zip(motifs, again, strict=True):
        np.testing.assert_allclose(a.pwm, b.pwm, atol=1e-6)
    assert "A 0.300000 C 0.200000 G 0.200000 T 0.300000" in path.read_text()


def test_round_trip_of_new_motif(tmp_path: Path) -> None:
    pwm = np.array([[0.7, 0.1, 0.1, 0.1], [0.0, 0.0, 1.0, 0.0], [0.25, 0.25, 0.25, 0.25]])
    text = format_meme([Motif("kernel_3", pwm, url="http://example.org/k3")])
    (back,) = parse_meme(text)
    assert back.name == "kernel_3" and back.alt_name is None and back.url == "http://example.org/k3"
    np.testing.assert_allclose(back.pwm, pwm)


def test_reverse_complement() -> None:
    pwm = np.array([[0.7, 0.1, 0.1, 0.1], [0.0, 0.2, 0.8, 0.0]])  # ~ "AG"
    rc = reverse_complement(pwm)  # ~ "CT"
    np.testing.assert_array_equal(rc, [[0.0, 0.8, 0.2, 0.0], [0.1, 0.1, 0.1, 0.7]])
    np.testing.assert_array_equal(reverse_complement(rc), pwm)
    m = Motif("AG", pwm).reverse_complement()
    assert m.name == "AG_rc"
    with pytest.raises(ValueError):
        reverse_complement(np.zeros((3, 5)))


def test_log_odds() -> None:
    pwm = np.array([[1.0, 0.0, 0.0, 0.0], [0.25, 0.25, 0.25, 0.25]])
    with np.errstate(divide="ignore"):
        lo = log_odds(pwm, pseudocount=0.0)
    np.testing.assert_allclose(lo[1], 0.0)
    assert lo[0, 0] == pytest.approx(2.0)
    assert np.isfinite(log_odds(pwm)).all()


MATRIX = "letter-probability matrix: alength= 4 w= 2 nsites= 5 E= 0\n"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "not a MEME file"),
        ("MOTIF a\n" + MATRIX + "1 0 0 0\n0 1 0 0\n", "not a MEME file"),
        (HEADER, "no MOTIF entries"),
        (HEADER + "MOTIF a\n" + MATRIX + "1 0 0 0\n", "w=2 but 1 rows"),
        (HEADER + "MOTIF a\n" + MATRIX + "1 0 0 0\n0.5 0.1 0 0\n", "row 2 sums to 0.6000"),
        (HEADER + "MOTIF a\n" + MATRIX + "1 0 0\n0 1 0 0\n", "line 9: expected 4 probabilities"),
        (HEADER + "MOTIF a\n" + MATRIX + "1 0 0 0\n0 1 x 0\n", "line 10:"),
        (HEADER + "MOTIF a\n" + MATRIX + "2 -1 0 0\n0 1 0 0\n", "must lie in"),
        (HEADER + "MOTIF a\nMOTIF b\n" + MATRIX + "1 0 0 0\n0 1 0 0\n", "'a' has no letter"),
        (HEADER + "MOTIF a\n", "'a' has no letter"),
        (HEADER.replace("ACGT", "ACGU") + "MOTIF a\n" + MATRIX + "1 0 0 0\n0 1 0 0\n", "alphabet"),
        (HEADER + "MOTIF a\nletter-probability matrix: alength= 4\n1 0 0 0\n", "without 'w='"),
        (HEADER + MATRIX + "1 0 0 0\n0 1 0 0\n", "before any MOTIF"),
    ],
)
def test_malformed_input(text: str, message: str) -> None:
    with pytest.raises(InputError, match=message) as info:
        parse_meme(text, "bad.meme")
    assert str(info.value).startswith("bad.meme: ")


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such motif file"):
        read_meme(tmp_path / "nope.meme")


def test_minimal_file_without_optional_lines() -> None:
    text = "MEME version 5\n\nMOTIF only\nletter-probability matrix: w= 1\n0.1 0.2 0.3 0.4\n"
    (m,) = parse_meme(text)
    assert m.width == 1 and m.nsites is None
