"""Command output that reads well in a log: off a terminal, progress is plain lines on stderr
(no carriage return, no escape code), and ``FNSTORE_PROGRESS=off`` or ``fnstore -q`` silences it.

CliRunner's streams are not terminals, so these run the commands as a batch job would see them.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from fnstore import progress
from fnstore.cli import main

REPO = Path(__file__).resolve().parents[2]
#: a plain progress line: ``desc: 40% (12,000/30,000 bins) 3.1 s``
LINE = re.compile(r"^[\w -]+: \d{1,3}% \([\d,]+/[\d,]+ \w+\) [\d.]+ (s|min|h)")


@pytest.fixture(autouse=True)
def default_policy(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv(progress.ENV, raising=False)
    before = progress.set_progress_mode(None)
    yield
    assert progress.set_progress_mode(before) is None, "fnstore -q leaked its mode"


def progress_lines(text: str) -> list[str]:
    return [ln for ln in text.splitlines() if LINE.match(ln)]


def assert_log_friendly(text: str) -> None:
    assert "\r" not in text, repr(text[-500:])
    assert "\x1b[" not in text, repr(text[-500:])


def run(args: list[str]):
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    return result


def export_args(store: Path, out: Path) -> list[str]:
    return ["export", str(store), str(out), "--what", "labels", "--tf", "YY1"]


def test_export_prints_plain_lines(example_store_path: Path, tmp_path: Path) -> None:
    result = run(export_args(example_store_path, tmp_path / "a.tsv.gz"))
    assert_log_friendly(result.output)
    lines = progress_lines(result.stderr)
    assert lines and lines[-1].startswith("labels: 100% (89,997/89,997 bins) "), result.stderr
    assert not progress_lines(result.stdout)


@pytest.mark.parametrize("how", ["env", "-q", "--quiet"])
def test_export_silenced(
    example_store_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    args = export_args(example_store_path, tmp_path / "a.tsv.gz")
    if how == "env":
        monkeypatch.setenv(progress.ENV, "off")
    elif how == "-q":
        args = ["-q", *args]
    else:
        args.append("--quiet")
    result = run(args)
    assert result.stderr == "" and "exported labels" in result.stdout


def test_bad_progress_env_is_one_line_before_any_output(
    example_store_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(progress.ENV, "loud")
    out = tmp_path / "folder"
    result = CliRunner().invoke(
        main, ["export", str(example_store_path), str(out), "--what", "signals"]
    )
    assert result.exit_code == 1
    assert (
        result.output.strip()
        == "Error: FNSTORE_PROGRESS: expected one of bar, lines, off, got 'loud'"
    )
    assert not out.exists()


def test_build_prints_plain_lines(tmp_path: Path) -> None:
    spec = REPO / "fnstore" / "example" / "spec.yaml"
    result = run(["build", str(spec), str(tmp_path / "s.zarr")])
    assert_log_friendly(result.output)
    assert progress_lines(result.stderr)[-1].startswith("build: 100% (7/7 chunks) ")


@pytest.fixture(scope="module")
def tiny_model(example_store_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from fnstore.store.read import open_store
    from tests.tiny_models import tiny_model_for

    folder = tmp_path_factory.mktemp("logs-model") / "tiny"
    return tiny_model_for(open_store(example_store_path), folder)


def predict_args(model: Path, store: Path, out: Path) -> list[str]:
    return [
        "predict",
        str(model),
        str(store),
        str(out),
        "--cell",
        "GM12878",
        "--chunk-bins",
        "30000",
    ]


def test_predict_prints_plain_lines(
    example_store_path: Path, tiny_model: Path, tmp_path: Path
) -> None:
    result = run(predict_args(tiny_model, example_store_path, tmp_path / "p"))
    assert_log_friendly(result.output)
    lines = progress_lines(result.stderr)
    assert lines and lines[-1].startswith("predict GM12878: 100% (89,997/89,997 bins) ")


def test_predict_silenced_by_global_quiet(
    example_store_path: Path, tiny_model: Path, tmp_path: Path
) -> None:
    result = run(["-q", *predict_args(tiny_model, example_store_path, tmp_path / "p")])
    assert not progress_lines(result.output) and "predict GM12878" not in result.stderr


def test_train_log_has_no_escape_codes(example_store_path: Path, tmp_path: Path) -> None:
    """Keras's per-batch bar, redirected to a file, is carriage returns and escape codes;
    ``keras_verbose`` turns it into one line per epoch once fit.py asks it."""
    args = [
        *("train", str(example_store_path), str(tmp_path / "m"), "--tf", "YY1"),
        *("--cells", "GM12878", "--epochs", "1", "--steps-per-epoch", "2"),
        *("--valid-steps", "1", "--window", "400", "--lstm", "0"),
    ]
    env = {k: v for k, v in os.environ.items() if k != progress.ENV}
    env["PYTHONPATH"] = str(REPO)
    with (tmp_path / "out.log").open("w") as out, (tmp_path / "err.log").open("w") as err:
        proc = subprocess.run(
            [sys.executable, "-m", "fnstore.cli", *args],
            stdout=out,
            stderr=err,
            env=env,
            cwd=tmp_path,
            timeout=600,
        )
    text = (tmp_path / "out.log").read_text() + (tmp_path / "err.log").read_text()
    assert proc.returncode == 0, text[-2000:]
    assert "YY1: balanced validation sample" in text
    assert_log_friendly(text)
