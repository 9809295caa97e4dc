"""The leaderboard: every run's honest and held-out metrics, rebuilt from the run folders.

Rebuilt on every invocation from what is on disk (``run.json``, the model card, each
target's ``metrics.json``), so a resumed sweep's board lists the runs of earlier
invocations too. One row per (run, TF); within a TF, finished runs sorted by honest
validation auPRC (best first, marked), then the top-k ensemble, then unfinished and failed
runs. The balanced-sample validation auPRC is kept, under a name that says so, because
it is what early stopping saw, not because it ranks anything.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from fnstore.io.files import atomic_write
from fnstore.sweep.runs import (
    HELDOUT_DIR,
    METRICS_FILE,
    MODEL_DIR,
    RUN_FILE,
    read_json_or_none,
    run_dir,
)
from fnstore.sweep.spec import SweepPlan
from fnstore.training.honest import deciding_rows, required_margin

#: honest metrics shown, as (card key, column)
HONEST = (
    ("auroc", "honest_auroc"),
    ("auprc", "honest_auprc"),
    ("recall_at_10_fdr", "honest_recall_at_10_fdr"),
    ("recall_at_50_fdr", "honest_recall_at_50_fdr"),
)
#: held-out metrics shown per target (column ``<target>_<metric>``)
HELDOUT = ("auroc", "auprc", "recall_at_10_fdr", "recall_at_50_fdr")


#: the motif scan's auPRC on the same bins (the floor a model must clear)
MOTIF_KEY = "motif_baseline_auprc"
MOTIF_COLUMN = "honest_motif_scan_auprc"
#: the multiple of the scan a run must reach (fnstore.training.honest.required_margin): lower
#: where the honest rows are cells it never trained on, higher for its training cells only
MARGIN_KEY = MARGIN_COLUMN = "honest_margin"


def honest_for_tf(honest: Mapping[str, Any] | None, tf: str) -> dict[str, float | None]:
    """The honest metrics of one TF: the mean over its deciding results
    (:func:`fnstore.training.honest.deciding_rows`: the cells it never trained on where
    scored, else every cell), so a sweep ranks and warns by the cells ``fnstore train``
    warns by.

    Parameters
    ----------
    honest
        The card's ``honest_validation`` (None when absent).
    tf
        The TF.

    Returns
    -------
    dict
        Card metric key -> value (None when no result has it), the motif scan's mean
        auPRC under :data:`MOTIF_KEY` and the margin it must clear under :data:`MARGIN_KEY`
        (None without results).
    """
    results = deciding_rows((honest or {}).get("results", []), tf)
    out: dict[str, float | None] = {}
    for key, _ in HONEST:
        values = [float(r[key]) for r in results if r.get(key) is not None]
        out[key] = sum(values) / len(values) if values else None
    motif = [
        float(r["motif_baseline"]["auprc"])
        for r in results
        if r.get("motif_baseline", {}).get("auprc") is not None
    ]
    out[MOTIF_KEY] = sum(motif) / len(motif) if motif else None
    out[MARGIN_KEY] = required_margin(results) if results else None
    return out


def _card(folder: Path) -> dict[str, Any] | None:
    from fnstore.sweep.runs import model_complete

    model = folder / MODEL_DIR
    return read_json_or_none(model / "model_card.json") if model_complete(model) else None


def run_rows(out: Path, plan: SweepPlan) -> list[dict[str, Any]]:
    """One row per (run, TF) of the plan, from the run folders.

    Parameters
    ----------
    out
        The sweep folder.
    plan
        The sweep.

    Returns
    -------
    list of dict
        Columns of :func:`columns` (missing values None) plus ``heldout``.
    """
    rows = []
    for run in plan.runs:
        folder = run_dir(out, run.name)
        record = read_json_or_none(folder / RUN_FILE) or {}
        card = _card(folder)
        status = "done" if card else record.get("status", "not run")
        if status == "done" and not card:
            status = "incomplete"
        training = (card or {}).get("training", {})
        for tf in run.tfs:
            row: dict[str, Any] = {"run": run.name, "status": status, "tf": tf}
            row.update(cells="+".join(run.cells), seed=run.seed, **run.params)
            honest = honest_for_tf((card or {}).get("honest_validation"), tf)
            row.update({col: honest[key] for key, col in HONEST})
            row[MOTIF_COLUMN] = honest[MOTIF_KEY]
            row[MARGIN_COLUMN] = honest[MARGIN_KEY]
            balanced = ((card or {}).get("validation", {}).get("tasks", {})).get(tf, {})
            row["balanced_valid_auprc"] = balanced.get("auprc")
            row.update(epochs_run=training.get("epochs_run"), best_epoch=training.get("best_epoch"))
            row.update(seconds=record.get("seconds"), error=record.get("error"))
            row["heldout"] = {
                t.name: (read_json_or_none(folder / HELDOUT_DIR / t.name / METRICS_FILE) or {})
                .get("tfs", {})
                .get(tf, {})
                for t in plan.heldout
            }
            rows.append(row)
    return rows


def rank(
    rows: Sequence[dict[str, Any]], ensembles: Sequence[dict[str, Any]], tfs: Sequence[str]
) -> list[dict[str, Any]]:
    """Sort rows within TF (finished by honest auPRC, the ensemble, the rest) and mark the
    best finished run of each TF (``best`` True).

    Parameters
    ----------
    rows
        Run rows (:func:`run_rows`).
    ensembles
        Ensemble rows (:func:`fnstore.sweep.heldout.ensemble_top_k`).
    tfs
        TF order.

    Returns
    -------
    list of dict
        New list; each row gets ``best``.
    """
    out = []
    for tf in tfs:
        mine = [dict(r) for r in rows if r["tf"] == tf]
        scored = [r for r in mine if r["status"] == "done" and r["honest_auprc"] is not None]
        scored.sort(key=lambda r: (-r["honest_auprc"], r["run"]))
        rest = [r for r in mine if r not in scored]
        rest.sort(key=lambda r: (r["status"] != "done", r["run"]))
        for i, r in enumerate(scored):
            r["best"] = i == 0
        for r in rest:
            r["best"] = False
        ens = [
            {**e, "best": False, "members": "+".join(e["members"])}
            for e in ensembles
            if e["tf"] == tf
        ]
        out += scored + ens + rest
    return out


def columns(plan: SweepPlan) -> list[str]:
    """The board's columns, in order.

    Parameters
    ----------
    plan
        The sweep (its parameter keys and held-out targets).

    Returns
    -------
    list of str
        Column names.
    """
    cols = ["run", "status", "best", "tf", "cells", *plan.param_keys, "seed"]
    cols += [col for _, col in HONEST] + [MOTIF_COLUMN, MARGIN_COLUMN]
    cols += [f"{t.name}_{m}" for t in plan.heldout for m in HELDOUT]
    cols += ["balanced_valid_auprc", "epochs_run", "best_epoch", "seconds", "members", "error"]
    return cols


def flatten(rows: Sequence[dict[str, Any]], cols: Sequence[str]) -> list[dict[str, Any]]:
    """Rows with the held-out metrics spread into ``<target>_<metric>`` columns.

    Parameters
    ----------
    rows
        Ranked rows.
    cols
        :func:`columns`.

    Returns
    -------
    list of dict
        Exactly ``cols`` per row, None where there is no value.
    """
    flat = []
    for row in rows:
        values = dict(row)
        for target, metrics in (row.get("heldout") or {}).items():
            for m in HELDOUT:
                values[f"{target}_{m}"] = metrics.get(m)
        flat.append({c: values.get(c) for c in cols})
    return flat


def _text(value: Any, digits: int = 4) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "*" if value else ""
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    if isinstance(value, list | tuple):
        return "+".join(map(str, value))
    return str(value)


def write_csv(path: Path, rows: Sequence[dict[str, Any]], cols: Sequence[str]) -> Path:
    """Write the board as CSV (full precision; ``best`` as ``*``), atomically.

    Parameters
    ----------
    path
        Target file.
    rows
        Flat rows.
    cols
        Columns.

    Returns
    -------
    Path
        ``path``.
    """
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(cols)
    for row in rows:
        writer.writerow(
            [_text(row[c], 8) if isinstance(row[c], float) else _text(row[c]) for c in cols]
        )
    with atomic_write(path) as fh:
        fh.write(buf.getvalue())
    return path


def markdown(rows: Sequence[dict[str, Any]], cols: Sequence[str]) -> str:
    """The board as a Markdown table (4 decimals; the best run per TF starred).

    Parameters
    ----------
    rows
        Flat rows.
    cols
        Columns (empty columns are left out).

    Returns
    -------
    str
        Header, rule and one line per row.
    """
    shown = [c for c in cols if any(r[c] not in (None, "", False) for r in rows) or c == "best"]
    lines = ["| " + " | ".join(shown) + " |", "|" + "---|" * len(shown)]
    for row in rows:
        lines.append("| " + " | ".join(_text(row[c]).replace("|", "/") for c in shown) + " |")
    return "\n".join(lines) + "\n"


def plot(path: Path, rows: Sequence[dict[str, Any]], targets: Sequence[str]) -> Path:
    """auPRC per run grouped by TF: honest validation bars, held-out points.

    Parameters
    ----------
    path
        The PNG.
    rows
        Flat, ranked rows.
    targets
        Held-out target names (the first is drawn).

    Returns
    -------
    Path
        ``path``.
    """
    from fnstore.evaluate.plots import new_figure, save_figure

    fig = new_figure((8, 1.2 + 0.28 * max(len(rows), 1)))
    ax = fig.subplots()
    y = list(range(len(rows)))[::-1]
    honest = [r.get("honest_auprc") or 0.0 for r in rows]
    ax.barh(y, honest, color="#4c72b0", label="honest validation auPRC")
    if targets:
        held = [r.get(f"{targets[0]}_auprc") for r in rows]
        pts = [(h, yy) for h, yy in zip(held, y, strict=True) if h is not None]
        if pts:
            ax.plot(
                *zip(*pts, strict=True),
                "o",
                color="#dd8452",
                label=f"held-out auPRC ({targets[0]})",
            )
    labels = [f"{'* ' if r['best'] else ''}{r['tf']}  {r['run']}" for r in rows]
    ax.set_yticks(y, labels, fontsize=7)
    for i in range(1, len(rows)):
        if rows[i]["tf"] != rows[i - 1]["tf"]:
            ax.axhline(y[i] + 0.5, color="0.6", linewidth=0.8)
    ax.set_xlim(0, 1)
    ax.set_xlabel("auPRC (Davis-Goadrich)")
    ax.legend(loc="lower right", fontsize=7)
    fig.tight_layout()
    return save_figure(fig, path)


def write_leaderboard(
    out: Path, rows: Sequence[dict[str, Any]], plan: SweepPlan
) -> dict[str, Path]:
    """Write ``leaderboard.csv``, ``leaderboard.md`` and ``leaderboard.png`` in ``out``.

    Parameters
    ----------
    out
        The sweep folder.
    rows
        Ranked rows (:func:`rank`).
    plan
        The sweep.

    Returns
    -------
    dict
        ``csv``, ``md``, ``png`` -> path.
    """
    cols = columns(plan)
    flat = flatten(rows, cols)
    paths = {
        "csv": out / "leaderboard.csv",
        "md": out / "leaderboard.md",
        "png": out / "leaderboard.png",
    }
    write_csv(paths["csv"], flat, cols)
    with atomic_write(paths["md"]) as fh:
        fh.write(markdown(flat, cols))
    plot(paths["png"], flat, [t.name for t in plan.heldout])
    return paths
