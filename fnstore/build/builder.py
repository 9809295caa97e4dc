"""The chunked, parallel, resumable build of a store from a spec.

Order of work, chosen so bad input never leaves a half-written store and a killed build
never looks finished:

1. ``prepare``: validate the spec and every input (names, lengths, formats) and read the
   small interval files; nothing is written yet.
2. create the store with status ``building`` and one ``build_progress`` flag per work unit.
3. run the work units with dask; each unit writes whole Zarr chunks and then its flag, so a
   unit killed half-way is simply redone by ``--resume`` (Zarr writes are idempotent).
4. mark the store ``complete``: the only write that makes readers accept it.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from fnstore import __version__
from fnstore.build.spec import BuildSpec, load_spec
from fnstore.errors import FnstoreError, InputError, StoreError
from fnstore.io.bed import Intervals, check_interval_chroms, read_bed, read_chrom_sizes
from fnstore.io.bigwig import bigwig_header, check_bigwig_chroms, read_bigwig_values
from fnstore.io.dream import dream_tsv_header, iter_dream_tsv
from fnstore.io.fasta import FastaInfo, inspect_fasta, open_fasta
from fnstore.io.files import sha256sum
from fnstore.io.meta import read_meta
from fnstore.store.backends import is_remote, remove_store, store_exists
from fnstore.store.encoding import encode_ascii
from fnstore.store.labels import LETTER_TO_CODE, MISSING, any_overlap, label_bins
from fnstore.store.layout import FORMAT_NAME, STATUS_COMPLETE, Layout
from fnstore.store.write import create_store, mark_complete, open_for_writing

FLOAT16_MAX = 65504.0
PROGRESS_ARRAY = "build_progress"


@dataclass
class Plan:
    """Everything the work units need, computed and checked before the store exists."""

    spec: BuildSpec
    layout: Layout
    fasta: FastaInfo
    bigwig_chroms: dict[str, dict[str, int]]
    blacklist: list[Intervals]
    conservative: list[Intervals | None]  # per task; None for DREAM-TSV tasks
    relaxed: list[Intervals | None]
    dream_columns: list[tuple[str, int, int]]  # per DREAM source: (path, first task, n cells)
    annotations: list[Intervals]
    metadata: np.ndarray
    checksums: dict[str, dict[str, Any]]
    signal_dtype_reason: str
    fingerprint: str = ""
    units: list[tuple[str, int]] = field(default_factory=list)


# --------------------------------------------------------------------------- preparation


def _choose_chroms(spec: BuildSpec, fasta: FastaInfo) -> tuple[list[str], dict[str, int], bool]:
    lengths = dict(fasta.lengths)
    assembly = dict(lengths)
    assembly_known = False
    if spec.chrom_sizes:
        sizes = read_chrom_sizes(spec.chrom_sizes)
        assembly, assembly_known = sizes, True
    if spec.chroms:
        chroms = list(spec.chroms)
    elif spec.chrom_sizes:
        chroms = [c for c in assembly if c in lengths]
        if not chroms:
            raise InputError(
                spec.chrom_sizes, f"no chromosome in common with the FASTA {spec.fasta}"
            )
    else:
        chroms = list(lengths)
    for chrom in chroms:
        if chrom not in lengths:
            alt = chrom[3:] if chrom.startswith("chr") else f"chr{chrom}"
            hint = (
                f" (it has {alt!r}: chr-prefix mismatch?)"
                if alt in lengths
                else f" (it has {', '.join(list(lengths)[:5])})"
            )
            raise InputError(spec.fasta, f"chromosome {chrom!r} is not in the FASTA{hint}")
        if chrom in assembly and assembly[chrom] != lengths[chrom]:
            raise InputError(
                spec.fasta,
                f"{chrom} has length {lengths[chrom]} but {assembly[chrom]} in {spec.chrom_sizes}: another assembly?",
            )
    return chroms, {**assembly, **{c: lengths[c] for c in chroms}}, assembly_known


def prepare(spec: BuildSpec) -> Plan:
    """Check every input up front (cheap reads only) and compute the layout."""
    fasta = inspect_fasta(spec.fasta)
    chroms, assembly, assembly_known = _choose_chroms(spec, fasta)
    lengths = {c: fasta.lengths[c] for c in chroms}

    bigwig_chroms: dict[str, dict[str, int]] = {}
    max_val = 0.0
    for path in dict.fromkeys(p for tracks in spec.cell_tracks.values() for p in tracks.values()):
        chrom_lengths, vmax = bigwig_header(path)
        check_bigwig_chroms(path, chrom_lengths, assembly)
        bigwig_chroms[path] = chrom_lengths
        max_val = max(max_val, abs(vmax))
    if spec.signal_dtype == "auto":
        dtype = "float16" if max_val <= FLOAT16_MAX else "float32"
        reason = (
            f"auto: largest bigWig value {max_val:g} {'fits' if dtype == 'float16' else 'exceeds'} float16 "
            f"(max {FLOAT16_MAX:g}); float16 halves signal storage and keeps ~3 significant digits "
            f"(integers exact up to 2048); see benchmarks/build.py"
        )
    else:
        dtype = spec.signal_dtype
        reason = f"set in the spec ({dtype}); largest bigWig value {max_val:g}"

    def intervals(path: str, kind: str = "BED") -> Intervals:
        iv = read_bed(path, kind=kind)
        check_interval_chroms(iv, assembly, assembly_known)
        return iv

    blacklist = [intervals(p) for p in spec.blacklist]
    annotations = [intervals(p) for p in spec.annotations.values()]

    tasks: list[tuple[str, str]] = []
    conservative: list[Intervals | None] = []
    relaxed: list[Intervals | None] = []
    for t in spec.peak_tasks:
        tasks.append((t.tf, t.cell))
        conservative.append(intervals(t.conservative, "narrowPeak"))
        relaxed.append(intervals(t.relaxed, "narrowPeak") if t.relaxed else None)
    dream_columns = []
    for d in spec.dream:
        cells = dream_tsv_header(d.path)
        dream_columns.append((d.path, len(tasks), len(cells)))
        for cell in cells:
            if (d.tf, cell) in tasks:
                raise InputError(d.path, f"duplicate TF x cell pair {d.tf} x {cell}")
            tasks.append((d.tf, cell))
            conservative.append(None)
            relaxed.append(None)

    cells: list[str] = []
    for cell in [*spec.cell_tracks, *spec.cell_meta, *(c for _, c in tasks)]:
        if cell not in cells:
            cells.append(cell)
    tracks: list[str] = []
    for cell_tracks in spec.cell_tracks.values():
        for track in cell_tracks:
            if track not in tracks:
                tracks.append(track)
    meta_values = {cell: read_meta(path) for cell, path in spec.cell_meta.items()}
    meta_names: list[str] = []
    for values in meta_values.values():
        meta_names += [n for n in values if n not in meta_names]
    metadata = np.full((len(cells), len(meta_names)), np.nan, dtype=np.float32)
    for cell, values in meta_values.items():
        for name, v in values.items():
            metadata[cells.index(cell), meta_names.index(name)] = v

    layout = Layout(
        chroms=chroms,
        lengths=[lengths[c] for c in chroms],
        bin_size=spec.bin_size,
        stride=spec.stride,
        cells=cells,
        tracks=tracks,
        tasks=tasks,
        annotations=list(spec.annotations),
        meta_features=meta_names,
        signal_dtype=dtype,
        position_chunk=spec.position_chunk,
        bin_chunk=spec.bin_chunk,
    )
    if layout.n_bins == 0:
        raise InputError(spec.fasta, f"chromosomes are shorter than one {spec.bin_size} bp bin")
    checksums = {
        p: {"sha256": sha256sum(p), "bytes": os.path.getsize(p)}
        for p in dict.fromkeys(spec.input_files())
    }
    plan = Plan(
        spec,
        layout,
        fasta,
        bigwig_chroms,
        blacklist,
        conservative,
        relaxed,
        dream_columns,
        annotations,
        metadata,
        checksums,
        reason,
    )
    plan.units = _work_units(layout)
    plan.fingerprint = _fingerprint(plan)
    return plan


def _work_units(layout: Layout) -> list[tuple[str, int]]:
    units: list[tuple[str, int]] = []
    pc = layout.position_chunk
    for off, length in zip(layout.offsets, layout.lengths, strict=True):
        units += [("positions", int(k)) for k in range(off // pc, (off + length - 1) // pc + 1)]
    n_bin_chunks = -(-layout.n_bins // layout.bin_chunk)
    units += [("bins", j) for j in range(n_bin_chunks)]
    return units


def _fingerprint(plan: Plan) -> str:
    """What a resumed build must share with the interrupted one: inputs, layout, rule."""
    doc = {
        "inputs": {p: c["sha256"] for p, c in plan.checksums.items()},
        "layout": {k: v for k, v in plan.layout.__dict__.items()},
        "rule": plan.spec.rule.to_dict(),
        "fnstore": __version__,
    }
    return hashlib.sha256(json.dumps(doc, sort_keys=True, default=str).encode()).hexdigest()


# --------------------------------------------------------------------------- work units

_local = threading.local()


def _handles() -> dict[str, Any]:
    """Per-thread open files: pysam and pyBigWig handles are not thread-safe."""
    if not hasattr(_local, "handles"):
        _local.handles = {}
    return _local.handles


def _fasta_handle(info: FastaInfo) -> Any:
    h = _handles()
    if info.path not in h:
        h[info.path] = open_fasta(info)
    return h[info.path]


def _bigwig_handle(path: str) -> Any:
    import pyBigWig

    h = _handles()
    if path not in h:
        h[path] = pyBigWig.open(path)
    return h[path]


def _group(store: str) -> Any:
    return open_for_writing(store)  # cheap (one small JSON read); never stale across builds


def run_positions_unit(plan: Plan, store: str, k: int) -> None:
    """Sequence and every signal track of one position chunk (one chromosome)."""
    layout, pc = plan.layout, plan.layout.position_chunk
    root = _group(store)
    offsets = layout.offsets
    c = int(np.searchsorted(offsets, k * pc, side="right") - 1)
    chrom, off, length = layout.chroms[c], int(offsets[c]), layout.lengths[c]
    s, e = k * pc - off, min((k + 1) * pc - off, length)
    g0, g1 = off + s, off + e
    try:
        text = _fasta_handle(plan.fasta).fetch(chrom, s, e)
    except (OSError, ValueError) as exc:
        raise InputError(
            plan.fasta.path, f"cannot read {chrom}:{s}-{e}: truncated FASTA? ({exc})"
        ) from None
    if len(text) != e - s:
        raise InputError(
            plan.fasta.path, f"{chrom}:{s}-{e} returned {len(text)} bases: truncated FASTA?"
        )
    root["sequence"][g0:g1] = encode_ascii(text)
    for track in layout.tracks:
        arr = root["signals"][track]
        for ci, cell in enumerate(layout.cells):
            path = plan.spec.cell_tracks.get(cell, {}).get(track)
            if path is None:
                continue
            vals = read_bigwig_values(
                _bigwig_handle(path), chrom, s, e, plan.bigwig_chroms[path], path
            )
            arr[ci, g0:g1] = vals.astype(layout.signal_dtype)


def _dream_scratch(store: str) -> Path:
    if is_remote(store) or store.endswith(".zip"):
        digest = hashlib.sha256(store.encode()).hexdigest()[:16]
        return Path(tempfile.gettempdir()) / f"fnstore-build-{digest}"
    return Path(store) / "_build_scratch"


def prepare_dream_labels(plan: Plan, store: str) -> np.memmap | None:
    """Stream ENCODE-DREAM label TSVs into an on-disk (bins x tasks) int8 scratch matrix.

    TSVs are sorted by chromosome and start, but not necessarily by our chromosome order,
    so rows are placed by computed bin index; memory stays one block of rows.
    """
    if not plan.dream_columns:
        return None
    layout = plan.layout
    scratch = _dream_scratch(store)
    scratch.mkdir(parents=True, exist_ok=True)
    n_cols = sum(n for _, _, n in plan.dream_columns)
    mm = np.lib.format.open_memmap(
        scratch / "dream_labels.npy", mode="w+", dtype=np.int8, shape=(layout.n_bins, n_cols)
    )
    mm[:] = MISSING
    chrom_index = {c: i for i, c in enumerate(layout.chroms)}
    first, counts = layout.first_bins, layout.bins_per_chrom
    lut = np.full(256, -128, dtype=np.int16)
    for letter, code in LETTER_TO_CODE.items():
        lut[ord(letter)] = code
    col0 = 0
    for path, _, n in plan.dream_columns:
        for chroms, starts, stops, letters in iter_dream_tsv(path, n):
            keep = np.array([ch in chrom_index for ch in chroms])
            if not keep.any():
                continue
            ci = np.array([chrom_index[ch] for ch in chroms[keep]])
            st, sp = starts[keep], stops[keep]
            if np.any(sp - st != layout.bin_size) or np.any(st % layout.stride):
                raise InputError(
                    path, f"rows are not on the {layout.bin_size} bp / {layout.stride} bp bin grid"
                )
            local = st // layout.stride
            if np.any(local >= counts[ci]):
                raise InputError(path, "a row lies past the chromosome end: another assembly?")
            codes = lut[np.frombuffer("".join(letters[keep].ravel()).encode(), dtype=np.uint8)]
            if np.any(codes == -128):
                raise InputError(path, "label letters must be B, U or A")
            mm[first[ci] + local, col0 : col0 + n] = codes.reshape(-1, n).astype(np.int8)
        col0 += n
    mm.flush()
    return mm


def run_bins_unit(plan: Plan, store: str, j: int, dream: np.ndarray | None) -> None:
    """Bin coordinates, blacklist, labels of every task and annotations of one bin chunk."""
    layout = plan.layout
    root = _group(store)
    b0, b1 = j * layout.bin_chunk, min((j + 1) * layout.bin_chunk, layout.n_bins)
    first, counts = layout.first_bins, layout.bins_per_chrom
    n = b1 - b0
    chrom_col = np.empty(n, dtype=np.int16)
    start_col = np.empty(n, dtype=np.int64)
    blacklist = np.zeros(n, dtype=bool)
    labels = np.full((n, len(layout.tasks)), MISSING, dtype=np.int8)
    annots = np.zeros((n, len(layout.annotations)), dtype=np.uint8)
    size, rule = layout.bin_size, plan.spec.rule
    for c, chrom in enumerate(layout.chroms):
        lo, hi = max(b0, int(first[c])), min(b1, int(first[c] + counts[c]))
        if lo >= hi:
            continue
        rows = slice(lo - b0, hi - b0)
        starts = (np.arange(lo, hi, dtype=np.int64) - first[c]) * layout.stride
        chrom_col[rows], start_col[rows] = c, starts
        span = (int(starts[0]), int(starts[-1]) + size)
        for iv in plan.blacklist:
            blacklist[rows] |= any_overlap(starts, size, *iv.within(chrom, *span))
        for a, iv in enumerate(plan.annotations):
            annots[rows, a] = any_overlap(starts, size, *iv.within(chrom, *span))
        for t, cons in enumerate(plan.conservative):
            if cons is None:
                continue
            rel = plan.relaxed[t]
            labels[rows, t] = label_bins(
                starts,
                size,
                cons.within(chrom, *span),
                rel.within(chrom, *span) if rel is not None else None,
                rule,
            )
    if dream is not None:
        col0 = plan.dream_columns[0][1]
        labels[:, col0 : col0 + dream.shape[1]] = dream[b0:b1]
    root["bin_chrom"][b0:b1] = chrom_col
    root["bin_start"][b0:b1] = start_col
    root["blacklist"][b0:b1] = blacklist
    root["labels"][b0:b1, :] = labels
    if layout.annotations:
        root["annotations"][b0:b1, :] = annots


def _run_unit(plan: Plan, store: str, index: int, dream: np.ndarray | None) -> int:
    kind, k = plan.units[index]
    if kind == "positions":
        run_positions_unit(plan, store, k)
    else:
        run_bins_unit(plan, store, k, dream)
    _group(store)[PROGRESS_ARRAY][index] = 1
    return index


# --------------------------------------------------------------------------- orchestration


def _versions() -> dict[str, str]:
    import dask
    import numcodecs
    import pyBigWig  # noqa: F401
    import pysam
    import zarr

    return {
        "fnstore": __version__,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "zarr": zarr.__version__,
        "numcodecs": numcodecs.__version__,
        "dask": dask.__version__,
        "pysam": pysam.__version__,
        "pyBigWig": getattr(sys.modules.get("pyBigWig"), "__version__", "unknown"),
    }


def _store_attrs(plan: Plan) -> dict[str, Any]:
    spec, layout = plan.spec, plan.layout
    present = {t: [t in spec.cell_tracks.get(c, {}) for c in layout.cells] for t in layout.tracks}
    track_sources = {
        t: {c: spec.cell_tracks[c][t] for c in layout.cells if t in spec.cell_tracks.get(c, {})}
        for t in layout.tracks
    }

    def src(path: str | None) -> dict[str, Any] | None:
        return None if path is None else {"path": path, "sha256": plan.checksums[path]["sha256"]}

    task_sources = [
        {"tf": t.tf, "cell": t.cell, "conservative": src(t.conservative), "relaxed": src(t.relaxed)}
        for t in spec.peak_tasks
    ]
    for path, first, n in plan.dream_columns:
        task_sources += [
            {
                "tf": layout.tasks[first + i][0],
                "cell": layout.tasks[first + i][1],
                "dream_tsv": src(path),
            }
            for i in range(n)
        ]
    return {
        "name": spec.name,
        "assembly": spec.assembly,
        "labelling": {
            "rule": "FactorNet/ENCODE-DREAM",
            **spec.rule.to_dict(),
            "ambiguous_source": "relaxed peaks, else conservative peaks",
            "codes": {"U": 0, "B": 1, "A": 2, "no data": MISSING},
        },
        "track_present": present,
        "track_sources": track_sources,
        "task_sources": task_sources,
        "annotation_sources": {k: src(v) for k, v in spec.annotations.items()},
        "metadata_sources": {c: src(p) for c, p in spec.cell_meta.items()},
        "provenance": {
            "spec": spec.raw,
            "spec_source": spec.source,
            "inputs": plan.checksums,
            "versions": _versions(),
            "parameters": {
                "bin_size": layout.bin_size,
                "stride": layout.stride,
                "label_rule": spec.rule.to_dict(),
                "signal_dtype": layout.signal_dtype,
                "signal_dtype_reason": plan.signal_dtype_reason,
                "position_chunk": layout.position_chunk,
                "bin_chunk": layout.bin_chunk,
            },
            "fingerprint": plan.fingerprint,
            "command": " ".join(sys.argv),
            "host": platform.node(),
            "started": datetime.now(UTC).isoformat(timespec="seconds"),
        },
    }


def _new_store(plan: Plan, store: str) -> Any:
    root = create_store(store, plan.layout, _store_attrs(plan))
    root["metadata"][...] = plan.metadata
    root.create_array(
        PROGRESS_ARRAY,
        shape=(len(plan.units),),
        chunks=(1,),
        dtype="uint8",
        fill_value=0,
        dimension_names=["work_unit"],
        attributes={"units": [f"{k}:{i}" for k, i in plan.units]},
    )
    return root


def _resume_store(plan: Plan, store: str) -> Any:
    try:
        root = open_for_writing(store)
        meta = dict(root.attrs[FORMAT_NAME])
        recorded = root.attrs["provenance"]["fingerprint"]
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

    tasks = [dask.delayed(_run_unit, pure=False)(plan, store, i, dream) for i in todo]
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(tasks), desc="build", unit="chunk", file=sys.stderr)

    class _Bar(Callback):
        def _posttask(self, key, result, dsk, state, id):  # noqa: ANN001, A002, ARG002
            if bar is not None and isinstance(result, int):
                bar.update(1)

    try:
        if scheduler in {"threads", "sync", "synchronous", "processes"}:
            with _Bar():
                dask.compute(*tasks, scheduler=scheduler, num_workers=workers)
        else:
            from distributed import Client  # optional dependency
            from distributed import progress as dprogress

            with Client(scheduler) as client:
                futures = client.compute(tasks)
                if progress:
                    dprogress(futures)
                client.gather(futures)
    finally:
        if bar is not None:
            bar.close()


def _pack_zip(folder: str, target: str) -> None:
    """Zip a finished directory store (chunks are already compressed: store them as they are)."""
    import shutil
    import zipfile

    tmp = f"{target}.tmp"
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
        for path in sorted(Path(folder).rglob("*")):
            if path.is_file() and not path.name.endswith(".partial"):
                zf.write(path, path.relative_to(folder).as_posix())
    os.replace(tmp, target)
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
) -> str:
    """Build (or finish building) a store; returns a one-paragraph summary.

    A ``.zip`` target is built as a directory beside it (``NAME.zip.building``, which is
    what ``--resume`` continues) and packed only when complete.
    Raises :class:`InputError` for bad input before anything is written.
    """
    store = str(store)
    if store.endswith(".zip") and not is_remote(store):
        work = f"{store}.building"
        if os.path.exists(store) and not overwrite:
            raise InputError(store, "already exists (use --overwrite to replace it)")
        summary = _build(
            spec,
            work,
            overwrite=overwrite or (os.path.exists(work) and not resume),
            resume=resume,
            scheduler=scheduler,
            workers=workers,
            progress=progress,
        )
        if os.path.exists(store):
            os.remove(store)
        _pack_zip(work, store)
        return summary.replace(work, store)
    return _build(
        spec,
        store,
        overwrite=overwrite,
        resume=resume,
        scheduler=scheduler,
        workers=workers,
        progress=progress,
    )


def _build(
    spec: str | os.PathLike | dict[str, Any] | BuildSpec,
    store: str,
    *,
    overwrite: bool,
    resume: bool,
    scheduler: str,
    workers: int | None,
    progress: bool,
) -> str:
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
    plan = prepare(bs)

    created = False
    root = None
    if exists and resume:
        root = _resume_store(plan, store)
        if root is None:
            return f"{store}: already complete; nothing to do"
    else:
        if exists:
            remove_store(store)
        root = _new_store(plan, store)
        created = True
    try:
        done = root[PROGRESS_ARRAY][:]
        todo = [i for i in range(len(plan.units)) if not done[i]]
        needs_dream = any(plan.units[i][0] == "bins" for i in todo)
        dream = prepare_dream_labels(plan, store) if needs_dream else None
        _execute(plan, store, todo, dream, scheduler, workers, progress)
    except FnstoreError:
        if created:
            remove_store(store)
        raise
    if dream is not None:
        import shutil

        del dream
        shutil.rmtree(_dream_scratch(store), ignore_errors=True)
    prov = dict(root.attrs["provenance"])
    prov["finished"] = datetime.now(UTC).isoformat(timespec="seconds")
    prov["resumed"] = bool(resume and exists)
    mark_complete(root, {"provenance": prov})
    _handles().clear()
    layout = plan.layout
    return (
        f"{store}: {len(layout.chroms)} chromosome(s), {layout.n_bins:,} bins, {len(layout.cells)} cells, "
        f"{len(layout.tracks)} track(s), {len(layout.tasks)} tasks; built {len(todo)} of {len(plan.units)} "
        f"chunks in {time.perf_counter() - t0:.1f} s"
    )
