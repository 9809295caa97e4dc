"""From store bins to model inputs: which store tracks feed a model card, where each bin's
window lies, and the ``x`` / ``extra`` arrays for a stretch of the genome (NumPy only).

Window placement (FactorNet's, :func:`fnstore.store.regions.window_start`): the window of
``L`` bp is centred on the bin, starting at ``bin_start + bin_size // 2 - L // 2`` (for
L = 1002 and 200 bp bins, 401 bp before the bin).
Windows that run off a chromosome end are **padded**: positions before 0 or past the end
read as N (all-zero one-hot) with zero signal. Only chromosome ends are ever padded; inside
a chromosome the real sequence (including N runs) is used, so a bin's score never depends
on which other bins are predicted with it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from fnstore.errors import InputError
from fnstore.store.encoding import one_hot
from fnstore.store.regions import window_offset

if TYPE_CHECKING:
    from fnstore.store.read import Store


@dataclass(frozen=True)
class ModelInputs:
    """How one cell of one store feeds a model: store track per model channel and the
    ``extra`` features (cell metadata values, then per-bin annotation flag columns)."""

    cell: str
    window: int
    #: store track name for each model track channel, in model-card order
    store_tracks: tuple[str, ...]
    #: metadata values of the cell for the card's meta_features, in card order
    meta_values: np.ndarray
    #: column of each card annotation in the store's annotations array
    annotation_columns: tuple[int, ...]

    @property
    def n_channels(self) -> int:
        return 4 + len(self.store_tracks)

    @property
    def n_extra(self) -> int:
        return int(self.meta_values.size) + len(self.annotation_columns)


def _alias_candidates(
    track: str, card_aliases: Mapping[str, Any], user_aliases: Mapping[str, str]
) -> list[str]:
    """Store names that may hold a card track: a user alias first, the card name, then any
    name the card records as an alias of it (``track_aliases`` maps old name -> card name)."""
    names = []
    if track in user_aliases:
        names.append(user_aliases[track])
    names.append(track)
    for old, new in card_aliases.items():
        targets = [new] if isinstance(new, str) else list(new)
        if track in targets:
            names.append(old)
    return names


def resolve_inputs(
    store: Store,
    card: Mapping[str, Any],
    cell: str,
    track_aliases: Mapping[str, str] | None = None,
    source: str = "model",
) -> ModelInputs:
    """Match a model card against a store and cell.

    Every mismatch (missing track, track without data for the cell, missing annotation or
    meta feature, missing metadata value) is collected and raised as ONE
    :class:`InputError` naming each, so a user fixes them all in one go.

    Parameters
    ----------
    store : Store
        The store to read inputs from.
    card : Mapping
        The model card (``tracks``, ``window``, optional ``annotations``, ``meta_features``,
        ``track_aliases``).
    cell : str
        Cell whose tracks and metadata feed the model.
    track_aliases : Mapping of str to str, optional
        Card track name -> store track name, overriding the card's own aliases.
    source : str
        What the card belongs to, for error messages.

    Returns
    -------
    ModelInputs
        Store tracks, metadata values and annotation columns, in model-card order.

    Raises
    ------
    InputError
        Listing every mismatch at once.
    """
    user_aliases = dict(track_aliases or {})
    unknown = sorted(set(user_aliases) - set(card.get("tracks", [])))
    if unknown:
        raise InputError(
            "--track-alias",
            f"the model has no track {', '.join(map(repr, unknown))} "
            f"(model tracks: {', '.join(card.get('tracks', [])) or 'none'})",
        )
    absent = sorted(f"{m}={s}" for m, s in user_aliases.items() if s not in store.tracks)
    if absent:
        raise InputError(
            "--track-alias",
            f"the store has no track for {', '.join(absent)} "
            f"(store tracks: {', '.join(store.tracks) or 'none'})",
        )
    if cell not in store.cells:
        raise InputError(store.path, f"unknown cell {cell!r} (store has {', '.join(store.cells)})")
    cell_idx = store.cells.index(cell)
    problems: list[str] = []
    present = store.track_present
    store_tracks: list[str] = []
    for track in card.get("tracks", []):
        names = _alias_candidates(track, card.get("track_aliases") or {}, user_aliases)
        found = next((n for n in names if n in store.tracks), None)
        if found is None:
            tried = " or ".join(repr(n) for n in dict.fromkeys(names))
            problems.append(
                f"model track {tried} is not in the store "
                f"(store tracks: {', '.join(store.tracks) or 'none'})"
            )
            continue
        if not present.get(found, [True] * len(store.cells))[cell_idx]:
            problems.append(f"track {found!r} has no data for cell {cell!r}")
        store_tracks.append(found)
    annotation_columns: list[int] = []
    missing = [a for a in card.get("annotations", []) if a not in store.annotation_names]
    if missing:
        problems.append(
            f"annotation(s) {', '.join(map(repr, missing))} not in the store "
            f"(store has {', '.join(store.annotation_names) or 'none'})"
        )
    else:
        annotation_columns = [store.annotation_names.index(a) for a in card.get("annotations", [])]
    meta_values = np.zeros(0, dtype=np.float32)
    missing = [m for m in card.get("meta_features", []) if m not in store.meta_feature_names]
    if missing:
        problems.append(
            f"meta feature(s) {', '.join(map(repr, missing))} not in the store "
            f"(store has {', '.join(store.meta_feature_names) or 'none'})"
        )
    elif card.get("meta_features"):
        values = np.asarray(store.metadata(cell), dtype=np.float32)
        cols = [store.meta_feature_names.index(m) for m in card["meta_features"]]
        meta_values = values[cols]
        nan = [
            m for m, v in zip(card["meta_features"], meta_values, strict=True) if not np.isfinite(v)
        ]
        if nan:
            problems.append(f"cell {cell!r} has no metadata value for {', '.join(map(repr, nan))}")
    if problems:
        raise InputError(store.path, f"does not match {source}: " + "; ".join(problems))
    return ModelInputs(
        cell, int(card["window"]), tuple(store_tracks), meta_values, tuple(annotation_columns)
    )


def read_stretch(store: Store, inputs: ModelInputs, chrom: str, start: int, end: int) -> np.ndarray:
    """``x`` channels ``(end - start, 4 + n_tracks)`` float32 of ``chrom[start:end]``; the
    part outside the chromosome (``start < 0`` or ``end > length``) is zero-padded.

    Parameters
    ----------
    store : Store
        The store to read.
    inputs : ModelInputs
        From :func:`resolve_inputs`: which cell and tracks.
    chrom : str
        Chromosome name.
    start, end : int
        0-based half-open bp range; may run past either chromosome end.

    Returns
    -------
    numpy.ndarray
        float32 ``(end - start, 4 + n_tracks)``: one-hot ACGT, then one column per track.
    """
    length = int(store.chrom_lengths[store.chrom_index(chrom)])
    out = np.zeros((end - start, inputs.n_channels), dtype=np.float32)
    lo, hi = max(0, start), min(length, end)
    if hi <= lo:
        return out
    out[lo - start : hi - start, :4] = one_hot(store.sequence(chrom, lo, hi))
    for k, track in enumerate(inputs.store_tracks):
        out[lo - start : hi - start, 4 + k] = store.signal(inputs.cell, track, chrom, lo, hi)
    return out


def extra_for_bins(store: Store, inputs: ModelInputs, bins: np.ndarray) -> np.ndarray | None:
    """``extra`` rows ``(n, n_meta + n_annotations)`` float32 for global bins (None if unused).

    Parameters
    ----------
    store : Store
        The store whose annotations to read.
    inputs : ModelInputs
        From :func:`resolve_inputs`.
    bins : numpy.ndarray
        Global bin indices (int), any order.

    Returns
    -------
    numpy.ndarray or None
        One row per bin: the cell's metadata values, then its annotation flags; None when
        the model takes no ``extra`` input.
    """
    if inputs.n_extra == 0:
        return None
    bins = np.asarray(bins, dtype=np.int64)
    out = np.empty((bins.size, inputs.n_extra), dtype=np.float32)
    n_meta = inputs.meta_values.size
    out[:, :n_meta] = inputs.meta_values
    if inputs.annotation_columns:
        ann = store.annotations(bins) if bins.size else np.zeros((0, len(store.annotation_names)))
        out[:, n_meta:] = ann[:, list(inputs.annotation_columns)]
    return out


def stretch_windows(stretch: np.ndarray, n: int, window: int, step: int) -> np.ndarray:
    """The ``n`` windows ``(n, window, C)`` starting every ``step`` positions of a stretch
    (a copy; the naive method feeds these to the full model).

    Parameters
    ----------
    stretch : numpy.ndarray
        ``(T, C)`` with ``T >= (n - 1) * step + window``.
    n : int
        Number of windows, at least 1.
    window : int
        Window length in bp.
    step : int
        Offset between consecutive window starts in bp.

    Returns
    -------
    numpy.ndarray
        ``(n, window, C)``, same dtype as ``stretch``, C-contiguous.
    """
    view = np.lib.stride_tricks.sliding_window_view(stretch, window, axis=0)[
        : (n - 1) * step + 1 : step
    ]
    return np.ascontiguousarray(view.transpose(0, 2, 1))


__all__: Sequence[str] = (
    "ModelInputs",
    "extra_for_bins",
    "read_stretch",
    "resolve_inputs",
    "stretch_windows",
    "window_offset",
)
