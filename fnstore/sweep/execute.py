"""Running a sweep's runs on dask.distributed: one task per run, in worker processes.

Why processes and one task per run: TensorFlow keeps per-process state (graphs, thread
pools, device memory), a crashed or killed run takes only its worker down (the sweep
records it as failed and goes on), and the same code runs on a ``LocalCluster`` or on a
cluster started elsewhere (``--scheduler``/``--scheduler-file``; the sweep folder and the
store must then be at the same paths on every worker). Each task redirects its run's
stdout/stderr to ``logs/<name>.log`` (Keras writes one line per epoch, ``verbose=2``).

Work shared between runs on one worker: the open :class:`~fnstore.store.read.Store`
(one per store path per process, its metadata and index read once) and the imported,
initialised TensorFlow. TensorFlow's thread pools are sized once per process, before its
first import, to ``tf_threads`` (default: the machine's cores divided by the workers), so
two workers on two cores do not each start two busy pools.

Why a run timeout stops the whole worker process: a stuck run cannot be interrupted from
another thread (TensorFlow and zarr's I/O loop run native code and their own threads), but
dask reschedules the task of a lost worker on a fresh process (up to the scheduler's
``distributed.scheduler.allowed-failures``), so a rare hang costs one retry and a run that
always overruns ends as a failed run, never as a stuck sweep.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fnstore.errors import FnstoreError

#: one open store per path in each worker process (a task reuses its worker's)
_STORES: dict[str, Any] = {}

#: exit status of a worker process stopped by a run timeout
TIMEOUT_EXIT = 124


def error_line(exc: BaseException) -> str:
    """The one line a run's failure is recorded as (the file first where there is one).

    Parameters
    ----------
    exc
        The exception.

    Returns
    -------
    str
        ``<file>: <problem>`` for fnstore's errors and OS errors, else the type and message.
    """
    if isinstance(exc, FnstoreError):
        return str(exc)
    if isinstance(exc, OSError) and exc.strerror:
        return f"{exc.filename}: {exc.strerror}" if exc.filename else exc.strerror
    return f"{type(exc).__name__}: {exc}"


def worker_environment(tf_threads: int) -> dict[str, str]:
    """Environment for a worker process: no GPU memory grab, bounded thread pools.

    Parameters
    ----------
    tf_threads
        Threads for TensorFlow's intra-op pool (and BLAS/OpenMP).

    Returns
    -------
    dict
        Variable -> value.
    """
    n = str(max(1, tf_threads))
    return {
        "XLA_PYTHON_CLIENT_PREALLOCATE": "false",
        "TF_FORCE_GPU_ALLOW_GROWTH": "true",
        "TF_CPP_MIN_LOG_LEVEL": "2",
        "KERAS_BACKEND": os.environ.get("KERAS_BACKEND", "tensorflow"),
        "TF_NUM_INTRAOP_THREADS": n,
        "TF_NUM_INTEROP_THREADS": "1",
        "OMP_NUM_THREADS": n,
    }


def _prepare_process(tf_threads: int) -> None:
    """Apply :func:`worker_environment` in this process (effective before TF's import)."""
    from fnstore.backend import limit_threads

    for key, value in worker_environment(tf_threads).items():
        os.environ.setdefault(key, value)
    limit_threads(tf_threads)


def _peak_rss_mib() -> float:
    """This worker process's peak resident memory so far (MiB; Linux reports KiB)."""
    import resource

    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def _store(path: str) -> Any:
    from fnstore.store.read import open_store

    if path not in _STORES:
        _STORES[path] = open_store(path)
    return _STORES[path]


def run_one(task: dict[str, Any]) -> dict[str, Any]:
    """Train one run (unless done) and score it on the held-out targets; never raises.

    Runs in a worker process. Its output goes to the run's log file; a failure is
    recorded in ``run.json`` (status ``failed`` and the error line) and returned, so
    the other runs go on.

    Parameters
    ----------
    task
        ``out``, ``store``, ``name``, ``definition``, ``tfs``, ``cells``, ``keywords``,
        ``train`` (bool), ``targets`` and ``tf_threads``.

    Returns
    -------
    dict
        ``name``, ``status`` (``done``/``failed``), ``trained`` (bool), ``error``,
        ``seconds`` and ``pid`` (the worker process).
    """
    from fnstore.sweep.runs import log_path

    out = Path(task["out"])
    log = log_path(out, task["name"])
    log.parent.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    with open(log, "a", buffering=1) as fh, _output_to(fh), _watchdog(task, out):
        print(f"== fnstore sweep: {task['name']} (pid {os.getpid()})")
        try:
            result = _train_and_score(task, out)
        except Exception as exc:  # recorded, not raised: the other runs go on
            traceback.print_exc()
            result = {"status": "failed", "error": error_line(exc), "trained": False}
            _record(task, out, "failed", error=result["error"])
        print(f"== {result['status']} in {time.perf_counter() - t0:.1f} s")
    return {"name": task["name"], "pid": os.getpid(), "seconds": time.perf_counter() - t0, **result}


@contextlib.contextmanager
def _output_to(fh: Any) -> Iterator[None]:
    """Send this process's stdout/stderr, Python's and the native descriptors (where
    TensorFlow's C++ logging writes), to ``fh`` for the ``with`` block."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = [os.dup(1), os.dup(2)]
    try:
        os.dup2(fh.fileno(), 1)
        os.dup2(fh.fileno(), 2)
        with contextlib.redirect_stdout(fh), contextlib.redirect_stderr(fh):
            yield
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in saved:
            os.close(fd)


@contextlib.contextmanager
def _watchdog(task: dict[str, Any], out: Path) -> Iterator[None]:
    """Stop this worker process if the ``with`` block outlives ``task["timeout"]`` seconds,
    after recording the run as failed (see the module docstring for why the process)."""
    seconds = task.get("timeout")
    if not seconds:
        yield
        return

    def expire() -> None:
        error = f"timed out after {seconds:g} s (its worker process was stopped)"
        with contextlib.suppress(Exception):  # the exit below must happen regardless
            print(f"== {error}", flush=True)
            _record(task, out, "failed", error=error)
        os._exit(TIMEOUT_EXIT)

    timer = threading.Timer(float(seconds), expire)
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()


def _record(task: dict[str, Any], out: Path, status: str, **more: Any) -> None:
    from fnstore.sweep.runs import write_run_record

    write_run_record(out, task["name"], task["definition"], status, **more)


def _train_and_score(task: dict[str, Any], out: Path) -> dict[str, Any]:
    """The body of :func:`run_one`: train if asked, then the held-out targets."""
    from fnstore.sweep.heldout import score_heldout
    from fnstore.sweep.runs import MODEL_DIR, run_dir

    _prepare_process(int(task["tf_threads"]))
    store = _store(task["store"])
    if task["train"]:
        from fnstore.training.fit import train

        _record(task, out, "running")
        t0 = time.perf_counter()
        train(
            store,
            run_dir(out, task["name"]) / MODEL_DIR,
            list(task["tfs"]),
            list(task["cells"]),
            overwrite=True,
            **task["keywords"],
        )
        seconds = round(time.perf_counter() - t0, 2)
        _record(task, out, "done", seconds=seconds, worker_peak_rss_mib=_peak_rss_mib())
    score_heldout(store, out, task["name"], task["tfs"], task["targets"])
    return {"status": "done", "trained": bool(task["train"]), "error": None}


@dataclass(frozen=True)
class Cluster:
    """Where and how a sweep's runs execute: a ``LocalCluster`` of ``workers`` processes
    (default half the cores, one run each) with ``threads_per_worker`` task slots and
    ``memory_limit`` each, or an existing cluster (``scheduler`` address or
    ``scheduler_file``); ``tf_threads`` TensorFlow threads per run (default cores /
    workers); ``run_timeout`` seconds per run (None: no limit)."""

    workers: int | None = None
    threads_per_worker: int = 1
    memory_limit: str | int | None = None
    scheduler: str | None = None
    scheduler_file: str | None = None
    tf_threads: int | None = None
    run_timeout: float | None = None


def _client(n_tasks: int, c: Cluster) -> tuple[Any, Any, int]:
    """(client, cluster or None, TF threads per run) for ``c``."""
    from distributed import Client, LocalCluster

    cores = os.cpu_count() or 1
    if c.scheduler or c.scheduler_file:
        client = Client(c.scheduler, scheduler_file=c.scheduler_file, timeout="60s")
        n = max(1, len(client.scheduler_info().get("workers", {})))
        return client, None, c.tf_threads or max(1, cores // n)
    n = c.workers or max(1, min(n_tasks, cores // 2))
    threads = c.tf_threads or max(1, cores // n)
    cluster = LocalCluster(
        n_workers=n,
        threads_per_worker=c.threads_per_worker,
        processes=True,
        memory_limit=c.memory_limit if c.memory_limit is not None else "auto",
        dashboard_address=None,
        silence_logs=logging.ERROR,
    )
    return Client(cluster), cluster, threads


def execute(
    tasks: Sequence[dict[str, Any]],
    cluster: Cluster | None = None,
    echo: Callable[[str], None] | None = None,
) -> list[dict[str, Any]]:
    """Run ``tasks`` (see :func:`run_one`) on dask.distributed; outcomes in task order.

    Parameters
    ----------
    tasks
        One dict per run.
    cluster
        Where the runs execute (default :class:`Cluster`'s defaults). A run past
        ``run_timeout`` (training and held-out scoring) has its worker process stopped and
        dask retries it on a fresh one, up to ``distributed.scheduler.allowed-failures``
        times; then it is ``failed``.
    echo
        Called with a progress line after each run ends (``3/8 done, 2 running, 1 failed``).

    Returns
    -------
    list of dict
        :func:`run_one`'s outcome per task; a worker that died is a ``failed`` outcome.
    """
    if not tasks:
        return []
    from distributed import as_completed

    options = cluster or Cluster()
    client, local, threads = _client(len(tasks), options)
    try:
        futures = {}
        for task in tasks:
            task_args = {**task, "tf_threads": threads, "timeout": options.run_timeout}
            fut = client.submit(run_one, task_args, pure=False)
            futures[fut] = task
        outcomes: dict[str, dict[str, Any]] = {}
        for fut in as_completed(list(futures)):
            task = futures[fut]
            try:
                outcome = fut.result()
            except Exception as exc:  # the worker died (killed, out of memory, timed out)
                error = _recorded_timeout(task) or error_line(exc)
                outcome = {"name": task["name"], "status": "failed", "error": error}
                outcome["trained"] = False
                _record(task, Path(task["out"]), "failed", error=error)
            outcomes[task["name"]] = outcome
            if echo is not None:
                echo(_progress(outcomes, len(tasks), client))
        return [outcomes[t["name"]] for t in tasks]
    finally:
        client.close()
        if local is not None:
            local.close()


def _recorded_timeout(task: dict[str, Any]) -> str | None:
    """The run record's error when the watchdog stopped the run's last try, else None."""
    from fnstore.sweep.runs import RUN_FILE, read_json_or_none, run_dir

    record = read_json_or_none(run_dir(Path(task["out"]), task["name"]) / RUN_FILE) or {}
    error = str(record.get("error") or "")
    return error if record.get("status") == "failed" and error.startswith("timed out") else None


def _progress(outcomes: dict[str, dict[str, Any]], total: int, client: Any) -> str:
    """``3/8 done, 2 running, 1 failed``: finished, running (the rest, up to the workers' task
    slots), failed."""
    done = sum(o["status"] == "done" for o in outcomes.values())
    failed = len(outcomes) - done
    try:
        slots = sum(client.nthreads().values())
    except Exception:  # progress is best effort; a busy scheduler must not fail the sweep
        slots = 1
    running = min(total - len(outcomes), slots)
    return f"{done}/{total} done, {running} running, {failed} failed"
