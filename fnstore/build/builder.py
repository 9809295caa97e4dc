"""The chunked, parallel, resumable build of a store from a spec.

Order of work, chosen so bad input never leaves a half-written store and a killed build
never looks finished:

1. ``prepare`` (:mod:`~fnstore.build.plan`): validate the spec and every input (names,
   lengths, formats) and read the small interval files; nothing is written yet.
2. create the store with status ``building`` and one ``build_progress`` flag per work unit.
3. run the work units (:mod:`~fnstore.build.units`) with dask; each unit writes whole Zarr
   chunks and then its flag, so a unit killed half-way is simply redone by ``--resume``
   (Zarr writes are idempotent).
4. mark the store ``complete``: the only write that makes readers accept it.

``--overwrite`` of a local folder store builds the new store in ``STORE.building`` beside
it and swaps it in (:func:`fnstore.io.outputs.replace_folder`) only once complete, so a
failed or killed overwrite leaves the old store intact and readable. The ``.building``
folder keeps a killed overwrite resumable: ``--resume`` finishes it and then swaps it in;
``--overwrite`` starts it over. (A store at a URL is still replaced in place: object
stores cannot rename a folder at once.)
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import time
import zipfile
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import zarr

from fnstore.build.plan import Plan, prepare
from fnstore.build.provenance import build_attributes
from fnstore.build.spec import BuildSpec, load_spec
from fnstore.build.units import (
    die_with_parent,
    dream_scratch,
    handles,
    prepare_dream_labels,
    run_unit,
)
from fnstore.errors import FnstoreError, InputError, StoreError
from fnstore.io.files import atomic_path, naming_os_errors, sweep_temporaries
from fnstore.io.icechunk import is_icechunk, record_icechunk_version, write_transaction
from fnstore.io.lock import output_lock
from fnstore.io.outputs import refuse_foreign, replace_folder, restore_backup
from fnstore.notebook import html_repr
from fnstore.progress import progress_bar
from fnstore.store.backends import is_remote, remove_store, store_exists, zarr_store
from fnstore.store.layout import FORMAT_NAME, METADATA, PROVENANCE_ATTR, STATUS_COMPLETE
from fnstore.store.versions import current_version, layout_names, record_version
from fnstore.store.write import (
    create_progress_array,
    create_store,
    finish_build,
    open_for_writing,
    units_done,
)

__all__ = ["BuildResult", "build_store", "prepare"]


@dataclass(frozen=True)
class BuildResult:
    """What a build did: the store's size in chromosomes, bins, cells, tracks and tasks,
    and how many of its work units (chunks) this run wrote.

    ``str(result)`` is :meth:`summary`, the paragraph ``build_store`` used to return.
    """

    store: str
    n_chroms: int
    n_bins: int
    n_cells: int
    n_tracks: int
    n_tasks: int
    chunks_built: int
    chunks_total: int
    seconds: float
    already_complete: bool = False
    #: an icechunk build: the snapshot it committed and the tag it got (None otherwise)
    snapshot_id: str | None = None
    tag: str | None = None

    _repr_html_ = html_repr  # how a notebook shows it (fnstore.notebook)

    @classmethod
    def nothing_to_do(cls, store: str) -> BuildResult:
        """The result of resuming a build that had already finished.

        Parameters
        ----------
        store : str
            Path or URL of the finished store.

        Returns
        -------
        BuildResult
            All counts zero and ``already_complete`` true.
        """
        return cls(store, 0, 0, 0, 0, 0, 0, 0, 0.0, already_complete=True)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form: every field.

        Returns
        -------
        dict
            Field name to value.
        """
        return dataclasses.asdict(self)

    def summary(self) -> str:
        """One paragraph for the terminal (what ``fnstore build`` prints).

        Returns
        -------
        str
            The sizes, the chunks built of the total and the time taken.
        """
        if self.already_complete:
            return f"{self.store}: already complete; nothing to do"
        version = f"; committed snapshot {self.snapshot_id} (tag {self.tag})" * bool(self.tag)
        return (
            f"{self.store}: {self.n_chroms} chromosome(s), {self.n_bins:,} bins, {self.n_cells} cells, "
            f"{self.n_tracks} track(s), {self.n_tasks} tasks; built {self.chunks_built} of {self.chunks_total} "
            f"chunks in {self.seconds:.1f} s{version}"
        )

    def __str__(self) -> str:
        return self.summary()


def _new_store(plan: Plan, store: str) -> Any:
    local = None if is_remote(store) else str(store)
    root = create_store(store, plan.layout, build_attributes(plan, local))
    root[METADATA][...] = plan.metadata
    create_progress_array(root, [f"{k}:{i}" for k, i in plan.units])
    return root


def _resume_store(plan: Plan, store: str) -> Any:
    try:
        root = open_for_writing(store)
        meta = dict(root.attrs[FORMAT_NAME])
        recorded = root.attrs[PROVENANCE_ATTR]["fingerprint"]
    except Exception:
        raise StoreError(
            f"{store}: cannot resume: not an fnstore build (use --overwrite)"
        ) from None
    if recorded != plan.fingerprint:
        raise StoreError(
            f"{store}: cannot resume: the spec or its input files changed since this build started (use --overwrite)"
        )
    if meta.get("status") == STATUS_COMPLETE:
        return None
    if not is_remote(store):
        for partial in Path(store).rglob("*.partial"):
            partial.unlink(missing_ok=True)
    return root


def _execute(
    plan: Plan,
    store: str,
    todo: list[int],
    dream: np.ndarray | None,
    scheduler: str,
    workers: int | None,
    progress: bool,
) -> None:
    import dask
    from dask.callbacks import Callback

    tasks = [dask.delayed(run_unit, pure=False)(plan, store, i, dream) for i in todo]
    total = len(plan.units)
    bar = progress_bar(total, "build", "chunk", enabled=progress, initial=total - len(todo))

    class _Bar(Callback):
        def _posttask(self, key, result, dsk, state, id):  # noqa: ANN001, A002, ARG002
            if isinstance(result, int):
                bar.update(1)

    with bar:
        if scheduler in {"threads", "sync", "synchronous", "processes"}:
            extra = {"initializer": partial(die_with_parent, os.getpid())}
            with _Bar():
                dask.compute(
                    *tasks,
                    scheduler=scheduler,
                    num_workers=workers,
                    **(extra if scheduler == "processes" else {}),
                )
        else:
            from distributed import Client, as_completed  # optional dependency

            with Client(scheduler) as client:
                # distributed's own progress bar redraws with carriage returns: count here
                futures = client.compute(tasks)
                for _ in as_completed(futures):
                    bar.update(1)
                client.gather(futures)  # raises a unit's failure


def _pack_zip(folder: str, target: str) -> None:
    """Zip a finished directory store (chunks are already compressed: store them as they are)."""
    with (
        atomic_path(target) as tmp,
        zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf,
    ):
        for path in sorted(Path(folder).rglob("*")):
            if path.is_file() and not path.name.endswith(".partial"):
                zf.write(path, path.relative_to(folder).as_posix())
    shutil.rmtree(folder)


def build_store(
    spec: str | os.PathLike | dict[str, Any] | BuildSpec,
    store: str | os.PathLike,
    *,
    overwrite: bool = False,
    resume: bool = False,
    scheduler: str = "threads",
    workers: int | None = None,
    progress: bool = False,
) -> BuildResult:
    """Build (or finish building) a store.

    A ``.zip`` target is built as a directory beside it (``NAME.zip.building``, which is
    what ``--resume`` continues) and packed only when complete, so a zip under its final
    name is always a finished store.

    Parameters
    ----------
    spec
        A YAML spec path, an already-parsed spec dict, or a :class:`BuildSpec`.
    store
        Target folder, ``.zip`` or fsspec URL.
    overwrite
        Replace an existing store (only an fnstore store: anything else is refused).
    resume
        Finish an interrupted build of the same spec and inputs.
    scheduler
        ``"threads"``, ``"sync"``, ``"processes"`` or a dask.distributed scheduler address.
    workers
        Threads or processes of a local scheduler (default: dask's).
    progress
        Show progress on stderr (a bar on a terminal, plain lines otherwise).

    Returns
    -------
    BuildResult
        Sizes, chunks built and time taken; ``summary()`` is the paragraph the CLI prints.

    Raises
    ------
    InputError
        For bad input, before anything is written.
    StoreError
        When a resume does not match the interrupted build.
    """
    store = str(store)
    options = {"scheduler": scheduler, "workers": workers, "progress": progress}
    with (
        naming_os_errors(store),  # a full disk inside zarr's writes names no file
        output_lock(store),  # one build per store; a killed build's lock is free at once
    ):
        if not is_remote(store):
            sweep_temporaries(Path(store).absolute().parent)
            restore_backup(store)  # a kill inside an overwrite's fallback swap
        if is_icechunk(store):
            return _build_icechunk(spec, store, overwrite, resume, options)
        if not (store.endswith(".zip") and not is_remote(store)):
            return _build(spec, store, overwrite=overwrite, resume=resume, **options)
        return _build_zip(spec, store, overwrite, resume, options)


def _build_zip(
    spec: str | os.PathLike | dict[str, Any] | BuildSpec,
    store: str,
    overwrite: bool,
    resume: bool,
    options: dict[str, Any],
) -> BuildResult:
    """Build a ``.zip`` store as the folder ``NAME.zip.building``, then pack it."""
    work = f"{store}.building"
    if os.path.exists(store) and not overwrite:
        raise InputError(store, "already exists (use --overwrite to replace it)")
    if os.path.exists(store):
        _require_fnstore_store(store)
    result = _build(
        spec,
        work,
        overwrite=overwrite or (os.path.exists(work) and not resume),
        resume=resume,
        swap=False,  # the zip is the swap: the folder is scratch
        **options,
    )
    _pack_zip(work, store)  # replaces an older zip only once the new one is complete
    return dataclasses.replace(result, store=store)


def _build_icechunk(
    spec: str | os.PathLike | dict[str, Any] | BuildSpec,
    store: str,
    overwrite: bool,
    resume: bool,
    options: dict[str, Any],
) -> BuildResult:
    """Build into one writable icechunk session and commit it as a tagged version.

    Every open of ``store`` during the build writes through the one session (threads of
    this process), so nothing is visible until the commit and a killed build leaves the
    branch at its previous snapshot; see :mod:`fnstore.io.icechunk`.
    """
    if options["scheduler"] not in {"threads", "sync", "synchronous"}:
        raise InputError(store, "an icechunk build runs on the threads or sync scheduler")
    with write_transaction(store) as tx:
        result = _build(spec, store, overwrite=overwrite, resume=resume, swap=False, **options)
        commit_meta = record_icechunk_version(tx)
        snapshot = tx.commit(f"fnstore build of {result.store}", commit_meta or None)
    return dataclasses.replace(result, snapshot_id=snapshot, tag=tx.tag if snapshot else None)


def _require_fnstore_store(store: str) -> None:
    """``--overwrite`` replaces only an fnstore store (complete or still building): a Zarr
    group, folder or ``.zip``, whose attributes carry the fnstore format block."""
    try:
        attrs = zarr.open_group(zarr_store(store, "r"), mode="r").attrs
        ours = isinstance(attrs.get(FORMAT_NAME), dict)
    except Exception:  # zarr and zipfile raise many types for "not a group"
        ours = False
    if not ours:
        refuse_foreign(store, "an fnstore store", "a Zarr group of another kind" * is_remote(store))


def _open_target(plan: Plan, store: str, exists: bool, resume: bool) -> tuple[Any, bool]:
    """The store to write into and whether this run created it; ``None`` when complete."""
    if exists and resume:
        return _resume_store(plan, store), False
    if exists:
        remove_store(store)
    return _new_store(plan, store), True


def building_folder(store: str) -> str | None:
    """Where ``--overwrite`` builds a local folder store before swapping it in.

    Parameters
    ----------
    store : str
        The store's path or URL.

    Returns
    -------
    str or None
        ``STORE.building`` beside a local store; None for a URL (replaced in place).
    """
    return None if is_remote(store) else f"{store.rstrip('/')}.building"


def _build(
    spec: str | os.PathLike | dict[str, Any] | BuildSpec,
    store: str,
    *,
    overwrite: bool,
    resume: bool,
    scheduler: str,
    workers: int | None,
    progress: bool,
    swap: bool = True,
) -> BuildResult:
    t0 = time.perf_counter()
    bs = spec if isinstance(spec, BuildSpec) else load_spec(spec)
    exists = store_exists(store)
    if exists and not (overwrite or resume):
        raise InputError(
            store,
            "already exists (use --overwrite to replace it, or --resume to finish an interrupted build)",
        )
    if overwrite and resume:
        raise InputError(store, "--overwrite and --resume exclude each other")
    if exists and overwrite:
        _require_fnstore_store(store)
    plan = prepare(bs)
    options = {"scheduler": scheduler, "workers": workers, "progress": progress}
    beside = building_folder(store) if swap and exists else None
    if beside is not None and (overwrite or (resume and os.path.isdir(beside))):
        return _build_beside(plan, store, beside, resume, options, t0)
    root, created = _open_target(plan, store, exists, resume)
    return _run(plan, store, root, created, bool(resume and exists), options, t0)


def _build_beside(
    plan: Plan, store: str, beside: str, resume: bool, options: dict[str, Any], t0: float
) -> BuildResult:
    """Build (or with ``resume`` finish) ``beside``, then swap it in for ``store``."""
    there = os.path.exists(beside)
    if there:
        _require_fnstore_store(beside)  # never delete or resume someone else's folder
    if there and not resume:
        remove_store(beside)  # --overwrite starts an interrupted overwrite over
    root, created = _open_target(plan, beside, there and resume, resume)
    if root is None:  # complete, killed before its swap
        result = BuildResult.nothing_to_do(store)
    else:
        result = _run(plan, beside, root, created, bool(resume and there), options, t0)
    replace_folder(beside, store)  # the old store stays whole until this moment
    return dataclasses.replace(result, store=store)


def _run(
    plan: Plan,
    store: str,
    root: Any,
    created: bool,
    resumed: bool,
    options: dict[str, Any],
    t0: float,
) -> BuildResult:
    """Run the work units still to do in ``root`` (at ``store``) and mark it complete."""
    if root is None:
        return BuildResult.nothing_to_do(store)
    try:
        done = units_done(root)
        todo = [i for i in range(len(plan.units)) if not done[i]]
        needs_dream = any(plan.units[i][0] == "bins" for i in todo)
        dream = prepare_dream_labels(plan, store) if needs_dream else None
        _execute(plan, store, todo, dream, **options)
    except FnstoreError:
        if created:
            remove_store(store)
        raise
    if dream is not None:
        del dream
        shutil.rmtree(dream_scratch(store), ignore_errors=True)
    if not current_version(root.attrs):  # a resume killed after this line has it already
        record_version(root, "build", layout_names(plan.layout), len(plan.units))
    finish_build(root, resumed=resumed)
    handles().clear()
    layout = plan.layout
    return BuildResult(
        store=store,
        n_chroms=len(layout.chroms),
        n_bins=layout.n_bins,
        n_cells=len(layout.cells),
        n_tracks=len(layout.tracks),
        n_tasks=len(layout.tasks),
        chunks_built=len(todo),
        chunks_total=len(plan.units),
        seconds=time.perf_counter() - t0,
    )
