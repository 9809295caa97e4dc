"""A shared store records its inputs relative to the spec, never this machine's paths."""

from __future__ import annotations

import shutil
from pathlib import Path

from fnstore.build import build_store
from fnstore.store.read import open_store
from fnstore.store.validate import validate_store

EXAMPLE = Path(__file__).resolve().parents[2] / "fnstore" / "example"


def test_no_absolute_path_and_validate_follows_a_moved_tree(tmp_path: Path) -> None:
    tree = tmp_path / "project"
    shutil.copytree(EXAMPLE, tree / "spec")
    build_store(tree / "spec" / "spec.yaml", tree / "stores" / "ex.zarr", progress=False)
    attrs = (tree / "stores" / "ex.zarr" / "zarr.json").read_text()
    assert str(tmp_path) not in attrs and "/work/" not in attrs
    prov = open_store(tree / "stores" / "ex.zarr").provenance
    assert prov["inputs_base"] == "../spec" and prov["spec_source"] == "spec.yaml"
    fasta = prov["inputs"]["genome/chr20_slice.fa.gz"]
    assert fasta["name"] == "chr20_slice.fa.gz" and fasta["bytes"] > 0

    moved = tmp_path / "elsewhere"
    tree.rename(moved)
    assert validate_store(moved / "stores" / "ex.zarr").ok
    peaks = sorted((moved / "spec" / "peaks").rglob("*.narrowPeak.gz"))[0]
    peaks.write_bytes(peaks.read_bytes() + b"junk")
    result = validate_store(moved / "stores" / "ex.zarr")
    assert not result.ok and any(peaks.name in p and "changed" in p for p in result.problems)
