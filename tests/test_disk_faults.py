"""A full disk, a read-only folder and a file-size limit, met by every command that writes,
end in one line ``Error: <output>: <problem>`` (exit 1, no traceback, no crash) and leave
nothing half-written under a final name; C libraries' own stderr lines do not show.

How the faults are made (we run as root, so ``chmod`` blocks nothing):

- ``enospc``/``erofs``: the command runs in a private mount namespace (``unshare -m``) with
  a small ``tmpfs`` mounted on the output folder, full or remounted read-only. The folder's
  content is copied out before the namespace ends. Skipped where ``unshare`` or ``mount``
  is not allowed.
- ``efbig``: ``RLIMIT_FSIZE`` with ``SIGXFSZ`` ignored, so a write past the limit fails
  with ``EFBIG`` (the same path as ``ENOSPC``); needs no privileges. Per file, so only for
  single-file outputs.
"""

from __future__ import annotations

import os
import resource
import shlex
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from shared_data import shared_data_dir

REPO = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "PYTHONPATH": str(REPO), "TF_CPP_MIN_LOG_LEVEL": "2"}
PROBLEM = {
    "enospc": "No space left on device",
    "erofs": "Read-only file system",
    "efbig": "File too large",
}
TINY = "--epochs 2 --steps-per-epoch 3 --valid-steps 1 --window 200 --lstm 0 --kernels 4"
TINY += " --kernel-width 8 --dense 4 --batch-size 16 --seed 3 --quiet"


def _namespaces_work() -> bool:
    if shutil.which("unshare") is None:
        return False
    probe = "d=$(mktemp -d) && mount -t tmpfs -o size=8k tmpfs $d && umount $d; rmdir $d"
    done = subprocess.run(["unshare", "-m", "sh", "-c", probe], capture_output=True)
    return done.returncode == 0


NAMESPACES = _namespaces_work()


def confined(args: list[str], mode: str, size_kb: int, work: Path) -> tuple[int, str, Path]:
    """Run the CLI with its output folder ``{disk}`` under fault ``mode``.

    Returns the exit code, stdout + stderr, and a copy of the folder afterwards.
    """
    disk, copy = work / "disk", work / "copy"
    disk.mkdir(parents=True)
    args = [a.format(disk=disk) for a in args]
    cli = [sys.executable, "-m", "fnstore.cli", *args]
    if mode == "efbig":
        limit = size_kb * 1024

        def limit_file_size() -> None:
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

        done = subprocess.run(
            cli, env=ENV, capture_output=True, text=True, preexec_fn=limit_file_size, timeout=600
        )
        shutil.copytree(disk, copy, symlinks=True)
        return done.returncode, done.stdout + done.stderr, copy
    if not NAMESPACES:
        pytest.skip("unshare -m / mount -t tmpfs not allowed here")
    copy.mkdir()
    ro = f"mount -o remount,ro {disk} && " if mode == "erofs" else ""
    script = (
        f"mount -t tmpfs -o size={size_kb}k tmpfs {disk} && {ro}"
        f"{{ {shlex.join(cli)} > {work}/out 2>&1; echo $? > {work}/rc; }}; cp -a {disk}/. {copy}/"
    )
    subprocess.run(["unshare", "-m", "sh", "-c", script], env=ENV, check=True, timeout=600)
    return int((work / "rc").read_text()), (work / "out").read_text(), copy


def one_error_line(rc: int, output: str, where: Path, problem: str) -> None:
    lines = [line for line in output.splitlines() if line.strip()]
    assert rc == 1, output
    assert len(lines) == 1, output
    assert lines[0] == f"Error: {where}: {problem}", output


# ------------------------------------------------------------------------ what readers accept


def refused_store(path: Path) -> None:
    from fnstore.errors import StoreError
    from fnstore.store.read import open_store

    if path.exists():
        with pytest.raises(StoreError):
            open_store(path)


def absent(path: Path) -> None:
    assert not path.exists(), f"{path} left under its final name"


def refused_model(path: Path) -> None:
    if path.exists():
        from fnstore.model.folder import load_model_dir

        with pytest.raises(Exception):  # noqa: B017, PT011 - any refusal will do
            load_model_dir(path)


def whole_predictions(path: Path) -> None:
    """Prediction files are atomic; a ``.zarr`` may stand only once marked complete."""
    from fnstore.io.predictions import read_predictions_zarr_attrs

    for entry in path.iterdir() if path.exists() else ():
        if entry.name.endswith(".zarr") and not entry.name.startswith("."):
            assert read_predictions_zarr_attrs(entry).get("complete") is True, entry


# ------------------------------------------------------------------------------- the table

EXPORT = ("export", "{store}")
PRED = "{preds}/F.YY1.GM12878"
#: name, CLI arguments, output (relative to {disk}), tmpfs/limit size in KiB, check
COMMANDS = [
    ("build", ["build", "{spec}", "{disk}/ex.zarr", "--quiet"], "ex.zarr", 1000, refused_store),
    (
        "export-dream",
        [*EXPORT, "{disk}/l.tsv.gz", "--what", "labels", "--tf", "YY1", "--quiet"],
        "l.tsv.gz",
        200,
        absent,
    ),
    (
        "export-bigwig",
        [*EXPORT, "{disk}/s.bw", "--what", "signals", "--cell", "GM12878", "--quiet"],
        "s.bw",
        200,
        absent,
    ),
    (
        "export-hdf5",
        [*EXPORT, "{disk}/q.h5", "--what", "sequence", "--tf", "YY1", "--label", "B", "--quiet"],
        "q.h5",
        100,
        absent,
    ),
    (
        "export-parquet",
        [*EXPORT, "{disk}/b.parquet", "--what", "bins", "--quiet"],
        "b.parquet",
        300,
        absent,
    ),
    (
        "export-npz",
        [*EXPORT, "{disk}/f.npz", "--what", "features", "--quiet"],
        "f.npz",
        200,
        absent,
    ),
    (
        "train",
        ["train", "{store}", "{disk}/m", "--tf", "YY1", "--cells", "GM12878", *TINY.split()],
        "m",
        100,
        refused_model,
    ),
    (
        "predict",
        ["predict", "{model}", "{store}", "{disk}/preds", "--cell", "GM12878", "--quiet"],
        "preds",
        1000,
        whole_predictions,
    ),
    (
        "ensemble-tab",
        ["ensemble", "{disk}/e.tab.gz", f"{PRED}.tab.gz", f"{PRED}.tab.gz"],
        "e.tab.gz",
        300,
        absent,
    ),
    (
        "ensemble-zarr",
        ["ensemble", "{disk}/e.zarr", f"{PRED}.zarr", f"{PRED}.zarr"],
        "e.zarr",
        300,
        absent,
    ),
    ("import-legacy", ["import-legacy", "{legacy}", "{disk}/leg"], "leg", 500, refused_model),
]
#: single files bigger than the limit: the only outputs a per-file limit can stop
EFBIG = {
    "export-dream",
    "export-bigwig",
    "export-hdf5",
    "export-parquet",
    "export-npz",
    "ensemble-tab",
    "import-legacy",
}
CASES = [
    pytest.param(row, mode, id=f"{row[0]}-{mode}")
    for row in COMMANDS
    for mode in ("enospc", "erofs", "efbig")
    if mode != "efbig" or row[0] in EFBIG
]


@pytest.fixture(scope="module")
def inputs(example_store_path: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A tiny model and its predictions on the example store, made once."""
    base = tmp_path_factory.mktemp("disk_inputs")
    run = [sys.executable, "-m", "fnstore.cli"]
    model, preds = base / "m", base / "preds"
    train = ["train", str(example_store_path), str(model), "--tf", "YY1", "--cells", "GM12878"]
    subprocess.run([*run, *train, *TINY.split()], env=ENV, check=True, timeout=600)
    predict = ["predict", str(model), str(example_store_path), str(preds), "--cell", "GM12878"]
    subprocess.run([*run, *predict, "--quiet"], env=ENV, check=True, timeout=600)
    shared = shared_data_dir()
    legacy = (shared or base) / "legacy_models" / "EGR1_onePeak_DGF"
    return {
        "store": str(example_store_path),
        "spec": str(REPO / "fnstore" / "example" / "spec.yaml"),
        "model": str(model),
        "preds": str(preds),
        "legacy": str(legacy),
    }


@pytest.mark.faults
@pytest.mark.parametrize(("row", "mode"), CASES)
def test_full_or_read_only_output_is_one_line(inputs, tmp_path: Path, row, mode: str) -> None:
    name, args, output, size_kb, check = row
    if name == "import-legacy" and not Path(inputs["legacy"]).is_dir():
        pytest.skip("no legacy models in shared data")
    filled = [a.replace("{disk}", "\0").format(**inputs).replace("\0", "{disk}") for a in args]
    rc, out, copy = confined(filled, mode, size_kb, tmp_path)
    where = tmp_path / "disk" / output
    named = Path(out.split(": ", 2)[1]) if out.count(": ") >= 2 else where
    if where in named.parents:  # a file inside the output folder is named as well
        where = named
    one_error_line(rc, out, where, PROBLEM[mode])
    check(copy / output)
    leftovers = [p.name for p in copy.iterdir() if p.name.startswith(".tmp-")]
    assert not leftovers, leftovers


# ----------------------------------------------------------------------- C-library noise


def _truncated_bigwig(tmp: Path) -> Path:
    source = next((REPO / "fnstore" / "example" / "signal").glob("*.bw"))
    bad = tmp / "bad.bw"
    bad.write_bytes(source.read_bytes()[:50_000])
    return bad


def _not_a_bigwig(tmp: Path) -> Path:
    bad = tmp / "text.bw"
    bad.write_bytes(b"this is not a bigWig\n" * 100)
    return bad


def _truncated_bgzip_fasta(tmp: Path) -> Path:
    source = REPO / "fnstore" / "example" / "genome" / "chr20_slice.fa.gz"
    bad = tmp / "bad.fa.gz"
    bad.write_bytes(source.read_bytes()[:300_000])
    return bad


def _truncated_indexed_fasta(tmp: Path) -> Path:
    """Truncated, with the original's .fai and .gzi beside it: indexing is skipped and
    the read of each sequence's end fails inside htslib."""
    bad = _truncated_bgzip_fasta(tmp)
    for suffix in (".fai", ".gzi"):
        src = REPO / "fnstore" / "example" / "genome" / f"chr20_slice.fa.gz{suffix}"
        shutil.copy(src, f"{bad}{suffix}")
    return bad


@pytest.mark.faults
@pytest.mark.parametrize(
    ("make", "reader"),
    [
        (_truncated_bigwig, "fnstore.io.bigwig:bigwig_header"),
        (_not_a_bigwig, "fnstore.io.bigwig:bigwig_header"),
        (_truncated_bgzip_fasta, "fnstore.io.fasta:inspect_fasta"),
        (_truncated_indexed_fasta, "fnstore.io.fasta:inspect_fasta"),
    ],
    ids=["bigwig-truncated", "bigwig-text", "fasta-truncated", "fasta-truncated-indexed"],
)
def test_native_libraries_print_nothing(tmp_path: Path, make, reader: str) -> None:
    """File descriptor 2 of a subprocess holds fnstore's one line and nothing else."""
    bad = make(tmp_path)
    module, func = reader.split(":")
    code = (
        "import sys\n"
        "from fnstore.cli.app import error_line\n"
        f"from {module} import {func}\n"
        f"try:\n    {func}(sys.argv[1])\n"
        "except Exception as exc:\n    print(error_line(exc), file=sys.stderr)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(bad)], env=ENV, capture_output=True, text=True
    )
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"Error: {bad}: "), done.stderr
