"""In-silico mutagenesis: planted motif, fast equals naive, the written folder."""

from __future__ import annotations

import numpy as np
from planted_motif import MOTIF, WINDOW, planted_model
from tiny_models import tiny_model_for

from fnstore.interpret.ism import hypothetical_contributions, ism, substitutions
from fnstore.store.encoding import ONE_HOT_LUT, encode_ascii


def window_with_motif(at: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    seq = "".join(rng.choice(list("AC"), WINDOW))  # no G or T: no accidental motif
    seq = seq[:at] + MOTIF + seq[at + len(MOTIF) :]
    x = np.zeros((WINDOW, 5), np.float32)
    x[:, :4] = ONE_HOT_LUT[encode_ascii(seq)]
    x[:, 4] = rng.random(WINDOW)
    return x


def test_substitutions_skip_n_and_the_reference_base() -> None:
    x = np.zeros((3, 4), np.float32)
    x[0, 2] = x[2, 0] = 1  # G, N, A
    pos, bases = substitutions(x)
    assert pos.tolist() == [0, 0, 0, 2, 2, 2] and bases.tolist() == [0, 1, 3, 1, 2, 3]


def test_planted_motif_effects_are_largest_on_its_bases() -> None:
    from fnstore.predict.scoring import make_scorer

    scorer, why = make_scorer(planted_model(), 50, "fast")
    assert why is None
    x = np.stack([window_with_motif(40), window_with_motif(70, seed=1)])
    ref, effects = ism(x, scorer=scorer)
    assert effects.shape == (2, WINDOW, 4, 1)
    np.testing.assert_allclose(ref[:, 0], 0.5, atol=1e-5)
    present = x[:, :, :4] > 0
    assert np.all(effects[present] == 0)  # the reference base's effect is 0
    strength = np.abs(effects[..., 0]).max(axis=-1)
    for w, at in enumerate((40, 70)):
        on = strength[w, at : at + len(MOTIF)]
        assert on.min() > 0.3  # every motif base matters
        off = np.delete(strength[w], np.arange(at, at + len(MOTIF)))
        assert off.max() < 1e-6  # nothing else does
    hyp = hypothetical_contributions(effects[..., 0], x)
    np.testing.assert_allclose(hyp.sum(axis=-1), 0, atol=1e-6)
    assert (hyp * x[:, :, :4]).sum(axis=-1)[0, 40] > 0.2  # the motif's G counts positively


def test_fast_equals_naive_on_a_model_with_lstm_and_extra(example_store, tmp_path) -> None:
    from fnstore.interpret.regions import read_windows
    from fnstore.model.folder import load_model_dir
    from fnstore.predict.inputs import extra_for_bins, resolve_inputs
    from fnstore.predict.scoring import make_scorer

    folder = tiny_model_for(example_store, tmp_path / "m")
    model, card = load_model_dir(folder)
    inputs = resolve_inputs(example_store, card, "GM12878")
    x = read_windows(example_store, inputs, np.array([0, 0]), np.array([100_000, 250_000]))
    extra = extra_for_bins(example_store, inputs, np.array([2000, 5000]))
    scorer, why = make_scorer(model, example_store.stride, "fast")
    assert why is None
    ref_f, fast = ism(x, extra, scorer=scorer, chunk=50)
    ref_n, naive = ism(x, extra, model=model)
    assert fast.shape == (2, x.shape[1], 4, 3)
    np.testing.assert_allclose(ref_f, ref_n, atol=1e-5)
    np.testing.assert_allclose(fast, naive, atol=1e-5)
    assert np.abs(fast).max() > 1e-5  # the comparison is not between zeros


def test_ism_command_writes_effects_logos_and_modisco(example_store_path, tmp_path) -> None:
    from click.testing import CliRunner

    from fnstore.cli import main
    from fnstore.store.read import open_store

    folder = tiny_model_for(open_store(example_store_path), tmp_path / "m")
    bed = tmp_path / "r.bed"
    bed.write_text("chr20_slice\t100000\t100200\nchr20_slice\t300000\t300300\n")
    out = tmp_path / "ism"
    args = ["-q", "ism", str(folder), str(example_store_path), str(out), "--cell", "GM12878"]
    res = CliRunner().invoke(main, [*args, "--regions", str(bed), "--modisco", "--top", "2"])
    assert res.exit_code == 0, res.output
    with np.load(out / "ism.npz") as z:
        assert z["effects"].shape == (3, 240, 4, 3)  # the 300 bp row needs two windows
        assert z["start"].tolist() == [99_980, 300_000, 300_060]
    with np.load(out / "modisco" / "hyp.npz") as h, np.load(out / "modisco" / "ohe.npz") as o:
        assert h["arr_0"].shape == o["arr_0"].shape == (3, 4, 240)
    assert (out / "logos.png").stat().st_size > 0
    res = CliRunner().invoke(main, [*args, "--region", "chr20_slice:100000-100200"])
    assert res.exit_code == 1 and "already exists" in res.output
    res = CliRunner().invoke(main, [*args, "--region", "chr9:1-2", "--overwrite"])
    assert res.exit_code == 1 and res.output.startswith("Error: --region: chr9")
    assert (out / "ism.npz").is_file()
