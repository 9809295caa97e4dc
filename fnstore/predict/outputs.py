"""Where a prediction run writes, and the text and bigWig files made from its Zarr groups.

The bedGraph and bigWig draw the 200 bp bins, which overlap every 50 bp, as the 50 bp at
each bin's centre (:func:`fnstore.store.regions.centre_span`): intervals never overlap,
every bin keeps its own score, and ``interval_start - 75`` maps an interval back to its bin.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from fnstore.io.bigwig import BigWigWriter
from fnstore.io.digests import sidecar_path, write_sidecars
from fnstore.io.files import atomic_gzip
from fnstore.io.predictions import write_rows
from fnstore.io.score_group import ScoreGroup
from fnstore.store.read import Store
from fnstore.store.regions import centre_span

#: the files made from a Zarr group; each gets a ``.sha256`` sidecar
TEXT_KEYS = ("table", "bedgraph", "bigwig")


def task_names(card: Mapping[str, Any]) -> list[str]:
    """File-name TF of each model output (``TF`` or ``TF_<i>`` where a TF repeats).

    Parameters
    ----------
    card : Mapping
        The model card; its ``tasks`` list gives the outputs in order.

    Returns
    -------
    list of str
        One name per output; ``task<i>`` for a task without a TF.
    """
    tfs = [str(t.get("tf", f"task{i}")) for i, t in enumerate(card.get("tasks", []))]
    return [tf if tfs.count(tf) == 1 else f"{tf}_{i}" for i, tf in enumerate(tfs)]


def output_paths(out_dir: Path, tf: str, cell: str) -> dict[str, Path]:
    """The four files of one task: Zarr group, DREAM table, bedGraph and bigWig.

    Parameters
    ----------
    out_dir : pathlib.Path
        The run's output folder.
    tf : str
        Task name from :func:`task_names`.
    cell : str
        Cell predicted.

    Returns
    -------
    dict of str to pathlib.Path
        Keys ``zarr``, ``table``, ``bedgraph``, ``bigwig`` (names ``F.<tf>.<cell>.*``) and
        ``<key>_sha256``: the ``.sha256`` sidecar of each of the three files.
    """
    stem = f"F.{tf}.{cell}"
    files = {
        "zarr": out_dir / f"{stem}.zarr",
        "table": out_dir / f"{stem}.tab.gz",
        "bedgraph": out_dir / f"{stem}.bedGraph.gz",
        "bigwig": out_dir / f"{stem}.bw",
    }
    return files | {f"{k}_sha256": sidecar_path(files[k]) for k in TEXT_KEYS}


def write_text_outputs(
    store: Store, group: ScoreGroup, paths: Mapping[str, Path], chunk: int, genome_order: bool
) -> None:
    """DREAM table (row order), bedGraph and bigWig (genome order) from a finished group.

    Parameters
    ----------
    store
        The store the group's bins index.
    group
        A complete predictions group.
    paths
        ``table``, ``bedgraph`` and ``bigwig`` paths (see :func:`output_paths`); each is
        written atomically, then its ``.sha256`` sidecar.
    chunk
        Rows read from the group at a time.
    genome_order
        Whether the group's rows are already sorted by bin.
    """
    with atomic_gzip(paths["table"], compresslevel=3) as fh:
        for bins, scores in group.rows(chunk):
            c, s = store.bin_coords(bins)
            write_rows(fh, store.chroms, c, s, s + store.bin_size, scores)
    off, width = centre_span(store.bin_size, store.stride)
    with atomic_gzip(paths["bedgraph"], compresslevel=3) as fh:
        for bins, scores in group.genome_order(chunk, genome_order):
            c, s = store.bin_coords(bins)
            write_rows(fh, store.chroms, c, s + off, s + off + width, scores)
    header = list(zip(store.chroms, store.chrom_lengths, strict=True))
    names = np.asarray(store.chroms, dtype=object)
    with BigWigWriter(paths["bigwig"], header) as bw:
        for bins, scores in group.genome_order(chunk, genome_order):
            c, s = store.bin_coords(bins)
            bw.add_intervals(list(names[c]), s + off, s + off + width, scores)
    write_sidecars(paths[k] for k in TEXT_KEYS)  # after the files: a kill leaves none stale
