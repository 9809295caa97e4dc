"""Benchmark: the xarray view's arithmetic ``BinIndex`` against a pandas ``MultiIndex`` on bins.

Each run opens ``Store.to_xarray()`` once (not timed), then times attaching the index and one
``sel(chrom=..., start=...)`` lookup, and the growth of the process's RSS. A ``MultiIndex``
needs every bin's chromosome and start in memory and builds a hash table on its first lookup;
the ``BinIndex`` holds only the grid. Run each kind in its own process:

    python benchmarks/xarray_index.py chr20.zarr bin
    python benchmarks/xarray_index.py chr20.zarr multi
"""

from __future__ import annotations

import gc
import sys
import time

import numpy as np
import psutil
import xarray as xr

import fnstore


def main(path: str, which: str) -> None:
    store = fnstore.open_store(path)
    chrom0 = store.chroms[0]
    where = int(store.chrom_lengths[0]) // 2 // store.stride * store.stride
    base = store.to_xarray()
    plain = base.drop_indexes(["chrom", "start", "end"]).drop_vars(["chrom", "start", "end"])
    proc = psutil.Process()
    gc.collect()
    rss0, t0 = proc.memory_info().rss, time.perf_counter()
    if which == "bin":
        from fnstore.store.xarray_view import BinIndex

        index = BinIndex(base.xindexes["chrom"].grid)
        out = plain.assign_coords(xr.Coordinates.from_xindex(index)).sel(chrom=chrom0, start=where)
    else:
        chrom = np.asarray(store.chroms)[store.root["bin_chrom"][:]]
        ds = plain.assign_coords(chrom=("bin", chrom), start=("bin", store.root["bin_start"][:]))
        ds = ds.set_xindex(["chrom", "start"], xr.indexes.PandasMultiIndex)
        out = ds.sel(chrom=chrom0, start=where)
    seconds, grown = time.perf_counter() - t0, proc.memory_info().rss - rss0
    print(
        f"{which}: {store.n_bins:,} bins, attach + one lookup {seconds * 1000:.1f} ms, "
        f"RSS +{grown / 2**20:.1f} MiB, labels {out['labels'].shape}"
    )


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
