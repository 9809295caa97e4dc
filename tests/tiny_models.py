"""A tiny untrained model folder that fits a store (for prediction, kill and hash tests)."""

from __future__ import annotations

from pathlib import Path

#: tiny architecture: window 240, so chromosome-end padding and pooling both matter
TINY = {
    "window": 240,
    "n_kernels": 6,
    "kernel_width": 11,
    "position_dense": 5,
    "pool_size": 9,
    "lstm_units": 3,
    "dense_units": 6,
}


def tiny_model_for(store, path: Path, seed: int = 0) -> Path:
    """Save a tiny model reading every track, annotation and metadata feature of ``store``
    and predicting its TFs (one task each)."""
    import keras

    from fnstore.model.architecture import build_model
    from fnstore.model.card import make_card
    from fnstore.model.folder import save_model_dir

    tfs = list(dict.fromkeys(t.tf for t in store.tasks))
    extra = len(store.meta_feature_names) + len(store.annotation_names)
    keras.utils.set_random_seed(seed)
    model = build_model(len(store.tracks), len(tfs), extra, **TINY)
    card = make_card(
        tasks=[{"tf": t} for t in tfs],
        window=TINY["window"],
        tracks=list(store.tracks),
        annotations=list(store.annotation_names),
        meta_features=list(store.meta_feature_names),
        hyperparameters=TINY,
    )
    return save_model_dir(path, model, card)
