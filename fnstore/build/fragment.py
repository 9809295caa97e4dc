"""Step 1 of ``fnstore add``: read a spec fragment, check it against the store, plan the add.

The contract is a fresh build of the combined spec (the store's recorded spec with the
fragment's entries appended): every name list is laid out in the order that build would
give it (:func:`fnstore.build.plan.prepare`), so a cell may land between existing ones and
tasks stay peak tasks first. The plan says, for every row of the new layout, where its
data comes from: an existing row of the store (reused as is) or an input (computed).
Like a build's plan, it reads only headers and small interval files, and refuses bad
input (a name that exists, another assembly or bin grid, a schema mismatch) before
anything is written.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from fnstore.build.plan import FLOAT16_MAX, usable_peaks
from fnstore.build.provenance import portable
from fnstore.build.spec import (
    DreamSource,
    PeakTask,
    label_sources,
    read_raw_spec,
    schema_error_message,
)
from fnstore.errors import InputError
from fnstore.io.bed import Intervals, check_interval_chroms, read_bed
from fnstore.io.bigwig import bigwig_header, check_bigwig_chroms
from fnstore.io.dream import dream_tsv_header
from fnstore.io.fasta import inspect_fasta
from fnstore.io.files import sha256sum
from fnstore.io.meta import read_meta
from fnstore.store.labels import LabelRule
from fnstore.store.layout import PROVENANCE_ATTR, Layout
from fnstore.store.versions import current_version


@dataclass
class Fragment:
    """A validated fragment: what to add, with absolute paths."""

    raw: dict[str, Any]
    source: str
    cell_tracks: dict[str, dict[str, str]]
    cell_meta: dict[str, str]
    peak_tasks: list[PeakTask]
    annotations: dict[str, str]
    dream: list[DreamSource] = field(default_factory=list)

    @cached_property
    def dream_cells(self) -> list[tuple[DreamSource, list[str]]]:
        """Each DREAM TSV with its cells (its header line, read once).

        Returns
        -------
        list of tuple
            ``(source, cells)`` in fragment order.
        """
        return [(d, dream_tsv_header(d.path)) for d in self.dream]

    def input_files(self) -> list[str]:
        """Every input file the fragment names.

        Returns
        -------
        list of str
            Absolute paths, each once, in fragment order.
        """
        files = [p for tracks in self.cell_tracks.values() for p in tracks.values()]
        files += list(self.cell_meta.values())
        for t in self.peak_tasks:
            files += [t.conservative] + ([t.relaxed] if t.relaxed else [])
        files += [d.path for d in self.dream]
        return list(dict.fromkeys(files + list(self.annotations.values())))


@dataclass
class AddPlan:
    """Everything the add's work units need, computed before anything is written."""

    store: str
    old: Layout
    layout: Layout
    fragment: Fragment
    cell_source: list[int | None]  # per new cell: its row in the store, None when new
    task_source: list[int | None]
    annotation_source: list[int | None]
    peaks: dict[int, tuple[Intervals, Intervals | None]]  # per new task column
    dream_columns: list[tuple[str, int, int]]  # per new DREAM TSV: (path, first column, cells)
    annotation_intervals: dict[int, Intervals]
    metadata: np.ndarray
    signal_jobs: list[tuple[str, int, str | None]]  # (track, cell row, bigWig or None: zeros)
    bigwig_chroms: dict[str, dict[str, int]]
    rule: LabelRule
    attrs: dict[str, Any]
    added: dict[str, list[str]]
    fingerprint: str = ""
    units: list[tuple[str, int]] = field(default_factory=list)

    @property
    def tasks_changed(self) -> bool:
        """Whether the label array is rewritten (its columns or their order change)."""
        return self.task_source != list(range(len(self.old.tasks)))

    @property
    def annotations_changed(self) -> bool:
        """Whether the annotation array is rewritten."""
        return self.annotation_source != list(range(len(self.old.annotations)))


def _fragment_schema() -> Any:
    """The fragment's JSON Schema validator, resolving references into the build spec's."""
    import jsonschema
    from referencing import Registry, Resource

    folder = resources.files("fnstore.schemas")
    build = json.loads(folder.joinpath("build-spec.schema.json").read_text())
    schema = json.loads(folder.joinpath("add-fragment.schema.json").read_text())
    registry = Registry().with_resource(build["$id"], Resource.from_contents(build))
    return jsonschema.Draft202012Validator(schema, registry=registry)


def load_fragment(path: str | os.PathLike) -> Fragment:
    """Read and validate a fragment; relative paths start from the fragment's folder.

    Parameters
    ----------
    path : str or os.PathLike
        The fragment's YAML file.

    Returns
    -------
    Fragment
        What to add, with absolute paths.

    Raises
    ------
    InputError
        When the file is missing, not YAML, fails the schema or repeats a TF x cell pair.
    """
    raw, source, base = read_raw_spec(path)
    errors = sorted(_fragment_schema().iter_errors(raw), key=lambda e: list(e.absolute_path))
    if errors:
        raise InputError(source, schema_error_message(errors[0]).replace("spec", "fragment", 1))

    def resolve(p: str) -> str:
        q = Path(os.path.expanduser(p))
        return str(q if q.is_absolute() else (base / q).resolve())

    peak_tasks, dream = label_sources(raw.get("labels") or [], resolve)
    cells = raw.get("cells") or {}
    return Fragment(
        raw=raw,
        source=source,
        cell_tracks={
            c: {t: resolve(p) for t, p in (v.get("tracks") or {}).items()} for c, v in cells.items()
        },
        cell_meta={c: resolve(v["metadata"]) for c, v in cells.items() if v.get("metadata")},
        peak_tasks=peak_tasks,
        annotations={k: resolve(v) for k, v in (raw.get("annotations") or {}).items()},
        dream=dream,
    )


def _unique(items: Any) -> list[str]:
    return list(dict.fromkeys(items))


def _old_spec_cells(store: Any) -> dict[str, list[str]]:
    """The store's spec cells (``cells:`` entries, in order) and their tracks, in order."""
    spec = store.provenance.get("spec") or {}
    cells = spec.get("cells")
    if isinstance(cells, dict):
        return {c: list((v or {}).get("tracks") or {}) for c, v in cells.items()}
    present = store.track_present  # a store without a recorded spec: every cell, present tracks
    return {c: [t for t in store.tracks if present[t][i]] for i, c in enumerate(store.cells)}


def _check_grid(fragment: Fragment, store: Any) -> None:
    """Refuse a fragment that states another assembly, bin grid or genome than the store's."""
    raw, src = fragment.raw, fragment.source
    if raw.get("assembly") is not None and raw["assembly"] != store.attrs.get("assembly"):
        raise InputError(
            src, f"assembly {raw['assembly']!r}, the store's is {store.attrs.get('assembly')!r}"
        )
    bins = raw.get("bins") or {}
    for key, have in (("size", store.bin_size), ("stride", store.stride)):
        if key in bins and int(bins[key]) != have:
            raise InputError(src, f"bins {key} {bins[key]}, the store's is {have}")
    if raw.get("genome"):
        fasta = str((Path(src).parent / raw["genome"]["fasta"]).resolve())
        lengths = inspect_fasta(fasta).lengths
        for chrom, n in zip(store.chroms, store.chrom_lengths, strict=True):
            if lengths.get(chrom) != int(n):
                raise InputError(
                    fasta,
                    f"{chrom} has length {lengths.get(chrom)}, the store's {int(n)}: another genome?",
                )


def _refuse_existing(fragment: Fragment, store: Any, spec_cells: dict[str, list[str]]) -> None:
    """Names that already exist are refused: ``add`` never replaces data."""
    src = fragment.source
    meta_cells = set(store.attrs.get("metadata_sources") or {})
    for cell, tracks in fragment.cell_tracks.items():
        for track in tracks:
            if track in spec_cells.get(cell, []):
                raise InputError(src, f"cell {cell} already has track {track!r} in the store")
        if cell in fragment.cell_meta and cell in meta_cells:
            raise InputError(src, f"cell {cell} already has metadata in the store")
    have = {(t.tf, t.cell) for t in store.tasks}
    for t in fragment.peak_tasks:
        if (t.tf, t.cell) in have:
            raise InputError(t.conservative, f"task {t.tf}.{t.cell} already exists in the store")
        have.add((t.tf, t.cell))
    for d, cells in fragment.dream_cells:
        for cell in cells:
            if (d.tf, cell) in have:
                raise InputError(d.path, f"task {d.tf}.{cell} already exists in the store")
            have.add((d.tf, cell))
    for name in fragment.annotations:
        if name in store.annotation_names:
            raise InputError(src, f"annotation {name!r} already exists in the store")
    if not (
        fragment.peak_tasks
        or fragment.dream
        or fragment.annotations
        or any(fragment.cell_tracks.values())
        or fragment.cell_meta
    ):
        raise InputError(src, "adds nothing (no tracks, metadata, labels or annotations)")


def _combined_names(
    fragment: Fragment, store: Any, spec_cells: dict[str, list[str]]
) -> dict[str, Any]:
    """Cells, tracks and tasks in the order a fresh build of the combined spec gives them."""
    sources = store.attrs.get("task_sources") or []
    dream = {(s["tf"], s["cell"]) for s in sources if "dream_tsv" in s}
    old_tasks = [(t.tf, t.cell) for t in store.tasks]
    new_tasks = [(t.tf, t.cell) for t in fragment.peak_tasks]
    tasks = [
        *(p for p in old_tasks if p not in dream),
        *new_tasks,
        *(p for p in old_tasks if p in dream),
        *((d.tf, cell) for d, cells in fragment.dream_cells for cell in cells),  # last, as built
    ]
    cell_tracks = {c: list(v) for c, v in spec_cells.items()}
    for cell, tracks in fragment.cell_tracks.items():
        cell_tracks.setdefault(cell, []).extend(tracks)
    for cell in fragment.cell_meta:
        cell_tracks.setdefault(cell, [])
    cells = _unique([*cell_tracks, *(c for _, c in tasks)])
    tracks = _unique(t for ts in cell_tracks.values() for t in ts)
    return {"cells": cells, "tracks": tracks, "tasks": tasks, "cell_tracks": cell_tracks}


def _metadata(
    fragment: Fragment, store: Any, cells: list[str], fill: float | None
) -> tuple[list[str], np.ndarray]:
    """The combined (cell x feature) matrix, as a fresh build would fill it."""
    new_values = {c: read_meta(p) for c, p in fragment.cell_meta.items()}
    old_names = list(store.meta_feature_names)
    names = _unique([*old_names, *(n for v in new_values.values() for n in v)])
    old_cells = list(store.attrs.get("metadata_sources") or {})
    if fill is None:
        for cell, values in new_values.items():
            missing = [n for n in names if n not in values]
            if missing:
                raise InputError(
                    fragment.cell_meta[cell],
                    f"lacks metadata feature(s) {', '.join(missing[:3])} that the store's cells have (its spec sets no metadata_fill)",
                )
        if old_cells and len(names) > len(old_names):
            raise InputError(
                fragment.source,
                f"adds metadata feature(s) {', '.join(names[len(old_names) :][:3])} the store's cells lack (its spec sets no metadata_fill)",
            )
    metadata = np.full((len(cells), len(names)), np.nan, dtype=np.float32)
    old = store.root["metadata"][...]
    for cell in old_cells:
        row = cells.index(cell)
        if fill is not None:
            metadata[row] = fill
        metadata[row, : len(old_names)] = old[store.cell_index(cell)]
    for cell, values in new_values.items():
        row = cells.index(cell)
        if fill is not None:
            metadata[row] = fill
        for name, v in values.items():
            metadata[row, names.index(name)] = v
    return names, metadata


def _signal_jobs(
    fragment: Fragment, store: Any, layout: Layout, cell_source: list[int | None], dtype: str
) -> tuple[list[tuple[str, int, str | None]], dict[str, dict[str, int]]]:
    """Which (track, cell) rows are computed, and the checked chromosomes of each bigWig."""
    lengths = dict(zip(store.chroms, (int(n) for n in store.chrom_lengths), strict=True))
    jobs: list[tuple[str, int, str | None]] = []
    bigwig_chroms: dict[str, dict[str, int]] = {}
    for track in layout.tracks:
        for ci, cell in enumerate(layout.cells):
            path = fragment.cell_tracks.get(cell, {}).get(track)
            if track in store.tracks and cell_source[ci] is not None and path is None:
                continue  # an existing row: its chunks are reused
            jobs.append((track, ci, path))
            if path is not None and path not in bigwig_chroms:
                chroms, vmax = bigwig_header(path)
                check_bigwig_chroms(path, chroms, lengths)
                if dtype == "float16" and abs(vmax) > FLOAT16_MAX:
                    raise InputError(
                        path,
                        f"largest value {vmax:g} does not fit the store's float16 signals (rebuild with signal_dtype: float32)",
                    )
                bigwig_chroms[path] = chroms
    return jobs, bigwig_chroms


def plan_add(fragment: Fragment, store: Any) -> AddPlan:
    """Check a fragment against an open store and plan the add; nothing is written.

    Parameters
    ----------
    fragment : Fragment
        The loaded fragment (:func:`load_fragment`).
    store : fnstore.store.read.Store
        The complete store to grow.

    Returns
    -------
    AddPlan
        The combined layout, where each row's data comes from, the new metadata and root
        attributes, and the fingerprint a resumed add must match.
    """
    _check_grid(fragment, store)
    spec_cells = _old_spec_cells(store)
    _refuse_existing(fragment, store, spec_cells)
    names = _combined_names(fragment, store, spec_cells)
    params = store.provenance.get("parameters") or {}
    spec_raw = store.provenance.get("spec") or {}
    fill = spec_raw.get("metadata_fill")
    fill = None if fill is None else (float("nan") if str(fill).lower() == "nan" else float(fill))
    meta_names, metadata = _metadata(fragment, store, names["cells"], fill)
    old = _layout_of(store, params)
    layout = Layout(
        chroms=old.chroms,
        lengths=old.lengths,
        bin_size=old.bin_size,
        stride=old.stride,
        cells=names["cells"],
        tracks=names["tracks"],
        tasks=names["tasks"],
        annotations=[*old.annotations, *fragment.annotations],
        meta_features=meta_names,
        signal_dtype=old.signal_dtype,
        position_chunk=old.position_chunk,
        bin_chunk=old.bin_chunk,
    )

    def source(new: list[Any], was: list[Any]) -> list[int | None]:
        index = {x: i for i, x in enumerate(was)}
        return [index.get(x) for x in new]

    cell_source = source(layout.cells, old.cells)
    jobs, bigwig_chroms = _signal_jobs(fragment, store, layout, cell_source, old.signal_dtype)
    lengths = dict(zip(old.chroms, old.lengths, strict=True))

    def intervals(path: str, kind: str = "BED") -> Intervals:
        iv = read_bed(path, kind=kind)
        check_interval_chroms(iv, lengths, False)
        return iv

    task_source = source(layout.tasks, old.tasks)
    peaks = {}
    for t in fragment.peak_tasks:
        cons = usable_peaks(intervals(t.conservative, "narrowPeak"), old.chroms, t.allow_empty)
        rel = (
            usable_peaks(intervals(t.relaxed, "narrowPeak"), old.chroms, t.allow_empty)
            if t.relaxed
            else None
        )
        peaks[layout.tasks.index((t.tf, t.cell))] = (cons, rel)
    n_old = len(old.annotations)
    plan = AddPlan(
        store=str(store.path),
        old=old,
        layout=layout,
        fragment=fragment,
        cell_source=cell_source,
        task_source=task_source,
        annotation_source=source(layout.annotations, old.annotations),
        peaks=peaks,
        dream_columns=_dream_columns(fragment, layout),
        annotation_intervals={
            n_old + i: intervals(p) for i, p in enumerate(fragment.annotations.values())
        },
        metadata=metadata,
        signal_jobs=jobs,
        bigwig_chroms=bigwig_chroms,
        rule=LabelRule(**(params.get("label_rule") or spec_raw.get("label_rule") or {})),
        attrs={},
        added=_added(fragment, old, layout),
    )
    checksums = {
        p: {"sha256": sha256sum(p), "bytes": os.path.getsize(p)} for p in fragment.input_files()
    }
    plan.attrs = merged_attributes(plan, store, names["cell_tracks"], checksums)
    plan.units = _units(plan)
    plan.fingerprint = _fingerprint(plan, store, checksums)
    return plan


def _dream_columns(fragment: Fragment, layout: Layout) -> list[tuple[str, int, int]]:
    """Per DREAM TSV of the fragment: its path, first label column and number of cells."""
    return [
        (d.path, layout.tasks.index((d.tf, cells[0])), len(cells))
        for d, cells in fragment.dream_cells
    ]


def _layout_of(store: Any, params: dict[str, Any]) -> Layout:
    """The layout a store was built with (its spec's chunk sizes where recorded)."""
    return Layout(
        chroms=list(store.chroms),
        lengths=[int(n) for n in store.chrom_lengths],
        bin_size=store.bin_size,
        stride=store.stride,
        cells=list(store.cells),
        tracks=list(store.tracks),
        tasks=[(t.tf, t.cell) for t in store.tasks],
        annotations=list(store.annotation_names),
        meta_features=list(store.meta_feature_names),
        signal_dtype=store.signal_dtype,
        position_chunk=store.position_chunk,
        bin_chunk=int(params.get("bin_chunk", store.bin_chunk)),
    )


def _added(fragment: Fragment, old: Layout, layout: Layout) -> dict[str, list[str]]:
    """Names the add brings, by kind (the version entry's ``added``)."""
    return {
        "cells": [c for c in layout.cells if c not in old.cells],
        "tracks": [t for t in layout.tracks if t not in old.tracks],
        "cell_tracks": [f"{c}.{t}" for c, ts in fragment.cell_tracks.items() for t in ts],
        "tasks": [f"{tf}.{c}" for tf, c in layout.tasks if (tf, c) not in old.tasks],
        "annotations": [a for a in layout.annotations if a not in old.annotations],
        "meta_features": [m for m in layout.meta_features if m not in old.meta_features],
    }


def _units(plan: AddPlan) -> list[tuple[str, int]]:
    """The add's resumable steps: link reused chunks, then only the chunks that change."""
    layout, pc = plan.layout, plan.layout.position_chunk
    units: list[tuple[str, int]] = [("link", 0)]
    if plan.signal_jobs:
        for off, length in zip(layout.offsets, layout.lengths, strict=True):
            units += [("positions", int(k)) for k in range(off // pc, (off + length - 1) // pc + 1)]
    if plan.tasks_changed or plan.annotations_changed:
        bin_chunk = min(layout.bin_chunk, max(layout.n_bins, 1))
        units += [("bins", j) for j in range(-(-layout.n_bins // bin_chunk))]
    return units


def _fingerprint(plan: AddPlan, store: Any, checksums: dict[str, Any]) -> str:
    """What a resumed add must share with the interrupted one: store version, fragment, inputs."""
    version = current_version(store.attrs) or {}
    doc = {
        "store_id": store.store_id,
        "base": version.get("content_hash") or store.provenance.get("fingerprint"),
        "fragment": plan.fragment.raw,
        "inputs": {p: c["sha256"] for p, c in checksums.items()},
        "layout": plan.layout.__dict__,
    }
    return hashlib.sha256(json.dumps(doc, sort_keys=True, default=str).encode()).hexdigest()


def merged_attributes(
    plan: AddPlan, store: Any, cell_tracks: dict[str, list[str]], checksums: dict[str, Any]
) -> dict[str, Any]:
    """The store's root attributes grown by the fragment, as a fresh build would record them.

    Paths are recorded relative to the store's spec folder (where ``inputs_base`` says),
    so the merged spec in the provenance builds the same store.

    Parameters
    ----------
    plan : AddPlan
        The plan (layout, fragment).
    store : fnstore.store.read.Store
        The store being grown.
    cell_tracks : dict of str to list of str
        Every cell's tracks in the combined spec.
    checksums : dict
        Size and SHA-256 of every fragment input, by absolute path.

    Returns
    -------
    dict
        Root attributes besides the format's own.
    """
    attrs = {k: v for k, v in store.attrs.items() if k != "fnstore"}
    prov = dict(attrs.get(PROVENANCE_ATTR) or {})
    parent = os.path.dirname(os.path.abspath(store.path))
    base = (
        os.path.normpath(os.path.join(parent, prov["inputs_base"]))
        if prov.get("inputs_base")
        else ""
    )
    frag, layout = plan.fragment, plan.layout

    def src(path: str) -> dict[str, Any]:
        return {"path": portable(path, base), "sha256": checksums[path]["sha256"]}

    old_present = store.track_present
    present = {}
    for t in layout.tracks:
        present[t] = [t in cell_tracks.get(c, []) for c in layout.cells]
    del old_present
    track_sources = {t: dict((attrs.get("track_sources") or {}).get(t, {})) for t in layout.tracks}
    for cell, tracks in frag.cell_tracks.items():
        for t, p in tracks.items():
            track_sources[t][cell] = portable(p, base)
    track_sources = {t: {c: s[c] for c in layout.cells if c in s} for t, s in track_sources.items()}
    old_tasks = list(attrs.get("task_sources") or [])
    new_tasks = [
        {
            "tf": t.tf,
            "cell": t.cell,
            "conservative": src(t.conservative),
            "relaxed": src(t.relaxed) if t.relaxed else None,
        }
        for t in frag.peak_tasks
    ]
    attrs["track_present"] = present
    attrs["track_sources"] = track_sources
    new_dream = [
        {"tf": layout.tasks[first + i][0], "cell": layout.tasks[first + i][1], "dream_tsv": src(p)}
        for p, first, n in plan.dream_columns
        for i in range(n)
    ]
    attrs["task_sources"] = (
        [s for s in old_tasks if "dream_tsv" not in s]
        + new_tasks
        + [s for s in old_tasks if "dream_tsv" in s]
        + new_dream
    )
    attrs["annotation_sources"] = {
        **(attrs.get("annotation_sources") or {}),
        **{k: src(v) for k, v in frag.annotations.items()},
    }
    attrs["metadata_sources"] = {
        **(attrs.get("metadata_sources") or {}),
        **{c: src(p) for c, p in frag.cell_meta.items()},
    }
    prov["inputs"] = {
        **(prov.get("inputs") or {}),
        **{portable(p, base): {"name": os.path.basename(p), **c} for p, c in checksums.items()},
    }
    prov["spec"] = _merged_spec(prov.get("spec") or {}, frag, base)
    attrs[PROVENANCE_ATTR] = prov
    return attrs


def _merged_spec(spec: dict[str, Any], frag: Fragment, base: str) -> dict[str, Any]:
    """The store's recorded spec with the fragment's entries appended (paths made relative)."""
    spec = json.loads(json.dumps(spec))
    cells = spec.setdefault("cells", {})
    for cell in dict.fromkeys([*frag.cell_tracks, *frag.cell_meta]):
        entry = cells.setdefault(cell, {})
        tracks = frag.cell_tracks.get(cell)
        if tracks:
            entry.setdefault("tracks", {}).update({t: portable(p, base) for t, p in tracks.items()})
        if cell in frag.cell_meta:
            entry["metadata"] = portable(frag.cell_meta[cell], base)
    labels = spec.setdefault("labels", [])
    for t in frag.peak_tasks:
        item = {"tf": t.tf, "cell": t.cell, "conservative": portable(t.conservative, base)}
        if t.relaxed:
            item["relaxed"] = portable(t.relaxed, base)
        if t.allow_empty:
            item["allow_empty"] = True
        labels.append(item)
    labels += [{"dream_tsv": portable(d.path, base), "tf": d.tf} for d in frag.dream]
    if frag.annotations:
        spec.setdefault("annotations", {}).update(
            {k: portable(v, base) for k, v in frag.annotations.items()}
        )
    return spec
