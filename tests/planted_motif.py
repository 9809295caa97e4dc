"""A hand-set model that scores one planted motif, and a toy store whose genome carries it.

The model has no LSTM (the global-max-pool layout, which the fast path also supports):
kernel 0 is the motif (+1 on its bases, -1 elsewhere, bias ``1 - len``), so it outputs 1
exactly on a full match and 0 otherwise; the dense layers pass that maximum on, and the
task sigmoid maps it to ``sigmoid(4 m - 2)``. With the motif on the forward strand the
model scores (sigmoid(2) + sigmoid(-2)) / 2 = 0.5, without it sigmoid(-2) = 0.119:
deterministic, no training.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

MOTIF = "GATTACAG"  # not its own reverse complement
WINDOW = 120
#: where the toy store's chrA carries the motif (0-based)
MOTIF_AT = 10_000


def planted_model(n_tracks: int = 1):
    """The hand-set Keras model (window :data:`WINDOW`, one task, no ``extra`` input)."""
    import keras

    from fnstore.model.architecture import build_model
    from fnstore.model.card import CONV_LAYER

    keras.utils.set_random_seed(0)
    model = build_model(
        n_tracks,
        1,
        0,
        window=WINDOW,
        n_kernels=3,
        kernel_width=len(MOTIF),
        position_dense=2,
        lstm_units=0,
        dense_units=2,
    )
    conv = model.get_layer(CONV_LAYER)
    kernel = np.zeros(conv.get_weights()[0].shape, np.float32)
    kernel[:, :4, 0] = -1.0
    for j, base in enumerate(MOTIF):
        kernel[j, "ACGT".index(base), 0] = 1.0
    bias = np.zeros(conv.get_weights()[1].shape, np.float32)
    bias[0] = 1 - len(MOTIF)
    bias[1:] = -100.0  # the other kernels never fire
    conv.set_weights([kernel, bias])
    for name, gain in (("position_dense", 1.0), ("dense", 1.0), ("task_sigmoid", 4.0)):
        layer = model.get_layer(name)
        w, b = layer.get_weights()
        w = np.zeros_like(w)
        w[0, 0] = gain
        b = np.zeros_like(b)
        if name == "task_sigmoid":
            b[0] = -2.0
        layer.set_weights([w, b])
    return model


def save_planted_model(path: Path, tracks: list[str]) -> Path:
    """The planted model saved as a model folder reading ``tracks``."""
    from fnstore.model.card import make_card
    from fnstore.model.folder import save_model_dir

    card = make_card(tasks=[{"tf": "MOTIF"}], window=WINDOW, tracks=tracks)
    return save_model_dir(path, planted_model(len(tracks)), card)


def toy_store_with_motif(folder: Path, base_at_motif: str | None = None) -> Path:
    """A toy store (tests/synthetic.py) whose chrA carries :data:`MOTIF` at :data:`MOTIF_AT`;
    ``base_at_motif`` replaces the motif's first base (a genome with the variant)."""
    from synthetic import TOY_LENGTHS, toy_spec, write_fasta

    from fnstore.build import build_store

    folder.mkdir(parents=True, exist_ok=True)
    spec = toy_spec(folder)
    rng = np.random.default_rng(7)
    seqs = {c: "".join(rng.choice(list("ACGT"), n)) for c, n in TOY_LENGTHS.items()}
    motif = MOTIF if base_at_motif is None else base_at_motif + MOTIF[1:]
    a = seqs["chrA"]
    seqs["chrA"] = a[:MOTIF_AT] + motif + a[MOTIF_AT + len(MOTIF) :]
    write_fasta(folder / "g.fa", sequences=seqs)
    path = folder / "toy.zarr"
    build_store(spec, path, progress=False)
    return path
