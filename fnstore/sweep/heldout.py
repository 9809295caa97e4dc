"""Held-out targets: predict every finished run there, score it, and ensemble the best.

A target is a cell plus whole chromosomes (predicted as such, every labelled bin scored)
or spans/a region BED (predicted through a BED of its bins, scored with
``allow_partial``: only those bins count). Each run's predictions and metrics live in its
own folder with the target's definition and the model's SHA-256, so a rerun recomputes
only what changed. The ensemble ranks runs per TF by the *honest* validation auPRC (every
bin of the validation region, the ENCODE-DREAM distribution), never by the balanced
validation sample early stopping uses: on real data the two disagree badly.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from fnstore.io.files import atomic_write
from fnstore.store.read import Store
from fnstore.sweep.runs import (
    HELDOUT_DIR,
    METRICS_FILE,
    MODEL_DIR,
    read_json_or_none,
    run_dir,
    write_json,
)
from fnstore.sweep.spec import HeldoutTarget

#: metric fields kept from an evaluation (the scalar ones)
METRIC_KEYS = (
    "n",
    "n_positive",
    "n_negative",
    "auroc",
    "auprc",
    "average_precision",
    "recall_at_10_fdr",
    "recall_at_25_fdr",
    "recall_at_50_fdr",
)


def prepare_targets(out: Path, store: Store, targets: Sequence[HeldoutTarget]) -> list[dict]:
    """How each target is predicted: whole ``chroms``, or ``regions`` (a BED; spans are
    written to ``OUTDIR/heldout/<name>.bed`` as every store bin wholly inside them).

    Parameters
    ----------
    out
        The sweep folder.
    store
        The sweep's store.
    targets
        The spec's held-out targets.

    Returns
    -------
    list of dict
        Per target: ``name``, ``cell``, ``chroms``, ``regions``, ``partial`` and
        ``definition`` (what the metrics record).
    """
    from fnstore.store.regions import chrom_lengths, parse_span

    prepared = []
    for t in targets:
        item = {"name": t.name, "cell": t.cell, "chroms": None, "regions": t.regions}
        item.update(partial=True, definition=t.definition())
        if t.chroms and all(c in store.chroms for c in t.chroms):
            item.update(chroms=list(t.chroms), partial=False)
        elif t.chroms:
            spans = [parse_span(c, chrom_lengths(store)) for c in t.chroms]
            item["regions"] = str(_write_span_bins(store, spans, out / "heldout" / f"{t.name}.bed"))
        prepared.append(item)
    return prepared


def _write_span_bins(store: Store, spans: Sequence[Any], path: Path) -> Path:
    """A BED of every store bin wholly inside ``spans`` (in span order), atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(path) as fh:
        for span in spans:
            first, end = store.bins_within(span.chrom, span.start, span.end)
            _, starts = store.bin_coords(np.arange(first, end))
            fh.writelines(f"{span.chrom}\t{s}\t{s + store.bin_size}\n" for s in starts.tolist())
    return path


def _model_sha(card: Mapping[str, Any]) -> str | None:
    return (card.get("sha256") or {}).get("model.keras")


def _target_done(folder: Path, target: dict, sha: str | None) -> bool:
    old = read_json_or_none(folder / METRICS_FILE) or {}
    return old.get("target") == target["definition"] and old.get("model_sha256") == sha


def targets_done(out: Path, name: str, targets: Sequence[dict]) -> bool:
    """Whether run ``name`` has current metrics for every target (same target, same model).

    Parameters
    ----------
    out
        The sweep folder.
    name
        A run whose model is complete.
    targets
        From :func:`prepare_targets`.

    Returns
    -------
    bool
        True when nothing is left to predict.
    """
    from fnstore.model.card import read_card

    sha = _model_sha(read_card(run_dir(out, name) / MODEL_DIR))
    return all(_target_done(run_dir(out, name) / HELDOUT_DIR / t["name"], t, sha) for t in targets)


def score_heldout(
    store: Store, out: Path, name: str, tfs: Sequence[str], targets: Sequence[dict]
) -> int:
    """Predict run ``name`` on every target and evaluate each of its TFs there.

    Skips a target whose ``metrics.json`` records the same target and the same model.

    Parameters
    ----------
    store
        The sweep's store (open).
    out
        The sweep folder.
    name
        The run.
    tfs
        Its TFs (model tasks).
    targets
        From :func:`prepare_targets`.

    Returns
    -------
    int
        How many targets were (re)computed.
    """
    from fnstore.model.card import read_card
    from fnstore.predict import predict
    from fnstore.predict.outputs import output_paths

    model = run_dir(out, name) / MODEL_DIR
    sha = _model_sha(read_card(model))
    computed = 0
    for t in targets:
        folder = run_dir(out, name) / HELDOUT_DIR / t["name"]
        if _target_done(folder, t, sha):
            continue
        pred = folder / "predictions"
        kw = {"chroms": t["chroms"]} if t["chroms"] else {"regions": t["regions"]}
        predict(model, store, pred, t["cell"], overwrite=True, progress=False, **kw)
        results = {}
        for tf in tfs:
            zarr = output_paths(pred, tf, t["cell"])["zarr"]
            results[tf] = evaluate_one(store, [zarr], tf, t["cell"], t["partial"])
        write_json(
            folder / METRICS_FILE, {"target": t["definition"], "model_sha256": sha, "tfs": results}
        )
        computed += 1
    return computed


def evaluate_one(
    store: Store, paths: Sequence[Path | str], tf: str, cell: str, partial: bool
) -> dict[str, Any]:
    """The scalar metrics of one prediction file (a note when the cell has no labels).

    Parameters
    ----------
    store
        The store.
    paths
        One prediction file.
    tf, cell
        The task.
    partial
        Score only the predicted bins (a span or region subset).

    Returns
    -------
    dict
        :data:`METRIC_KEYS` present in the result, or ``{"note": ...}``.
    """
    from fnstore.errors import FnstoreError
    from fnstore.evaluate import evaluate

    if not any(t.tf == tf and t.cell == cell for t in store.tasks):
        return {"note": f"no {tf} labels in {cell}"}
    try:
        (res,) = evaluate([str(p) for p in paths], store, tf, cell, allow_partial=partial)
    except FnstoreError as exc:  # one class only: metrics undefined
        return {"note": str(exc)}
    return {k: res[k] for k in METRIC_KEYS if k in res}


def ensemble_top_k(
    out: Path,
    store: Store,
    rows: Sequence[dict[str, Any]],
    targets: Sequence[dict],
    tfs: Sequence[str],
    top_k: int,
    method: str = "rank",
) -> list[dict[str, Any]]:
    """Per TF, ensemble the held-out predictions of the ``top_k`` runs by honest auPRC.

    Parameters
    ----------
    out
        The sweep folder.
    store
        The store.
    rows
        Leaderboard rows of the runs (``run``, ``tf``, ``status``, ``honest_auprc``).
    targets
        From :func:`prepare_targets`.
    tfs
        TFs in board order.
    top_k, method
        How many runs, and ``rank`` or ``mean``.

    Returns
    -------
    list of dict
        One row per TF with members: ``run`` ``ensemble-top<k>``, ``members`` and
        per-target metrics under ``heldout``; recorded in ``ensembles/<TF>/ensemble.json``.
    """
    from fnstore.predict import ensemble
    from fnstore.predict.outputs import output_paths

    made = []
    for tf in tfs:
        ranked = [
            r
            for r in rows
            if r["tf"] == tf and r["status"] == "done" and r.get("honest_auprc") is not None
        ]
        ranked.sort(key=lambda r: (-r["honest_auprc"], r["run"]))
        members = [r["run"] for r in ranked[:top_k]]
        if not members:
            continue
        heldout = {}
        for t in targets:
            files = [
                output_paths(
                    run_dir(out, m) / HELDOUT_DIR / t["name"] / "predictions", tf, t["cell"]
                )
                for m in members
            ]
            target = output_paths(out / "ensembles" / tf / t["name"], tf, t["cell"])["zarr"]
            target.parent.mkdir(parents=True, exist_ok=True)
            ensemble(target, [f["zarr"] for f in files], method=method, overwrite=True)
            heldout[t["name"]] = evaluate_one(store, [target], tf, t["cell"], t["partial"])
        row = {"run": f"ensemble-top{top_k}", "tf": tf, "members": members, "heldout": heldout}
        row.update(status="done", method=method)
        write_json(out / "ensembles" / tf / "ensemble.json", row)
        made.append(row)
    return made
