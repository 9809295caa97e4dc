"""fnstore.evaluate.metrics against scikit-learn, an independent slow Davis-Goadrich and hand sums."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from fnstore.errors import InputError
from fnstore.evaluate import metrics

sklearn_metrics = pytest.importorskip("sklearn.metrics")


def random_case(seed: int, n: int = 3000, decimals: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Imbalanced labels with informative, heavily tied scores (rounded to 1 decimal)."""
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.1).astype(np.int8)
    y[:2] = [0, 1]
    s = np.round(rng.random(n) * 0.8 + 0.3 * y, decimals)
    return y, s


@pytest.mark.parametrize("seed", range(6))
def test_roc_auc_and_ap_match_sklearn_with_ties(seed: int) -> None:
    y, s = random_case(seed, decimals=seed % 3 + 1)
    assert len(np.unique(s)) < len(s)  # the case really has ties
    assert metrics.roc_auc(y, s) == pytest.approx(sklearn_metrics.roc_auc_score(y, s), abs=1e-12)
    assert metrics.average_precision(y, s) == pytest.approx(
        sklearn_metrics.average_precision_score(y, s), abs=1e-12
    )


def test_roc_auc_is_mann_whitney() -> None:
    y, s = random_case(7, n=400)
    pos, neg = s[y == 1], s[y == 0]
    u = (pos[:, None] > neg[None, :]).sum() + 0.5 * (pos[:, None] == neg[None, :]).sum()
    assert metrics.roc_auc(y, s) == pytest.approx(u / (pos.size * neg.size), abs=1e-12)


def test_curves_match_sklearn() -> None:
    y, s = random_case(3)
    fpr, tpr, thr = metrics.roc_curve(y, s)
    ref_fpr, ref_tpr, _ = sklearn_metrics.roc_curve(y, s, drop_intermediate=False)
    np.testing.assert_allclose(fpr, ref_fpr)
    np.testing.assert_allclose(tpr, ref_tpr)
    assert thr[0] == np.inf and np.all(np.diff(thr) < 0)
    precision, recall, pthr = metrics.pr_curve(y, s)
    ref_p, ref_r, ref_thr = sklearn_metrics.precision_recall_curve(y, s)
    # sklearn: increasing thresholds, plus a final (precision 1, recall 0) point
    np.testing.assert_allclose(precision, ref_p[:-1][::-1])
    np.testing.assert_allclose(recall, ref_r[:-1][::-1])
    np.testing.assert_allclose(pthr, ref_thr[::-1])


# --------------------------------------------------------------------------- Davis-Goadrich


def slow_davis_goadrich(y: np.ndarray, s: np.ndarray) -> float:
    """The 2006 paper's recipe, literally, in exact fractions: PR points at each distinct
    threshold; between points A and B step one true positive at a time with false
    positives rising by (FP_B - FP_A) / (TP_B - TP_A); trapezoids of width 1 / P; the first
    point's precision is extended flat to recall 0."""
    y = [int(v) for v in y]
    s = [float(v) for v in s]
    n_pos = sum(y)
    points = []
    for t in sorted(set(s), reverse=True):
        tp = sum(1 for yi, si in zip(y, s, strict=True) if si >= t and yi == 1)
        fp = sum(1 for yi, si in zip(y, s, strict=True) if si >= t and yi == 0)
        points.append((tp, fp))
    area = Fraction(0)
    tp_a, fp_a = 0, 0
    for tp_b, fp_b in points:
        steps = tp_b - tp_a
        if steps > 0:
            skew = Fraction(fp_b - fp_a, steps)

            def precision(
                x: int, tp_a: int = tp_a, fp_a: int = fp_a, skew: Fraction = skew
            ) -> Fraction:
                return Fraction(tp_a + x) / (tp_a + x + fp_a + skew * x)

            for x in range(1, steps + 1):
                lo = precision(steps) if (tp_a, fp_a) == (0, 0) else precision(x - 1)
                area += (lo + precision(x)) / 2 / n_pos
        tp_a, fp_a = tp_b, fp_b
    return float(area)


def test_davis_goadrich_hand_examples() -> None:
    # distinct scores: flat 1 to recall 1/3, 1 to 2/3, then precision 2/3 -> 3/4 over the last third
    assert metrics.auprc_davis_goadrich(
        [1, 1, 0, 1, 0, 0], [0.9, 0.8, 0.7, 0.6, 0.5, 0.4]
    ) == pytest.approx(2 / 3 + (Fraction(2, 3) + Fraction(3, 4)) / 2 / 3)  # = 65/72
    # a tie at the top (1 TP + 1 FP): flat at 1/2 to recall 1/3; then a tie of 2 positives:
    # (1,1) -> (3,1) stepping through precisions 1/2, 2/3, 3/4
    expected = (
        Fraction(1, 2) / 3
        + ((Fraction(1, 2) + Fraction(2, 3)) / 2 + (Fraction(2, 3) + Fraction(3, 4)) / 2) / 3
    )
    assert expected == Fraction(43, 72)
    assert metrics.auprc_davis_goadrich(
        [1, 0, 1, 1, 0], [0.9, 0.9, 0.5, 0.5, 0.1]
    ) == pytest.approx(float(expected))
    # non-integer skew: (1,1) -> (4,2), FP grows 1/3 per TP: precision (1+x) / (2 + 4x/3)
    y = [1, 0, 1, 1, 1, 0, 0]
    s = [0.9, 0.9, 0.5, 0.5, 0.5, 0.5, 0.1]
    p = [Fraction(1 + x) / (2 + Fraction(4, 3) * x) for x in range(4)]
    expected = Fraction(1, 2) / 4 + sum((p[i] + p[i + 1]) / 2 for i in range(3)) / 4
    assert metrics.auprc_davis_goadrich(y, s) == pytest.approx(float(expected))
    assert slow_davis_goadrich(np.array(y), np.array(s)) == pytest.approx(float(expected))


@pytest.mark.parametrize("seed", range(8))
def test_davis_goadrich_matches_slow_implementation(seed: int) -> None:
    y, s = random_case(seed, n=300, decimals=1 + seed % 2)
    if seed % 4 == 0:  # the highest scores all negative: the curve starts at precision 0
        s[np.flatnonzero(y == 0)[:3]] = 5.0
    assert metrics.auprc_davis_goadrich(y, s) == pytest.approx(slow_davis_goadrich(y, s), abs=1e-12)


def test_davis_goadrich_perfect_and_close_to_ap_without_ties() -> None:
    assert metrics.auprc_davis_goadrich([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9]) == pytest.approx(1.0)
    rng = np.random.default_rng(1)
    y = rng.random(20000) < 0.05
    s = rng.random(20000) + y
    # without ties every segment adds at most one TP, so it is the trapezoid between points
    assert metrics.auprc_davis_goadrich(y, s) == pytest.approx(
        metrics.average_precision(y, s), abs=2e-3
    )


# --------------------------------------------------------------------------- recall at FDR


def test_recall_at_fdr_hand_examples() -> None:
    y, s = [1, 1, 0, 1, 0, 0], [0.9, 0.8, 0.7, 0.6, 0.5, 0.4]
    # PR points: (TP, FP) = (1,0) (2,0) (2,1) (3,1) (3,2) (3,3); FDR of (3,1) is exactly 0.25
    assert metrics.recall_at_fdr(y, s, 0.05) == pytest.approx(2 / 3)
    assert metrics.recall_at_fdr(y, s, 0.10) == pytest.approx(2 / 3)
    assert metrics.recall_at_fdr(y, s, 0.25) == pytest.approx(1.0)
    assert metrics.recall_at_fdr(y, s, 0.0) == pytest.approx(2 / 3)


def test_recall_at_fdr_ties_are_one_threshold() -> None:
    # the top two rows tie (one bound, one not): they can only be called together, FDR 1/2
    y, s = [1, 0, 1, 1, 0], [0.9, 0.9, 0.5, 0.5, 0.1]
    assert metrics.recall_at_fdr(y, s, 0.05) == 0.0
    assert metrics.recall_at_fdr(y, s, 0.20) == 0.0
    assert metrics.recall_at_fdr(y, s, 0.25) == pytest.approx(1.0)  # (3,1)
    assert metrics.recall_at_fdr(y, s, 0.50) == pytest.approx(1.0)
    # breaking the tie in the positive's favour would reach recall 1/3 at FDR 0
    assert metrics.recall_at_fdr(y, [0.91, 0.9, 0.5, 0.5, 0.1], 0.05) == pytest.approx(1 / 3)


def test_recall_at_fdr_matches_challenge_definition() -> None:
    # the ENCODE-DREAM scorer: first point of sklearn's PR curve (highest recall) with 1-precision <= cutoff
    for seed in range(4):
        y, s = random_case(seed)
        precision, recall, _ = sklearn_metrics.precision_recall_curve(y, s)
        for fdr in (0.05, 0.1, 0.25, 0.5):
            ref = next(r for p, r in zip(precision, recall, strict=True) if 1 - p <= fdr + 1e-12)
            assert metrics.recall_at_fdr(y, s, fdr) == pytest.approx(ref)


def test_score_all_keys_and_consistency() -> None:
    y, s = random_case(11)
    out = metrics.score_all(y, s)
    assert list(out) == [
        "n",
        "n_positive",
        "n_negative",
        "auroc",
        "auprc",
        "average_precision",
        "recall_at_5_fdr",
        "recall_at_10_fdr",
        "recall_at_25_fdr",
        "recall_at_50_fdr",
    ]
    assert out["n"] == len(y) and out["n_positive"] == int(np.sum(y))
    assert out["auroc"] == metrics.roc_auc(y, s)
    assert out["auprc"] == metrics.auprc_davis_goadrich(y, s)
    assert out["recall_at_10_fdr"] == metrics.recall_at_fdr(y, s, 0.1)
    assert metrics.score_all(y, s, fdrs=[0.025])["recall_at_2.5_fdr"] >= 0


def test_float32_scores_and_bool_labels() -> None:
    y, s = random_case(5)
    ref = metrics.score_all(y, s)
    got = metrics.score_all(y.astype(bool), s.astype(np.float32))
    assert got["auroc"] == pytest.approx(ref["auroc"], abs=1e-6)


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("y", "s", "match"),
    [
        ([0, 0, 0], [0.1, 0.2, 0.3], "all 3 rows are negative"),
        ([1, 1], [0.1, 0.2], "all 2 rows are positive"),
        ([], [], "no labelled rows"),
        ([0, 1, 1], [0.1, np.nan, 0.3], "NaN"),
        ([0, 1], [0.1, 0.2, 0.3], "2 labels but 3 scores"),
        ([0, 2, 1], [0.1, 0.2, 0.3], "0/1"),
    ],
)
def test_bad_input_raises_input_error(y: list, s: list, match: str) -> None:
    for fn in (
        metrics.roc_auc,
        metrics.average_precision,
        metrics.auprc_davis_goadrich,
        metrics.score_all,
    ):
        with pytest.raises(InputError, match=match):
            fn(y, s)
    with pytest.raises(ValueError, match=match):  # also a ValueError, like scikit-learn's
        metrics.recall_at_fdr(y, s, 0.1)


def test_fdr_out_of_range() -> None:
    with pytest.raises(InputError, match="FDR"):
        metrics.recall_at_fdr([0, 1], [0.1, 0.2], 1.5)
