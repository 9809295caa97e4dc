"""``fnstore.sweep(spec, outdir)``: train many models against one store, resumably, and rank them.

The order of work: check the spec and the store (:mod:`~fnstore.sweep.spec`), check the
sweep folder and every run's state (:mod:`~fnstore.sweep.runs`): all before anything
trains. Then the runs that are not done go to dask.distributed workers
(:mod:`~fnstore.sweep.execute`), each trained and scored on the held-out targets in its
worker; the top-k ensembles are made here (:mod:`~fnstore.sweep.heldout`), and the
leaderboard is rebuilt from the folders (:mod:`~fnstore.sweep.leaderboard`).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fnstore.errors import InputError
from fnstore.io.lock import output_lock
from fnstore.notebook import html_repr
from fnstore.sweep import leaderboard as board
from fnstore.sweep.execute import Cluster
from fnstore.sweep.heldout import ensemble_top_k, prepare_targets, targets_done
from fnstore.sweep.runs import (
    CHANGED,
    DONE,
    SWEEP_FILE,
    SWEEP_FORMAT,
    check_outdir,
    clear_run,
    run_state,
    write_json,
)
from fnstore.sweep.spec import SweepPlan, load_sweep_spec
from fnstore.training.honest import CLEAR_DIFFERENCE, CLEAR_MARGIN, clearly_better


@dataclass
class SweepResult:
    """What a sweep did and the leaderboard it wrote.

    Parameters
    ----------
    outdir
        The sweep folder.
    states
        Run name -> state found before this invocation (``done``, ``todo``, ``changed``).
    leaderboard
        One dict per row, the board's columns (:func:`fnstore.sweep.leaderboard.columns`).
    files
        ``csv``, ``md``, ``png`` -> path (empty for a dry run).
    trained, failed
        Runs trained, and runs that failed, in this invocation.
    dry_run
        Nothing was run.
    """

    outdir: Path
    states: dict[str, str]
    leaderboard: list[dict[str, Any]] = field(default_factory=list)
    files: dict[str, Path] = field(default_factory=dict)
    trained: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    dry_run: bool = False

    _repr_html_ = html_repr  # how a notebook shows it (fnstore.notebook)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form.

        Returns
        -------
        dict
            Every field, paths as strings.
        """
        return {
            "outdir": str(self.outdir),
            "states": dict(self.states),
            "leaderboard": self.leaderboard,
            "files": {k: str(v) for k, v in self.files.items()},
            "trained": self.trained,
            "failed": self.failed,
            "dry_run": self.dry_run,
        }

    def summary(self) -> str:
        """What ``fnstore sweep`` prints: the plan (dry run), or counts, best runs and files.

        Returns
        -------
        str
            Lines, no trailing newline.
        """
        if self.dry_run:
            word = {DONE: "done (skip)", CHANGED: "CHANGED", "todo": "train"}
            lines = [f"{word.get(s, s):12} {name}" for name, s in self.states.items()]
            n = sum(s != DONE for s in self.states.values())
            return "\n".join(lines + [f"{n} of {len(self.states)} runs would train"])
        skipped = sum(s == DONE for s in self.states.values())
        lines = [f"{len(self.trained)} trained, {skipped} already done, {len(self.failed)} failed"]
        best = [row for row in self.leaderboard if row.get("best")]
        for row in best:
            lines.append(f"best {row['tf']}: {row['run']} (honest auPRC {row['honest_auprc']:.4f})")
        for name in self.failed:
            err = next((r["error"] for r in self.leaderboard if r["run"] == name), "")
            lines.append(f"failed {name}: {err}")
        lines += [f"Wrote {p}" for p in self.files.values()]
        lines += [f"Warning: {w}" for w in best_run_warnings(best)]
        return "\n".join(lines)


def best_run_warnings(best: Sequence[Mapping[str, Any]]) -> list[str]:
    """One line per TF whose best run does not clearly beat its motif scan on the honest bins
    (the rule of :func:`fnstore.training.honest.baseline_warnings`, applied to the pick: the
    row's ``honest_margin``, :data:`~fnstore.training.honest.CLEAR_MARGIN` where absent).

    Parameters
    ----------
    best
        The leaderboard's best rows.

    Returns
    -------
    list of str
        Plain sentences; empty when every best run clears its scan (or has none).
    """
    lines = []
    for row in best:
        model, scan = row.get("honest_auprc"), row.get(board.MOTIF_COLUMN)
        margin = row.get(board.MARGIN_COLUMN) or CLEAR_MARGIN
        if model is None or scan is None or clearly_better(model, scan, margin):
            continue
        lines.append(
            f"{row['tf']}: even the best run, {row['run']} (honest auPRC {model:.3f}), is not "
            f"clearly better than its motif scan (auPRC {scan:.3f}, needs {margin:g}x and "
            f"+{CLEAR_DIFFERENCE:g}); "
            f"sweep more negatives, epochs or learning rates before trusting it in a new cell"
        )
    return lines


def _stderr_line(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def sweep(
    spec: str | os.PathLike | dict[str, Any],
    outdir: str | os.PathLike,
    *,
    workers: int | None = None,
    threads_per_worker: int = 1,
    memory_limit: str | int | None = None,
    scheduler: str | None = None,
    scheduler_file: str | None = None,
    tf_threads: int | None = None,
    run_timeout: float | None = None,
    rerun_changed: bool = False,
    dry_run: bool = False,
    echo: Callable[[str], None] | None = _stderr_line,
) -> SweepResult:
    """Train every run of ``spec`` into ``outdir`` (skipping finished ones) and rank them.

    Parameters
    ----------
    spec
        A sweep spec (YAML path or dict; see ``docs/sweep.md``).
    outdir
        The sweep folder (created; an existing one must hold this sweep).
    workers, threads_per_worker, memory_limit
        The dask ``LocalCluster`` (default: half the cores as workers, one run each).
    scheduler, scheduler_file
        Run on an existing dask.distributed cluster instead (``tcp://HOST:PORT`` or a
        scheduler file); workers must see ``outdir`` and the store at the same paths.
    tf_threads
        TensorFlow threads per run (default: cores / workers).
    run_timeout
        Seconds one run may take; past it its worker process is stopped and dask retries
        the run on a fresh process (``distributed.scheduler.allowed-failures`` times), then
        it is recorded ``failed`` with a "timed out" error. None: no limit.
    rerun_changed
        Retrain runs whose recorded definition differs from the spec (else refused).
    dry_run
        Only check everything and report what would train.
    echo
        Where progress lines go (default stderr; None for silence).

    Returns
    -------
    SweepResult
        The leaderboard, the files, what trained and what failed.

    Raises
    ------
    InputError
        Before anything trains: a bad spec, a folder holding something else, or runs
        whose definition changed (without ``rerun_changed``).
    """
    plan = load_sweep_spec(spec)
    out = Path(outdir).absolute()
    check_outdir(out, plan.store_id, plan.raw.get("name"))
    states = {r.name: run_state(out, r.name, r.definition(plan.store_id)) for r in plan.runs}
    changed = [n for n, s in states.items() if s == CHANGED]
    if dry_run:
        return SweepResult(out, states, dry_run=True)
    if changed and not rerun_changed:
        more = f" (and {len(changed) - 1} more)" if len(changed) > 1 else ""
        raise InputError(
            out,
            f"run {changed[0]}{more} was trained with another definition; use "
            "--rerun-changed to retrain it or give a new OUTDIR",
        )
    say = echo or (lambda _: None)
    with output_lock(out):
        out.mkdir(parents=True, exist_ok=True)
        _write_record(out, plan)
        for name in changed:
            clear_run(out, name)
        tasks, targets, store = _tasks(out, plan, states)
        n_train = sum(t["train"] for t in tasks)
        say(f"{len(plan.runs)} runs: {n_train} to train, {len(tasks) - n_train} to score")
        cluster = Cluster(
            workers=workers,
            threads_per_worker=threads_per_worker,
            memory_limit=memory_limit,
            scheduler=scheduler,
            scheduler_file=scheduler_file,
            tf_threads=tf_threads,
            run_timeout=run_timeout,
        )
        outcomes = _execute(tasks, cluster, say if echo else None)
        rows = board.run_rows(out, plan)
        ens = plan.ensemble or {}
        ensembles = (
            ensemble_top_k(
                out, store, rows, targets, plan.tfs, ens["top_k"], ens.get("method", "rank")
            )
            if ens and targets
            else []
        )
        ranked = board.rank(rows, ensembles, plan.tfs)
        files = board.write_leaderboard(out, ranked, plan)
    cols = board.columns(plan)
    return SweepResult(
        out,
        states,
        board.flatten(ranked, cols),
        files,
        [o["name"] for o in outcomes if o.get("trained") and o["status"] == "done"],
        [o["name"] for o in outcomes if o["status"] == "failed"],
    )


def _execute(
    tasks: list[dict[str, Any]], cluster: Cluster, echo: Callable[[str], None] | None
) -> list[dict[str, Any]]:
    from fnstore.sweep.execute import execute

    return execute(tasks, cluster, echo)


def _write_record(out: Path, plan: SweepPlan) -> None:
    """``sweep.json``: which sweep the folder holds (store, name, spec, run names)."""
    write_json(
        out / SWEEP_FILE,
        {
            "format": SWEEP_FORMAT,
            "format_version": 1,
            "name": plan.raw.get("name"),
            "store": plan.store,
            "store_id": plan.store_id,
            "source": plan.source,
            "spec": plan.raw,
            "runs": [r.name for r in plan.runs],
        },
    )


def _tasks(
    out: Path, plan: SweepPlan, states: dict[str, str]
) -> tuple[list[dict], list[dict], Any]:
    """One task per run that needs training or held-out scoring; the prepared targets."""
    from fnstore.store.read import open_store

    store = open_store(plan.store)
    targets = prepare_targets(out, store, plan.heldout)
    tasks = []
    for run in plan.runs:
        train = states[run.name] != DONE
        if not train and targets_done(out, run.name, targets):
            continue
        task = {"out": str(out), "store": plan.store, "name": run.name, "train": train}
        task.update(definition=run.definition(plan.store_id), tfs=list(run.tfs))
        task.update(cells=list(run.cells), keywords=run.train_keywords(), targets=targets)
        tasks.append(task)
    return tasks, targets, store
