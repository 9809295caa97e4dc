"""``fnstore predict``: score every bin of some chromosomes, or of a region file, for one cell.

Output folder ``OUT``, per model task (TF)::

    F.<TF>.<cell>.zarr        scores as a predictions group (arrays ``bin``, ``score``, ``done``)
    F.<TF>.<cell>.tab.gz      ENCODE-DREAM submission: chrom start stop score, region order
    F.<TF>.<cell>.bedGraph.gz each bin's score on its central ``stride`` bp, genome order
    F.<TF>.<cell>.bw          bigWig of the same intervals as the bedGraph

The bedGraph and bigWig draw the 200 bp bins, which overlap every 50 bp, as the 50 bp at
each bin's centre (``[start + 75, start + 125)``): intervals never overlap, every bin keeps
its own score, and ``interval_start - 75`` maps a bigWig/bedGraph interval back to its bin
(the convention of :mod:`fnstore.io.predictions`).

Streaming and resumable: the selected bins ("rows", in region-file or genome order) are cut
into chunks of ``chunk_bins`` rows, scored in order and written into the Zarr groups, each
followed by a per-chunk ``done`` flag. An interrupted run continues with ``resume=True``
(the run's model, store, cell and selection must be the same; they are recorded in the
group's attributes). The text files and bigWig are written from the Zarr at the end, each
atomically. Memory is bounded by the chunk size and the batch size, except that a region
file is held in memory (8 bytes per row) and, when it is not in genome order, sorted for
the bedGraph/bigWig.

Blacklisted bins are not computed and score 0. Windows are centred on bins and padded at
chromosome ends (see :mod:`fnstore.predict.inputs`). Importing this module does not import Keras;
:func:`predict` does.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import shutil
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from fnstore.errors import InputError
from fnstore.io.files import sha256_files
from fnstore.io.predictions import TABLE, Regions, prediction_attrs, regions_to_bins, write_rows
from fnstore.predict.inputs import (
    ModelInputs,
    extra_for_bins,
    read_stretch,
    resolve_inputs,
    runs,
    window_offset,
)
from fnstore.store.read import Store, open_store

if TYPE_CHECKING:
    from fnstore.predict.scoring import WindowScorer

DEFAULT_CHUNK_BINS = 32_768
DEFAULT_BATCH_SIZE = 1024
#: runs of one chunk closer than this are read from the store in one go
_MERGE_READ_BP = 1 << 20
_REGION_HEADERS = ("track", "browser", "#")

# --------------------------------------------------------------------------- selections


@dataclass
class Selection:
    """The bins to score ("rows"), in output order, read chunk by chunk."""

    description: str
    n_rows: int
    fingerprint: str
    #: whole-chromosome ranges ``(lo, hi)`` of global bins (chromosome selection)
    ranges: list[tuple[int, int]] = field(default_factory=list)
    #: explicit bins (region selection)
    explicit: np.ndarray | None = None
    #: rows are in strictly increasing bin order (genome order)
    genome_order: bool = True

    def bins(self, lo: int, hi: int) -> np.ndarray:
        if self.explicit is not None:
            return self.explicit[lo:hi]
        parts, offset = [], 0
        for a, b in self.ranges:
            n = b - a
            s, e = max(lo, offset), min(hi, offset + n)
            if s < e:
                parts.append(np.arange(a + s - offset, a + e - offset, dtype=np.int64))
            offset += n
        return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)


def select_chroms(store: Store, chroms: Sequence[str] | None) -> Selection:
    names = list(chroms) if chroms else list(store.chroms)
    seen: set[str] = set()
    for c in names:
        store.chrom_index(c)  # StoreError naming an unknown chromosome
        if c in seen:
            raise InputError("--chroms", f"{c} given twice")
        seen.add(c)
    ranges = [store.bin_range(c) for c in names]
    order = [store.chrom_index(c) for c in names]
    n = sum(b - a for a, b in ranges)
    if n == 0:
        raise InputError("--chroms", f"no bins on {', '.join(names)}")
    return Selection(
        f"{', '.join(names)} ({n:,} bins)",
        n,
        "chroms:" + ",".join(names),
        ranges=ranges,
        genome_order=order == sorted(order),
    )


def _header_lines(path: str) -> int:
    """Leading track/browser/# lines, plus a column-name line (non-integer second field)."""
    n = 0
    with gzip.open(path, "rt") if path.endswith(".gz") else open(path) as fh:
        for line in fh:
            if line.startswith(_REGION_HEADERS):
                n += 1
                continue
            fields = line.split("\t")
            if n == 0 and len(fields) >= 2 and not fields[1].strip().isdigit():
                n += 1
            break
    return n


def read_region_file(path: str | os.PathLike) -> Regions:
    """Rows ``chrom start end [...]`` of a BED region file (ENCODE-DREAM ladder/test regions);
    columns after the third are ignored."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    p = str(path)
    if not os.path.isfile(p):
        raise InputError(p, "no such region file")
    try:
        skip = _header_lines(p)
        table = pacsv.read_csv(
            p,
            read_options=pacsv.ReadOptions(autogenerate_column_names=True, skip_rows=skip),
            parse_options=pacsv.ParseOptions(delimiter="\t"),
            convert_options=pacsv.ConvertOptions(
                include_columns=["f0", "f1", "f2"],
                column_types={
                    "f0": pa.dictionary(pa.int32(), pa.string()),
                    "f1": pa.int64(),
                    "f2": pa.int64(),
                },
            ),
        )
    except (pa.ArrowInvalid, KeyError) as exc:
        raise InputError(p, f"not a BED file with chrom, start, end columns ({exc})") from None
    except (OSError, EOFError, UnicodeDecodeError) as exc:
        raise InputError(p, f"cannot read ({exc})") from None
    if table.num_rows == 0:
        raise InputError(p, "no regions")
    chrom = table["f0"].combine_chunks()
    starts = table["f1"].to_numpy()
    ends = table["f2"].to_numpy()
    return Regions(
        p,
        [str(c) for c in chrom.dictionary.to_pylist()],
        chrom.indices.to_numpy(zero_copy_only=False).astype(np.int32),
        starts,
        ends,
        np.zeros(starts.size, dtype=np.float32),
        skip + 1,
    )


def select_regions(store: Store, path: str | os.PathLike) -> Selection:
    """Every row must be one bin of the store's grid (else an error naming the line)."""
    regions = read_region_file(path)
    bins = regions_to_bins(regions, store, TABLE)
    digest = hashlib.sha256(bins.tobytes()).hexdigest()[:16]
    ordered = bool(np.all(np.diff(bins) > 0))
    return Selection(
        f"{os.path.basename(str(path))} ({bins.size:,} regions)",
        int(bins.size),
        f"regions:{digest}",
        explicit=bins,
        genome_order=ordered,
    )


# --------------------------------------------------------------------------- scoring


def score_bins(
    store: Store, inputs: ModelInputs, scorer: WindowScorer, bins: np.ndarray
) -> np.ndarray:
    """Scores ``(len(bins), n_tasks)`` of global bins (any order); blacklisted bins are 0."""
    bins = np.asarray(bins, dtype=np.int64)
    out = np.zeros((bins.size, scorer.n_tasks), dtype=np.float32)
    if bins.size == 0:
        return out
    order = np.argsort(bins, kind="stable")
    sorted_bins = bins[order]
    keep = np.flatnonzero(~store.blacklist(sorted_bins))
    todo = sorted_bins[keep]
    chrom_of, starts = store.bin_coords(todo)
    offset, window = window_offset(scorer.window, store.bin_size), scorer.window
    spans = [
        (int(chrom_of[a]), int(starts[a]) + offset, int(starts[b - 1]) + offset + window, a, b)
        for a, b in runs(todo, chrom_of)
    ]
    items, where = [], []
    for group in _read_groups(spans):
        chrom = store.chroms[group[0][0]]
        first, last = group[0][1], max(span[2] for span in group)
        block = read_stretch(store, inputs, chrom, first, last)
        for _, s, e, a, b in group:
            items.append(
                (block[s - first : e - first], b - a, extra_for_bins(store, inputs, todo[a:b]))
            )
            where.append(keep[a:b])
    sorted_out = np.zeros_like(out)
    for rows, scores in zip(where, scorer.score(items), strict=True):
        sorted_out[rows] = scores
    out[order] = sorted_out
    return out


def _read_groups(
    spans: list[tuple[int, int, int, int, int]],
) -> Iterator[list[tuple[int, int, int, int, int]]]:
    """Group consecutive runs on one chromosome that lie close together: one store read each."""
    group: list[tuple[int, int, int, int, int]] = []
    for span in spans:
        if group and (span[0] != group[0][0] or span[2] - group[0][1] > _MERGE_READ_BP):
            yield group
            group = []
        group.append(span)
    if group:
        yield group


# --------------------------------------------------------------------------- Zarr output


def task_names(card: Mapping[str, Any]) -> list[str]:
    """File-name TF of each model output (``TF`` or ``TF_<i>`` where a TF repeats)."""
    tfs = [str(t.get("tf", f"task{i}")) for i, t in enumerate(card.get("tasks", []))]
    return [tf if tfs.count(tf) == 1 else f"{tf}_{i}" for i, tf in enumerate(tfs)]


def output_paths(out_dir: Path, tf: str, cell: str) -> dict[str, Path]:
    stem = f"F.{tf}.{cell}"
    return {
        "zarr": out_dir / f"{stem}.zarr",
        "table": out_dir / f"{stem}.tab.gz",
        "bedgraph": out_dir / f"{stem}.bedGraph.gz",
        "bigwig": out_dir / f"{stem}.bw",
    }


class _ScoreGroup:
    """One task's Zarr predictions group, written chunk by chunk with a done flag each."""

    def __init__(
        self, path: Path, n_rows: int, chunk: int, attrs: dict[str, Any], resume: bool
    ) -> None:
        import zarr

        self.path = path
        self.n_chunks = -(-n_rows // chunk)
        if resume and path.exists():
            root = zarr.open_group(str(path), mode="r+")
            recorded = dict(root.attrs).get("predict_run", {})
            differ = [k for k in attrs["predict_run"] if recorded.get(k) != attrs["predict_run"][k]]
            if differ:
                raise InputError(
                    path,
                    "cannot resume: this run differs in "
                    + ", ".join(
                        f"{k} (was {recorded.get(k)!r}, now {attrs['predict_run'][k]!r})"
                        for k in differ
                    ),
                )
            self.root = root
        else:
            root = zarr.open_group(str(path), mode="w", zarr_format=3)
            root.create_array(
                "bin",
                shape=(n_rows,),
                chunks=(chunk,),
                dtype="int64",
                fill_value=-1,
                dimension_names=["row"],
            )
            root.create_array(
                "score",
                shape=(n_rows,),
                chunks=(chunk,),
                dtype="float32",
                fill_value=np.nan,
                dimension_names=["row"],
            )
            root.create_array(
                "done",
                shape=(self.n_chunks,),
                dtype="bool",
                fill_value=False,
                dimension_names=["chunk"],
            )
            root.attrs.update({**attrs, "complete": False})
            self.root = root

    def done(self) -> np.ndarray:
        return np.asarray(self.root["done"][:], dtype=bool)

    def write(self, index: int, lo: int, bins: np.ndarray, scores: np.ndarray) -> None:
        hi = lo + bins.size
        self.root["bin"][lo:hi] = bins
        self.root["score"][lo:hi] = scores.astype(np.float32)
        self.root["done"][index] = True  # only after the data: a torn chunk is redone

    def finish(self) -> None:
        self.root.attrs["complete"] = True

    def rows(self, chunk: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        n = self.root["bin"].shape[0]
        for lo in range(0, n, chunk):
            yield (
                np.asarray(self.root["bin"][lo : lo + chunk]),
                np.asarray(self.root["score"][lo : lo + chunk]),
            )


# --------------------------------------------------------------------------- text and bigWig


def _atomic_gzip(path: Path, write: Callable[[Any], None]) -> None:
    """Write a gzip file through ``write(fh)``; it appears only once complete, and the same
    rows always give the same bytes (no time stamp or file name in the gzip header)."""
    tmp = path.with_name(f"{path.name}.tmp-{os.getpid()}")
    try:
        with (
            open(tmp, "wb") as raw,
            gzip.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=3, mtime=0) as fh,
        ):
            write(fh)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def _centre(store: Store) -> tuple[int, int]:
    """(offset, width) of the part of a bin drawn in bedGraph/bigWig."""
    size, stride = store.bin_size, store.stride
    if stride < size and (size - stride) % 2 == 0:
        return (size - stride) // 2, stride
    return 0, size


def _genome_order(
    group: _ScoreGroup, chunk: int, in_order: bool
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    if in_order:
        yield from group.rows(chunk)
        return
    bins = np.asarray(group.root["bin"][:])
    scores = np.asarray(group.root["score"][:])
    order = np.argsort(bins, kind="stable")
    for lo in range(0, order.size, chunk):
        sel = order[lo : lo + chunk]
        yield bins[sel], scores[sel]


def write_text_outputs(
    store: Store, group: _ScoreGroup, paths: Mapping[str, Path], chunk: int, genome_order: bool
) -> None:
    """DREAM table (row order), bedGraph and bigWig (genome order) from a finished group."""
    import pyBigWig

    def table(fh: Any) -> None:
        for bins, scores in group.rows(chunk):
            c, s = store.bin_coords(bins)
            write_rows(fh, store.chroms, c, s, s + store.bin_size, scores)

    _atomic_gzip(paths["table"], table)
    off, width = _centre(store)

    def bedgraph(fh: Any) -> None:
        for bins, scores in _genome_order(group, chunk, genome_order):
            c, s = store.bin_coords(bins)
            write_rows(fh, store.chroms, c, s + off, s + off + width, scores)

    _atomic_gzip(paths["bedgraph"], bedgraph)
    names = np.asarray(store.chroms, dtype=object)
    bw_path = paths["bigwig"]
    tmp = bw_path.with_name(f"{bw_path.name}.tmp-{os.getpid()}")
    try:
        bw = pyBigWig.open(str(tmp), "w")
        bw.addHeader([(c, int(n)) for c, n in zip(store.chroms, store.chrom_lengths, strict=True)])
        for bins, scores in _genome_order(group, chunk, genome_order):
            c, s = store.bin_coords(bins)
            bw.addEntries(
                list(names[c]),
                (s + off).tolist(),
                ends=(s + off + width).tolist(),
                values=scores.astype(np.float64).tolist(),
            )
        bw.close()
        os.replace(tmp, bw_path)
    finally:
        if tmp.exists():
            tmp.unlink()


# --------------------------------------------------------------------------- the command


@dataclass
class PredictResult:
    """What a run wrote and how."""

    out_dir: Path
    cell: str
    selection: str
    n_rows: int
    method: str
    files: dict[str, dict[str, Path]]
    chunks_total: int
    chunks_computed: int
    #: why the fast method could not be used (None when it was, or naive was asked for)
    fallback: str | None = None

    def summary(self) -> str:
        lines = [
            f"{self.n_rows:,} bins of {self.selection} for {self.cell} "
            f"({self.method} method; {self.chunks_computed} of {self.chunks_total} chunks "
            f"computed in this run)"
        ]
        if self.fallback:
            lines.append(f"note: fast method not available ({self.fallback}); used naive")
        for tf, files in self.files.items():
            lines.append(f"{tf}: " + ", ".join(str(p) for p in files.values()))
        return "\n".join(lines)


def predict(
    model_dir: str | os.PathLike,
    store: str | os.PathLike | Store,
    out_dir: str | os.PathLike,
    cell: str,
    *,
    chroms: Sequence[str] | None = None,
    regions: str | os.PathLike | None = None,
    tfs: Sequence[str] | None = None,
    method: str = "fast",
    batch_size: int = DEFAULT_BATCH_SIZE,
    chunk_bins: int = DEFAULT_CHUNK_BINS,
    track_aliases: Mapping[str, str] | None = None,
    resume: bool = False,
    overwrite: bool = False,
    progress: bool = True,
    on_chunk: Callable[[int], None] | None = None,
) -> PredictResult:
    """Score ``chroms`` (default: all) or the bins of a ``regions`` BED for ``cell``.

    Everything that can be wrong with the inputs (model/store mismatch, region rows off
    the grid, existing outputs) is checked before any Keras work. ``on_chunk(i)`` is
    called after chunk ``i`` is stored (progress hooks, tests).
    """
    from fnstore.model.card import CARD_FILE, MODEL_FILE, read_card

    if chroms and regions:
        raise InputError("--regions", "give either --chroms or --regions, not both")
    if chunk_bins < 1:
        raise InputError("chunk_bins", f"must be positive, got {chunk_bins}")
    st = store if isinstance(store, Store) else open_store(store)
    card = read_card(model_dir)
    inputs = resolve_inputs(st, card, cell, track_aliases, source=f"model {model_dir}")
    names = task_names(card)
    if tfs:
        unknown = [t for t in tfs if t not in names]
        if unknown:
            raise InputError(
                "--tf",
                f"the model has no task {', '.join(map(repr, unknown))} "
                f"(tasks: {', '.join(names)})",
            )
        columns = [names.index(t) for t in dict.fromkeys(tfs)]
    else:
        columns = list(range(len(names)))
    selection = select_regions(st, regions) if regions else select_chroms(st, chroms)

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {names[c]: output_paths(out, names[c], cell) for c in columns}
    if not resume:
        existing = [p for files in paths.values() for p in files.values() if p.exists()]
        if existing and not overwrite:
            raise InputError(
                existing[0],
                "already exists: use --resume to continue an "
                "interrupted run or --overwrite to start again",
            )
        for p in existing:
            shutil.rmtree(p) if p.is_dir() else p.unlink()

    run = {
        "model": sha256_files([Path(model_dir) / CARD_FILE, Path(model_dir) / MODEL_FILE])[:16],
        "store_id": st.store_id,
        "cell": cell,
        "selection": selection.fingerprint,
        "n_rows": selection.n_rows,
        "chunk_bins": int(chunk_bins),
        "tracks": list(inputs.store_tracks),
    }
    groups = {}
    for c in columns:
        tf = names[c]
        attrs = prediction_attrs(
            st, tf, cell, model_dir=str(model_dir), selection=selection.description, predict_run=run
        )
        groups[tf] = _ScoreGroup(paths[tf]["zarr"], selection.n_rows, chunk_bins, attrs, resume)
    n_chunks = -(-selection.n_rows // chunk_bins)
    done = np.logical_and.reduce([g.done() for g in groups.values()])
    todo = [i for i in range(n_chunks) if not done[i]]

    from fnstore.model.folder import load_model_dir
    from fnstore.predict.scoring import make_scorer

    method_used, fallback = method, None
    if todo:
        model, _ = load_model_dir(model_dir)
        scorer, fallback = make_scorer(model, st.stride, method, batch_size)
        method_used = scorer.method
        from tqdm.auto import tqdm

        bar = tqdm(
            total=selection.n_rows,
            initial=selection.n_rows
            - sum(min(chunk_bins, selection.n_rows - i * chunk_bins) for i in todo),
            unit="bin",
            unit_scale=True,
            desc=f"predict {cell}",
            disable=not progress,
        )
        with bar:
            for i in todo:
                lo = i * chunk_bins
                bins = selection.bins(lo, min(selection.n_rows, lo + chunk_bins))
                scores = score_bins(st, inputs, scorer, bins)
                for c in columns:
                    groups[names[c]].write(i, lo, bins, scores[:, c])
                bar.update(bins.size)
                if on_chunk is not None:
                    on_chunk(i)
    for tf, group in groups.items():
        group.finish()
        write_text_outputs(st, group, paths[tf], chunk_bins, selection.genome_order)
    return PredictResult(
        out,
        cell,
        selection.description,
        selection.n_rows,
        method_used,
        {tf: {k: paths[tf][k] for k in ("table", "bigwig", "bedgraph", "zarr")} for tf in groups},
        n_chunks,
        len(todo),
        fallback,
    )
