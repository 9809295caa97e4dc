"""Step 1 of a build: check the spec and every input, and plan the work; nothing is written.

Bad input must fail here, before a store exists, so every check reads only headers and
small interval files. The :class:`Plan` it returns is all the work units need.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from fnstore import __version__
from fnstore.build.spec import BuildSpec
from fnstore.errors import InputError
from fnstore.io.bed import Intervals, check_interval_chroms, read_bed, read_chrom_sizes
from fnstore.io.bigwig import bigwig_header, check_bigwig_chroms
from fnstore.io.dream import dream_tsv_header
from fnstore.io.fasta import FastaInfo, check_has_bases, inspect_fasta
from fnstore.io.files import sha256sum
from fnstore.io.meta import read_meta
from fnstore.store.layout import Layout

FLOAT16_MAX = 65504.0


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


@dataclass
class _Tasks:
    """The label columns: peak tasks first, then one column per cell of each DREAM TSV."""

    pairs: list[tuple[str, str]] = field(default_factory=list)
    conservative: list[Intervals | None] = field(default_factory=list)
    relaxed: list[Intervals | None] = field(default_factory=list)
    dream_columns: list[tuple[str, int, int]] = field(default_factory=list)


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


def _signal_dtype(
    spec: BuildSpec, assembly: dict[str, int]
) -> tuple[dict[str, dict[str, int]], str, str]:
    """Check every bigWig's chromosomes; pick float16 when the largest value fits it."""
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
    return bigwig_chroms, dtype, reason


def usable_peaks(iv: Intervals, chroms: list[str], allow_empty: bool) -> Intervals:
    """Refuse a peak file with no row on the store's chromosomes unless the spec allows it.

    Parameters
    ----------
    iv : Intervals
        The peaks read.
    chroms : list of str
        The store's chromosomes.
    allow_empty : bool
        The labels entry's ``allow_empty``.

    Returns
    -------
    Intervals
        ``iv`` itself, when usable.

    Raises
    ------
    InputError
        When it has no row on those chromosomes and empty is not allowed.
    """
    if allow_empty or iv.chroms & set(chroms):
        return iv
    if iv.n_rows == 0:
        problem = "no peaks (empty file)"
    else:
        problem = f"no peak on the store's chromosomes ({', '.join(chroms[:3])}{'...' if len(chroms) > 3 else ''})"
    raise InputError(
        iv.source,
        f"{problem}; set 'allow_empty: true' on its labels entry for an all-unbound column",
    )


def _tasks(spec: BuildSpec, read: Any, chroms: list[str]) -> _Tasks:
    """Label columns in store order; ``read(path, kind)`` reads and checks one peak file."""
    out = _Tasks()
    for t in spec.peak_tasks:
        out.pairs.append((t.tf, t.cell))
        out.conservative.append(
            usable_peaks(read(t.conservative, "narrowPeak"), chroms, t.allow_empty)
        )
        out.relaxed.append(
            usable_peaks(read(t.relaxed, "narrowPeak"), chroms, t.allow_empty)
            if t.relaxed
            else None
        )
    for d in spec.dream:
        cells = dream_tsv_header(d.path)
        out.dream_columns.append((d.path, len(out.pairs), len(cells)))
        for cell in cells:
            if (d.tf, cell) in out.pairs:
                raise InputError(d.path, f"duplicate TF x cell pair {d.tf} x {cell}")
            out.pairs.append((d.tf, cell))
            out.conservative.append(None)
            out.relaxed.append(None)
    return out


def _unique(items: Any) -> list[str]:
    return list(dict.fromkeys(items))


def _metadata(spec: BuildSpec, cells: list[str]) -> tuple[list[str], np.ndarray]:
    """Feature names in first-seen order and the (cell x feature) matrix, NaN where unknown.

    Files listing different features are refused unless the spec's ``metadata_fill`` says
    what a file's missing features become.
    """
    meta_values = {cell: read_meta(path) for cell, path in spec.cell_meta.items()}
    names = _unique(n for values in meta_values.values() for n in values)
    if spec.metadata_fill is None:
        for cell, values in meta_values.items():
            missing = [n for n in names if n not in values]
            if missing:
                raise InputError(
                    spec.cell_meta[cell],
                    f"lacks metadata feature(s) {', '.join(missing[:3])}{'...' if len(missing) > 3 else ''} "
                    "that other cells' files have (set 'metadata_fill: nan' or 0 in the spec to fill them)",
                )
    metadata = np.full((len(cells), len(names)), np.nan, dtype=np.float32)
    for cell, values in meta_values.items():
        if spec.metadata_fill is not None:
            metadata[cells.index(cell)] = spec.metadata_fill
        for name, v in values.items():
            metadata[cells.index(cell), names.index(name)] = v
    return names, metadata


def prepare(spec: BuildSpec) -> Plan:
    """Check every input up front (cheap reads only) and compute the layout.

    Parameters
    ----------
    spec
        A loaded spec (:func:`fnstore.build.load_spec`).

    Returns
    -------
    Plan
        The layout, the small inputs already read, checksums, work units and the
        fingerprint a resumed build must match.
    """
    fasta = inspect_fasta(spec.fasta)
    chroms, assembly, assembly_known = _choose_chroms(spec, fasta)
    check_has_bases(fasta, chroms)
    bigwig_chroms, dtype, reason = _signal_dtype(spec, assembly)

    def intervals(path: str, kind: str = "BED") -> Intervals:
        iv = read_bed(path, kind=kind)
        check_interval_chroms(iv, assembly, assembly_known)
        return iv

    blacklist = [intervals(p) for p in spec.blacklist]
    annotations = [intervals(p) for p in spec.annotations.values()]
    tasks = _tasks(spec, intervals, chroms)
    cells = _unique([*spec.cell_tracks, *spec.cell_meta, *(c for _, c in tasks.pairs)])
    meta_names, metadata = _metadata(spec, cells)
    layout = Layout(
        chroms=chroms,
        lengths=[fasta.lengths[c] for c in chroms],
        bin_size=spec.bin_size,
        stride=spec.stride,
        cells=cells,
        tracks=_unique(t for cell_tracks in spec.cell_tracks.values() for t in cell_tracks),
        tasks=tasks.pairs,
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
        tasks.conservative,
        tasks.relaxed,
        tasks.dream_columns,
        annotations,
        metadata,
        checksums,
        reason,
    )
    plan.units = _work_units(layout)
    plan.fingerprint = _fingerprint(plan)
    return plan


def _work_units(layout: Layout) -> list[tuple[str, int]]:
    """Every position chunk holding bases, then every bin chunk: the build's resumable steps."""
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
        **(
            {"metadata_fill": str(plan.spec.metadata_fill)}
            if plan.spec.metadata_fill is not None
            else {}
        ),
        "fnstore": __version__,
    }
    return hashlib.sha256(json.dumps(doc, sort_keys=True, default=str).encode()).hexdigest()
