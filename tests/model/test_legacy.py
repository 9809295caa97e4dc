"""Importing the four published FactorNet models, checked against an independent NumPy forward pass.

The reference below is written from the Keras 1.1.1 / Theano semantics directly on the HDF5
weights (read here with h5py, nothing shared with the importer): a *true* convolution
(np.convolve flips the kernel, as Theano does), per-gate LSTM weights in the file's
i, c, f, o layout with Keras 1's hard sigmoid clip(0.2x + 0.5), FactorNet's reverse
complement input built as its data iterator did, and the strand average.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("KERAS_BACKEND", "tensorflow")

LEGACY_NAMES = [
    "EGR1_onePeak_DGF",
    "GABPA_metaGENCODE_RNAseq_Unique35_DGF",
    "HNF4A_onePeak_Unique35_DGF",
    "REST_GENCODE_Unique35_DGF",
]
TOLERANCE = 1e-5


# --------------------------------------------------------------------------- NumPy reference


def h5_layers(path: Path) -> dict[str, dict[str, np.ndarray]]:
    import h5py

    with h5py.File(path, "r") as h5:
        out = {}
        for lname in h5.attrs["layer_names"]:
            g = h5[lname.decode()]
            out[lname.decode()] = {
                n.decode(): np.asarray(g[n.decode()], dtype=np.float64)
                for n in g.attrs["weight_names"]
            }
    return out


def k1_hard_sigmoid(z: np.ndarray) -> np.ndarray:
    return np.minimum(np.maximum(0.2 * z + 0.5, 0.0), 1.0)


def theano_conv_relu(x: np.ndarray, W: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Valid true convolution: W is (width, 1, channels, kernels); np.convolve flips W."""
    n, length, channels = x.shape
    width, _, _, kernels = W.shape
    out = np.zeros((n, length - width + 1, kernels))
    for s in range(n):
        for k in range(kernels):
            acc = np.full(length - width + 1, b[k])
            for c in range(channels):
                acc += np.convolve(x[s, :, c], W[:, 0, c, k], mode="valid")
            out[s, :, k] = acc
    return np.maximum(out, 0.0)


def keras1_lstm(
    xs: np.ndarray, w: dict[str, np.ndarray], prefix: str, backwards: bool
) -> np.ndarray:
    def g(kind: str, gate: str) -> np.ndarray:
        return w[f"{prefix}_{kind}_{gate}"]

    n, steps, _ = xs.shape
    units = g("U", "i").shape[0]
    h = np.zeros((n, units))
    c = np.zeros((n, units))
    outs = []
    order = range(steps - 1, -1, -1) if backwards else range(steps)
    for t in order:
        x = xs[:, t]
        i = k1_hard_sigmoid(x @ g("W", "i") + h @ g("U", "i") + g("b", "i"))
        f = k1_hard_sigmoid(x @ g("W", "f") + h @ g("U", "f") + g("b", "f"))
        c = f * c + i * np.tanh(x @ g("W", "c") + h @ g("U", "c") + g("b", "c"))
        o = k1_hard_sigmoid(x @ g("W", "o") + h @ g("U", "o") + g("b", "o"))
        h = o * np.tanh(c)
        outs.append(h)
    seq = np.stack(outs, axis=1)
    return seq[:, ::-1] if backwards else seq  # Keras 1 re-aligns the backward outputs


def reference_forward(folder: Path, x: np.ndarray, extra: np.ndarray | None) -> np.ndarray:
    arch = json.loads((folder / "model.json").read_text())["config"]["layers"]
    pool = next(
        layer["config"]["pool_length"] for layer in arch if layer["class_name"] == "MaxPooling1D"
    )
    w = h5_layers(folder / "final_model.hdf5")
    dense_names = sorted(k for k in w if k.startswith("dense_"))  # dense_2, dense_3[, dense_4]
    td = w["timedistributed_1"]
    lstm = w["bidirectional_1"]

    def strand(xs: np.ndarray) -> np.ndarray:
        h = theano_conv_relu(
            xs, w["convolution1d_1"]["convolution1d_1_W"], w["convolution1d_1"]["convolution1d_1_b"]
        )
        h = np.maximum(h @ td["dense_1_W"] + td["dense_1_b"], 0.0)
        steps = h.shape[1] // pool
        h = h[:, : steps * pool].reshape(h.shape[0], steps, pool, -1).max(axis=2)
        h = np.concatenate(
            [
                keras1_lstm(h, lstm, "forward_lstm_1", False),
                keras1_lstm(h, lstm, "backward_lstm_1", True),
            ],
            axis=-1,
        )
        h = h.reshape(h.shape[0], -1)
        d = w[dense_names[0]]
        h = np.maximum(h @ d[f"{dense_names[0]}_W"] + d[f"{dense_names[0]}_b"], 0.0)
        if extra is not None:
            h = np.concatenate([h, extra], axis=1)
            d = w[dense_names[1]]
            h = np.maximum(h @ d[f"{dense_names[1]}_W"] + d[f"{dense_names[1]}_b"], 0.0)
        d = w[dense_names[-1]]
        return 1.0 / (1.0 + np.exp(-(h @ d[f"{dense_names[-1]}_W"] + d[f"{dense_names[-1]}_b"])))

    # FactorNet's iterator: sequence [:, ::-1, ::-1]; tracks reversed along length only.
    x_rc = np.concatenate([x[:, ::-1, 3::-1], x[:, ::-1, 4:]], axis=-1)
    return (strand(x) + strand(x_rc)) / 2.0


# --------------------------------------------------------------------------- inputs


def random_inputs(folder: Path, n: int, seed: int) -> tuple[np.ndarray, np.ndarray | None]:
    rng = np.random.default_rng(seed)
    layers = json.loads((folder / "model.json").read_text())["config"]["layers"]
    shapes = [
        layer["config"]["batch_input_shape"]
        for layer in layers
        if layer["class_name"] == "InputLayer"
    ]
    length, channels = shapes[0][1], shapes[0][2]
    seq = np.eye(4)[rng.integers(0, 4, size=(n, length))]
    seq[:, rng.integers(0, length, size=20)] = 0.0  # a few N
    tracks = rng.gamma(0.3, 2.0, size=(n, length, channels - 4))
    x = np.concatenate([seq, tracks], axis=-1)
    extra = None
    if len(shapes) == 3:
        n_extra = shapes[2][1]
        extra = rng.integers(0, 2, size=(n, n_extra)).astype(np.float64)  # GENCODE 0/1 flags
        if n_extra > 6:  # RNA-seq PCs of real cells come first
            cells = sorted((folder.parents[1] / "cells").glob("*.meta.txt"))
            pcs = np.array([np.loadtxt(c, usecols=0) for c in cells])
            extra[:, :-6] = pcs[rng.integers(0, len(pcs), size=n)]
    return x, extra


def real_windows(shared_data: Path, length: int, starts: list[int]) -> np.ndarray:
    import pysam

    fasta = pysam.FastaFile(str(shared_data / "hg19" / "hg19_chr20.fa.gz"))
    lut = {b: i for i, b in enumerate("ACGT")}
    out = np.zeros((len(starts), length, 4))
    for s, start in enumerate(starts):
        for p, base in enumerate(fasta.fetch("chr20", start, start + length).upper()):
            if base in lut:
                out[s, p, lut[base]] = 1.0
    return out


def keras_predict(model, x: np.ndarray, extra: np.ndarray | None) -> np.ndarray:
    inputs = x.astype(np.float32)
    if extra is not None:
        inputs = [inputs, extra.astype(np.float32)]
    return np.asarray(model(inputs, training=False), dtype=np.float64)


@pytest.fixture(scope="module")
def legacy_root(shared_data: Path) -> Path:
    root = shared_data / "legacy_models"
    if not root.is_dir():
        pytest.skip("no legacy models in shared data")
    return root


# --------------------------------------------------------------------------- tests


@pytest.mark.parametrize("name", LEGACY_NAMES)
def test_import_matches_numpy_reference(legacy_root: Path, shared_data: Path, name: str) -> None:
    from fnstore.model.legacy import import_legacy

    folder = legacy_root / name
    model, card = import_legacy(folder, weights="final")
    x, extra = random_inputs(folder, n=4, seed=1)
    # plus real chr20 sequence with the random signals of the first samples
    real = real_windows(shared_data, x.shape[1], [5_000_000, 9_000_000, 12_345_678])
    x_real = np.concatenate([real, x[:3, :, 4:]], axis=-1)
    x_all = np.concatenate([x, x_real])
    extra_all = None if extra is None else np.concatenate([extra, extra[:3]])

    expected = reference_forward(folder, x_all, extra_all)
    got = keras_predict(model, x_all, extra_all)
    diff = float(np.abs(got - expected).max())
    print(f"{name}: max abs diff {diff:.2e}, outputs {np.round(expected.ravel(), 4)}")
    assert got.shape == (len(x_all), 1)
    assert diff <= TOLERANCE
    assert expected.std() > 1e-3  # the comparison is not between two constants
    assert card["tasks"] == [{"tf": name.split("_")[0]}]
    assert card["window"] == x.shape[1]


@pytest.mark.parametrize("option", ["flip_kernels", "keras1_hard_sigmoid"])
def test_conversions_are_needed(legacy_root: Path, option: str) -> None:
    """Without the Theano kernel flip, or with Keras 3's hard_sigmoid, outputs go wrong."""
    from fnstore.model.legacy import import_legacy

    folder = legacy_root / "REST_GENCODE_Unique35_DGF"
    x, extra = random_inputs(folder, n=6, seed=2)
    expected = reference_forward(folder, x, extra)
    wrong, _ = import_legacy(folder, weights="final", **{option: False})
    diff = float(np.abs(keras_predict(wrong, x, extra) - expected).max())
    assert diff > 100 * TOLERANCE


def test_flipped_kernels_match_known_motifs(legacy_root: Path, shared_data: Path) -> None:
    """Independent evidence for the flip: read as Theano used them, learned kernels look
    like the TF's HOCOMOCO motif (or its reverse complement) far better than unflipped."""
    from fnstore.io.meme import find_motifs, log_odds, read_meme, reverse_complement

    motifs = read_meme(shared_data / "motifs" / "HOCOMOCOv9.meme")

    def best_match(kernels: np.ndarray, pwm: np.ndarray) -> float:
        best = -1.0
        for p in (pwm, reverse_complement(pwm)):
            for k in range(kernels.shape[2]):
                for off in range(kernels.shape[0] - p.shape[0] + 1):
                    r = np.corrcoef(kernels[off : off + p.shape[0], :, k].ravel(), p.ravel())[0, 1]
                    best = max(best, r)
        return best

    for name in LEGACY_NAMES:
        w = h5_layers(legacy_root / name / "final_model.hdf5")
        kernels = w["convolution1d_1"]["convolution1d_1_W"][:, 0, :4, :]
        pwm = log_odds(find_motifs(motifs, name.split("_")[0])[0].pwm)
        flipped, unflipped = best_match(kernels[::-1], pwm), best_match(kernels, pwm)
        assert flipped > 0.8 and flipped > unflipped + 0.1, (name, flipped, unflipped)


def test_card_fields_and_aliases(legacy_root: Path, tmp_path: Path) -> None:
    from fnstore.model.folder import load_model_dir
    from fnstore.model.legacy import import_legacy

    folder = legacy_root / "GABPA_metaGENCODE_RNAseq_Unique35_DGF"
    model, card = import_legacy(folder, tmp_path / "m", track_aliases={"DGF": "DNase"})
    assert card["tracks"] == ["Unique35", "DNase"]
    assert card["track_aliases"] == {"DGF": "DNase"}
    assert card["meta_features"] == [f"GEPC{i}" for i in range(1, 9)]
    assert card["annotations"] == ["cpgisland", "cds", "intron", "promoter", "utr5", "utr3"]
    assert card["legacy"]["bigwig_names"] == ["Unique35", "DGF"]
    assert card["legacy"]["keras_version"] == "1.1.1"
    assert card["hyperparameters"]["lstm_recurrent_activation"] == "keras1_hard_sigmoid"
    assert card["preset"] == "factornet-2017"

    loaded, loaded_card = load_model_dir(tmp_path / "m")
    assert loaded_card == json.loads((tmp_path / "m" / "model_card.json").read_text())
    x, extra = random_inputs(folder, n=3, seed=3)
    np.testing.assert_array_equal(keras_predict(loaded, x, extra), keras_predict(model, x, extra))


def test_cli_import_legacy(legacy_root: Path, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from fnstore.cli import main

    runner = CliRunner()
    args = [
        "import-legacy",
        str(legacy_root / "EGR1_onePeak_DGF"),
        str(tmp_path / "egr1"),
        "--track-alias",
        "DGF=DNase",
    ]
    result = runner.invoke(main, args)
    assert result.exit_code == 0, result.output
    assert "EGR1" in result.output
    card = json.loads((tmp_path / "egr1" / "model_card.json").read_text())
    assert card["tracks"] == ["DNase"] and card["annotations"] == [] and card["meta_features"] == []

    again = runner.invoke(main, args)  # refuses to clobber without --overwrite
    assert again.exit_code == 1 and "--overwrite" in again.output

    bad = runner.invoke(main, ["import-legacy", str(tmp_path), str(tmp_path / "x")])
    assert bad.exit_code == 1 and "model.json" in bad.output and "Traceback" not in bad.output


def test_inconsistent_folders_are_refused(legacy_root: Path, tmp_path: Path) -> None:
    from fnstore.errors import InputError
    from fnstore.model.legacy import import_legacy

    folder = tmp_path / "gabpa"
    shutil.copytree(legacy_root / "GABPA_metaGENCODE_RNAseq_Unique35_DGF", folder)
    (folder / "meta.txt").write_text("GEPC1\nGEPC2\n")  # 2 + 6 != 14 extra inputs
    with pytest.raises(InputError, match="extra input has 14"):
        import_legacy(folder)

    folder = tmp_path / "egr1"
    shutil.copytree(legacy_root / "EGR1_onePeak_DGF", folder)
    with pytest.raises(InputError, match="no legacy track named ATAC"):
        import_legacy(folder, track_aliases={"ATAC": "DNase"})
    (folder / "bigwig.txt").write_text("Unique35\nDGF\n")
    with pytest.raises(InputError, match="bigwig.txt"):
        import_legacy(folder)
    arch = json.loads((folder / "model.json").read_text())
    arch["config"]["layers"][2]["config"]["border_mode"] = "same"
    (folder / "model.json").write_text(json.dumps(arch))
    with pytest.raises(InputError, match="only valid, stride-1 convolutions"):
        import_legacy(folder)
    shutil.copy(legacy_root / "EGR1_onePeak_DGF" / "model.json", folder / "model.json")
    (folder / "final_model.hdf5").unlink()
    with pytest.raises(InputError, match="no best_model.hdf5 or final_model.hdf5"):
        import_legacy(folder)


def _egr1_copy(legacy_root: Path, tmp_path: Path) -> Path:
    folder = tmp_path / "egr1"
    shutil.copytree(legacy_root / "EGR1_onePeak_DGF", folder)
    return folder


@pytest.mark.faults
@pytest.mark.parametrize(
    ("damage", "fragment"),
    [
        (lambda a: a["config"]["layers"][2].pop("name"), "layer 2 has no 'name'"),
        (lambda a: a["config"]["layers"].__setitem__(1, "dense"), "layer 1 is not a JSON object"),
        (lambda a: a["config"]["layers"][2].pop("config"), "model.json: "),
        (lambda a: a["config"]["layers"][2]["config"].pop("nb_filter"), "model.json: "),
    ],
)
def test_malformed_model_json(legacy_root: Path, tmp_path: Path, damage, fragment) -> None:
    from fnstore.errors import InputError
    from fnstore.model.legacy import import_legacy

    folder = _egr1_copy(legacy_root, tmp_path)
    arch = json.loads((folder / "model.json").read_text())
    damage(arch)
    (folder / "model.json").write_text(json.dumps(arch))
    with pytest.raises(InputError, match=fragment):
        import_legacy(folder)


@pytest.mark.faults
def test_unreadable_or_wrongly_shaped_weights(legacy_root: Path, tmp_path: Path) -> None:
    import h5py

    from fnstore.errors import InputError
    from fnstore.model.legacy import import_legacy

    folder = _egr1_copy(legacy_root, tmp_path)
    # re-indented: an unpublished model.json, so the HDF5 reader, not the published
    # weights' hash (tests/model/test_legacy_published.py), meets each damage
    arch = json.loads((folder / "model.json").read_text())
    (folder / "model.json").write_text(json.dumps(arch, indent=1))
    weights = folder / "final_model.hdf5"
    good = weights.read_bytes()
    weights.write_bytes(good[: len(good) // 2])  # truncated
    with pytest.raises(InputError, match="final_model.hdf5: cannot read HDF5 weights"):
        import_legacy(folder)
    weights.write_bytes(b"not an HDF5 file\n" * 100)
    with pytest.raises(InputError, match="final_model.hdf5: cannot read HDF5 weights"):
        import_legacy(folder)

    weights.write_bytes(good)
    with h5py.File(weights, "r+") as h5:
        root = h5["model_weights"] if "model_weights" in h5 else h5
        del root["dense_2"]["dense_2_W"]
        root["dense_2"]["dense_2_W"] = np.zeros((100, 64), dtype=np.float32)
    with pytest.raises(InputError, match="final_model.hdf5: layer .*weight shapes"):
        import_legacy(folder)

    weights.write_bytes(good)
    with h5py.File(weights, "r+") as h5:
        root = h5["model_weights"] if "model_weights" in h5 else h5
        del root["convolution1d_1"]["convolution1d_1_W"]
        root["convolution1d_1"]["convolution1d_1_W"] = np.zeros((34, 5, 32), dtype=np.float32)
    with pytest.raises(InputError, match="convolution1d_1: expected a .width, 1, in, out. kernel"):
        import_legacy(folder)

    weights.write_bytes(good)
    with h5py.File(weights, "r+") as h5:
        root = h5["model_weights"] if "model_weights" in h5 else h5
        del root["dense_3"]
    with pytest.raises(InputError, match="final_model.hdf5: damaged Keras weights file"):
        import_legacy(folder)
