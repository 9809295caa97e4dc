"""The imported published HNF4A model ranks real HepG2 HNF4A-bound chr20 windows above random ones.

The shared data have no HepG2 DNase (DGF) and no Unique35 mappability, so the store gets a
constant 1.0 mappability track (an honest stand-in: Duke uniqueness is 1 almost everywhere)
and two DNase stand-ins: an all-zero track and the synthetic one from conftest (the real
ATAC track, shifted and rescaled, so unrelated to HepG2 binding). Neither carries HepG2
accessibility, so what is checked is that the model's *sequence* part, converted by
``import_legacy``, recognises HNF4A sites. The zero track is the cleaner check (the
synthetic one only adds noise); both are scored, as both must work.

Measured (500 bound vs 2000 random unbound bins, seed 0): auROC 0.815 with the zero track,
0.793 with the synthetic one; the threshold sits safely below both. Imported WITHOUT the
Theano kernel flip the same check gives 0.535, so it does catch a broken conversion.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from synthetic import write_constant_bigwig

LEGACY = "HNF4A_onePeak_Unique35_DGF"
CHR20 = {"chr20": 63_025_520}
N_BOUND, N_RANDOM = 500, 2000
MIN_AUROC = 0.75
#: an import without the kernel flip must rank no better than this (measured 0.535)
MAX_AUROC_UNFLIPPED = 0.65
#: legacy bigWig name -> store track name
ALIASES = {"DGF": "DNase", "Unique35": "mappability"}


@pytest.fixture(scope="module")
def hepg2_store(shared_data: Path, synthetic_dnase: dict[str, Path], tmp_path_factory):
    """chr20, HepG2 only, HNF4A labels; ``DNase`` is all zero, ``DNase_synthetic`` is not."""
    from fnstore.build import build_store
    from fnstore.store.read import open_store

    work = tmp_path_factory.mktemp("legacy_real")
    tracks = {
        "mappability": str(write_constant_bigwig(work / "unique35.bw", CHR20, 1.0)),
        "DNase": str(write_constant_bigwig(work / "dnase_zero.bw", CHR20, 0.0)),
        "DNase_synthetic": str(synthetic_dnase["HepG2"]),
    }
    spec = {
        "name": "chr20-hepg2-hnf4a",
        "assembly": "hg19",
        "genome": {
            "fasta": str(shared_data / "hg19" / "hg19_chr20.fa.gz"),
            "chrom_sizes": str(shared_data / "hg19" / "hg19.autoX.chrom.sizes"),
        },
        "blacklist": [str(shared_data / "annotations" / "blacklist.bed.gz")],
        "cells": {"HepG2": {"tracks": tracks}},
        "labels": [{"peaks_dir": str(shared_data / "peaks"), "tfs": ["HNF4A"], "cells": ["HepG2"]}],
    }
    path = work / "hepg2.zarr"
    build_store(spec, path)
    return open_store(path)


@pytest.fixture(scope="module")
def hnf4a_model(shared_data: Path):
    from fnstore.model.legacy import import_legacy

    return import_legacy(shared_data / "legacy_models" / LEGACY, track_aliases=ALIASES)


def sample_bins(store, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``N_BOUND`` bound (B) and ``N_RANDOM`` unbound (U) non-blacklisted bins, and 1/0 labels."""
    from fnstore.store.labels import BOUND, UNBOUND

    task = store.task_index("HNF4A", "HepG2")
    labels = store.labels(tasks=[task], bins=slice(None))[:, 0]
    usable = ~store.blacklist(np.arange(store.n_bins))
    bound = rng.choice(np.flatnonzero((labels == BOUND) & usable), N_BOUND, replace=False)
    random = rng.choice(np.flatnonzero((labels == UNBOUND) & usable), N_RANDOM, replace=False)
    y = np.r_[np.ones(N_BOUND, dtype=np.int8), np.zeros(N_RANDOM, dtype=np.int8)]
    return np.concatenate([bound, random]), y


def test_card_maps_legacy_tracks_to_store_tracks(hnf4a_model) -> None:
    _, card = hnf4a_model
    assert card["tracks"] == ["mappability", "DNase"]
    assert card["track_aliases"] == ALIASES
    assert [t["tf"] for t in card["tasks"]] == ["HNF4A"]


def bound_vs_random_auroc(store, model, card, dnase: str) -> float:
    """auROC of the model's scores on the sampled bound vs random bins of HepG2."""
    from fnstore.evaluate.metrics import roc_auc
    from fnstore.predict.inputs import resolve_inputs
    from fnstore.predict.run import score_bins
    from fnstore.predict.scoring import make_scorer

    inputs = resolve_inputs(store, card, "HepG2", track_aliases={"DNase": dnase})
    assert inputs.store_tracks == ("mappability", dnase)
    scorer, fallback = make_scorer(model, store.stride)
    assert fallback is None
    bins, y = sample_bins(store, np.random.default_rng(0))
    scores = score_bins(store, inputs, scorer, bins)[:, 0]
    assert np.all(np.isfinite(scores))
    return roc_auc(y, scores)


@pytest.mark.parametrize("dnase", ["DNase", "DNase_synthetic"])
def test_hnf4a_ranks_bound_windows_above_random(hepg2_store, hnf4a_model, dnase: str) -> None:
    auroc = bound_vs_random_auroc(hepg2_store, *hnf4a_model, dnase)
    print(f"\n{LEGACY} on chr20 HepG2 ({dnase}): auROC {auroc:.3f} ({N_BOUND} B vs {N_RANDOM} U)")
    assert auroc > MIN_AUROC


def test_unflipped_kernels_lose_the_ranking(hepg2_store, shared_data: Path) -> None:
    """Control: the check above fails for an import that skips the Theano kernel flip."""
    from fnstore.model.legacy import import_legacy

    model, card = import_legacy(
        shared_data / "legacy_models" / LEGACY, track_aliases=ALIASES, flip_kernels=False
    )
    auroc = bound_vs_random_auroc(hepg2_store, model, card, "DNase")
    print(f"\n{LEGACY} without the kernel flip: auROC {auroc:.3f}")
    assert auroc < MAX_AUROC_UNFLIPPED
