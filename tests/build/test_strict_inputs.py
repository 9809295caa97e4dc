"""Input the build used to accept silently: refused in one line, or allowed by the spec."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml
from synthetic import narrowpeak_row, write_fasta, write_gz

from fnstore.build import build_store, load_spec
from fnstore.errors import InputError
from fnstore.store.read import open_store

pytestmark = pytest.mark.faults


def test_duplicate_yaml_key(tmp_path, toy):
    text = yaml.safe_dump(toy) + "name: one\nname: two\n"
    (tmp_path / "spec.yaml").write_text(text)
    with pytest.raises(InputError, match=r"spec\.yaml: not valid YAML .*duplicate key 'name'"):
        load_spec(tmp_path / "spec.yaml")


def test_duplicate_nested_yaml_key(tmp_path):
    (tmp_path / "spec.yaml").write_text("genome:\n  fasta: a.fa\n  fasta: b.fa\n")
    with pytest.raises(InputError, match="duplicate key 'fasta' on line 3"):
        load_spec(tmp_path / "spec.yaml")


def test_non_utf8_spec(tmp_path):
    (tmp_path / "spec.yaml").write_bytes(b"name: caf\xe9\ngenome: {fasta: a.fa}\n")
    with pytest.raises(InputError, match=r"spec\.yaml: not UTF-8"):
        load_spec(tmp_path / "spec.yaml")


def test_peaks_on_no_store_chromosome(tmp_path, toy):
    write_gz(Path(toy["labels"][0]["conservative"]), narrowpeak_row("chrZ", 10, 300))
    del toy["labels"][0]["relaxed"]
    with pytest.raises(InputError, match=r"c\.np\.gz: no peak on the store's chromosomes"):
        build_store(toy, tmp_path / "out.zarr")
    assert not (tmp_path / "out.zarr").exists()


def test_peaks_dir_allow_empty(tmp_path, toy):
    peaks = tmp_path / "peaks"
    peaks.mkdir()
    write_gz(peaks / "ChIPseq.X.CTCF.conservative.train.narrowPeak.gz", "")
    toy["labels"] = [{"peaks_dir": str(peaks)}]
    with pytest.raises(InputError, match="no peaks"):
        build_store(toy, tmp_path / "out.zarr")
    toy["labels"][0]["allow_empty"] = True
    build_store(toy, tmp_path / "out.zarr")
    assert (open_store(tmp_path / "out.zarr").labels([0]) == 0).all()


def _two_meta(toy: dict, d: Path) -> None:
    (d / "m1.txt").write_text("0.5\tPC1\n1.5\tPC2\n")
    (d / "m2.txt").write_text("2.5\tPC1\n")
    toy["cells"]["X"]["metadata"] = str(d / "m1.txt")
    toy["cells"]["Y"] = {"metadata": str(d / "m2.txt")}


def test_metadata_feature_sets_differ(tmp_path, toy):
    _two_meta(toy, tmp_path)
    with pytest.raises(InputError, match=r"m2\.txt: lacks metadata feature\(s\) PC2"):
        build_store(toy, tmp_path / "out.zarr")


@pytest.mark.parametrize("fill", ["nan", 0])
def test_metadata_fill(tmp_path, toy, fill):
    _two_meta(toy, tmp_path)
    toy["metadata_fill"] = fill
    build_store(toy, tmp_path / "out.zarr")
    got = open_store(tmp_path / "out.zarr").metadata("Y")
    np.testing.assert_array_equal(got, [2.5, np.nan if fill == "nan" else 0.0])


def test_metadata_fill_schema(tmp_path, toy):
    toy["metadata_fill"] = "zero"
    with pytest.raises(InputError, match="metadata_fill"):
        load_spec(toy)


def test_all_n_fasta(tmp_path, toy):
    lengths = {"chrA": 30_000, "chrB": 12_000}
    fasta = write_fasta(tmp_path / "n.fa", sequences={c: "N" * n for c, n in lengths.items()})
    toy["genome"]["fasta"] = str(fasta)
    with pytest.raises(InputError, match=r"n\.fa: no A, C, G or T in chrA, chrB"):
        build_store(toy, tmp_path / "out.zarr")
    assert not (tmp_path / "out.zarr").exists()


def test_mostly_n_fasta_builds(tmp_path, toy):
    seqs = {"chrA": "N" * 29_000 + "acgt" * 250, "chrB": "N" * 12_000}
    toy["genome"]["fasta"] = str(write_fasta(tmp_path / "n.fa", sequences=seqs))
    build_store(toy, tmp_path / "out.zarr")
