"""Build benchmark: the full real chr20 store, float16 vs float32, and a 10x larger genome.

Prints, measured side by side in one run (absolute times vary on a shared machine; the
ratios are the point):
  * chr20 with every peak file: wall time, peak RSS, store size against the inputs' size;
  * float16 vs float32 signals: store size and the largest error against pyBigWig;
  * the cost of integrity: chr20 built with and without zstd checksums (alternating
    runs), the manifest's share of a build (and what a crc32 per chunk would add), and
    ``validate --deep`` against a plain zarr read of every array;
  * peak RSS of a synthetic genome ten times larger than chr20 (10 chromosomes of chr20's
    length built from its sequence, peaks and signal), and its ratio to chr20's;
  * ``fnstore add`` of one cell (a DNase track and metadata) to the chr20 store against a
    full rebuild of the combined spec (goal: add at least 5x faster), both checked to give
    the same content hash.

Usage: python benchmarks/build.py [--shared ../shared/data] [--workdir /tmp/fnstore-bench]
       [--skip-tenfold] [--only-add]
"""

from __future__ import annotations

import argparse
import gzip
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import psutil
import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from conftest import chr20_spec_dict, write_synthetic_dnase  # noqa: E402


def measure(cmd: list[str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MiB) of a command, sampled every 20 ms."""
    t0 = time.perf_counter()
    proc = psutil.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak = 0
    while proc.poll() is None:
        try:
            peak = max(peak, proc.memory_info().rss)
        except psutil.NoSuchProcess:
            break
        time.sleep(0.02)
    if proc.returncode:
        raise SystemExit(f"failed: {' '.join(cmd)}\n{proc.stderr.read().decode()}")
    return time.perf_counter() - t0, peak / 2**20


#: ``python -m fnstore.cli`` with zstd frames written without their content checksum
NO_CHECKSUM = (
    "import fnstore.store.write as w; w.ZSTD_CHECKSUM = False; from fnstore.cli import main; main()"
)


def build(
    spec: dict, out: Path, workdir: Path, name: str, checksum: bool = True
) -> tuple[float, float]:
    spec_path = workdir / f"{name}.yaml"
    spec_path.write_text(yaml.safe_dump(spec, sort_keys=False))
    cli = ["-m", "fnstore.cli"] if checksum else ["-c", NO_CHECKSUM]
    return measure(
        [sys.executable, *cli, "build", str(spec_path), str(out), "--overwrite", "--quiet"]
    )


def plain_read_seconds(store: Path) -> tuple[float, int]:
    """Seconds and decoded bytes to read every array of a store with plain zarr-python."""
    import zarr

    root = zarr.open_group(str(store), mode="r")
    arrays = [a for _, a in root.arrays()] + [a for _, a in root["signals"].arrays()]
    t0, nbytes = time.perf_counter(), 0
    for arr in arrays:
        rows = range(arr.shape[0]) if arr.ndim == 2 and arr.chunks[0] == 1 else [None]
        for r in rows:  # one cell row of a signal at a time, everything else whole
            nbytes += np.asarray(arr[...] if r is None else arr[r]).nbytes
    return time.perf_counter() - t0, nbytes


def integrity_costs(spec: dict, workdir: Path, store: Path, rounds: int = 4) -> None:
    """Checksums' build cost, the manifest's, and validate --deep against a zarr read."""
    import zlib

    from fnstore.store.integrity import chunk_files, write_manifest
    from fnstore.store.validate import validate_store

    walls: dict[bool, list[float]] = {True: [], False: []}
    for _ in range(rounds):  # alternate, so load on the shared machine hits both alike
        for checksum in (True, False):
            out = workdir / f"chr20.ck{int(checksum)}.zarr"
            walls[checksum].append(build(spec, out, workdir, "chr20ck", checksum)[0])
    on, off = min(walls[True]), min(walls[False])
    med_on, med_off = float(np.median(walls[True])), float(np.median(walls[False]))
    print(
        f"zstd checksums: chr20 build {on:.1f} s with vs {off:.1f} s without (best of {rounds}; "
        f"{100 * (on / off - 1):+.1f} %, medians {100 * (med_on / med_off - 1):+.1f} %; "
        f"goal <= 5 %); all runs: with "
        f"{', '.join(f'{w:.1f}' for w in walls[True])}, without "
        f"{', '.join(f'{w:.1f}' for w in walls[False])}"
    )
    import numcodecs
    import zarr

    zstore = zarr.storage.LocalStore(store)
    raw = [numcodecs.Zstd().decode((store / k).read_bytes()) for k in chunk_files(zstore)]
    cpu: dict[bool, float] = {}
    for checksum in (False, True, False, True):  # the encode itself, in this process
        codec = numcodecs.Zstd(level=3, checksum=checksum)
        t0 = time.process_time()
        for chunk in raw:
            codec.encode(chunk)
        cpu[checksum] = min(cpu.get(checksum, np.inf), time.process_time() - t0)
    print(
        f"  encoding every chunk ({sum(len(r) for r in raw) / 2**20:.0f} MiB): {cpu[True]:.2f} s CPU "
        f"with checksums vs {cpu[False]:.2f} s without: +{cpu[True] - cpu[False]:.3f} s, "
        f"{100 * (cpu[True] - cpu[False]) / on:.1f} % of the build's wall time"
    )
    del raw
    t0 = time.perf_counter()
    manifest = write_manifest(zstore)
    t_manifest = time.perf_counter() - t0
    t0 = time.perf_counter()
    for key in chunk_files(zstore):
        zlib.crc32((store / key).read_bytes())
    t_crc = time.perf_counter() - t0
    print(
        f"manifest: {manifest['n_chunks']} chunks, {manifest['bytes'] / 2**20:.1f} MiB, written in "
        f"{t_manifest:.3f} s ({100 * t_manifest / on:.2f} % of the build); a crc32 per chunk "
        f"would add {t_crc:.3f} s (not stored: each zstd frame carries its own checksum)"
    )
    deep, plain = [], []
    for _ in range(rounds):
        result = validate_store(store, checksums=False, deep=True)
        assert result.ok and result.decoded is not None, result.problems
        deep.append(result.decoded)
        plain.append(plain_read_seconds(store))
    d = min(deep, key=lambda r: r.seconds)
    p_s, p_bytes = min(plain)
    print(
        f"validate --deep: {d.chunks} chunks, {d.nbytes / 2**20:.0f} MiB in {d.seconds:.2f} s "
        f"({d.nbytes / 2**20 / d.seconds:.0f} MiB/s) vs a plain zarr read of every array "
        f"{p_bytes / 2**20:.0f} MiB in {p_s:.2f} s ({p_bytes / 2**20 / p_s:.0f} MiB/s): "
        f"{p_s / d.seconds:.1f}x (goal >= 1)"
    )


def du(path: Path) -> int:
    return (
        sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
        if path.is_dir()
        else path.stat().st_size
    )


def tenfold_inputs(shared: Path, workdir: Path, copies: int = 10) -> dict:
    """10 chromosomes of chr20's length: its sequence, its ATAC track and its peaks, tiled."""
    import pyBigWig
    import pysam

    fa = pysam.FastaFile(str(shared / "hg19" / "hg19_chr20.fa.gz"))
    seq = fa.fetch("chr20")
    n = len(seq)
    names = [f"chr{i + 1}" for i in range(copies)]
    fasta = workdir / "tenfold.fa"
    if not fasta.exists():
        with open(fasta, "w") as fh:
            for name in names:
                fh.write(f">{name}\n")
                for i in range(0, n, 1 << 20):
                    fh.write(seq[i : i + (1 << 20)] + "\n")
        pysam.faidx(str(fasta))
    bw_path = workdir / "tenfold.bw"
    if not bw_path.exists():
        src = pyBigWig.open(str(shared / "atac" / "esATAC_chr20_ATAC_Tn5cuts.derived.bw"))
        ivs = src.intervals("chr20")
        dst = pyBigWig.open(str(bw_path), "w")
        dst.addHeader([(c, n) for c in names])
        for c in names:
            dst.addEntries(
                [c] * len(ivs),
                [s for s, _, _ in ivs],
                ends=[e for _, e, _ in ivs],
                values=[float(v) for _, _, v in ivs],
            )
        dst.close()
    peaks_dir = workdir / "tenfold_peaks"
    peaks_dir.mkdir(exist_ok=True)
    for src in sorted((shared / "peaks").rglob("*.narrowPeak.gz")):
        dst = peaks_dir / src.name
        if dst.exists():
            continue
        with gzip.open(src, "rt") as fh:
            rows = [line.split("\t", 1)[1] for line in fh]
        with gzip.open(dst, "wt") as fh:
            for c in names:
                fh.writelines(f"{c}\t{r}" for r in rows)
    sizes = workdir / "tenfold.sizes"
    sizes.write_text("".join(f"{c}\t{n}\n" for c in names))
    return {
        "name": "tenfold",
        "genome": {"fasta": str(fasta), "chrom_sizes": str(sizes)},
        "cells": {"GM12878": {"tracks": {"ATAC": str(bw_path)}}},
        "labels": [{"peaks_dir": str(peaks_dir)}],
    }


def add_vs_rebuild(spec: dict, real: Path, workdir: Path, rounds: int = 2) -> None:
    """Time ``fnstore add`` of one new cell against a rebuild of the combined spec."""
    import shutil

    from fnstore.store.read import open_store
    from fnstore.store.versions import current_version

    base = workdir / "add-base.zarr"
    build(spec, base, workdir, "add-base")
    bw = write_synthetic_dnase(real, workdir / "NEWCELL.DNase.bw", seed=9, scale=2.0)
    meta = next(iter(sorted(c["metadata"] for c in spec["cells"].values() if "metadata" in c)))
    cell = {"tracks": {"DNase": str(bw)}, "metadata": meta}
    fragment = workdir / "add-fragment.yaml"
    fragment.write_text(yaml.safe_dump({"cells": {"NEWCELL": cell}}))
    combined = dict(spec, cells={**spec["cells"], "NEWCELL": cell})
    rebuilt, target = workdir / "add-rebuilt.zarr", workdir / "add-target.zarr"
    adds, rebuilds = [], []
    for _ in range(rounds):  # alternating, so load on the shared machine hits both
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(base, target)
        cmd = [sys.executable, "-m", "fnstore.cli", "add", str(target), str(fragment), "--quiet"]
        adds.append(measure(cmd)[0])
        rebuilds.append(build(combined, rebuilt, workdir, "add-combined")[0])
    same = (
        current_version(open_store(target).attrs)["content_hash"]
        == current_version(open_store(rebuilt).attrs)["content_hash"]
    )
    add_s, rebuild_s = min(adds), min(rebuilds)
    print(
        f"add one cell (DNase + metadata) to chr20 vs rebuild: {add_s:.1f} vs {rebuild_s:.1f} s "
        f"(add {rebuild_s / add_s:.1f}x faster; goal >= 5x; best of {rounds}); "
        f"same content hash: {same}"
    )


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--shared", default=str(REPO.parent / "shared" / "data"))
    ap.add_argument("--workdir", default="/tmp/fnstore-bench-build")
    ap.add_argument("--skip-tenfold", action="store_true")
    ap.add_argument("--only-add", action="store_true", help="Only add-vs-rebuild.")
    args = ap.parse_args()
    shared, workdir = Path(args.shared), Path(args.workdir)
    workdir.mkdir(parents=True, exist_ok=True)

    real = shared / "atac" / "esATAC_chr20_ATAC_Tn5cuts.derived.bw"
    dnase = {
        c: write_synthetic_dnase(real, workdir / f"{c}.DNase.bw", seed=i, scale=1 + i)
        for i, c in enumerate(("GM12878", "HepG2", "K562", "A549"))
    }
    spec = chr20_spec_dict(shared, dnase)
    inputs = {spec["genome"]["fasta"], *spec["blacklist"], *spec["annotations"].values()}
    inputs |= {str(p) for p in (shared / "peaks").rglob("*.narrowPeak.gz")}
    inputs |= {t for c in spec["cells"].values() for t in c.get("tracks", {}).values()}
    inputs |= {c["metadata"] for c in spec["cells"].values() if "metadata" in c}
    in_bytes = sum(os.path.getsize(p) for p in inputs)
    n_peaks = len(list((shared / "peaks").rglob("*.narrowPeak.gz")))

    if args.only_add:
        add_vs_rebuild(spec, real, workdir)
        return
    out16 = workdir / "chr20.f16.zarr"
    wall, rss = build(spec, out16, workdir, "chr20")
    print(
        f"chr20 build ({n_peaks} peak files, {len(dnase) + 1} bigWigs, 7 annotations, 2 cores): "
        f"{wall:.1f} s wall, peak RSS {rss:.0f} MiB"
    )
    size16 = du(out16)
    print(
        f"  store {size16 / 2**20:.1f} MiB vs inputs {in_bytes / 2**20:.1f} MiB (ratio {size16 / in_bytes:.2f})"
    )

    out32 = workdir / "chr20.f32.zarr"
    wall32, _ = build(dict(spec, signal_dtype="float32"), out32, workdir, "chr20f32")
    size32 = du(out32)
    import pyBigWig

    from fnstore.store.read import open_store

    s16, s32 = open_store(out16), open_store(out32)
    sig16 = s16.root["signals"]["DNase"]
    sig32 = s32.root["signals"]["DNase"]
    print(
        f"float16 vs float32 signals: store {size16 / 2**20:.1f} vs {size32 / 2**20:.1f} MiB "
        f"(float16 is {size16 / size32:.2f}x the size); build {wall:.1f} vs {wall32:.1f} s"
    )
    worst_abs = worst_rel = 0.0
    for cell, path in dnase.items():
        bw = pyBigWig.open(str(path))
        truth = np.nan_to_num(bw.values("chr20", 0, 13_000_000, numpy=True))
        ci = s16.cell_index(cell)
        a16 = sig16[ci, :13_000_000].astype(np.float64)
        a32 = sig32[ci, :13_000_000].astype(np.float64)
        nz = truth != 0
        worst_abs = max(worst_abs, float(np.abs(a16 - truth).max()))
        worst_rel = max(worst_rel, float((np.abs(a16 - truth)[nz] / np.abs(truth[nz])).max()))
        assert np.allclose(a32, truth, rtol=1e-6, atol=1e-6)
    print(
        f"  float16 error vs pyBigWig over 4 x 13 Mb: max abs {worst_abs:.3g}, max rel {worst_rel:.2e} "
        f"(float32: exact); chosen by auto: {s16.signal_dtype}"
    )

    integrity_costs(spec, workdir, out16)
    add_vs_rebuild(spec, real, workdir)

    if args.skip_tenfold:
        return
    spec10 = tenfold_inputs(shared, workdir)
    spec1 = dict(spec10, genome=dict(spec10["genome"]))
    (workdir / "onefold.sizes").write_text(f"chr1\t{63_025_520}\n")
    spec1["genome"]["chroms"] = ["chr1"]
    out1, out10 = workdir / "onefold.zarr", workdir / "tenfold.zarr"
    wall1, rss1 = build(spec1, out1, workdir, "onefold")
    wall10, rss10 = build(spec10, out10, workdir, "tenfold")
    print(
        f"same inputs on 1 vs 10 chromosomes (63 Mb vs 630 Mb, {n_peaks} peak files each): "
        f"{wall1:.1f} vs {wall10:.1f} s, peak RSS {rss1:.0f} vs {rss10:.0f} MiB "
        f"(ratio {rss10 / rss1:.2f}; goal <= 1.5)"
    )


if __name__ == "__main__":
    main()
