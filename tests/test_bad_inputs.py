"""Bad input to every command: exit code 1, one stderr line ``Error: <file or option>: ...``,
no traceback, nothing written under the output's name.

Each row is (id, setup, fragment): ``setup(ctx)`` makes the broken input in ``ctx.tmp`` and
returns the command line; ``fragment`` must appear in the error line, which must also name
the file or option at fault (``ctx.names``, defaulting to the fragment's own file).
"""

from __future__ import annotations

import gzip
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from synthetic import TOY_LENGTHS, narrowpeak_row, toy_spec, write_bigwig, write_fasta, write_gz

from fnstore.cli import main

pytestmark = pytest.mark.faults

LENGTHS = TOY_LENGTHS


@dataclass
class Ctx:
    """One row's folder, the toy spec it may break, and the bundled example store."""

    tmp: Path
    store: Path
    spec: dict[str, Any] = field(default_factory=dict)
    out: Path | None = None  # must not exist after the command
    names: str | None = None  # must appear in the error line

    def file(self, name: str, data: str | bytes) -> str:
        path = self.tmp / name
        if isinstance(data, bytes):
            path.write_bytes(data)
        else:
            path.write_text(data)
        return str(path)


# --------------------------------------------------------------------------- build rows


def build(change: Callable[[Ctx, dict[str, Any]], Any], *extra: str, raw: bytes | None = None):
    """A build row: ``change(ctx, spec)`` breaks the toy spec or its files."""

    def setup(ctx: Ctx) -> list[str]:
        ctx.spec = toy_spec(ctx.tmp)
        change(ctx, ctx.spec)
        spec_path = ctx.tmp / "spec.yaml"
        spec_path.write_bytes(raw if raw is not None else yaml.safe_dump(ctx.spec).encode())
        ctx.out = ctx.tmp / "out.zarr"
        return ["build", str(spec_path), str(ctx.out), "--quiet", *extra]

    return setup


def _set(path: str, value: Any, names: str = "spec.yaml") -> Callable[[Ctx, dict[str, Any]], None]:
    """Set ``a.b.c`` in the spec (a list index where a key is a number); the error must
    name ``names``."""

    def change(ctx: Ctx, spec: dict[str, Any]) -> None:
        keys = path.split(".")
        node: Any = spec
        for k in keys[:-1]:
            node = node[int(k)] if k.isdigit() else node[k]
        node[int(keys[-1]) if keys[-1].isdigit() else keys[-1]] = value
        ctx.names = names

    return change


def _replace(key: str, name: str, data: str | bytes, gz: bool = False):
    """Point a spec file entry (``genome.fasta``, ``peaks``, ``bigwig``...) at new content."""

    def change(ctx: Ctx, spec: dict[str, Any]) -> None:
        path = ctx.tmp / name
        if gz:
            write_gz(path, data if isinstance(data, str) else data.decode())
        else:
            ctx.file(name, data)
        ctx.names = name
        _point(spec, key, str(path))

    return change


def _point(spec: dict[str, Any], key: str, path: str) -> None:
    if key == "fasta":
        spec["genome"]["fasta"] = path
    elif key == "sizes":
        spec["genome"]["chrom_sizes"] = path
    elif key == "bigwig":
        spec["cells"]["X"]["tracks"]["DNase"] = path
    elif key == "peaks":
        spec["labels"][0]["conservative"] = path
    elif key == "meta":
        spec["cells"]["X"]["metadata"] = path
    elif key == "blacklist":
        spec["blacklist"] = [path]
    elif key == "annotation":
        spec["annotations"]["cpg"] = path
    elif key == "dream":
        spec["labels"].append({"dream_tsv": path})  # TF: the name up to its first '.'


def _bigwig(name: str, lengths: dict[str, int]):
    def change(ctx: Ctx, spec: dict[str, Any]) -> None:
        spec["cells"]["X"]["tracks"]["DNase"] = str(write_bigwig(ctx.tmp / name, lengths))
        ctx.names = name

    return change


def _truncated_bigwig(ctx: Ctx, spec: dict[str, Any]) -> None:
    data = Path(spec["cells"]["X"]["tracks"]["DNase"]).read_bytes()
    spec["cells"]["X"]["tracks"]["DNase"] = ctx.file("cut.bw", data[: len(data) // 2])
    ctx.names = "cut.bw"


def _truncated_peaks(ctx: Ctx, spec: dict[str, Any]) -> None:
    data = Path(spec["labels"][0]["conservative"]).read_bytes()
    spec["labels"][0]["conservative"] = ctx.file("cut.np.gz", data[: len(data) // 2])
    ctx.names = "cut.np.gz"


def _plain_gzip_fasta(ctx: Ctx, spec: dict[str, Any]) -> None:
    with gzip.open(ctx.tmp / "g2.fa.gz", "wb") as fh:
        fh.write(Path(spec["genome"]["fasta"]).read_bytes())
    spec["genome"]["fasta"] = str(ctx.tmp / "g2.fa.gz")
    ctx.names = "g2.fa.gz"


def _all_n_fasta(ctx: Ctx, spec: dict[str, Any]) -> None:
    seqs = {c: "N" * n for c, n in LENGTHS.items()}
    spec["genome"]["fasta"] = str(write_fasta(ctx.tmp / "n.fa", sequences=seqs))
    ctx.names = "n.fa"


#: the toy FASTA's first line of sequence 101 (of chrA): damage lands mid-record
_LINE_101 = len(">chrA\n") + 61 * 100


def _damaged_fasta(damage: Callable[[bytes], bytes], *, indexed: bool = False, bgzip: bool = False):
    """The toy FASTA damaged by ``damage(bytes)``; ``indexed``: beside the undamaged file's
    ``.fai`` (so htslib does not re-read it); ``bgzip``: damaged, then BGZF-compressed."""

    def change(ctx: Ctx, spec: dict[str, Any]) -> None:
        import pysam

        good = Path(spec["genome"]["fasta"])
        bad = ctx.tmp / "d.fa"
        bad.write_bytes(damage(good.read_bytes()))
        if indexed:
            pysam.faidx(str(good))
            shutil.copy(f"{good}.fai", f"{bad}.fai")
        if bgzip:
            pysam.tabix_compress(str(bad), f"{bad}.gz")
            bad = Path(f"{bad}.gz")
        spec["genome"]["fasta"] = str(bad)
        ctx.names = bad.name

    return change


def _wrap_line_101_early(data: bytes) -> bytes:
    """Line 101 of chrA ends 30 bases early and line 102 is 30 bases longer: the same
    bytes, so an index of the undamaged file reads every base shifted."""
    end = _LINE_101 + 60  # line 101's newline
    return data[: _LINE_101 + 30] + b"\n" + data[_LINE_101 + 30 : end] + data[end + 1 :]


def _cut_bgzip_at_block(ctx: Ctx, spec: dict[str, Any]) -> None:
    """A bgzip FASTA cut at a block boundary: every block left decodes, so htslib reads a
    shorter genome; only the missing end-of-file block tells."""
    import pysam

    big = write_fasta(ctx.tmp / "big.fa", {"chrA": 200_000, "chrB": 12_000})
    pysam.tabix_compress(str(big), str(ctx.tmp / "big.fa.gz"))
    data = (ctx.tmp / "big.fa.gz").read_bytes()
    second = data.index(b"\x1f\x8b\x08\x04", 1)  # the second BGZF block
    spec["genome"]["fasta"] = ctx.file("cut.fa.gz", data[:second])
    ctx.names = "cut.fa.gz"


def _peaks_dir(files: dict[str, str]):
    def change(ctx: Ctx, spec: dict[str, Any]) -> None:
        folder = ctx.tmp / "peaks"
        folder.mkdir()
        for name, text in files.items():
            write_gz(folder / name, text)
        spec["labels"] = [{"peaks_dir": str(folder)}]
        ctx.names = "peaks"

    return change


def _second_meta(ctx: Ctx, spec: dict[str, Any]) -> None:
    spec["cells"]["Y"] = {"metadata": ctx.file("y.meta.txt", "1.0\tGEPC1\n")}
    ctx.names = "y.meta.txt"


def _duplicate_pair(ctx: Ctx, spec: dict[str, Any]) -> None:
    spec["labels"].append(dict(spec["labels"][0]))
    ctx.names = "c.np.gz"


def _missing_spec(ctx: Ctx) -> list[str]:
    ctx.out, ctx.names = ctx.tmp / "out.zarr", "missing.yaml"
    return ["build", str(ctx.tmp / "missing.yaml"), str(ctx.out), "--quiet"]


def _existing_store(ctx: Ctx, spec: dict[str, Any]) -> None:
    (ctx.tmp / "out.zarr").mkdir()
    ctx.names = "out.zarr"


NP = narrowpeak_row
DREAM_HEAD = "chr\tstart\tstop\tX\n"

BUILD_ROWS = [
    ("spec-missing", _missing_spec, "no such spec file"),
    ("spec-not-yaml", build(_set("name", "x"), raw=b"genome: [\n"), "not valid YAML"),
    ("spec-a-list", build(_set("name", "x"), raw=b"- genome\n"), "must be a YAML mapping"),
    ("spec-not-utf8", build(_set("name", "x"), raw=b"name: caf\xe9\n"), "not UTF-8"),
    ("spec-duplicate-key", build(_set("name", "x"), raw=b"name: a\nname: b\n"), "duplicate key"),
    ("spec-unknown-key", build(_set("genomes", {})), "schema"),
    (
        "spec-no-genome",
        build(lambda c, s: (s.pop("genome"), setattr(c, "names", "spec.yaml"))),
        "schema",
    ),
    ("spec-bin-size-0", build(_set("bins", {"size": 0})), "schema at bins/size"),
    ("spec-signal-dtype", build(_set("signal_dtype", "int8")), "schema at signal_dtype"),
    ("spec-label-no-tf", build(_set("labels.0", {"cell": "X", "conservative": "c"})), "schema"),
    ("spec-metadata-fill", build(_set("metadata_fill", "zero")), "schema at metadata_fill"),
    ("spec-allow-empty", build(_set("labels.0.allow_empty", "yes")), "schema at labels/0"),
    ("spec-label-rule", build(_set("label_rule", {"bin_fraction": 2})), "schema at label_rule"),
    ("spec-chunks", build(_set("chunks", {"positions": 10})), "schema at chunks/positions"),
    ("spec-chroms-empty", build(_set("genome.chroms", [])), "schema at genome/chroms"),
    ("fasta-missing", build(_set("genome.fasta", "nope.fa", "nope.fa")), "no such FASTA"),
    ("fasta-empty", build(_replace("fasta", "e.fa", "")), "empty FASTA"),
    ("fasta-binary", build(_replace("fasta", "b.fa", bytes(range(256)) * 8)), "FASTA"),
    ("fasta-plain-gzip", build(_plain_gzip_fasta), "BGZF"),
    ("fasta-all-n", build(_all_n_fasta), "all N"),
    ("fasta-no-header", build(_replace("fasta", "h.fa", "ACGT\nACGT\n")), "FASTA"),
    ("fasta-folder", build(lambda c, s: _point(s, "fasta", str(c.tmp))), "is a directory"),
    (
        "fasta-cut-in-a-line",
        build(_damaged_fasta(lambda b: b[: _LINE_101 + 30])),
        "truncated FASTA",
    ),
    (
        "fasta-cut-in-last-line",
        build(_damaged_fasta(lambda b: b[:-25], indexed=True)),
        "cannot read the end of chrB: truncated FASTA",
    ),
    (
        "fasta-garbage-in-place",
        build(
            _damaged_fasta(lambda b: b[:_LINE_101] + bytes(range(128, 188)) + b[_LINE_101 + 60 :])
        ),
        "at chrA:6,001 is not a base letter",
    ),
    (
        "fasta-nul-bytes",
        build(_damaged_fasta(lambda b: b[:_LINE_101] + bytes(60) + b[_LINE_101 + 60 :])),
        "is not a base letter",
    ),
    (
        "fasta-garbage-inserted",
        build(_damaged_fasta(lambda b: b[:_LINE_101] + bytes(range(256)) + b[_LINE_101:])),
        "cannot index FASTA: Format error",
    ),
    (
        "fasta-short-line",
        build(_damaged_fasta(lambda b: b[: _LINE_101 + 30] + b[_LINE_101 + 60 :])),
        "cannot index FASTA",
    ),
    (
        "fasta-long-line",
        build(_damaged_fasta(lambda b: b[: _LINE_101 + 60] + b"ACGT" + b[_LINE_101 + 60 :])),
        "Different line length in sequence 'chrA'",
    ),
    (
        "fasta-short-line-indexed",
        build(_damaged_fasta(_wrap_line_101_early, indexed=True)),
        "line 101 of chrA",
    ),
    (
        "fasta-bgzip-garbage",
        build(
            _damaged_fasta(
                lambda b: b[:_LINE_101] + b"@#$%^&*()!" * 6 + b[_LINE_101 + 60 :], bgzip=True
            )
        ),
        "byte b'@' at chrA:6,001",
    ),
    ("fasta-bgzip-cut-at-block", build(_cut_bgzip_at_block), "no BGZF end-of-file block"),
    (
        "chroms-unknown",
        build(_set("genome.chroms", ["chrZ"], "g.fa")),
        "'chrZ' is not in the FASTA",
    ),
    ("chroms-prefix", build(_set("genome.chroms", ["A"], "g.fa")), "chr-prefix mismatch"),
    ("sizes-missing", build(_set("genome.chrom_sizes", "nope.sizes", "nope.sizes")), "no such"),
    ("sizes-empty", build(_replace("sizes", "e.sizes", "")), "empty chrom sizes"),
    ("sizes-bad-row", build(_replace("sizes", "b.sizes", "chrA\tlong\n")), "chrom<TAB>length"),
    ("sizes-other-assembly", build(_replace("sizes", "o.sizes", "chrA\t31000\n")), "assembly"),
    ("bigwig-missing", build(_set("cells.X.tracks.DNase", "nope.bw", "nope.bw")), "no such bigWig"),
    ("bigwig-empty", build(_replace("bigwig", "e.bw", "")), "empty bigWig"),
    ("bigwig-junk", build(_replace("bigwig", "j.bw", b"\x00junk" * 100)), "not a readable bigWig"),
    ("bigwig-text", build(_replace("bigwig", "t.bw", "chrA\t0\t10\t1.0\n")), "bigWig"),
    ("bigwig-truncated", build(_truncated_bigwig), "bigWig"),
    ("bigwig-assembly", build(_bigwig("l.bw", {"chrA": 31_000})), "another assembly"),
    ("bigwig-prefix", build(_bigwig("p.bw", {"A": 30_000})), "names do not match"),
    ("peaks-missing", build(_set("labels.0.conservative", "nope.np.gz", "nope.np.gz")), "no such"),
    ("peaks-empty", build(_replace("peaks", "e.np.gz", "", gz=True)), "allow_empty"),
    ("peaks-other-chroms", build(_replace("peaks", "o.np", NP("chrZ", 1, 300))), "no peak on"),
    ("peaks-prefix", build(_replace("peaks", "p.np", NP("A", 1, 300))), "names do not match"),
    ("peaks-past-end", build(_replace("peaks", "x.np", NP("chrB", 11_900, 12_100))), "past the"),
    ("peaks-2-columns", build(_replace("peaks", "c.np", "chrA\t5\n")), "at least 3 columns"),
    ("peaks-start-text", build(_replace("peaks", "s.np", "chrA\tfive\t10\n")), "not integers"),
    ("peaks-end-before", build(_replace("peaks", "r.np", "chrA\t50\t10\n")), "0 <= start < end"),
    (
        "peaks-ragged",
        build(_replace("peaks", "g.np", NP("chrA", 1, 9) + "chrA\t20\t30\n")),
        "columns",
    ),
    ("peaks-truncated-gz", build(_truncated_peaks), "truncated or corrupt"),
    ("peaks-binary", build(_replace("peaks", "b.np", b"\xff\xfe\x00" * 50)), "not a text file"),
    ("peaks-duplicate-pair", build(_duplicate_pair), "duplicate TF x cell pair"),
    (
        "peaks-dir-missing",
        build(_set("labels.0", {"peaks_dir": "nowhere"}, "nowhere")),
        "no such peaks folder",
    ),
    ("peaks-dir-empty", build(_peaks_dir({"readme.txt": "x"})), "no ChIPseq"),
    (
        "peaks-dir-relaxed-only",
        build(_peaks_dir({"ChIPseq.X.T.relaxed.narrowPeak.gz": NP("chrA", 1, 300)})),
        "without a conservative",
    ),
    ("meta-features-differ", build(_second_meta), "lacks metadata feature"),
    ("meta-not-number", build(_replace("meta", "n.meta", "abc\tGEPC1\n")), "is not a number"),
    ("meta-empty", build(_replace("meta", "e.meta", "\n")), "empty metadata file"),
    ("meta-three-columns", build(_replace("meta", "t.meta", "1\t2\tGEPC1\n")), "value<TAB>name"),
    ("blacklist-bad-row", build(_replace("blacklist", "bl.bed", "chrA\t1\n")), "malformed BED row"),
    ("annotation-missing", build(_set("annotations.cpg", "nope.bed", "nope.bed")), "no such"),
    (
        "dream-header",
        build(_replace("dream", "d.tsv", "a\tb\tc\td\n")),
        "not an ENCODE-DREAM label TSV",
    ),
    (
        "dream-off-grid",
        build(_replace("dream", "g.tsv", DREAM_HEAD + "chrA\t10\t210\tB\n")),
        "bin grid",
    ),
    ("dream-letter", build(_replace("dream", "l.tsv", DREAM_HEAD + "chrA\t0\t200\tQ\n")), "l.tsv"),
    (
        "dream-columns",
        build(_replace("dream", "c.tsv", DREAM_HEAD + "chrA\t0\t200\tB\tU\n")),
        "c.tsv",
    ),
    ("dream-duplicate-pair", build(_replace("dream", "CTCF.tsv", DREAM_HEAD)), "duplicate"),
    (
        "bins-longer-than-chroms",
        build(_set("bins", {"size": 50_000, "stride": 50}, "g.fa")),
        "shorter than one",
    ),
    ("store-exists", build(_existing_store), "already exists"),
    (
        "overwrite-and-resume",
        build(_set("name", "x", "out.zarr"), "--overwrite", "--resume"),
        "exclude each other",
    ),
]


# --------------------------------------------------------------------------- other commands


def cmd(*args: str, out: str | None = None, names: str | None = None):
    """A row of another command: ``{store}`` and ``{tmp}`` in ``args`` are filled in."""

    def setup(ctx: Ctx) -> list[str]:
        ctx.out = ctx.tmp / out if out else None
        ctx.names = names
        return [a.format(store=ctx.store, tmp=ctx.tmp) for a in args]

    return setup


def with_file(
    name: str, data: str | bytes, *args: str, out: str | None = None, names: str | None = None
):
    """Like :func:`cmd`, after writing ``data`` to ``tmp/name`` (named in the error unless
    ``names`` says otherwise)."""

    def setup(ctx: Ctx) -> list[str]:
        ctx.file(name, data)
        return cmd(*args, out=out, names=name if names is None else names)(ctx)

    return setup


def _store_copy(damage: Callable[[Path], None], *args: str):
    def setup(ctx: Ctx) -> list[str]:
        copy = ctx.tmp / "copy.zarr"
        shutil.copytree(ctx.store, copy)
        damage(copy)
        ctx.names = "copy.zarr"
        return [a.format(store=copy, tmp=ctx.tmp) for a in args]

    return setup


def _unlink_first_chunk(store: Path) -> None:
    chunk = sorted(p for p in (store / "sequence").rglob("*") if p.is_file() and "c" in p.parts)
    chunk[0].unlink()


def _break_zarr_json(store: Path) -> None:
    (store / "zarr.json").write_text("{ not json")


def _truncate_array_json(store: Path) -> None:
    meta = store / "labels" / "zarr.json"
    meta.write_bytes(meta.read_bytes()[:50])


def _zarr_v2_group(store: Path) -> None:
    """Replace the store by a Zarr v2 group that carries fnstore's attribute block."""
    import json

    shutil.rmtree(store)
    store.mkdir()
    (store / ".zgroup").write_text(json.dumps({"zarr_format": 2}))
    (store / ".zattrs").write_text(json.dumps({"fnstore": {"schema_version": 1}}))


PRED = "chr20_slice\t0\t200\t0.5\n"
LEGACY_LAYER = '{"class_name": "Model", "config": {"layers": [{"class_name": "Dense"}]}}'
EXPORT = ("export", "{store}")

OTHER_ROWS = [
    ("info-missing", cmd("info", "{tmp}/nope.zarr", names="nope.zarr"), "nope.zarr"),
    ("info-folder-not-store", cmd("info", "{tmp}", names=""), "store"),
    ("info-text-file", with_file("s.txt", "hello\n", "info", "{tmp}/s.txt"), "s.txt"),
    ("info-damaged-zarr-json", _store_copy(_break_zarr_json, "info", "{store}"), "copy.zarr"),
    ("info-zarr-v2-group", _store_copy(_zarr_v2_group, "info", "{store}"), "Zarr v2"),
    (
        "export-truncated-array-json",
        _store_copy(_truncate_array_json, *EXPORT, "{tmp}/o.tsv", "--what", "labels"),
        "labels/zarr.json",
    ),
    ("validate-missing", cmd("validate", "{tmp}/nope.zarr", names="nope.zarr"), "nope.zarr"),
    (
        "validate-missing-chunk",
        _store_copy(_unlink_first_chunk, "validate", "{store}"),
        "copy.zarr",
    ),
    (
        "export-unknown-tf",
        cmd(
            *EXPORT,
            "{tmp}/o.tsv.gz",
            "--what",
            "labels",
            "--tf",
            "NOPE",
            out="o.tsv.gz",
            names="NOPE",
        ),
        "NOPE",
    ),
    (
        "export-unknown-cell",
        cmd(*EXPORT, "{tmp}/o.bw", "--what", "signals", "--cell", "NOPE", out="o.bw", names="NOPE"),
        "NOPE",
    ),
    (
        "export-unknown-track",
        cmd(
            *EXPORT,
            "{tmp}/o.bw",
            "--what",
            "signals",
            "--cell",
            "GM12878",
            "--track",
            "NOPE",
            out="o.bw",
            names="NOPE",
        ),
        "NOPE",
    ),
    (
        "export-unknown-chrom",
        cmd(
            *EXPORT, "{tmp}/o.bed", "--what", "bins", "--chroms", "chrZ", out="o.bed", names="chrZ"
        ),
        "chrZ",
    ),
    (
        "export-bad-format",
        cmd(
            *EXPORT, "{tmp}/o.bed", "--what", "bins", "--format", "xls", out="o.bed", names="format"
        ),
        "xls",
    ),
    (
        "export-regions-missing",
        cmd(
            *EXPORT,
            "{tmp}/o.bed",
            "--what",
            "bins",
            "--regions",
            "{tmp}/r.bed",
            out="o.bed",
            names="r.bed",
        ),
        "r.bed",
    ),
    (
        "export-regions-malformed",
        with_file(
            "r.bed",
            "chr20_slice\tx\ty\n",
            *EXPORT,
            "{tmp}/o.bed",
            "--what",
            "bins",
            "--regions",
            "{tmp}/r.bed",
            out="o.bed",
        ),
        "r.bed",
    ),
    (
        "export-store-missing",
        cmd(
            "export",
            "{tmp}/nope.zarr",
            "{tmp}/o.bed",
            "--what",
            "bins",
            out="o.bed",
            names="nope.zarr",
        ),
        "nope.zarr",
    ),
    (
        "evaluate-pred-missing",
        cmd(
            "evaluate",
            "{tmp}/p.tab",
            "{store}",
            "--tf",
            "ZNF143",
            "--cell",
            "GM12878",
            names="p.tab",
        ),
        "p.tab",
    ),
    (
        "evaluate-pred-junk",
        with_file(
            "p.tab",
            "hello world\n",
            "evaluate",
            "{tmp}/p.tab",
            "{store}",
            "--tf",
            "ZNF143",
            "--cell",
            "GM12878",
        ),
        "p.tab",
    ),
    (
        "evaluate-pred-binary",
        with_file(
            "p.tab",
            b"\x00\xff" * 100,
            "evaluate",
            "{tmp}/p.tab",
            "{store}",
            "--tf",
            "ZNF143",
            "--cell",
            "GM12878",
        ),
        "p.tab",
    ),
    (
        "evaluate-pred-partial",
        with_file(
            "p.tab",
            PRED,
            "evaluate",
            "{tmp}/p.tab",
            "{store}",
            "--tf",
            "ZNF143",
            "--cell",
            "GM12878",
        ),
        "p.tab",
    ),
    (
        "evaluate-unknown-tf",
        with_file(
            "p.tab",
            PRED,
            "evaluate",
            "{tmp}/p.tab",
            "{store}",
            "--tf",
            "NOPE",
            "--cell",
            "GM12878",
            names="example.zarr",
        ),
        "unknown TF 'NOPE'",
    ),
    (
        "evaluate-store-missing",
        with_file(
            "p.tab",
            PRED,
            "evaluate",
            "{tmp}/p.tab",
            "{tmp}/nope.zarr",
            "--tf",
            "ZNF143",
            "--cell",
            "GM12878",
            names="nope.zarr",
        ),
        "nope.zarr",
    ),
    (
        "ensemble-input-missing",
        cmd(
            "ensemble",
            "{tmp}/e.tab.gz",
            "{tmp}/a.tab",
            "{tmp}/b.tab",
            out="e.tab.gz",
            names="a.tab",
        ),
        "a.tab",
    ),
    (
        "ensemble-input-junk",
        with_file(
            "a.tab",
            "junk\n",
            "ensemble",
            "{tmp}/e.tab.gz",
            "{tmp}/a.tab",
            "{tmp}/a.tab",
            out="e.tab.gz",
        ),
        "a.tab",
    ),
    (
        "ensemble-out-format",
        with_file(
            "a.tab",
            PRED,
            "ensemble",
            "{tmp}/e.xyz",
            "{tmp}/a.tab",
            "{tmp}/a.tab",
            out="e.xyz",
            names="e.xyz",
        ),
        "e.xyz",
    ),
    (
        "predict-model-missing",
        cmd(
            "predict",
            "{tmp}/nomodel",
            "{store}",
            "{tmp}/preds",
            "--cell",
            "GM12878",
            out="preds",
            names="nomodel",
        ),
        "nomodel",
    ),
    (
        "predict-model-empty",
        cmd(
            "predict", "{tmp}", "{store}", "{tmp}/preds", "--cell", "GM12878", out="preds", names=""
        ),
        "model",
    ),
    (
        "legacy-missing",
        cmd("import-legacy", "{tmp}/nolegacy", "{tmp}/m", out="m", names="nolegacy"),
        "no such FactorNet model folder",
    ),
    (
        "legacy-no-model-json",
        cmd("import-legacy", "{tmp}", "{tmp}/m", out="m", names="model.json"),
        "missing",
    ),
    (
        "legacy-layer-no-name",
        with_file("model.json", LEGACY_LAYER, "import-legacy", "{tmp}", "{tmp}/m", out="m"),
        "has no 'name'",
    ),
    (
        "legacy-json-garbage",
        with_file("model.json", "{[", "import-legacy", "{tmp}", "{tmp}/m", out="m"),
        "model.json",
    ),
    (
        "legacy-bad-alias",
        cmd(
            "import-legacy",
            "{tmp}",
            "{tmp}/m",
            "--track-alias",
            "DGF",
            out="m",
            names="--track-alias",
        ),
        "LEGACY=TRACK",
    ),
]

#: rows that reveal a traceback or a silent success in code this suite does not own
KNOWN: dict[str, str] = {}

ROWS = BUILD_ROWS + OTHER_ROWS


def test_table_is_big_enough():
    assert len(ROWS) >= 60
    assert len({r[0] for r in ROWS}) == len(ROWS)


@pytest.mark.parametrize(
    ("setup", "fragment"),
    [
        pytest.param(
            s,
            f,
            id=i,
            marks=[pytest.mark.xfail(reason=KNOWN[i], strict=True)] if i in KNOWN else [],
        )
        for i, s, f in ROWS
    ],
)
def test_bad_input_is_one_line(tmp_path, example_store_path, setup, fragment):
    ctx = Ctx(tmp_path, example_store_path)
    args = setup(ctx)
    before = ctx.out.exists() if ctx.out is not None else False
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1, result.output
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, result.stderr
    line = lines[0]
    assert line.startswith("Error: "), line
    assert "Traceback" not in result.output, result.output
    assert not line.startswith("Error: unexpected "), line
    assert fragment in line, (fragment, line)
    name = ctx.names if ctx.names is not None else ""
    assert name in line, (name, line)
    if ctx.out is not None and not before:
        assert not ctx.out.exists(), f"{ctx.out} was written"
    leftovers = [p.name for p in tmp_path.rglob(".tmp-*")]
    assert not leftovers, leftovers
