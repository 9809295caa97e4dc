"""Track-name rules shared by the sampler and the model, without importing Keras."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from fnstore.errors import InputError


def strand_pairs_for(track_names: Sequence[str]) -> list[tuple[int, int]]:
    """``(fwd, rev)`` index pairs of tracks named ``<x>_fwd`` / ``<x>_rev``.

    Reverse-strand windows swap each pair (FactorNet's rule for stranded signals).

    Parameters
    ----------
    track_names : sequence of str
        Track names in channel order; a ``_fwd`` track without its ``_rev`` partner is an
        :class:`InputError`.

    Returns
    -------
    list of tuple of int
        ``(fwd_index, rev_index)`` per pair, in the order of the ``_fwd`` tracks.
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


def rc_channel_order(n_tracks: int, strand_pairs: Iterable[Sequence[int]] = ()) -> list[int]:
    """Channel permutation that turns forward-strand channels into reverse-strand ones.

    ACGT reversed is the complement (A<->T, C<->G); signal tracks keep their place unless
    listed in ``strand_pairs`` (track indices, e.g. a ``_fwd``/``_rev`` pair), which swap.

    Parameters
    ----------
    n_tracks : int
        Signal tracks after the four ACGT channels.
    strand_pairs : iterable of pair of int
        Track index pairs (0-based among the tracks) to swap.

    Returns
    -------
    list of int
        For each output channel, the input channel it takes: ``[3, 2, 1, 0]`` then ``4 + i``
        per track.
    """
    order = list(range(n_tracks))
    for pair in strand_pairs:
        a, b = (int(v) for v in pair)
        if not (0 <= a < n_tracks and 0 <= b < n_tracks) or a == b:
            raise InputError("strand_pairs", f"bad track pair {list(pair)} for {n_tracks} tracks")
        order[a], order[b] = b, a
    return [3, 2, 1, 0] + [4 + i for i in order]
