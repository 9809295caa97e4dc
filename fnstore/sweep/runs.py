"""A sweep folder on disk, and what state each run in it is in.

Layout of ``OUTDIR``::

    sweep.json                 which sweep this is (store id, spec, run names)
    runs/<name>/run.json       the run's full definition, status, error line, wall seconds
    runs/<name>/model/         its model folder (written whole by ``fnstore.train``)
    runs/<name>/heldout/<target>/  predictions and metrics.json for each held-out target
    logs/<name>.log            the run's stdout/stderr (Keras one line per epoch)
    heldout/<target>.bed       bins of a held-out span (what ``predict --regions`` scores)
    ensembles/<TF>/...         the top-k ensemble's predictions and metrics
    leaderboard.csv/.md/.png

Why the model is a subfolder rather than the run folder itself: a model folder holds
model files only (``fnstore.train`` refuses to replace anything else), and the run's
record, logs and held-out predictions must sit beside it. A run is *done* when its model
folder is complete (its card reads and checks, the weights are there) and its recorded
definition equals the spec's; the model folder is swapped in whole by ``train``, so a
killed run has either no model or the previous complete one, and starts again cleanly.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from fnstore.errors import InputError
from fnstore.io.files import TEMP_PREFIX, atomic_write
from fnstore.io.outputs import describe

SWEEP_FORMAT = "fnstore-sweep"
SWEEP_FILE = "sweep.json"
RUN_FILE = "run.json"
MODEL_DIR = "model"
HELDOUT_DIR = "heldout"
METRICS_FILE = "metrics.json"
#: states of a run before the sweep starts
DONE, TODO, CHANGED = "done", "todo", "changed"


def run_dir(out: Path, name: str) -> Path:
    """``OUTDIR/runs/<name>``.

    Parameters
    ----------
    out
        The sweep folder.
    name
        The run's name.

    Returns
    -------
    Path
        The run folder (may not exist).
    """
    return out / "runs" / name


def log_path(out: Path, name: str) -> Path:
    """``OUTDIR/logs/<name>.log``.

    Parameters
    ----------
    out
        The sweep folder.
    name
        The run's name.

    Returns
    -------
    Path
        The log file (may not exist).
    """
    return out / "logs" / f"{name}.log"


def read_json_or_none(path: Path) -> Any:
    """The JSON at ``path``; None when it is missing or unreadable.

    Parameters
    ----------
    path
        A JSON file.

    Returns
    -------
    Any
        The document, or None.
    """
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def write_json(path: Path, data: Any) -> None:
    """Write ``data`` as indented JSON, atomically (folders created).

    Parameters
    ----------
    path
        Target file.
    data
        JSON-able data.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(path) as fh:
        fh.write(json.dumps(data, indent=2, sort_keys=True) + "\n")


def check_outdir(out: Path, store_id: str, name: str | None) -> None:
    """Refuse an ``OUTDIR`` that holds something other than this sweep.

    A sweep folder of the same store (and, when the spec names the sweep, the same name)
    is this sweep, perhaps extended: its finished runs are reused. Anything else is
    refused before anything trains.

    Parameters
    ----------
    out
        The sweep folder (need not exist).
    store_id
        The spec's store.
    name
        The spec's ``name``, if any.

    Raises
    ------
    InputError
        For a file, a foreign folder or another sweep's folder.
    """
    if not out.exists():
        return
    if not out.is_dir():
        raise InputError(out, f"not a sweep folder but {describe(out)}")
    names = {e.name for e in out.iterdir() if not e.name.startswith((TEMP_PREFIX, "."))}
    if not names:
        return
    record = read_json_or_none(out / SWEEP_FILE)
    if not isinstance(record, dict) or record.get("format") != SWEEP_FORMAT:
        raise InputError(out, f"not a sweep folder but {describe(out)}; give a new or empty OUTDIR")
    if record.get("store_id") != store_id:
        raise InputError(
            out,
            f"holds a sweep of another store ({record.get('store')}); give a new OUTDIR",
        )
    if name is not None and record.get("name") not in (None, name):
        raise InputError(out, f"holds another sweep ({record.get('name')!r}); give a new OUTDIR")


def model_complete(model: Path) -> bool:
    """Whether ``model`` is a complete model folder (card checks, weights present).

    Parameters
    ----------
    model
        A model folder path.

    Returns
    -------
    bool
        True when :func:`fnstore.model.card.read_card` accepts it and ``model.keras`` exists.
    """
    from fnstore.model.card import MODEL_FILE, read_card

    try:
        read_card(model)
    except InputError:
        return False
    return (model / MODEL_FILE).is_file()


def run_state(out: Path, name: str, definition: dict[str, Any]) -> str:
    """:data:`DONE`, :data:`TODO` (never run, interrupted or failed) or :data:`CHANGED`.

    Parameters
    ----------
    out
        The sweep folder.
    name
        The run's name.
    definition
        The run's definition now (:meth:`RunSpec.definition`).

    Returns
    -------
    str
        The state; a model trained with another definition, or one without a readable
        record (nothing says what trained it), is CHANGED.
    """
    folder = run_dir(out, name)
    record = read_json_or_none(folder / RUN_FILE)
    if record is None:
        return CHANGED if (folder / MODEL_DIR).exists() else TODO
    if not (folder / MODEL_DIR).exists():
        return TODO  # failed or interrupted before a model landed: nothing to mix up
    if record.get("definition") != definition:
        return CHANGED
    return DONE if model_complete(folder / MODEL_DIR) else TODO


def clear_run(out: Path, name: str) -> None:
    """Remove a changed run's folder (``--rerun-changed``); its log is kept and appended.

    Parameters
    ----------
    out
        The sweep folder.
    name
        The run's name.
    """
    folder = run_dir(out, name)
    if folder.exists():
        shutil.rmtree(folder)


def write_run_record(
    out: Path, name: str, definition: dict[str, Any], status: str, **more: Any
) -> None:
    """Write ``runs/<name>/run.json``: the definition, the status and ``more``.

    Parameters
    ----------
    out
        The sweep folder.
    name
        The run's name.
    definition
        Its definition.
    status
        ``running``, ``done`` or ``failed``.
    **more
        ``error``, ``seconds``, ...
    """
    data = {"format": "fnstore-sweep-run", "name": name, "definition": definition}
    data.update(status=status, **more)
    write_json(run_dir(out, name) / RUN_FILE, data)
