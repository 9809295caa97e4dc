"""Every command documents itself with an example, the CLI starts without TensorFlow,
and docs/cli.md is the current ``--help`` text of every command."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

import fnstore
from fnstore.cli import main

REPO = Path(__file__).resolve().parents[2]


def _gen_cli():
    spec = importlib.util.spec_from_file_location("gen_cli", REPO / "docs" / "gen_cli.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


GEN_CLI = _gen_cli()
COMMANDS = GEN_CLI.command_paths()


def test_core_commands_are_registered() -> None:
    names = {" ".join(p) for p in COMMANDS}
    expected = {
        "build",
        "info",
        "validate",
        "train",
        "predict",
        "evaluate",
        "ensemble",
        "export",
        "motifs",
        "saliency",
        "import-legacy",
        "demo",
    }
    assert expected <= names, f"missing: {sorted(expected - names)}"


@pytest.mark.parametrize("path", COMMANDS, ids=[" ".join(p) for p in COMMANDS])
def test_help_has_an_example(path: list[str]) -> None:
    result = CliRunner().invoke(main, [*path, "--help"], prog_name="fnstore")
    assert result.exit_code == 0, result.output
    assert f"Usage: fnstore {' '.join(path)}" in result.output
    assert "Example" in result.output, f"`fnstore {' '.join(path)} --help` shows no example"


def test_short_help_option() -> None:
    result = CliRunner().invoke(main, ["-h"])
    assert result.exit_code == 0
    assert "Commands:" in result.output


def test_version() -> None:
    result = CliRunner().invoke(main, ["--version"])
    assert result.exit_code == 0
    assert result.output.strip() == f"fnstore, version {fnstore.__version__}"


def test_unknown_command_fails() -> None:
    result = CliRunner().invoke(main, ["no-such-command"])
    assert result.exit_code != 0


HEAVY = ("tensorflow", "keras", "matplotlib")

NO_HEAVY_IMPORTS = """
import sys
import fnstore
from click.testing import CliRunner
from fnstore.cli import main
runner = CliRunner()
for args in [["--help"], ["--version"]] + [[*p, "--help"] for p in {paths!r}]:
    result = runner.invoke(main, args)
    assert result.exit_code == 0, (args, result.output)
heavy = sorted(m for m in sys.modules if m.split(".")[0] in {heavy!r})
print("HEAVY:" + ",".join(heavy))
"""


def test_import_and_help_do_not_import_tensorflow() -> None:
    """``import fnstore`` and every ``--help`` run in a fresh interpreter stay light."""
    code = NO_HEAVY_IMPORTS.format(paths=COMMANDS, heavy=HEAVY)
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=REPO
    )
    assert out.returncode == 0, out.stderr
    line = [x for x in out.stdout.splitlines() if x.startswith("HEAVY:")][-1]
    assert line == "HEAVY:", f"heavy modules imported: {line[6:]}"


def test_console_script_help_without_tensorflow() -> None:
    """The installed ``fnstore`` entry point itself: ``-X importtime`` lists every import."""
    script = Path(sys.executable).with_name("fnstore")
    if not script.exists():
        pytest.skip("no fnstore console script beside this Python (package not installed)")
    env = {**os.environ, "PYTHONPROFILEIMPORTTIME": "1"}
    out = subprocess.run(
        [str(script), "--help"], capture_output=True, text=True, timeout=120, env=env
    )
    assert out.returncode == 0, out.stderr
    assert "Usage: fnstore" in out.stdout
    imported = {
        line.rsplit("|", 1)[-1].strip().split(".")[0]
        for line in out.stderr.splitlines()
        if line.startswith("import time:")
    }
    assert "fnstore" in imported, "import timing not captured"
    assert not imported & set(HEAVY), f"fnstore --help imported {sorted(imported & set(HEAVY))}"


def test_cli_reference_is_current() -> None:
    expected = GEN_CLI.render()
    current = (REPO / "docs" / "cli.md").read_text()
    assert current == expected, "docs/cli.md is out of date: run `python docs/gen_cli.py`"
