"""``fnstore add``: grow a finished store by a spec fragment, as a fresh build would lay it out.

Order of work, chosen like a build's so bad input never touches the store and a killed
add never shows readers a half-grown one:

1. plan (:mod:`~fnstore.build.fragment`): check the fragment and its inputs against the
   store; nothing is written.
2. create ``STORE.adding`` beside the store with :func:`~fnstore.store.write.create_store`
   and the combined layout, so every array, name and chunk grid is exactly a fresh build's;
   its status is ``adding`` (readers refuse it) and it holds one progress flag per unit.
3. the units: ``link`` hard-links every chunk file that does not change from the store
   (sequence, bins, blacklist, the signal rows of existing cells under their new row
   numbers, labels and annotations when their columns stay); ``positions`` units write the
   new signal rows; ``bins`` units rewrite labels or annotations when columns are added.
   Only new files are written: a linked file is never opened for writing (every metadata
   document is created fresh), so the store's own files never change.
4. commit: append the version entry, write the manifest, mark complete, consolidate.
5. swap ``STORE.adding`` in for the store at once (``renameat2(RENAME_EXCHANGE)``).

A kill before 5 leaves the old store whole and readable; ``--resume`` finishes the
``.adding`` folder (the plan's fingerprint must match) and swaps it in.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path
from typing import Any

from fnstore.build.add_units import AddResult, run_units, staged_dream_labels
from fnstore.build.fragment import AddPlan, load_fragment, plan_add
from fnstore.errors import InputError, StoreError
from fnstore.io.files import naming_os_errors, sweep_temporaries
from fnstore.io.icechunk import is_icechunk
from fnstore.io.lock import output_lock
from fnstore.io.outputs import replace_folder, restore_backup
from fnstore.store.backends import is_remote
from fnstore.store.layout import (
    ANNOTATIONS,
    BIN_CHROM,
    BIN_START,
    BLACKLIST,
    FORMAT_NAME,
    LABELS,
    METADATA,
    PROGRESS_ARRAY,
    PROVENANCE_ATTR,
    SEQUENCE,
    SIGNALS,
    STATUS_COMPLETE,
)
from fnstore.store.read import open_store
from fnstore.store.versions import (
    VERSIONS_KEY,
    content_hash,
    layout_names,
    record_version,
    version_entry,
    versions,
)
from fnstore.store.write import (
    create_progress_array,
    create_store,
    finish_build,
    mark_unit_done,
    open_for_writing,
    units_done,
)

__all__ = ["AddResult", "STATUS_ADDING", "add_to_store", "adding_folder"]

#: the status of a store being grown (readers accept only ``complete``)
STATUS_ADDING = "adding"


def adding_folder(store: str) -> str:
    """Where an add grows a store before swapping it in.

    Parameters
    ----------
    store : str
        The store's folder.

    Returns
    -------
    str
        ``STORE.adding``, beside it.
    """
    return f"{str(store).rstrip('/')}.adding"


def add_to_store(
    store: str | os.PathLike,
    fragment: str | os.PathLike,
    *,
    resume: bool = False,
    workers: int | None = None,
    progress: bool = False,
) -> AddResult:
    """Add the cells, tracks, labels and annotations of a spec fragment to a finished store.

    The arrays afterwards equal a fresh build of the store's spec with the fragment's
    entries appended; only chunks that change are written.

    Parameters
    ----------
    store : str or os.PathLike
        A complete local folder store, or ``icechunk://PATH[@branch]`` (the add is then
        one commit on the branch, tagged like a build: :mod:`~fnstore.build.add_icechunk`).
    fragment : str or os.PathLike
        The fragment's YAML file (``schemas/add-fragment.schema.json``).
    resume : bool
        Finish an interrupted add of the same fragment (``STORE.adding``). On icechunk an
        interrupted add left nothing behind, so it is simply done again.
    workers : int, optional
        Threads for the work units (default: one per CPU, at most 4).
    progress : bool
        Show progress on stderr.

    Returns
    -------
    AddResult
        The names added, the new version, chunk files written and time taken.

    Raises
    ------
    InputError
        For a bad fragment or a store that cannot grow, before anything is written.
    StoreError
        When a resume does not match the interrupted add.
    """
    t0 = time.perf_counter()
    store = str(store)
    if is_icechunk(store):  # one commit: nothing to resume, a failed add is simply redone
        from fnstore.build.add_icechunk import add_to_icechunk

        return add_to_icechunk(store, fragment, workers=workers, progress=progress)
    if is_remote(store) or store.endswith(".zip"):
        raise InputError(
            store,
            "add grows a local folder store or an icechunk repository only (unpack a .zip, "
            "or add before uploading)",
        )
    staging = adding_folder(store)
    with naming_os_errors(store), output_lock(store):
        sweep_temporaries(Path(store).absolute().parent)
        restore_backup(store)
        current = open_store(store)
        plan = plan_add(load_fragment(fragment), current)
        if os.path.exists(staging) and not resume:
            raise InputError(store, f"an interrupted add is in {staging}: finish it with --resume")
        with staged_dream_labels(plan) as dream:  # TSV rows checked before anything is written
            root = _resume(plan, staging) if os.path.exists(staging) else None
            resumed = root is not None
            if root is None and not _complete(staging):
                root = _create(plan, current, staging)
            if root is not None:
                _run(plan, current, staging, root, workers, progress, dream)
                total = _commit(plan, staging, root, resumed)
        if root is None:  # complete already (killed before its swap)
            root, total = open_store(staging).root, _count_chunks(staging)[1]
        version = dict(root.attrs[PROVENANCE_ATTR])["history"][-1]
        replace_folder(staging, store)  # the old store stays whole until this moment
    return AddResult(
        store=store,
        added={k: v for k, v in plan.added.items() if v},
        version=int(version["version"]),
        content_hash=version["content_hash"],
        chunks_written=int(version["chunks_written"]),
        chunks_total=total,
        seconds=time.perf_counter() - t0,
    )


def _complete(staging: str) -> bool:
    try:
        return open_store(staging, allow_incomplete=True).status == STATUS_COMPLETE
    except Exception:
        return False


def _create(plan: AddPlan, current: Any, staging: str) -> Any:
    """The ``.adding`` folder: every array a fresh build of the combined spec creates."""
    if os.path.exists(staging):
        shutil.rmtree(staging)
    root = create_store(staging, plan.layout, plan.attrs)
    meta = dict(root.attrs[FORMAT_NAME])
    old = current.attrs[FORMAT_NAME]
    meta.update(store_id=current.store_id, created=old.get("created"), status=STATUS_ADDING)
    provenance = {**plan.attrs[PROVENANCE_ATTR], "add_fingerprint": plan.fingerprint}
    if not versions(current.attrs):  # built before versions: the store as it is is version 1
        first = version_entry(
            [], "build", layout_names(plan.old), content_hash(current.root.store), 0
        )
        first["time"] = current.provenance.get("finished", first["time"])
        provenance[VERSIONS_KEY] = [first]
    root.attrs.update({FORMAT_NAME: meta, PROVENANCE_ATTR: provenance})
    root[METADATA][...] = plan.metadata
    create_progress_array(root, [f"{k}:{i}" for k, i in plan.units])  # last: marks it resumable
    return root


def _resume(plan: AddPlan, staging: str) -> Any:
    """The interrupted add's root, or None when it must start over or is complete."""
    try:
        root = open_for_writing(staging)
        meta = dict(root.attrs[FORMAT_NAME])
        recorded = dict(root.attrs[PROVENANCE_ATTR]).get("add_fingerprint")
        started = PROGRESS_ARRAY in root
    except Exception:
        meta, recorded, started = {}, None, False
    if meta.get("status") not in {STATUS_ADDING, STATUS_COMPLETE, "building"}:
        raise StoreError(f"{staging}: not an interrupted fnstore add (remove it to add again)")
    if recorded is not None and recorded != plan.fingerprint:
        raise StoreError(
            f"{staging}: cannot resume: the fragment, its inputs or the store changed since this add "
            f"started (remove {staging} to start over)"
        )
    if recorded is None or not started:  # killed while creating it: nothing to keep
        shutil.rmtree(staging)
        return None
    if meta.get("status") == STATUS_COMPLETE:
        return None
    for partial in Path(staging).rglob("*.partial"):
        partial.unlink(missing_ok=True)
    return root


def _run(
    plan: AddPlan,
    current: Any,
    staging: str,
    root: Any,
    workers: int | None,
    progress: bool,
    dream: Any,
) -> None:
    """Run the units still to do (:func:`run_units`), each flagged done after its chunks;
    the ``link`` unit hard-links the unchanged chunk files into the staging folder."""
    done = units_done(root)
    todo = [i for i in range(len(plan.units)) if not done[i]]
    run_units(
        plan,
        todo,
        current.root,
        root,
        workers=workers,
        progress=progress,
        done=len(plan.units) - len(todo),
        other=lambda kind, k: _link_unit(plan, staging),
        after=lambda index: mark_unit_done(root, index),
        dream=dream,
    )


def _link(src: Path, dst: Path) -> int:
    """Hard-link one file (a copy across filesystems); an existing target is kept."""
    if dst.exists():
        return 0
    dst.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(src, dst)
    except OSError:
        tmp = dst.with_name(dst.name + ".partial")
        shutil.copyfile(src, tmp)
        os.replace(tmp, dst)
    return 1


def _link_tree(src: Path, dst: Path) -> None:
    """Every chunk file under ``src`` (not its metadata document) at the same place under ``dst``."""
    for folder, _, names in os.walk(src):
        rel = Path(folder).relative_to(src)
        for name in names:
            if (rel == Path(".") and name == "zarr.json") or name.endswith(".partial"):
                continue
            _link(Path(folder) / name, dst / rel / name)


def _link_unit(plan: AddPlan, staging: str) -> None:
    """Reuse every unchanged chunk; existing cells' signal rows move to their new row numbers."""
    old, new = Path(plan.store), Path(staging)
    arrays = [SEQUENCE, BIN_CHROM, BIN_START, BLACKLIST]
    arrays += [LABELS] * (not plan.tasks_changed) + [ANNOTATIONS] * (not plan.annotations_changed)
    for name in arrays:
        _link_tree(old / name, new / name)
    for track in plan.old.tracks:
        for row, was in enumerate(plan.cell_source):
            if was is not None:
                src = old / SIGNALS / track / "c" / str(was)
                if not src.is_dir():
                    raise StoreError(
                        f"{src}: missing chunks (not a default-encoded fnstore store?)"
                    )
                _link_tree(src, new / SIGNALS / track / "c" / str(row))


def _count_chunks(folder: str) -> tuple[int, int]:
    """Data chunk files of a local store (under a ``c`` folder; not progress flags): those
    written by this add (one link: not shared with the old store) and all of them."""
    written = total = 0
    for path, _, names in os.walk(folder):
        rel = os.path.relpath(path, folder).split(os.sep)
        if "c" not in rel or rel[0] == PROGRESS_ARRAY:
            continue
        for name in names:
            if not name.endswith(".partial"):
                total += 1
                written += os.stat(os.path.join(path, name)).st_nlink == 1
    return written, total


def _commit(plan: AddPlan, staging: str, root: Any, resumed: bool) -> int:
    """Record the version (content hash, chunk files written), then mark the store complete;
    returns the store's number of chunk files."""
    written, total = _count_chunks(staging)
    record_version(root, "add", plan.added, written)
    finish_build(root, resumed=resumed)
    return total
