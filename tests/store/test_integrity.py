"""Store integrity: a missing or damaged chunk is an error naming it, never fill values.

Each fault test damages one chunk of a fresh copy of the example store (deleted, one byte
flipped, truncated) and checks that ``validate`` names it, that the Store's bulk reads and
the sampler's whole-chunk reader raise a StoreError naming it, and that ``fnstore info`` /
``fnstore export`` exit 1 with one ``Error:`` line on stderr naming it.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import zarr
from click.testing import CliRunner

from fnstore.cli import main
from fnstore.errors import StoreError
from fnstore.store.chunks import whole_chunk_reader
from fnstore.store.integrity import chunk_files, is_chunk_key
from fnstore.store.layout import FORMAT_NAME, MANIFEST
from fnstore.store.read import open_store
from fnstore.store.validate import validate_store

CHROM = "chr20_slice"
MI = 1 << 20
#: one damaged chunk per kind of data: the first labels chunk, the second sequence chunk,
#: GM12878's second ATAC chunk (the example has one 4.5 Mb chromosome)
TARGETS = {
    "labels": "labels/c/0/0",
    "sequence": "sequence/c/1",
    "signal": "signals/ATAC/c/0/1",
}


@pytest.fixture
def copy(example_store_path: Path, tmp_path: Path) -> Path:
    """A fresh, writable copy of the example store."""
    dst = tmp_path / "copy.zarr"
    shutil.copytree(example_store_path, dst)
    return dst


@pytest.fixture
def region_bed(tmp_path: Path) -> Path:
    """1 kb inside the second position chunk (sequence/c/1, signals/ATAC/c/0/1)."""
    bed = tmp_path / "r.bed"
    bed.write_text(f"{CHROM}\t1100000\t1101000\n")
    return bed


def every_fault(test):
    """Run ``test(kind, how)`` for each target chunk and each kind of damage."""
    test = pytest.mark.parametrize("how", ["delete", "flip", "truncate"])(test)
    return pytest.mark.faults(pytest.mark.parametrize("kind", sorted(TARGETS))(test))


def damage(store: Path, key: str, how: str) -> None:
    """Delete a chunk file, flip one byte in its middle, or cut it to half its size."""
    f = store / key
    data = bytearray(f.read_bytes())
    if how == "delete":
        f.unlink()
    elif how == "flip":
        data[len(data) // 2] ^= 0xFF
        f.write_bytes(bytes(data))
    else:
        f.write_bytes(bytes(data[: len(data) // 2]))


def read_kind(store_path: Path, kind: str) -> np.ndarray:
    """The Store bulk read that covers the target chunk of ``kind``."""
    s = open_store(store_path)
    if kind == "labels":
        return s.labels()
    if kind == "sequence":
        return s.sequence(CHROM, 0, 3 * MI)
    return s.signal("GM12878", "ATAC", CHROM, 0, 3 * MI)


def cli_args(store: Path, kind: str, out_dir: Path, bed: Path) -> list[list[str]]:
    """The commands that read the target chunk of ``kind``."""
    if kind == "labels":
        export = ["--what", "labels", "--tf", "YY1"]
        return [["info", str(store)], ["export", str(store), str(out_dir / "l.tsv.gz"), *export]]
    if kind == "sequence":
        export = ["--what", "sequence", "--regions", str(bed)]
        return [["export", str(store), str(out_dir / "s.fa"), *export]]
    export = ["--what", "signals", "--cell", "GM12878", "--track", "ATAC", "--regions", str(bed)]
    return [["export", str(store), str(out_dir / "g.bedgraph"), *export]]


# ------------------------------------------------------------------ an intact store


def test_intact_store_validates_and_has_a_full_manifest(copy: Path) -> None:
    for deep in (False, True):
        result = validate_store(copy, deep=deep)
        assert result.ok, result.problems
    assert result.decoded is not None and result.decoded.chunks > 0
    manifest = json.loads((copy / MANIFEST).read_text())["attributes"]["manifest"]
    files = {
        f.relative_to(copy).as_posix(): f.stat().st_size for f in copy.rglob("*") if f.is_file()
    }
    chunks = {k: n for k, n in files.items() if is_chunk_key(k)}
    assert manifest["chunks"] == chunks == chunk_files(zarr.storage.LocalStore(copy))
    assert manifest["n_chunks"] == len(chunks) and manifest["bytes"] == sum(chunks.values())
    assert open_store(copy).attrs[FORMAT_NAME]["manifest"] == MANIFEST


def test_every_chunk_is_written_with_a_zstd_checksum(example_store_path: Path) -> None:
    root = zarr.open_group(str(example_store_path), mode="r")
    arrays = [a for _, a in root.arrays()] + [a for _, a in root["signals"].arrays()]
    for arr in arrays:
        zstd = [c for c in arr.metadata.codecs if type(c).__name__ == "ZstdCodec"]
        assert zstd and zstd[0].checksum, arr.path
        if arr.size:  # fill-valued chunks too (HepG2 has no ATAC: its chunks are all 0)
            assert arr.nchunks_initialized == arr.nchunks, arr.path


def test_intact_copy_reads_identically(example_store, copy: Path) -> None:
    s = open_store(copy)
    np.testing.assert_array_equal(s.labels(), example_store.labels())
    np.testing.assert_array_equal(
        s.sequence(CHROM, 0, 4_500_000), example_store.sequence(CHROM, 0, 4_500_000)
    )
    for cell in s.cells:
        np.testing.assert_array_equal(
            s.signal(cell, "ATAC", CHROM, 0, 4_500_000),
            example_store.signal(cell, "ATAC", CHROM, 0, 4_500_000),
        )
    out = np.empty(MI, np.uint8)
    whole_chunk_reader(s.sequence_array)((1,), out)
    np.testing.assert_array_equal(out, example_store.sequence(CHROM, MI, 2 * MI))


# ------------------------------------------------------------------ damaged chunks


@every_fault
def test_validate_names_the_damaged_chunk(copy: Path, kind: str, how: str) -> None:
    key = TARGETS[kind]
    damage(copy, key, how)
    quick, deep = validate_store(copy), validate_store(copy, deep=True)
    named = f"{copy}/{key}: "
    if how == "flip":  # same size: only decoding finds it
        assert quick.ok, quick.problems
    else:
        assert [p for p in quick if p.startswith(named)], quick.problems
    assert not deep.ok and [p for p in deep if p.startswith(named)], deep.problems
    assert all("\n" not in p for p in deep)


@every_fault
def test_reads_raise_naming_the_chunk(copy: Path, kind: str, how: str) -> None:
    key = TARGETS[kind]
    damage(copy, key, how)
    problem = "missing chunk" if how == "delete" else "damaged chunk"
    with pytest.raises(StoreError, match=f"^{copy}/{key}: {problem}"):
        read_kind(copy, kind)
    if kind != "labels":  # the sampler's fast path
        s = open_store(copy)
        arr = s.sequence_array if kind == "sequence" else s.signal_array("ATAC")
        coords = (1,) if kind == "sequence" else (0, 1)
        out = np.empty(arr.chunks, arr.dtype)
        with pytest.raises(StoreError, match=f"{key}: {problem}"):
            whole_chunk_reader(arr)(coords, out)


@every_fault
def test_commands_print_one_error_line(
    copy: Path, tmp_path: Path, region_bed: Path, kind: str, how: str
) -> None:
    key = TARGETS[kind]
    damage(copy, key, how)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    for args in cli_args(copy, kind, out_dir, region_bed):
        res = CliRunner().invoke(main, [*args, *(["--quiet"] if args[0] == "export" else [])])
        assert res.exit_code == 1, (args, res.output)
        lines = res.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"Error: {copy}/{key}: "), res.stderr
    validate = CliRunner().invoke(main, ["validate", str(copy), "--deep", "--no-checksums"])
    assert validate.exit_code == 1 and f"{copy}/{key}: " in validate.stderr
    assert validate.stdout.startswith("deep check: ")


def test_cli_validate_intact(copy: Path) -> None:
    res = CliRunner().invoke(main, ["validate", str(copy), "--deep"])
    assert res.exit_code == 0, res.output
    assert res.stdout.splitlines()[0].startswith("deep check: ")
    assert res.stdout.splitlines()[-1] == f"{copy}: OK"


@pytest.mark.faults
def test_extra_and_resized_chunk_files(copy: Path) -> None:
    (copy / "labels" / "c" / "9").mkdir()
    (copy / "labels" / "c" / "9" / "0").write_bytes(b"stray")
    f = copy / TARGETS["sequence"]
    f.write_bytes(f.read_bytes() + b"\0")
    problems = validate_store(copy).problems
    assert f"{copy}/labels/c/9/0: chunk not in the manifest" in problems
    assert any(
        p.startswith(f"{copy}/{TARGETS['sequence']}: ") and "manifest records" in p
        for p in problems
    )


@pytest.mark.faults
def test_a_store_without_manifest_reads_as_before(copy: Path) -> None:
    """Stores built before manifests: an absent chunk still reads as the fill value."""
    root = zarr.open_group(str(copy), mode="r+")
    meta = dict(root.attrs[FORMAT_NAME])
    del meta["manifest"]
    root.attrs[FORMAT_NAME] = meta
    (copy / MANIFEST).unlink()
    (copy / TARGETS["labels"]).unlink()
    labels = open_store(copy).labels(bins=slice(0, 10))
    assert (labels == -1).all()
    assert validate_store(copy).ok


def test_xarray_and_zarr_open_a_manifest_store_without_warnings(example_store_path: Path) -> None:
    """The manifest is a valid Zarr node: listing the hierarchy or opening it with xarray warns
    about nothing (a loose JSON file in the root made zarr-python warn on every listing)."""
    import warnings

    import xarray as xr

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        root = zarr.open_group(str(example_store_path), mode="r")
        assert "fnstore_manifest" in {name for name, _ in root.groups()}
        assert "labels" in {name for name, _ in root.arrays()}
        xr.open_zarr(str(example_store_path), consolidated=False)
