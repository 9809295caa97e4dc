"""fnstore variants: allele windows, effects, flags, table files, resuming and bad inputs."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from planted_motif import MOTIF, MOTIF_AT, save_planted_model, toy_store_with_motif

from fnstore.errors import InputError
from fnstore.variants.run import score_variants, write_variant_effects

POS = MOTIF_AT + 1  # 1-based position of the motif's first base


@pytest.fixture(scope="module")
def toy(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("variants")
    return {
        "store": toy_store_with_motif(d / "ref"),
        "alt_store": toy_store_with_motif(d / "alt", base_at_motif="C"),
        "model": save_planted_model(d / "model", ["DNase"]),
        "dir": d,
    }


def table(path: Path, rows: list[str]) -> Path:
    path.write_text("chrom\tpos\tref\talt\n" + "".join(r + "\n" for r in rows))
    return path


def vcf(path: Path, rows: list[str], contig: str = "chrA") -> Path:
    head = (
        "##fileformat=VCFv4.2\n"
        f"##contig=<ID={contig},length=30000>\n"
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
    )
    path.write_text(head + "".join(r + "\n" for r in rows))
    return path


def test_destroying_the_motif_lowers_and_restoring_raises_by_the_same(toy, tmp_path) -> None:
    down = score_variants(
        toy["model"], toy["store"], table(tmp_path / "a.tsv", [f"chrA\t{POS}\tG\tC"]), "X"
    )
    assert down.loc[0, "status"] == "scored" and bool(down.loc[0, "ref_match"])
    assert down.loc[0, "ref_prob"] == pytest.approx(0.5, abs=1e-5)
    assert down.loc[0, "alt_prob"] == pytest.approx(1 / (1 + np.exp(2)), abs=1e-5)
    assert down.loc[0, "diff"] < -0.3 and down.loc[0, "log_odds_ratio"] < 0
    # the genome that carries the ALT: the reverse variant restores the motif
    up = score_variants(
        toy["model"], toy["alt_store"], table(tmp_path / "b.tsv", [f"chrA\t{POS}\tC\tG"]), "X"
    )
    assert bool(up.loc[0, "ref_match"])
    assert up.loc[0, "diff"] == pytest.approx(-down.loc[0, "diff"], abs=1e-6)
    assert up.loc[0, "log_odds_ratio"] == pytest.approx(-down.loc[0, "log_odds_ratio"], abs=1e-4)
    # a base outside the motif changes nothing
    far = score_variants(
        toy["model"], toy["store"], table(tmp_path / "c.tsv", [f"chrA\t{POS + 30}\tA\tC"]), "X"
    )
    assert abs(far.loc[0, "diff"]) < 1e-6


def test_rows_flagged_split_and_indels(toy, tmp_path) -> None:
    rows = [
        f"chrA\t{POS}\tG\tC,T",  # multi-allelic: two rows
        f"chrA\t{POS}\tT\tG",  # REF does not match the genome: flagged, scored as written
        f"chrA\t{POS + 1}\tAT\tA",  # deletion inside the motif
        f"chrA\t{POS}\tG\tGC",  # insertion inside the motif
        "chrB\t5\tA\tC",  # (random REF) on the store, scored
        "chrZ\t5\tA\tC",  # not a store chromosome
        "chrA\t30000\tAC\tA",  # runs past chrA's end
        "chrA\t29500\tA\tC",  # in the blacklist (chrA:29000-30000)
        "chrA\t100\tA\t<DEL>",  # symbolic allele
        "chrA\t200\t" + "A" * 60 + "\tA",  # longer than --max-allele
    ]
    got = score_variants(toy["model"], toy["store"], table(tmp_path / "v.tsv", rows), "X")
    assert len(got) == len(rows) + 1
    assert got["allele"].tolist()[:2] == [1, 2] and got["alt"].tolist()[:2] == ["C", "T"]
    assert got["status"].tolist() == [
        "scored",
        "scored",
        "scored",
        "scored",
        "scored",
        "scored",
        "outside_store",
        "outside_store",
        "scored",
        "not_sequence",
        "allele_too_long",
    ]
    assert got["ref_match"].tolist()[:4] == [True, True, False, True]
    assert got.loc[2, "ref_prob"] == pytest.approx(1 / (1 + np.exp(2)), abs=1e-5)
    assert got.loc[2, "diff"] > 0.3  # T->G at the motif's first base makes it
    assert got.loc[3, "diff"] < -0.3  # the deletion breaks it
    assert got.loc[4, "diff"] < -0.3 and bool(got.loc[4, "ref_match"])  # insertion breaks it
    assert got["blacklisted"].tolist()[8] and not got["blacklisted"].tolist()[0]
    unscored = got["status"] != "scored"
    assert got.loc[unscored, "ref_prob"].isna().all()
    assert got.loc[~unscored, "ref_prob"].notna().all()


def test_vcf_and_bcf_give_the_table_rows(toy, tmp_path) -> None:
    import pysam

    rows = [f"chrA\t{POS}\trs1\tG\tC,A\t.\t.\t.", "chrA\t500\t.\tA\tG\t.\t.\t."]
    plain = vcf(tmp_path / "v.vcf", rows)
    pysam.tabix_compress(str(plain), str(tmp_path / "v.vcf.gz"))
    with (
        pysam.VariantFile(str(plain)) as src,
        pysam.VariantFile(str(tmp_path / "v.bcf"), "wb", header=src.header) as dst,
    ):
        for rec in src:
            dst.write(rec)
    tsv = table(tmp_path / "v.tsv", [f"chrA\t{POS}\tG\tC,A", "chrA\t500\tA\tG"])
    want = score_variants(toy["model"], toy["store"], tsv, "X").drop(columns=["id", "ref_match"])
    for name in ("v.vcf", "v.vcf.gz", "v.bcf"):
        got = score_variants(toy["model"], toy["store"], tmp_path / name, "X")
        assert got["id"].tolist() == ["rs1", "rs1", "."]
        pd.testing.assert_frame_equal(got.drop(columns=["id", "ref_match"]), want)


def test_a_vcf_without_records_gives_a_table_of_column_names(toy, tmp_path) -> None:
    out = tmp_path / "e.parquet"
    write_variant_effects(toy["model"], toy["store"], vcf(tmp_path / "v.vcf", []), out, "X")
    got = pd.read_parquet(out)
    assert len(got) == 0 and got.columns.tolist()[:3] == ["chrom", "pos", "id"]


def test_written_tables_match_the_api_and_resume(toy, tmp_path, monkeypatch) -> None:
    from fnstore.variants import run

    rows = [f"chrA\t{POS + k}\t{MOTIF[k]}\tA" for k in range(len(MOTIF))] + ["chrB\t9\tA\tC"]
    src = table(tmp_path / "v.tsv", rows)
    want = score_variants(toy["model"], toy["store"], src, "X", batch_size=3)
    for name in ("e.tsv", "e.tsv.gz", "e.parquet"):
        r = write_variant_effects(
            toy["model"], toy["store"], src, tmp_path / name, "X", batch_size=3
        )
        assert r.batches_total == 3 == r.batches_computed and r.n_records == len(rows)
        assert not (tmp_path / f"{name}.parts").exists()
        got = (
            pd.read_parquet(tmp_path / name)
            if name.endswith("parquet")
            else pd.read_csv(tmp_path / name, sep="\t", na_values="NA", keep_default_na=False)
        )
        assert got["status"].tolist() == want["status"].tolist()
        np.testing.assert_allclose(got["diff"], want["diff"], atol=1e-6)
    # a run killed after its first two batches, then resumed: same bytes, one batch computed
    calls = {"n": 0}
    real = run.VariantJob.table

    def dies(self, batch):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return real(self, batch)

    monkeypatch.setattr(run.VariantJob, "table", dies)
    out = tmp_path / "k.tsv.gz"
    with pytest.raises(KeyboardInterrupt):
        write_variant_effects(toy["model"], toy["store"], src, out, "X", batch_size=3)
    assert not out.exists() and (tmp_path / "k.tsv.gz.parts").is_dir()
    monkeypatch.setattr(run.VariantJob, "table", real)
    with pytest.raises(InputError, match="--resume"):
        write_variant_effects(toy["model"], toy["store"], src, out, "X", batch_size=3)
    with pytest.raises(InputError, match="other settings"):
        write_variant_effects(toy["model"], toy["store"], src, out, "X", batch_size=4, resume=True)
    r = write_variant_effects(toy["model"], toy["store"], src, out, "X", batch_size=3, resume=True)
    assert r.batches_computed == 1 and r.batches_total == 3
    assert gzip.decompress(out.read_bytes()) == gzip.decompress(
        (tmp_path / "e.tsv.gz").read_bytes()
    )


@pytest.mark.faults
@pytest.mark.parametrize(
    ("make", "cell", "message"),
    [
        (lambda p: p.joinpath("x.vcf").write_text("hello\tworld\n"), "X", "not a VCF"),
        (lambda p: p.joinpath("x.tsv").write_bytes(b"\x00\x01BAM"), "X", "binary"),
        (lambda p: p.joinpath("x.tsv").write_text("chrA\tten\tA\tC\n"), "X", "line 1: POS"),
        (lambda p: p.joinpath("x.tsv").write_text("chrA\t5\tA\n"), "X", "line 1: expected"),
        (lambda p: vcf(p / "x.vcf", ["A\t5\t.\tA\tC\t.\t.\t."], "A"), "X", "'chrA'"),
        (lambda p: table(p / "x.tsv", ["20\t5\tA\tC"]), "X", "another assembly"),
        (lambda p: table(p / "x.tsv", ["chrA\t5\tA\tC"]), "HepG2", "unknown cell"),
        (lambda p: table(p / "x.tsv", []), "X", "no variant records"),
    ],
)
def test_bad_inputs_are_one_error_and_write_nothing(toy, tmp_path, make, cell, message) -> None:
    made = make(tmp_path)
    src = made if isinstance(made, Path) else sorted(tmp_path.glob("x.*"))[0]
    out = tmp_path / "out" / "e.tsv"
    with pytest.raises(InputError, match=message):
        write_variant_effects(toy["model"], toy["store"], src, out, cell)
    assert not out.exists() and not out.with_name("e.tsv.parts").exists()


@pytest.mark.faults
def test_model_store_mismatch_and_cli_error_line(toy, tmp_path) -> None:
    from click.testing import CliRunner

    from fnstore.cli import main

    model = save_planted_model(tmp_path / "m2", ["ATAC"])
    src = table(tmp_path / "v.tsv", ["chrA\t5\tA\tC"])
    out = tmp_path / "e.tsv"
    args = ["variants", str(model), str(toy["store"]), str(src), str(out), "--cell", "X"]
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 1
    lines = res.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and "'ATAC'" in lines[0]
    assert not out.exists() and not (tmp_path / "e.tsv.parts").exists()
    args[1] = str(toy["model"])
    res = CliRunner().invoke(main, ["-q", *args])
    assert res.exit_code == 0, res.output
    assert "scored 1" in res.output and out.is_file()


@pytest.mark.faults
def test_full_disk_is_one_line_and_no_table(toy, tmp_path, monkeypatch) -> None:
    import errno

    from click.testing import CliRunner

    from fnstore.cli import main

    def full(self, path, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(pd.DataFrame, "to_parquet", full)
    src = table(tmp_path / "v.tsv", [f"chrA\t{POS}\tG\tC"])
    out = tmp_path / "e.tsv"
    args = ["-q", "variants", str(toy["model"]), str(toy["store"]), str(src), str(out)]
    res = CliRunner().invoke(main, [*args, "--cell", "X"])
    assert res.exit_code == 1
    lines = res.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ")
    assert "No space left on device" in lines[0] and "part-0000000.parquet" in lines[0]
    assert not out.exists() and not list((tmp_path / "e.tsv.parts").glob("part-*"))
    monkeypatch.undo()
    res = CliRunner().invoke(main, [*args, "--cell", "X", "--resume"])
    assert res.exit_code == 0, res.output
    assert out.is_file() and not (tmp_path / "e.tsv.parts").exists()
