"""Track-name rules shared by the sampler and the model, without importing Keras."""

from __future__ import annotations

from collections.abc import Sequence

from fnstore.errors import InputError


def strand_pairs_for(track_names: Sequence[str]) -> list[tuple[int, int]]:
    """``(fwd, rev)`` index pairs of tracks named ``<x>_fwd`` / ``<x>_rev``.

    Reverse-strand windows swap each pair (FactorNet's rule for stranded signals).
    """
    names = list(track_names)
    pairs = []
    for i, name in enumerate(names):
        if name.endswith("_fwd"):
            partner = name[:-4] + "_rev"
            if partner not in names:
                raise InputError("tracks", f"{name!r} has no {partner!r} partner")
            pairs.append((i, names.index(partner)))
    return pairs
