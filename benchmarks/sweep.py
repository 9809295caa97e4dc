"""N runs as one ``fnstore sweep`` vs the same N runs as sequential ``fnstore train`` processes.

    PYTHONPATH=. python benchmarks/sweep.py [--seeds 2] [--workers 1]

On the real chr20 store when ../shared/data exists (built here), else the bundled example.
Prints wall seconds per run both ways, their ratio, and the sweep workers' peak RSS; saves
the table under benchmarks/results/sweep.txt. The sweep's runs also predict their held-out
target; the sequential runs do not, so the ratio is conservative for the sweep.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FAST = {"epochs": 1, "steps_per_epoch": 4, "valid_steps": 2, "window": 400, "lstm_units": 0}


def _store(tmp: Path) -> tuple[Path, list[str], str]:
    from fnstore.build import build_store

    shared = REPO.parent / "shared" / "data"
    if not shared.is_dir():
        path = tmp / "example.zarr"
        build_store(str(REPO / "fnstore/example/spec.yaml"), path, progress=False)
        return path, ["YY1", "ZNF143"], "chr20_slice:3600000-4500000"
    sys.path.insert(0, str(REPO / "tests"))
    from conftest import chr20_spec_dict  # the tests' real chr20 spec
    from synthetic import write_synthetic_dnase

    real = shared / "atac" / "esATAC_chr20_ATAC_Tn5cuts.derived.bw"
    dnase = {"GM12878": write_synthetic_dnase(real, tmp / "GM12878.DNase.bw", seed=0, scale=1)}
    path = tmp / "chr20.zarr"
    build_store(chr20_spec_dict(shared, dnase, tfs=["YY1", "ZNF143"]), path, progress=False)
    return path, ["YY1", "ZNF143"], "chr20:10000000-13000000"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=2)
    ap.add_argument("--workers", type=int, default=1)
    args = ap.parse_args()
    from fnstore.sweep import sweep

    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        store, tfs, valid = _store(tmp)
        seeds = list(range(args.seeds))
        spec = {"store": str(store), "tfs": tfs, "cells": ["GM12878"], "seeds": seeds}
        spec.update(defaults=FAST, validation={"valid_chroms": [valid]})
        t0 = time.perf_counter()
        res = sweep(spec, tmp / "sweep", workers=args.workers, echo=None)
        t_sweep = time.perf_counter() - t0
        n = len(res.states)
        rss = [
            json.loads(p.read_text()).get("worker_peak_rss_mib")
            for p in (tmp / "sweep" / "runs").glob("*/run.json")
        ]
        t0 = time.perf_counter()
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        for tf in tfs:
            for seed in seeds:
                cmd = [
                    sys.executable,
                    "-m",
                    "fnstore.cli",
                    "train",
                    str(store),
                    str(tmp / f"m{tf}{seed}"),
                ]
                cmd += ["--tf", tf, "--cells", "GM12878", "--seed", str(seed), "--quiet"]
                cmd += ["--epochs", "1", "--steps-per-epoch", "4", "--valid-steps", "2"]
                cmd += ["--window", "400", "--lstm", "0", "--valid-chroms", valid]
                subprocess.run(cmd, env=env, check=True, capture_output=True)
        t_seq = time.perf_counter() - t0
    lines = [
        f"store: {store.name}; {n} runs ({len(tfs)} TFs x {len(seeds)} seeds), {args.workers} worker(s), {os.cpu_count()} cores",
        f"sweep (incl. cluster start):   {t_sweep:7.1f} s  {t_sweep / n:6.1f} s/run",
        f"sequential fnstore train:      {t_seq:7.1f} s  {t_seq / n:6.1f} s/run",
        f"sweep / sequential per run:    {t_sweep / t_seq:7.2f}",
        f"peak RSS per sweep worker:     {max(r for r in rss if r):7.0f} MiB",
    ]
    text = "\n".join(lines)
    print(text)
    out = REPO / "benchmarks" / "results" / "sweep.txt"
    out.write_text(text + "\n")


if __name__ == "__main__":
    main()
