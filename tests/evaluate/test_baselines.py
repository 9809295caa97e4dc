"""The motif baseline: best placement per bin, checked against a slow direct scan."""

from __future__ import annotations

import numpy as np
import pytest

from fnstore.evaluate.baselines import bin_motif_scores, log_odds_table, placement_scores
from fnstore.io.motif_db import bundled_motif_file, find_tf_motif


def _slow_bin_score(codes: np.ndarray, pwm: np.ndarray) -> float:
    table = log_odds_table(pwm)
    rc = table[::-1][:, [3, 2, 1, 0, 4]]
    w = len(pwm)
    return max(
        max(sum(t[j, codes[i + j]] for j in range(w)) for t in (table, rc))
        for i in range(len(codes) - w + 1)
    )


def test_bin_scores_equal_a_direct_scan(example_store) -> None:
    st = example_store
    rng = np.random.default_rng(0)
    pwm = rng.dirichlet(np.full(4, 0.5), size=9)
    bins = np.sort(rng.choice(st.n_bins, 60, replace=False))
    got = bin_motif_scores(st, bins, pwm)
    chrom, start = st.bin_coords(bins)
    want = [
        _slow_bin_score(st.sequence(st.chroms[c], int(s), int(s) + st.bin_size), pwm)
        for c, s in zip(chrom.tolist(), start.tolist(), strict=True)
    ]
    np.testing.assert_allclose(got, want, atol=1e-5)
    assert bin_motif_scores(st, bins[:0], pwm).size == 0


def test_a_planted_site_scores_highest_on_either_strand() -> None:
    pwm = np.full((4, 4), 0.01)
    pwm[np.arange(4), [0, 1, 2, 2]] = 0.97  # ACGG
    codes = np.array([3, 3, 0, 1, 2, 2, 3, 3, 1, 1, 2, 3, 3], dtype=np.uint8)  # ..ACGG..CCGT.
    scores = placement_scores(codes, pwm)
    assert scores.argmax() in (2, 8) and scores[2] == pytest.approx(scores[8])
    assert placement_scores(codes[:3], pwm).size == 0


def test_bundled_database_finds_encode_dream_tfs() -> None:
    assert bundled_motif_file().is_file()
    for tf in ("CTCF", "REST", "GABPA", "MAX", "YY1", "ZNF143", "SPI1", "JUND"):
        motif = find_tf_motif(tf)
        assert motif is not None and motif.alt_name.upper() == tf
    assert find_tf_motif("NOT_A_TF") is None
