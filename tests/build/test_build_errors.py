"""Bad input: one line naming the file and the problem, exit 1, no traceback, no store left."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import yaml
from click.testing import CliRunner
from synthetic import narrowpeak_row, write_bigwig, write_gz

from fnstore.build import build_store
from fnstore.cli import main
from fnstore.errors import StoreError
from fnstore.store.read import open_store


def run_build(tmp_path: Path, spec: dict, *extra: str):
    spec_path = tmp_path / "spec.yaml"
    spec_path.write_text(yaml.safe_dump(spec))
    out = tmp_path / "out.zarr"
    result = CliRunner().invoke(main, ["build", str(spec_path), str(out), "--quiet", *extra])
    return result, out


def assert_one_line_error(result, out: Path, *fragments: str) -> None:
    assert result.exit_code == 1, result.output
    lines = [ln for ln in result.output.strip().splitlines() if ln]
    assert len(lines) == 1, result.output
    assert lines[0].startswith("Error: ")
    assert "Traceback" not in result.output
    for f in fragments:
        assert f in lines[0], (f, lines[0])
    assert not out.exists(), "a half-written store was left behind"


def test_toy_builds(tmp_path, toy):
    result, out = run_build(tmp_path, toy)
    assert result.exit_code == 0, result.output
    s = open_store(out)
    lab = s.labels([0])[:, 0]
    lo, _ = s.bin_range("chrA")
    assert lab[lo + 1000 // 50] == 1 and lab[lo + 10_000 // 50] == 0
    b_lo, _ = s.bin_range("chrB")
    assert lab[b_lo + 3000 // 50] == 2  # relaxed-only peak: ambiguous
    assert s.blacklist(slice(None)).sum() > 0
    assert s.annotations(np.array([lo + 1000 // 50]))[0, 0] == 1
    np.testing.assert_allclose(s.metadata("X"), [0.5, -0.25])


def test_missing_file(tmp_path, toy):
    toy["labels"][0]["conservative"] = str(tmp_path / "nope.narrowPeak.gz")
    result, out = run_build(tmp_path, toy)
    assert_one_line_error(result, out, "nope.narrowPeak.gz", "no such")


def test_chrom_name_mismatch_in_peaks(tmp_path, toy):
    p = write_gz(tmp_path / "in" / "bad.np.gz", narrowpeak_row("A", 100, 300))
    toy["labels"][0]["conservative"] = str(p)
    result, out = run_build(tmp_path, toy)
    assert_one_line_error(result, out, "bad.np.gz", "chromosome names do not match")


def test_chrom_name_mismatch_in_spec(tmp_path, toy):
    toy["genome"]["chroms"] = ["A"]
    result, out = run_build(tmp_path, toy)
    assert_one_line_error(result, out, "g.fa", "'A' is not in the FASTA", "chrA")


def test_bigwig_from_another_assembly(tmp_path, toy):
    toy["cells"]["X"]["tracks"]["DNase"] = str(
        write_bigwig(tmp_path / "in" / "other.bw", {"chrA": 31_000})
    )
    result, out = run_build(tmp_path, toy)
    assert_one_line_error(result, out, "other.bw", "another assembly")


def test_peaks_past_chromosome_end(tmp_path, toy):
    write_gz(Path(toy["labels"][0]["conservative"]), narrowpeak_row("chrB", 11_900, 12_400))
    result, out = run_build(tmp_path, toy)
    assert_one_line_error(result, out, "c.np.gz", "another assembly")


def test_truncated_gzip(tmp_path, toy):
    p = Path(toy["labels"][0]["relaxed"])
    big = "".join(narrowpeak_row("chrA", s, s + 100) for s in range(0, 29_000, 7))
    write_gz(p, big)
    data = p.read_bytes()
    p.write_bytes(data[: len(data) // 2])
    result, out = run_build(tmp_path, toy)
    assert_one_line_error(result, out, "r.np.gz", "truncated")


def test_truncated_bigwig(tmp_path, toy):
    p = Path(toy["cells"]["X"]["tracks"]["DNase"])
    data = p.read_bytes()
    p.write_bytes(data[: len(data) // 3])
    result, out = run_build(tmp_path, toy)
    assert_one_line_error(result, out, "x.bw", "bigWig")


def test_empty_bigwig_file(tmp_path, toy):
    Path(toy["cells"]["X"]["tracks"]["DNase"]).write_bytes(b"")
    result, out = run_build(tmp_path, toy)
    assert_one_line_error(result, out, "x.bw", "empty")


def test_malformed_narrowpeak_row(tmp_path, toy):
    write_gz(
        Path(toy["labels"][0]["conservative"]),
        narrowpeak_row("chrA", 100, 300) + "chrA\tten\t400\n",
    )
    result, out = run_build(tmp_path, toy)
    assert_one_line_error(result, out, "c.np.gz", "line 2", "malformed")


def test_duplicate_tf_cell_pair(tmp_path, toy):
    toy["labels"].append(dict(toy["labels"][0]))
    result, out = run_build(tmp_path, toy)
    assert_one_line_error(result, out, "duplicate TF x cell pair CTCF x X")


def test_spec_fails_schema(tmp_path, toy):
    toy["bins"] = {"size": "200"}
    result, out = run_build(tmp_path, toy)
    assert_one_line_error(result, out, "spec.yaml", "schema", "bins/size")


def test_unknown_spec_key(tmp_path, toy):
    toy["genomes"] = toy.pop("genome")
    result, out = run_build(tmp_path, toy)
    assert_one_line_error(result, out, "spec.yaml", "schema")


def test_empty_peak_file_is_an_error(tmp_path, toy):
    write_gz(Path(toy["labels"][0]["conservative"]), "")
    del toy["labels"][0]["relaxed"]
    result, out = run_build(tmp_path, toy)
    assert_one_line_error(result, out, "c.np.gz", "empty", "allow_empty")


def test_empty_peak_file_allowed_is_all_unbound(tmp_path, toy):
    write_gz(Path(toy["labels"][0]["conservative"]), "")
    del toy["labels"][0]["relaxed"]
    toy["labels"][0]["allow_empty"] = True
    result, out = run_build(tmp_path, toy)
    assert result.exit_code == 0, result.output
    assert (open_store(out).labels([0]) == 0).all()


def test_existing_store_needs_overwrite(tmp_path, toy):
    result, out = run_build(tmp_path, toy)
    assert result.exit_code == 0
    result, _ = run_build(tmp_path, toy)
    assert (
        result.exit_code == 1
        and "already exists" in result.output
        and "--overwrite" in result.output
    )
    result, _ = run_build(tmp_path, toy, "--overwrite")
    assert result.exit_code == 0


def test_dream_tsv_labels(tmp_path, toy):
    tsv = "chr\tstart\tstop\tX\tY\n" + "".join(
        f"chrA\t{s}\t{s + 200}\t{'B' if s == 1000 else 'A' if s == 1050 else 'U'}\tU\n"
        for s in range(0, 5000, 50)
    )
    toy["labels"] = [{"dream_tsv": str(write_gz(tmp_path / "in" / "MAX.train.labels.tsv.gz", tsv))}]
    result, out = run_build(tmp_path, toy)
    assert result.exit_code == 0, result.output
    s = open_store(out)
    assert [(t.tf, t.cell) for t in s.tasks] == [("MAX", "X"), ("MAX", "Y")]
    lab = s.labels()
    lo, _ = s.bin_range("chrA")
    assert lab[lo + 20, 0] == 1 and lab[lo + 21, 0] == 2 and lab[lo + 22, 0] == 0
    assert lab[lo + 200, 0] == -1  # not in the TSV: no data
    b_lo, _ = s.bin_range("chrB")
    assert (lab[b_lo:, :] == -1).all()


def test_from_factornet_folder(tmp_path, toy):
    cell = tmp_path / "fn" / "X"
    cell.mkdir(parents=True)
    for name, src in [
        ("c.gz", toy["labels"][0]["conservative"]),
        ("r.gz", toy["labels"][0]["relaxed"]),
        ("X.1x.bw", toy["cells"]["X"]["tracks"]["DNase"]),
    ]:
        os.symlink(src, cell / name)
    (cell / "chip.txt").write_text("c.gz\tCTCF\tr.gz\n")
    (cell / "bigwig.txt").write_text("X.1x.bw\tDGF\n")
    (cell / "meta.txt").write_text("0.1\tGEPC1\n")
    out = tmp_path / "fn.zarr"
    result = CliRunner().invoke(
        main,
        [
            "build",
            "--from-factornet",
            str(tmp_path / "fn"),
            "--genome",
            toy["genome"]["fasta"],
            str(out),
            "--quiet",
        ],
    )
    assert result.exit_code == 0, result.output
    s = open_store(out)
    assert s.tracks == ["DGF"] and s.tasks[0].tf == "CTCF" and s.meta_feature_names == ["GEPC1"]


# ----------------------------------------------------------------- crash safety


def _arrays(store, signals: bool = True) -> dict[str, np.ndarray]:
    names = ["sequence", "bin_chrom", "bin_start", "blacklist", "labels", "annotations", "metadata"]
    out = {n: store.root[n][...] for n in names}
    if signals:
        out.update({f"signals/{t}": store.root["signals"][t][...] for t in store.tracks})
    return out


def _same_signal_files(a: Path, b: Path, tracks: list[str]) -> None:
    """Each signal array's stored files, byte for byte: reading chr20's whole (13 cells x
    64 M positions a track) took a minute of a two-minute test."""
    for track in tracks:
        files = [
            {p.relative_to(root): p for p in (root / "signals" / track).rglob("*") if p.is_file()}
            for root in (a, b)
        ]
        assert files[0].keys() == files[1].keys() and len(files[0]) > 1, track
        for key, path in files[0].items():
            assert path.read_bytes() == files[1][key].read_bytes(), f"{track}/{key}"


def test_sigkill_then_resume_equals_uninterrupted(
    tmp_path, chr20_spec, chr20_store, chr20_store_path
):
    """Kill a real chr20 build part-way; readers refuse it; --resume finishes it identically."""
    spec_path = tmp_path / "spec.yaml"
    spec_path.write_text(yaml.safe_dump(chr20_spec, sort_keys=False))
    out = tmp_path / "killed.zarr"
    cmd = [
        sys.executable,
        "-m",
        "fnstore.cli",
        "build",
        str(spec_path),
        str(out),
        "--quiet",
        "--workers",
        "1",
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    progress = out / "build_progress" / "c"
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None:
        if progress.exists() and len(list(progress.iterdir())) >= 15:
            break
        time.sleep(0.05)
    assert proc.poll() is None, "the build finished before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    with pytest.raises(StoreError, match="incomplete"):
        open_store(out)
    result = CliRunner().invoke(main, ["validate", str(out)])
    assert result.exit_code == 1
    result = CliRunner().invoke(main, ["build", str(spec_path), str(out), "--quiet"])
    assert result.exit_code == 1 and "--resume" in result.output
    result = CliRunner().invoke(main, ["build", str(spec_path), str(out), "--resume", "--quiet"])
    assert result.exit_code == 0, result.output
    resumed = open_store(out)
    a, b = _arrays(resumed, signals=False), _arrays(chr20_store, signals=False)
    assert a.keys() == b.keys()
    for name in a:
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)
    assert resumed.tracks == chr20_store.tracks
    _same_signal_files(out, chr20_store_path, resumed.tracks)
    assert resumed.provenance["resumed"] is True
    assert CliRunner().invoke(main, ["validate", str(out)]).exit_code == 0


def test_resume_refuses_changed_inputs(tmp_path, toy):
    spec_path = tmp_path / "spec.yaml"
    spec_path.write_text(yaml.safe_dump(toy))
    out = tmp_path / "out.zarr"
    build_store(str(spec_path), out)
    write_gz(Path(toy["labels"][0]["conservative"]), narrowpeak_row("chrA", 100, 300))
    result = CliRunner().invoke(main, ["build", str(spec_path), str(out), "--resume", "--quiet"])
    assert result.exit_code == 1 and "changed" in result.output


@pytest.mark.parametrize("scheduler", ["sync", "processes"])
def test_schedulers_build_identical_stores(tmp_path, toy, scheduler):
    build_store(toy, tmp_path / "threads.zarr")
    build_store(toy, tmp_path / f"{scheduler}.zarr", scheduler=scheduler, workers=2)
    a, b = (
        _arrays(open_store(tmp_path / "threads.zarr")),
        _arrays(open_store(tmp_path / f"{scheduler}.zarr")),
    )
    for name in a:
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)


def test_distributed_scheduler_address(tmp_path, toy):
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(
        n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None
    ) as cluster:
        build_store(toy, tmp_path / "dist.zarr", scheduler=cluster.scheduler_address)
    build_store(toy, tmp_path / "threads.zarr")
    a, b = (
        _arrays(open_store(tmp_path / "threads.zarr")),
        _arrays(open_store(tmp_path / "dist.zarr")),
    )
    for name in a:
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)
