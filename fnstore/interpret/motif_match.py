"""Matching PWMs to a motif database by column correlation (TOMTOM-like, pure NumPy).

The score is the Pearson correlation of aligned columns summed over the overlap and
divided by the shorter width, maximised over offsets and both strands of each database
motif; a per-target null from column shuffles turns it into a z-score and a p-value.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from fnstore.errors import InputError
from fnstore.io.meme import Motif, read_meme, reverse_complement

_EPS = 1e-9


@dataclass
class Match:
    """A database motif aligned to a query PWM.

    ``offset``: position in the (``strand``-oriented) target of the query's first column
    (negative when the query starts before the target); ``strand`` ``"-"`` means the
    target's reverse complement matched. ``score`` is the summed column correlation over
    ``overlap`` columns divided by the shorter width; ``z`` is its distance in null sds
    from the mean best score of the same target with shuffled columns, ``p_value`` the
    Gumbel tail there (see :func:`gumbel_p_value`), ``e_value`` that x database size.
    """

    name: str
    alt_name: str | None
    score: float
    offset: int
    strand: str
    overlap: int
    z: float = float("nan")
    p_value: float = float("nan")
    e_value: float = float("nan")


def _unit_columns(pwm: np.ndarray) -> np.ndarray:
    """Columns centred and scaled so a dot product is their Pearson correlation (0 if flat)."""
    c = np.asarray(pwm, dtype=np.float64)
    c = c - c.mean(axis=1, keepdims=True)
    norm = np.linalg.norm(c, axis=1, keepdims=True)
    return np.where(norm > _EPS, c / np.maximum(norm, _EPS), 0.0)


def column_correlations(query: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Pearson correlation of every query column with every target column ``(Wq, Wt)``.

    Parameters
    ----------
    query, target : numpy.ndarray
        PWMs ``(Wq, 4)`` and ``(Wt, 4)``.

    Returns
    -------
    numpy.ndarray
        float64; 0 for a flat (uniform) column.
    """
    return _unit_columns(query) @ _unit_columns(target).T


class MotifDatabase:
    """Motifs prepared for fast column-correlation search of many queries.

    All targets' columns (and their reverse complements) are stacked once, so comparing a
    query with the whole database is one matrix product plus one ``bincount`` per strand.
    """

    def __init__(self, motifs: Sequence[Motif]) -> None:
        if not motifs:
            raise InputError("motif database", "no motifs")
        self.motifs = list(motifs)
        self.widths = np.array([m.width for m in self.motifs], dtype=np.int64)
        self.target_of = np.repeat(np.arange(len(self.motifs)), self.widths)
        self.column_of = np.concatenate([np.arange(w) for w in self.widths])
        self.fwd = np.concatenate([_unit_columns(m.pwm) for m in self.motifs])
        self.rev = np.concatenate([_unit_columns(reverse_complement(m.pwm)) for m in self.motifs])

    @classmethod
    def from_meme(cls, path: str | os.PathLike) -> MotifDatabase:
        """A database of every motif in a MEME file.

        Parameters
        ----------
        path : str or os.PathLike
            MEME motif file.

        Returns
        -------
        MotifDatabase
        """
        return cls(read_meme(path))

    def __len__(self) -> int:
        return len(self.motifs)

    def _layout(self, wq: int, min_overlap: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Keys of (query column, target column) pairs into per-target diagonal slots."""
        n_diag = wq + self.widths - 1
        base = np.concatenate([[0], np.cumsum(n_diag)[:-1]])
        i = np.arange(wq)[:, None]
        keys = base[self.target_of][None, :] + self.column_of[None, :] - i + (wq - 1)
        slot_target = np.repeat(np.arange(len(self.motifs)), n_diag)
        d = np.concatenate([np.arange(-(wq - 1), w) for w in self.widths])
        wt = self.widths[slot_target]
        overlap = np.minimum(wq, wt - d) - np.maximum(0, -d)
        need = np.minimum(min_overlap, np.minimum(wq, wt))
        valid = overlap >= need
        return keys, np.stack([slot_target, d, overlap]), valid

    def search(
        self,
        query: np.ndarray,
        top: int = 5,
        *,
        min_overlap: int = 5,
        n_shuffles: int = 20,
        rank_by: str = "p_value",
        seed: int = 0,
    ) -> list[Match]:
        """The ``top`` best matches of PWM ``query`` ``(width, 4)`` over the database.

        Parameters
        ----------
        query : numpy.ndarray
            PWM ``(width, 4)``, columns A, C, G, T.
        top : int
            Matches returned.
        min_overlap : int
            Aligned columns an alignment needs (capped at the shorter width).
        n_shuffles : int
            Column shuffles per target for the null; below 2, z, p- and E-values are NaN and
            matches are ranked by score.
        rank_by : {"p_value", "score"}
            Order of the matches.
        seed : int
            Seed of the shuffles.

        Returns
        -------
        list of Match
            Best first, at most ``top``.
        """
        q = _unit_columns(query)
        wq = q.shape[0]
        keys, (slot_target, d, overlap), valid = self._layout(wq, min_overlap)
        n_slots = slot_target.size
        shorter = np.minimum(wq, self.widths)[slot_target].astype(np.float64)
        starts = np.concatenate([[0], np.cumsum(wq + self.widths - 1)[:-1]])
        flat_keys = keys.ravel()

        def slot_scores(corr: np.ndarray) -> np.ndarray:
            sums = np.bincount(flat_keys, weights=corr.ravel(), minlength=n_slots)
            return np.where(valid, sums / shorter, -np.inf)

        corr = {"+": q @ self.fwd.T, "-": q @ self.rev.T}
        scores = {s: slot_scores(c) for s, c in corr.items()}
        best = np.maximum(
            np.maximum.reduceat(scores["+"], starts), np.maximum.reduceat(scores["-"], starts)
        )

        z = np.full(len(self.motifs), np.nan)
        if n_shuffles > 1:
            rng = np.random.default_rng(seed)
            null = np.empty((n_shuffles, len(self.motifs)))
            for s in range(n_shuffles):
                perm = np.lexsort((rng.random(self.target_of.size), self.target_of))
                null[s] = np.maximum(
                    np.maximum.reduceat(slot_scores(corr["+"][:, perm]), starts),
                    np.maximum.reduceat(slot_scores(corr["-"][:, perm]), starts),
                )
            sd = null.std(axis=0, ddof=1)
            z = (best - null.mean(axis=0)) / np.maximum(sd, 1e-3)
        p = gumbel_p_value(z)

        if rank_by not in ("p_value", "score"):
            raise InputError("rank_by", f"must be 'p_value' or 'score', got {rank_by!r}")
        if rank_by == "p_value" and np.isfinite(z).all():
            order = np.lexsort((-best, -z))
        else:
            order = np.argsort(-best, kind="stable")
        matches = []
        for t in order[:top]:
            lo, hi = starts[t], starts[t] + wq + self.widths[t] - 1
            strand = "+" if scores["+"][lo:hi].max() >= scores["-"][lo:hi].max() else "-"
            slot = lo + int(np.argmax(scores[strand][lo:hi]))
            m = self.motifs[t]
            matches.append(
                Match(
                    m.name,
                    m.alt_name,
                    float(best[t]),
                    int(d[slot]),
                    strand,
                    int(overlap[slot]),
                    float(z[t]),
                    float(p[t]),
                    float(p[t] * len(self.motifs)),
                )
            )
        return matches


def gumbel_p_value(z: np.ndarray) -> np.ndarray:
    """Upper tail of a Gumbel law with the null's mean and sd, at ``z`` null sds above the mean.

    A best-over-alignments score is a maximum, so its null has an extreme-value (Gumbel)
    right tail, much heavier than a normal one: a normal tail would call random queries
    significant. Fitting the Gumbel by moments keeps random PWMs at E-values near 1.

    Parameters
    ----------
    z : numpy.ndarray
        Scores in null standard deviations above the null mean (NaN allowed).

    Returns
    -------
    numpy.ndarray
        float64 p-values in [0, 1], same shape; NaN where ``z`` is.
    """
    z = np.asarray(z, dtype=np.float64)
    u = z * math.pi / math.sqrt(6.0) + 0.5772156649
    with np.errstate(over="ignore"):
        return -np.expm1(-np.exp(-u))


def compare_pwms(query: np.ndarray, target: np.ndarray, min_overlap: int = 5) -> Match:
    """Best alignment of ``query`` against one ``target`` (both strands), without a null.

    Parameters
    ----------
    query, target : numpy.ndarray
        PWMs ``(width, 4)``.
    min_overlap : int
        Aligned columns an alignment needs.

    Returns
    -------
    Match
        Named ``target``; z, p- and E-value are NaN.
    """
    db = MotifDatabase([Motif("target", np.asarray(target, dtype=np.float64))])
    return db.search(query, top=1, min_overlap=min_overlap, n_shuffles=0)[0]
