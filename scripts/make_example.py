"""Regenerate fnstore/example/ (the bundled demo data) from the shared real hg19 data.

Not needed at runtime: the files it writes are committed inside the package, so
``fnstore demo`` works after ``pip install ".[tf]"``. Run it only to change the slice:

    python scripts/make_example.py [--shared ../shared/data] [--out fnstore/example]

The example is one window of hg19 chr20 turned into its own sequence, ``chr20_slice``.
The store checks every BED/bigWig interval against the FASTA's sequence lengths, so the
slice cannot keep the name ``chr20`` (its length would be wrong); every coordinate is
shifted by ``-START`` instead: hg19 ``chr20:START+x`` is ``chr20_slice:x``.

Everything written is deterministic (gzip headers carry no time stamp), so re-running
the script on the same inputs gives byte-identical files.
"""

from __future__ import annotations

import argparse
import gzip
import io
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]

#: hg19 chr20 window (0-based, half-open). Inside the GM12878 ATAC window
#: (chr20:60,204-13,383,583), among the densest 4.5 Mb for GM12878 ChIP-seq peaks,
#: and it holds one ENCODE-DREAM blacklist region (chr20:6,463,211-6,463,308).
CHROM = "chr20"
START = 2_000_000
END = 6_500_000
SLICE = "chr20_slice"

#: TF x cell pairs copied (conservative and, where it exists, relaxed peaks).
#: GM12878 is the only cell with an accessibility track (ATAC), so it is the one the demo
#: trains and evaluates on; the other cells show a multi-cell store layout.
PAIRS = [
    ("ZNF143", "GM12878"),
    ("YY1", "GM12878"),
    ("SPI1", "GM12878"),
    ("ZNF143", "HepG2"),
    ("YY1", "HepG2"),
    ("ZNF143", "H1-hESC"),
    ("YY1", "H1-hESC"),
]
META_CELLS = ["GM12878", "HepG2", "H1-hESC"]
ATAC = "atac/esATAC_chr20_ATAC_Tn5cuts.derived.bw"
# the shared data's annotation files, named as the tests name them
sys.path.insert(0, str(REPO / "tests"))
from conftest import ANNOTATIONS  # noqa: E402

from fnstore.io.bigwig import BigWigWriter  # noqa: E402

BLACKLISTS = ["blacklist.bed.gz"]
#: narrowPeak has 10 standard columns; the ENCODE-DREAM relaxed files carry 10 more with
#: absolute chr20 coordinates that would be wrong after the shift, so they are dropped.
NARROWPEAK_COLUMNS = 10


def write_gz(path: Path, text: str) -> None:
    """gzip with mtime 0, so the bytes depend on the content only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as gz:
        gz.write(text.encode())


def shift_bed(src: Path, clip: bool, max_columns: int | None = None) -> tuple[str, int]:
    """Rows of ``src`` on the window, moved to ``chr20_slice`` coordinates.

    ``clip``: intervals crossing the window edge are cut at it (annotations, blacklists);
    otherwise only intervals wholly inside are kept (peaks: a cut peak would move its summit).
    """
    out = io.StringIO()
    n = 0
    with gzip.open(src, "rt") as fh:
        rows = [line.rstrip("\n").split("\t") for line in fh if line.startswith(CHROM + "\t")]
    rows.sort(key=lambda r: (int(r[1]), int(r[2])))
    for parts in rows:
        s, e = int(parts[1]), int(parts[2])
        if clip:
            s, e = max(s, START), min(e, END)
            if s >= e:
                continue
        elif s < START or e > END:
            continue
        parts = parts[:max_columns] if max_columns else parts
        out.write("\t".join([SLICE, str(s - START), str(e - START), *parts[3:]]) + "\n")
        n += 1
    return out.getvalue(), n


def write_fasta(shared: Path, out: Path) -> None:
    import pysam

    fa = pysam.FastaFile(str(shared / "hg19" / "hg19_chr20.fa.gz"))
    seq = fa.fetch(CHROM, START, END).upper()
    fa.close()
    assert len(seq) == END - START
    with tempfile.TemporaryDirectory() as tmp:
        plain = Path(tmp) / "slice.fa"
        with open(plain, "w") as fh:
            fh.write(f">{SLICE} hg19 {CHROM}:{START + 1}-{END} (1-based, inclusive)\n")
            for i in range(0, len(seq), 60):
                fh.write(seq[i : i + 60] + "\n")
        target = out / "genome" / f"{SLICE}.fa.gz"
        target.parent.mkdir(parents=True, exist_ok=True)
        pysam.tabix_compress(str(plain), str(target), force=True)
    for suffix in (".fai", ".gzi"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    pysam.faidx(str(target))  # writes .fai and .gzi beside it


def write_bigwig(shared: Path, out: Path) -> int:
    import pyBigWig

    src = pyBigWig.open(str(shared / ATAC))
    ivs = src.intervals(CHROM, START, END) or []
    src.close()
    ivs = [(s, e, v) for s, e, v in ivs if s >= START and e <= END]
    target = out / "signal" / "GM12878.ATAC.Tn5cuts.bw"
    target.parent.mkdir(parents=True, exist_ok=True)
    starts = np.array([s for s, _, _ in ivs], dtype=np.int64) - START
    ends = np.array([e for _, e, _ in ivs], dtype=np.int64) - START
    vals = np.array([v for _, _, v in ivs], dtype=np.float32)
    # fnstore's writer: libBigWig's own zoom levels have a zero-sum record every 1,023
    with BigWigWriter(target, [(SLICE, END - START)]) as bw:
        bw.add_intervals([SLICE] * len(ivs), starts, ends, vals)
    return len(ivs)


def write_spec(out: Path) -> None:
    lines = [
        "# fnstore build spec of the bundled example (paths are relative to this file).",
        f"# {SLICE}:x is hg19 {CHROM}:{START:,}+x; see README.md here.",
        "spec_version: 1",
        "name: example-chr20-slice",
        "assembly: hg19-chr20-slice",
        "genome:",
        f"  fasta: genome/{SLICE}.fa.gz",
        "blacklist:",
        *[f"  - blacklist/{name}" for name in BLACKLISTS],
        "cells:",
    ]
    for cell in META_CELLS:
        lines.append(f"  {cell}:")
        if cell == "GM12878":
            lines += ["    tracks:", "      ATAC: signal/GM12878.ATAC.Tn5cuts.bw"]
        lines.append(f"    metadata: cells/{cell}.meta.txt")
    lines += ["labels:", "  - peaks_dir: peaks", "annotations:"]
    lines += [f"  {name}: annotations/{file}" for name, file in ANNOTATIONS.items()]
    (out / "spec.yaml").write_text("\n".join(lines) + "\n")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", type=Path, default=REPO.parent / "shared" / "data")
    ap.add_argument("--out", type=Path, default=REPO / "fnstore" / "example")
    args = ap.parse_args()
    shared, out = args.shared, args.out
    keep = out / "README.md"
    readme = keep.read_text() if keep.exists() else None
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    if readme is not None:
        keep.write_text(readme)

    write_fasta(shared, out)
    n_iv = write_bigwig(shared, out)
    print(f"ATAC: {n_iv} intervals")
    for name, file in ANNOTATIONS.items():
        text, n = shift_bed(shared / "annotations" / file, clip=True)
        write_gz(out / "annotations" / file, text)
        print(f"annotation {name}: {n} intervals")
    for file in BLACKLISTS:
        text, n = shift_bed(shared / "annotations" / file, clip=True)
        write_gz(out / "blacklist" / file, text)
        print(f"blacklist {file}: {n} intervals")
    for cell in META_CELLS:
        (out / "cells").mkdir(exist_ok=True)
        shutil.copyfile(shared / "cells" / f"{cell}.meta.txt", out / "cells" / f"{cell}.meta.txt")
    for tf, cell in PAIRS:
        folder = shared / "peaks" / cell
        for kind, pattern in (("conservative", "conservative.train"), ("relaxed", "relaxed")):
            src = folder / f"ChIPseq.{cell}.{tf}.{pattern}.narrowPeak.gz"
            if not src.exists():
                if kind == "conservative":
                    raise SystemExit(f"{src}: missing")
                continue
            text, n = shift_bed(src, clip=False, max_columns=NARROWPEAK_COLUMNS)
            write_gz(out / "peaks" / cell / src.name, text)
            print(f"{tf} x {cell} {kind}: {n} peaks")
    write_spec(out)
    total = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    print(f"wrote {out} ({total / 1e6:.2f} MB)")


if __name__ == "__main__":
    main()
