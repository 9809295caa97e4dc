"""The progress policy: a bar on a terminal, plain lines in a log, nothing when asked.

The commands' own output (export, predict, build, train) is checked in tests/cli/test_logs.py.
"""

from __future__ import annotations

import io

import pytest

from fnstore import progress
from fnstore.errors import InputError


class FakeTty(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture(autouse=True)
def default_policy(monkeypatch: pytest.MonkeyPatch):
    """Every test starts from the default: no env override, nothing forced."""
    monkeypatch.delenv(progress.ENV, raising=False)
    before = progress.set_progress_mode(None)
    yield
    progress.set_progress_mode(before)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(progress, "_clock", fake)
    return fake


def test_mode_follows_the_stream() -> None:
    assert progress.progress_mode(io.StringIO()) == "lines"
    assert progress.progress_mode(FakeTty()) == "bar"
    assert progress.is_interactive(FakeTty()) and not progress.is_interactive(io.StringIO())


@pytest.mark.parametrize("mode", ["bar", "lines", "off"])
def test_env_overrides_the_stream(monkeypatch: pytest.MonkeyPatch, mode: str) -> None:
    monkeypatch.setenv(progress.ENV, mode.upper())
    assert progress.progress_mode(FakeTty()) == mode
    assert progress.progress_mode(io.StringIO()) == mode


def test_forced_mode_wins_over_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(progress.ENV, "bar")
    assert progress.set_progress_mode("off") is None
    assert progress.progress_mode(FakeTty()) == "off"
    assert progress.set_progress_mode(None) == "off"
    assert progress.progress_mode(FakeTty()) == "bar"
    with pytest.raises(ValueError, match="progress mode"):
        progress.set_progress_mode("loud")


def test_bad_env_value_is_an_input_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(progress.ENV, "bogus")
    with pytest.raises(InputError, match="FNSTORE_PROGRESS: expected one of bar, lines, off"):
        progress.progress_mode()


def test_keras_verbose_off_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdout", io.StringIO())
    assert [progress.keras_verbose(v) for v in (0, 1, 2)] == [0, 2, 2]


def test_keras_verbose_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdout", FakeTty())
    assert [progress.keras_verbose(v) for v in (0, 1, 2)] == [0, 1, 2]
    monkeypatch.setenv(progress.ENV, "lines")
    assert progress.keras_verbose(1) == 2
    monkeypatch.setenv(progress.ENV, "off")
    assert [progress.keras_verbose(v) for v in (0, 1, 2)] == [0, 0, 0]


def test_lines_every_interval_and_at_the_end(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], clock: Clock
) -> None:
    with progress.progress_bar(30_000, "export", "bin") as bar:
        assert type(bar).__name__ == "_LineProgress"
        bar.update(6_000)  # too soon for a line
        clock.now += progress.LINE_INTERVAL + 0.1
        bar.update(6_000)
        clock.now += 1.0
        bar.update(6_000)  # too soon after the last line
        clock.now += 5.0
        bar.update(12_000)  # 100 %: always a line
    err = capsys.readouterr().err
    assert err.splitlines() == [
        f"export: 40% (12,000/30,000 bins) {progress.LINE_INTERVAL + 0.1:.1f} s",
        f"export: 100% (30,000/30,000 bins) {progress.LINE_INTERVAL + 6.1:.1f} s",
    ]
    assert "\r" not in err and "\x1b" not in err


def test_final_line_on_close_once_and_not_after_an_error(
    capsys: pytest.CaptureFixture[str], clock: Clock
) -> None:
    with progress.progress_bar(0, "build", "chunk"):
        pass
    assert capsys.readouterr().err == "build: 100% (0/0 chunks) 0.0 s\n"
    with progress.progress_bar(5, "build", "chunk", initial=2) as bar:
        bar.update(3)
    assert capsys.readouterr().err == "build: 100% (5/5 chunks) 0.0 s\n"
    with pytest.raises(RuntimeError), progress.progress_bar(10, "build", "chunk") as bar:
        bar.update(4)
        raise RuntimeError("stop")
    assert capsys.readouterr().err == ""


def test_durations_and_units(clock: Clock) -> None:
    bar = progress.progress_bar(1, "signals", "bp")
    assert bar.line(3.14) == "signals: 0% (0/1 bp) 3.1 s"
    bar.total = 4_500_000
    assert bar.line(125) == "signals: 0% (0/4,500,000 bp) 2 min 05 s"
    assert bar.line(3720) == "signals: 0% (0/4,500,000 bp) 1 h 02 min"


def test_disabled_and_off_print_nothing(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with progress.progress_bar(3, "x", "bin", enabled=False) as bar:
        bar.update(3)
    monkeypatch.setenv(progress.ENV, "off")
    with progress.progress_bar(3, "x", "bin") as bar:
        bar.update(3)
    assert bar.n == 3
    assert capsys.readouterr() == ("", "")


def test_bar_mode_draws_tqdm(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(progress.ENV, "bar")
    with progress.progress_bar(4, "predict C", "bin") as bar:
        bar.update(4)
    err = capsys.readouterr().err
    assert "predict C" in err and "100%" in err and "\r" in err
