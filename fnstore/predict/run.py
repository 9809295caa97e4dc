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

Modules: :mod:`~fnstore.predict.selection` (which bins), :mod:`~fnstore.predict.outputs`
(file names, text and bigWig files), :class:`fnstore.io.score_group.ScoreGroup` (the
resumable Zarr group); this one scores bins and orchestrates a run.

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

import json
import os
import shutil
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from fnstore.errors import InputError
from fnstore.io.files import sha256_files, sweep_temporaries
from fnstore.io.lock import output_lock
from fnstore.io.outputs import refuse_foreign
from fnstore.io.predictions import PREDICTIONS_FORMAT, prediction_attrs
from fnstore.io.score_group import ScoreGroup
from fnstore.notebook import html_repr
from fnstore.predict.inputs import ModelInputs, extra_for_bins, read_stretch, resolve_inputs
from fnstore.predict.outputs import output_paths, task_names, write_text_outputs
from fnstore.predict.selection import Selection, select_chroms, select_regions
from fnstore.progress import progress_bar
from fnstore.store.read import Store, open_store
from fnstore.store.regions import bin_runs, window_offset
from fnstore.store.versions import check_pin, pin

if TYPE_CHECKING:
    from fnstore.predict.scoring import WindowScorer

DEFAULT_CHUNK_BINS = 32_768
DEFAULT_BATCH_SIZE = 1024
#: runs of one chunk closer than this are read from the store in one go
_MERGE_READ_BP = 1 << 20

# --------------------------------------------------------------------------- scoring


def score_bins(
    store: Store, inputs: ModelInputs, scorer: WindowScorer, bins: np.ndarray
) -> np.ndarray:
    """Scores ``(len(bins), n_tasks)`` of global bins (any order); blacklisted bins are 0.

    Parameters
    ----------
    store
        The store the bins index.
    inputs
        How the store feeds the model (:func:`fnstore.predict.inputs.resolve_inputs`).
    scorer
        The model's scorer (:func:`fnstore.predict.scoring.make_scorer`).
    bins
        Global bin indices.

    Returns
    -------
    numpy.ndarray
        float32, one row per given bin in the given order.
    """
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
    first, length = bin_runs(todo, chrom_of)
    spans = [
        (int(chrom_of[a]), int(starts[a]) + offset, int(starts[b - 1]) + offset + window, a, b)
        for a, b in zip(first.tolist(), (first + length).tolist(), strict=True)
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

    _repr_html_ = html_repr  # how a notebook shows it (fnstore.notebook)

    def summary(self) -> str:
        """The lines ``fnstore predict`` prints: what was scored, how, and the files per task.

        Returns
        -------
        str
            Several lines, no trailing newline.
        """
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
    strict: bool = False,
) -> PredictResult:
    """Score ``chroms`` (default: all) or the bins of a ``regions`` BED for ``cell``.

    Everything that can be wrong with the inputs (model/store mismatch, region rows off
    the grid, existing outputs) is checked before any Keras work. ``on_chunk(i)`` is
    called after chunk ``i`` is stored (progress hooks, tests).

    Parameters
    ----------
    model_dir : str or os.PathLike
        A trained model folder (model card and weights).
    store : str, os.PathLike or Store
        The store to predict on, open or as a path.
    out_dir : str or os.PathLike
        Folder for the outputs (created); see :func:`fnstore.predict.outputs.output_paths`.
    cell : str
        Cell whose signals feed the model.
    chroms : sequence of str, optional
        Chromosomes to score, in output order; default all. Not with ``regions``.
    regions : str or os.PathLike, optional
        BED of regions on the store's bin grid to score instead of whole chromosomes.
    tfs : sequence of str, optional
        Model outputs to write (task names); default all.
    method : {"fast", "naive"}
        ``fast`` shares convolutions between overlapping windows; falls back to ``naive``
        (with the reason in the result) where the model does not allow it.
    batch_size : int
        Windows per model call; bounds memory.
    chunk_bins : int
        Bins per stored chunk, the unit of resuming.
    track_aliases : Mapping of str to str, optional
        Model track name -> store track name.
    resume : bool
        Keep the finished chunks of an interrupted run with the same settings.
    overwrite : bool
        Replace existing outputs instead of refusing.
    progress : bool
        Show progress on stderr (a bar on a terminal, plain lines otherwise).
    on_chunk : callable, optional
        Called with each chunk's index once it is stored.
    strict : bool
        Refuse a store whose data differ from the version the model was trained on
        (otherwise a ``Warning:`` line on stderr).

    Returns
    -------
    PredictResult
        The files written per task and how many chunks were computed in this call.
    """
    from fnstore.model.card import read_card

    if chroms and regions:
        raise InputError("--regions", "give either --chroms or --regions, not both")
    if chunk_bins < 1:
        raise InputError("chunk_bins", f"must be positive, got {chunk_bins}")
    st = store if isinstance(store, Store) else open_store(store)
    card = read_card(model_dir)
    check_pin(card.get("store"), st.store_id, st.attrs, str(model_dir), strict, st.snapshot_id)
    inputs = resolve_inputs(st, card, cell, track_aliases, source=f"model {model_dir}")
    names = task_names(card)
    columns = _task_columns(names, tfs)
    selection = select_regions(st, regions) if regions else select_chroms(st, chroms)
    out = Path(out_dir)
    paths = {names[c]: output_paths(out, names[c], cell) for c in columns}
    with output_lock(out):  # one run per output folder
        _prepare_outputs(out, paths, resume, overwrite)
        run = _run_record(model_dir, st, cell, selection, chunk_bins, inputs)
        groups = {}
        for c in columns:
            tf = names[c]
            attrs = prediction_attrs(
                st,
                tf,
                cell,
                model_dir=str(model_dir),
                selection=selection.description,
                predict_run=run,
                model_data=card.get("store"),
                store_version=pin(st.store_id, st.attrs, st.snapshot_id),
            )
            groups[tf] = ScoreGroup(paths[tf]["zarr"], selection.n_rows, chunk_bins, attrs, resume)
        n_chunks = -(-selection.n_rows // chunk_bins)
        done = np.logical_and.reduce([g.done() for g in groups.values()])
        todo = [i for i in range(n_chunks) if not done[i]]
        method_used, fallback = method, None
        if todo:
            from fnstore.model.folder import load_model_dir
            from fnstore.predict.scoring import make_scorer

            model, _ = load_model_dir(model_dir)
            scorer, fallback = make_scorer(model, st.stride, method, batch_size)
            method_used = scorer.method
            chunks = _ChunkRun(st, inputs, scorer, selection, chunk_bins)
            chunks.score(todo, [(groups[names[c]], c) for c in columns], cell, progress, on_chunk)
        for tf, group in groups.items():
            group.finish()
            write_text_outputs(st, group, paths[tf], chunk_bins, selection.genome_order)
        files = {
            tf: {k: paths[tf][k] for k in ("table", "bigwig", "bedgraph", "zarr")} for tf in groups
        }
        return PredictResult(
            out,
            cell,
            selection.description,
            selection.n_rows,
            method_used,
            files,
            n_chunks,
            len(todo),
            fallback,
        )


def _task_columns(names: list[str], tfs: Sequence[str] | None) -> list[int]:
    """Model output columns to write: those of ``tfs`` (each once), or all."""
    if not tfs:
        return list(range(len(names)))
    unknown = [t for t in tfs if t not in names]
    if unknown:
        raise InputError(
            "--tf",
            f"the model has no task {', '.join(map(repr, unknown))} (tasks: {', '.join(names)})",
        )
    return [names.index(t) for t in dict.fromkeys(tfs)]


def _prepare_outputs(
    out: Path, paths: Mapping[str, Mapping[str, Path]], resume: bool, overwrite: bool
) -> None:
    """Create ``out`` and sweep it of dead runs' temporaries; refuse (or with ``overwrite``
    remove) earlier outputs unless resuming. Only what ``fnstore predict`` writes is ever
    removed: files under its own names, and Zarr groups of fnstore predictions."""
    out.mkdir(parents=True, exist_ok=True)
    sweep_temporaries(out)
    if resume:
        return
    existing = [p for files in paths.values() for p in files.values() if p.exists()]
    if existing and not overwrite:
        raise InputError(
            existing[0],
            "already exists: use --resume to continue an "
            "interrupted run or --overwrite to start again",
        )
    for p in existing:
        if not _is_own_output(p):
            refuse_foreign(p, "an fnstore prediction output")
    for p in existing:
        shutil.rmtree(p) if p.is_dir() else p.unlink()


def _is_own_output(path: Path) -> bool:
    """A plain file under one of predict's names, or a Zarr group of fnstore predictions."""
    if not path.name.endswith(".zarr"):
        return path.is_file()
    try:
        meta = json.loads((path / "zarr.json").read_text())
        return meta["attributes"]["format"] == PREDICTIONS_FORMAT
    except (OSError, ValueError, KeyError, TypeError):
        return False


def _run_record(
    model_dir: str | os.PathLike,
    store: Store,
    cell: str,
    selection: Selection,
    chunk_bins: int,
    inputs: ModelInputs,
) -> dict[str, Any]:
    """What a resumed run must share with the interrupted one (kept in the group's attrs)."""
    from fnstore.model.card import CARD_FILE, MODEL_FILE

    return {
        "model": sha256_files([Path(model_dir) / CARD_FILE, Path(model_dir) / MODEL_FILE])[:16],
        "store_id": store.store_id,
        "cell": cell,
        "selection": selection.fingerprint,
        "n_rows": selection.n_rows,
        "chunk_bins": int(chunk_bins),
        "tracks": list(inputs.store_tracks),
    }


@dataclass
class _ChunkRun:
    """Scores the selection's chunks in order into the groups, one done flag per chunk."""

    store: Store
    inputs: ModelInputs
    scorer: WindowScorer
    selection: Selection
    chunk_bins: int

    def score(
        self,
        todo: list[int],
        groups: list[tuple[ScoreGroup, int]],
        cell: str,
        progress: bool,
        on_chunk: Callable[[int], None] | None,
    ) -> None:
        """Score chunks ``todo``; ``groups`` pairs each group with its model output column."""
        n_rows, size = self.selection.n_rows, self.chunk_bins
        left = sum(min(size, n_rows - i * size) for i in todo)
        done = n_rows - left
        with progress_bar(n_rows, f"predict {cell}", "bin", enabled=progress, initial=done) as bar:
            for i in todo:
                lo = i * size
                bins = self.selection.bins(lo, min(n_rows, lo + size))
                scores = score_bins(self.store, self.inputs, self.scorer, bins)
                for group, column in groups:
                    group.write(i, lo, bins, scores[:, column])
                bar.update(bins.size)
                if on_chunk is not None:
                    on_chunk(i)
