"""The cost of reading every chosen FASTA sequence once before a build writes.

``fnstore.io.fasta.check_has_bases`` reads the genome a second time so a damaged FASTA is
refused instead of built (docs/design.md, Inputs). This prints, for real chr20 bgzip and a
plain copy of it, three runs of that check beside one plain fetch of every base in 1 Mi
blocks (what a build's sequence units do).

Usage: python benchmarks/fasta_check.py [--shared ../shared/data] [--workdir /tmp/fnstore-bench]
"""

from __future__ import annotations

import argparse
import gzip
import shutil
import time
from pathlib import Path

from fnstore.io.fasta import check_has_bases, inspect_fasta, open_fasta


def _seconds(fn, *args) -> float:  # noqa: ANN001
    t0 = time.perf_counter()
    fn(*args)
    return time.perf_counter() - t0


def _fetch_all(info) -> None:  # noqa: ANN001
    with open_fasta(info) as fa:
        for chrom, n in info.lengths.items():
            for start in range(0, n, 1 << 20):
                fa.fetch(chrom, start, start + (1 << 20))


def main() -> None:
    """Print the check's time and a plain fetch's for chr20, bgzip and plain."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--shared", default=str(Path(__file__).resolve().parents[2] / "shared/data")
    )
    parser.add_argument("--workdir", default="/tmp/fnstore-bench")
    args = parser.parse_args()
    bgzip = Path(args.shared) / "hg19" / "hg19_chr20.fa.gz"
    plain = Path(args.workdir) / "chr20.fa"
    plain.parent.mkdir(parents=True, exist_ok=True)
    if not plain.exists():
        with gzip.open(bgzip, "rb") as src, open(plain, "wb") as dst:
            shutil.copyfileobj(src, dst)
    for path in (bgzip, plain):
        info = inspect_fasta(path)
        chroms = list(info.lengths)
        checks = [_seconds(check_has_bases, info, chroms) for _ in range(3)]
        fetch = _seconds(_fetch_all, info)
        print(
            f"{path.name}: {sum(info.lengths.values()):,} bp; check "
            f"{', '.join(f'{s:.3f}' for s in checks)} s; plain fetch {fetch:.3f} s"
        )


if __name__ == "__main__":
    main()
