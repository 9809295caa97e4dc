"""Without a deep-learning framework (``pip install fnstore``, no extras), build, info,
validate and export work and never import one; train and predict say which extra to install.

Each test runs the CLI in a fresh interpreter whose import system refuses ``keras``,
``tensorflow``, ``jax`` and ``torch`` (a meta-path hook), as a light install would.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
EXAMPLE_SPEC = REPO / "fnstore" / "example" / "spec.yaml"
BLOCKED = ("keras", "tensorflow", "jax", "jaxlib", "torch")

HOOK = f"""
import sys
class NoFramework:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {BLOCKED!r}:
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
        return None
sys.meta_path.insert(0, NoFramework())
from fnstore.cli import main
try:
    main(sys.argv[1:])
except SystemExit as exc:
    code = exc.code
loaded = sorted({{m.split(".")[0] for m in sys.modules}} & set({BLOCKED!r}))
assert not loaded, loaded
sys.exit(code)
"""


def run_blocked(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", HOOK, "-q", *args],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=cwd,
        env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin", "HOME": str(cwd)},
    )


def test_build_info_validate_export_import_no_framework(tmp_path: Path) -> None:
    store = tmp_path / "ex.zarr"
    steps = [
        ("build", str(EXAMPLE_SPEC), str(store)),
        ("info", str(store)),
        ("validate", str(store)),
        ("export", str(store), str(tmp_path / "yy1.bed"), "--what", "labels", "--tf", "YY1"),
        ("export", str(store), str(tmp_path / "seq.npz"), "--what", "sequence", "--tf", "YY1"),
        ("export", str(store), str(tmp_path / "sig.bedgraph"), "--what", "signals"),
        ("export", str(store), str(tmp_path / "feat.tsv"), "--what", "features"),
        ("export", str(store), str(tmp_path / "bins.bed"), "--what", "bins"),
    ]
    for step in steps:
        out = run_blocked(*step, cwd=tmp_path)
        assert out.returncode == 0, (step, out.stderr[-2000:])
    assert (tmp_path / "seq.npz").stat().st_size > 0 and (tmp_path / "yy1.bed").exists()


@pytest.mark.faults
def test_train_without_a_framework_says_what_to_install(tmp_path: Path) -> None:
    out = run_blocked(
        "train",
        str(tmp_path),
        str(tmp_path / "m"),
        "--tf",
        "YY1",
        "--cells",
        "GM12878",
        cwd=tmp_path,
    )
    assert out.returncode == 1
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), out.stderr[-2000:]
    assert 'pip install "fnstore[tf]"' in lines[0]
    assert "Traceback" not in out.stderr
