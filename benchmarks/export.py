"""Benchmark: time and peak RSS of exporting labels as an ENCODE-DREAM TSV, 1x vs 10x store.

Exports stream one bin chunk at a time, so peak memory should not grow with the store:
the goal is a 10x store's peak RSS within 1.5x of chr20's. Each export runs in its own
subprocess, which reports its own peak RSS (``VmHWM`` on Linux, imports included;
``ru_maxrss`` would also count the parent's memory at fork).

Stores:
  1x   real hg19 chr20 (../shared/data) with every cell's peaks for one TF (default CTCF)
  10x  ten synthetic chromosomes of chr20's length (chr20's sequence repeated) with the
       same cells and peaks tiled every few kb; built once into the work folder

Usage:
  python benchmarks/export.py [--data ../shared/data] [--work /tmp/fnstore-bench-export] [--tf CTCF]
"""

from __future__ import annotations

import argparse
import gzip
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
N_CHROMS = 10

CHILD = """
import json, resource, sys, time
from fnstore.export import export
t = time.perf_counter()
r = export(sys.argv[1], sys.argv[2], "labels", "dream", tf=sys.argv[3])
try:  # VmHWM: this process image only (ru_maxrss also counts the parent's RSS at fork)
    peak = next(int(x.split()[1]) for x in open("/proc/self/status") if x.startswith("VmHWM"))
except (OSError, StopIteration):
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"seconds": time.perf_counter() - t, "rows": r.rows, "peak_kib": peak}))
"""


def build_chr20(data: Path, work: Path, tf: str) -> Path:
    from fnstore.build import build_store

    store = work / "chr20.zarr"
    if not store.exists():
        spec = {
            "name": "bench-chr20",
            "genome": {"fasta": str(data / "hg19" / "hg19_chr20.fa.gz"), "chroms": ["chr20"]},
            "labels": [{"peaks_dir": str(data / "peaks"), "tfs": [tf]}],
        }
        build_store(spec, store, progress=False)
    return store


def build_10x(data: Path, work: Path, chr20: Path) -> Path:
    """Ten chr20-sized chromosomes; per cell, conservative peaks every 10 kb, relaxed every 5 kb."""
    from fnstore.build import build_store
    from fnstore.store.read import open_store

    store = work / "x10.zarr"
    if store.exists():
        return store
    src = open_store(chr20)
    length = int(src.chrom_lengths[0])
    fasta = work / "x10.fa"
    if not fasta.exists():
        with gzip.open(data / "hg19" / "hg19_chr20.fa.gz", "rb") as fh:
            seq = b"".join(line.strip() for line in fh if not line.startswith(b">"))
        lines = b"\n".join(seq[i : i + 100] for i in range(0, len(seq), 100))
        with open(fasta, "wb") as out:
            for k in range(N_CHROMS):
                out.write(b">chrS%d\n" % (k + 1) + lines + b"\n")
    cells = sorted({t.cell for t in src.tasks})
    tf = src.tasks[0].tf
    peaks = work / "x10_peaks"
    peaks.mkdir(exist_ok=True)
    for i, cell in enumerate(cells):
        for kind, step in (("conservative", 10_000), ("relaxed", 5_000)):
            starts = np.arange(1000 + 700 * i, length - 1000, step)
            with gzip.open(peaks / f"ChIPseq.{cell}.{tf}.{kind}.narrowPeak.gz", "wt") as fh:
                for k in range(N_CHROMS):
                    fh.writelines(
                        f"chrS{k + 1}\t{s}\t{s + 300}\t.\t0\t.\t5\t5\t5\t150\n" for s in starts
                    )
    spec = {
        "name": "bench-x10",
        "genome": {"fasta": str(fasta)},
        "labels": [{"peaks_dir": str(peaks)}],
    }
    build_store(spec, store, progress=False)
    return store


def measure(store: Path, out: Path, tf: str) -> dict:
    t = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, str(store), str(out), tf],
        capture_output=True,
        text=True,
        check=True,
    )
    wall = time.perf_counter() - t
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    peak_kib = result["peak_kib"]  # KiB; the child's own peak, imports included
    return {
        "store": store.name,
        "rows": result["rows"],
        "export_s": result["seconds"],
        "process_s": wall,
        "peak_rss_mib": peak_kib / 1024,
        "out_mib": out.stat().st_size / 2**20,
    }


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    ap.add_argument("--work", type=Path, default=Path("/tmp/fnstore-bench-export"))
    ap.add_argument("--tf", default="CTCF")
    args = ap.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    t = time.perf_counter()
    chr20 = build_chr20(args.data, args.work, args.tf)
    x10 = build_10x(args.data, args.work, chr20)
    print(f"stores ready in {time.perf_counter() - t:.0f} s: {chr20}, {x10}")
    rows = [
        measure(chr20, args.work / "chr20.tsv.gz", args.tf),
        measure(x10, args.work / "x10.tsv.gz", args.tf),
    ]
    print(
        f"{'store':<12}{'rows':>12}{'export s':>10}{'process s':>11}{'peak RSS MiB':>14}{'TSV MiB':>9}"
    )
    for r in rows:
        print(
            f"{r['store']:<12}{r['rows']:>12,}{r['export_s']:>10.1f}{r['process_s']:>11.1f}"
            f"{r['peak_rss_mib']:>14.0f}{r['out_mib']:>9.1f}"
        )
    ratio = rows[1]["peak_rss_mib"] / rows[0]["peak_rss_mib"]
    print(f"peak RSS 10x / 1x = {ratio:.2f} (goal <= 1.5): {'OK' if ratio <= 1.5 else 'OVER'}")


if __name__ == "__main__":
    main()
