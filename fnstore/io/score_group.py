"""A Zarr predictions group written chunk by chunk, resumably (``fnstore predict``).

The empty group is made under a temporary name and renamed into place, so a resumed
run never meets a group without its run record; each chunk's rows are written before its
``done`` flag, so a killed run redoes at most the
chunk it was writing; :meth:`ScoreGroup.finish` records the content hash of the arrays
(:func:`fnstore.io.digests.group_sha256`) and only then marks the group complete.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from fnstore.errors import InputError
from fnstore.io.digests import GROUP_FIELD, group_sha256
from fnstore.io.outputs import temporary_folder


class ScoreGroup:
    """A Zarr predictions group written chunk by chunk, each chunk followed by a done flag.

    A killed run leaves the group with some chunks flagged; a new run with ``resume`` opens
    it again (when its ``predict_run`` attributes are the same) and only computes the
    chunks not yet done. ``bin`` is -1 and ``score`` NaN where nothing is written yet.
    """

    def __init__(
        self, path: Path, n_rows: int, chunk: int, attrs: dict[str, Any], resume: bool
    ) -> None:
        import zarr

        self.path = path
        self.n_chunks = -(-n_rows // chunk)
        if resume and path.exists():
            self.root = zarr.open_group(str(path), mode="r+")
            self._check_same_run(attrs["predict_run"])
            return
        with temporary_folder(path) as work:  # a killed run never leaves a half-made group
            root = zarr.open_group(str(work), mode="w", zarr_format=3)
            for name, dtype, fill in (("bin", "int64", -1), ("score", "float32", np.nan)):
                root.create_array(
                    name,
                    shape=(n_rows,),
                    chunks=(chunk,),
                    dtype=dtype,
                    fill_value=fill,
                    dimension_names=["row"],
                )
            root.create_array(
                "done",
                shape=(self.n_chunks,),
                dtype="bool",
                fill_value=False,
                dimension_names=["chunk"],
            )
            root.attrs.update({**attrs, "complete": False})
        self.root = zarr.open_group(str(path), mode="r+")

    def _check_same_run(self, run: dict[str, Any]) -> None:
        recorded = dict(self.root.attrs).get("predict_run", {})
        differ = [k for k in run if recorded.get(k) != run[k]]
        if differ:
            raise InputError(
                self.path,
                "cannot resume: this run differs in "
                + ", ".join(f"{k} (was {recorded.get(k)!r}, now {run[k]!r})" for k in differ),
            )

    def done(self) -> np.ndarray:
        """Which chunks are written (bool, one per chunk), for a resumed run to skip.

        Returns
        -------
        numpy.ndarray
        """
        return np.asarray(self.root["done"][:], dtype=bool)

    def write(self, index: int, lo: int, bins: np.ndarray, scores: np.ndarray) -> None:
        """Write one chunk's rows, then flag the chunk done.

        Parameters
        ----------
        index, lo : int
            The chunk's number and its first row.
        bins, scores : numpy.ndarray
            Its rows' int64 bin indices and scores (stored as float32).
        """
        hi = lo + bins.size
        self.root["bin"][lo:hi] = bins
        self.root["score"][lo:hi] = scores.astype(np.float32)
        self.root["done"][index] = True  # only after the data: a torn chunk is redone

    def finish(self) -> None:
        """Record the hash of the arrays, then mark the group complete (one attribute write)."""
        self.root.attrs.update({GROUP_FIELD: group_sha256(self.root), "complete": True})

    def rows(self, chunk: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """``(bins, scores)`` in row order, ``chunk`` rows at a time.

        Parameters
        ----------
        chunk : int

        Yields
        ------
        bins, scores : numpy.ndarray
        """
        n = self.root["bin"].shape[0]
        for lo in range(0, n, chunk):
            yield (
                np.asarray(self.root["bin"][lo : lo + chunk]),
                np.asarray(self.root["score"][lo : lo + chunk]),
            )

    def genome_order(self, chunk: int, in_order: bool) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """``(bins, scores)`` sorted by bin; rows already ``in_order`` are streamed, others
        are sorted in memory (8 + 4 bytes per row).

        Parameters
        ----------
        chunk : int
        in_order : bool

        Yields
        ------
        bins, scores : numpy.ndarray
        """
        if in_order:
            yield from self.rows(chunk)
            return
        bins = np.asarray(self.root["bin"][:])
        scores = np.asarray(self.root["score"][:])
        order = np.argsort(bins, kind="stable")
        for lo in range(0, order.size, chunk):
            sel = order[lo : lo + chunk]
            yield bins[sel], scores[sel]
