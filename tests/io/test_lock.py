"""fnstore.io.lock: one writer per output; a killed holder's lock is taken over at once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest

from fnstore.errors import InputError
from fnstore.io.lock import lock_path, output_lock

HOLD = """
import sys, time
from fnstore.io.lock import output_lock
with output_lock(sys.argv[1]):
    print("locked", flush=True)
    time.sleep(60)
"""


def hold_in_child(out):
    child = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(out)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    assert child.stdout.readline().strip() == "locked"
    return child


def test_second_writer_is_refused_with_the_holder(tmp_path):
    out = tmp_path / "store.zarr"
    child = hold_in_child(out)
    try:
        with pytest.raises(InputError, match=rf"in use by PID {child.pid} on .+ since 20"):
            with output_lock(out):
                pass
    finally:
        child.kill()
        child.wait()


def test_killed_holder_is_taken_over(tmp_path):
    out = tmp_path / "model"
    child = hold_in_child(out)
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    assert lock_path(out).exists()  # left behind by the killed process
    with output_lock(out):
        pass
    assert not lock_path(out).exists()


def test_lock_is_released_and_reusable_in_process(tmp_path):
    out = tmp_path / "preds"
    for _ in range(3):
        with output_lock(out) as path:
            assert path == lock_path(out) and path.exists()
            with pytest.raises(InputError, match="in use by PID"), output_lock(out):
                pass
    assert not lock_path(out).exists()
