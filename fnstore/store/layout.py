"""The store's layout (schema version 2): names, chunking and the coordinate arithmetic.

Every chromosome is laid out in one global ``position`` axis, each starting at an offset
aligned to the sequence chunk size, so a chunk never spans two chromosomes. Bins (``bin``
axis) are numbered chromosome by chromosome in store order; a bin's start is arithmetic
(``(i - first_bin[chrom]) * stride``), and also stored in ``bin_start``.
``schemas/store-v2.md`` documents the same layout for people and other Zarr readers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

#: version 2 stores names as zero-padded UTF-8 ``uint8`` rows (:mod:`fnstore.store.names`)
SCHEMA_VERSION = 2

#: versions this fnstore opens: version 1 differs only in its name arrays' type
READABLE_SCHEMA_VERSIONS = (1, 2)


FORMAT_NAME = "fnstore"


STATUS_BUILDING = "building"


STATUS_COMPLETE = "complete"


#: default chunking: 1 Mi positions per sequence/signal chunk, 64 Ki bins per bin chunk
DEFAULT_POSITION_CHUNK = 1 << 20


DEFAULT_BIN_CHUNK = 1 << 16


MAX_TASK_CHUNK = 64

# Names of the store's arrays and attributes. Everything that writes, reads or checks a
# store spells them through these, so ``schemas/store-v2.md`` has one counterpart here.
SEQUENCE = "sequence"
SIGNALS = "signals"
BIN_CHROM = "bin_chrom"
BIN_START = "bin_start"
BLACKLIST = "blacklist"
LABELS = "labels"
ANNOTATIONS = "annotations"
METADATA = "metadata"
#: one flag per build work unit, set once the unit's chunks are written
PROGRESS_ARRAY = "build_progress"
#: the chunk manifest: every chunk key and its size, written when a build commits, as the
#: attributes of an empty group (so any Zarr reader, xarray included, sees a valid node rather
#: than an unknown file); ``fnstore.manifest`` names it, a store without one predates it
MANIFEST_GROUP = "fnstore_manifest"
MANIFEST = f"{MANIFEST_GROUP}/zarr.json"
#: root attributes besides :data:`FORMAT_NAME` (the format's own metadata)
PROVENANCE_ATTR = "provenance"
LABELLING_ATTR = "labelling"


@dataclass(frozen=True)
class Task:
    """One TF x cell label column."""

    index: int
    tf: str
    cell: str

    @property
    def name(self) -> str:
        return f"{self.tf}.{self.cell}"


def bins_per_chrom(lengths: Sequence[int] | np.ndarray, bin_size: int, stride: int) -> np.ndarray:
    """Full bins on each chromosome (the ENCODE-DREAM tiling: a partial last bin is dropped).

    Parameters
    ----------
    lengths
        Chromosome lengths in bp.
    bin_size, stride
        Bin length and the step between bin starts, in bp.

    Returns
    -------
    numpy.ndarray
        int64 count per chromosome.
    """
    lengths = np.asarray(lengths, dtype=np.int64)
    return np.maximum(0, (lengths - bin_size) // stride + 1).astype(np.int64)


@dataclass(frozen=True)
class Layout:
    """Everything needed to create an empty store; computed before any data is read."""

    chroms: list[str]
    lengths: list[int]
    bin_size: int
    stride: int
    cells: list[str]
    tracks: list[str]
    tasks: list[tuple[str, str]]
    annotations: list[str]
    meta_features: list[str]
    signal_dtype: str = "float16"
    position_chunk: int = DEFAULT_POSITION_CHUNK
    bin_chunk: int = DEFAULT_BIN_CHUNK

    @property
    def offsets(self) -> np.ndarray:
        padded = [-(-n // self.position_chunk) * self.position_chunk for n in self.lengths]
        return np.concatenate([[0], np.cumsum(padded)[:-1]]).astype(np.int64)

    @property
    def n_positions(self) -> int:
        return int(
            self.offsets[-1] + -(-self.lengths[-1] // self.position_chunk) * self.position_chunk
        )

    @property
    def bins_per_chrom(self) -> np.ndarray:
        return bins_per_chrom(self.lengths, self.bin_size, self.stride)

    @property
    def first_bins(self) -> np.ndarray:
        return np.concatenate([[0], np.cumsum(self.bins_per_chrom)[:-1]]).astype(np.int64)

    @property
    def n_bins(self) -> int:
        return int(self.bins_per_chrom.sum())

    def array_shapes(self) -> dict[str, tuple[int, ...]]:
        """Shape of every data array (signals as ``signals/<track>``), keyed by array path.

        The writer creates exactly these and ``validate`` expects exactly these, so the
        two can never disagree about what a sound store looks like.

        Returns
        -------
        dict of str to tuple of int
            ``sequence`` ``(n_positions,)``; ``bin_chrom``, ``bin_start``, ``blacklist``
            ``(n_bins,)``; ``labels`` ``(n_bins, n_tasks)``; ``annotations``
            ``(n_bins, n_annotations)``; ``metadata`` ``(n_cells, n_meta_features)``;
            ``signals/<track>`` ``(n_cells, n_positions)``.
        """
        n_cells, n_pos, n_bins = len(self.cells), self.n_positions, self.n_bins
        shapes: dict[str, tuple[int, ...]] = {
            SEQUENCE: (n_pos,),
            BIN_CHROM: (n_bins,),
            BIN_START: (n_bins,),
            BLACKLIST: (n_bins,),
            LABELS: (n_bins, len(self.tasks)),
            ANNOTATIONS: (n_bins, len(self.annotations)),
            METADATA: (n_cells, len(self.meta_features)),
        }
        shapes.update({f"{SIGNALS}/{t}": (n_cells, n_pos) for t in self.tracks})
        return shapes
