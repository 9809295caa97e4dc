"""First-layer convolution kernels as motifs (the DeepBind / DanQ heuristic), matched to a database.

A kernel's weights are not a motif: they mix log-odds-like sequence preferences with
signal-track weights and a bias, and their scale is arbitrary. What a kernel *does* is
visible in the sequences that make it fire, so (as DeepBind and DanQ did) every position
of a set of held-out windows where a kernel's activation exceeds ``threshold`` x its
maximum over the set is collected, and the bases under those hits are counted into a
position probability matrix. The model scans both strands with shared weights, so hits
are collected on both strands, each subsequence in the orientation the kernel saw it.
The signal tracks (e.g. DNase) under the same hits, with flanks, give each kernel's mean
footprint.

Each kernel's PWM (trimmed to its informative core) is compared with a motif database
by a TOMTOM-like score: the Pearson correlation of aligned columns, summed over the
columns that overlap and divided by the width of the shorter motif (so an alignment that
leaves part of the shorter motif hanging off scores less; identical motifs score 1), maximised
over offsets with a minimum overlap and over both strands of the database motif. A
z-score against the same target with its columns shuffled (a per-target null, like
TOMTOM's per-target p-values) and its normal tail probability give a p-value-like
significance; matches are ranked by it.

This module is the ``fnstore motifs`` command (:func:`run_kernel_motifs`) and the one
import for the pieces, each in a module with one job: :mod:`~fnstore.interpret.kernels`
(weights and activations; the Keras model is only asked for the weights),
:mod:`~fnstore.interpret.kernel_sites` (hits -> PWMs), :mod:`~fnstore.interpret.pwm`
(PWM maths), :mod:`~fnstore.interpret.motif_match` (database matching),
:mod:`~fnstore.interpret.motif_plots` (logos, footprints) and
:mod:`~fnstore.interpret.motif_report` (files and terminal text). The maths is pure
NumPy; only plotting imports matplotlib/logomaker (lazily).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from fnstore.errors import InputError
from fnstore.interpret.kernel_sites import (
    KernelMotif,
    KernelSites,
    collect_kernel_sites,
    kernel_motifs_from_windows,
)
from fnstore.interpret.kernels import ConvKernels, conv_activations, conv_kernels, rc_order_of
from fnstore.interpret.motif_match import (
    Match,
    MotifDatabase,
    column_correlations,
    compare_pwms,
    gumbel_p_value,
)
from fnstore.interpret.motif_plots import plot_footprints, plot_logos
from fnstore.interpret.motif_report import format_summary, write_kernel_motifs
from fnstore.interpret.pwm import consensus, counts_to_pwm, information_content, trim_pwm
from fnstore.model.card import CONV_LAYER as CONV_LAYER_NAME  # the name's one home

#: environment variable naming the default motif database for ``fnstore motifs``
MOTIF_DB_ENV = "FNSTORE_MOTIF_DB"

__all__ = [
    "CONV_LAYER_NAME",
    "MOTIF_DB_ENV",
    "ConvKernels",
    "KernelMotif",
    "KernelSites",
    "Match",
    "MotifDatabase",
    "collect_kernel_sites",
    "column_correlations",
    "compare_pwms",
    "consensus",
    "conv_activations",
    "conv_kernels",
    "counts_to_pwm",
    "default_database",
    "format_summary",
    "gumbel_p_value",
    "information_content",
    "kernel_motifs_from_windows",
    "plot_footprints",
    "plot_logos",
    "rc_order_of",
    "run_kernel_motifs",
    "trim_pwm",
    "write_kernel_motifs",
]


def default_database() -> str | None:
    """The motif database named by ``$FNSTORE_MOTIF_DB``, else the bundled JASPAR 2026.

    Returns
    -------
    str or None
        The MEME file path; None only when the variable is set to ``none``.
    """
    from fnstore.io.motif_db import bundled_motif_file

    chosen = os.environ.get(MOTIF_DB_ENV) or str(bundled_motif_file())
    return None if chosen.lower() == "none" else chosen


def run_kernel_motifs(
    model_dir: str | os.PathLike,
    store_path: str | os.PathLike,
    out: str | os.PathLike,
    *,
    cell: str | None = None,
    chroms: Sequence[str] | None = None,
    n_windows: int = 2000,
    db: str | os.PathLike | None = None,
    top: int = 5,
    threshold: float = 0.5,
    flank: int = 50,
    seed: int = 0,
    logos: bool = True,
) -> dict[str, Any]:
    """``fnstore motifs``: kernels of a model folder -> MEME, logos, footprints and matches.

    Windows (the model card's length, centred on bins) come from ``store_path``: about half
    bound bins of the model's TFs in ``cell`` (default: the first training cell in the store,
    else the first store cell with a task for the model's TFs), the rest random
    non-blacklisted bins. Where: ``chroms`` if given (``chr20`` or ``chr20:START-END``
    items), else the held-out regions recorded in the card (the trainer's validation
    regions, see :func:`~fnstore.interpret.regions.held_out_regions`) when the store has
    them, else the whole store.

    Parameters
    ----------
    model_dir
        A model folder (``model.keras`` and its card).
    store_path
        The store to read windows from.
    out
        Folder for ``kernels.meme``, ``matches.tsv``, ``kernels.npz``, ``summary.json``
        and the PNGs.
    cell, chroms, n_windows, seed
        Which windows to read (see above); ``seed`` fixes the random choice.
    db, top
        MEME motif database to match each kernel against, and matches kept per kernel.
    threshold
        A hit is an activation of at least ``threshold`` x the kernel's maximum.
    flank
        Bases of signal footprint either side of a hit.
    logos
        Also draw logos and footprints.

    Returns
    -------
    dict
        The summary written to ``summary.json``, plus ``files`` (what was written where).
    """
    # Over 80 lines only by its docstring: the body is one straight pipeline (~50 lines).
    from fnstore.model.folder import load_model_dir
    from fnstore.predict.inputs import resolve_inputs
    from fnstore.store.read import open_store

    database = MotifDatabase.from_meme(db) if db else None
    model, card = load_model_dir(model_dir)
    store = open_store(store_path)
    tfs = [str(t.get("tf")) for t in card.get("tasks", [])]
    cell = cell or _default_cell(card, store, tfs)
    inputs = resolve_inputs(store, card, cell, source=str(model_dir))
    spans, chrom_source = _spans(store, card, chroms)
    chosen = [f"{c}:{s}-{e}" for c, s, e in spans]
    window = int(card["window"])
    x, is_bound = _read_motif_windows(
        store, inputs, tfs, cell, spans, n_windows, window, seed, source=str(store_path)
    )
    motifs, _ = kernel_motifs_from_windows(
        x,
        conv_kernels(model),
        is_bound=is_bound,
        database=database,
        threshold=threshold,
        top=top,
        rc_order=rc_order_of(model, x.shape[2]),
        flank=flank,
        seed=seed,
    )
    extra = {
        "model_dir": str(model_dir),
        "store": str(store_path),
        "cell": cell,
        "tfs": tfs,
        "chroms": chosen,
        "chroms_from": chrom_source,
        "n_windows": int(x.shape[0]),
        "n_bound_windows": int(is_bound.sum()),
        "window": window,
        "threshold": threshold,
        "database": str(db) if db else None,
    }
    files = write_kernel_motifs(out, motifs, list(inputs.store_tracks), flank, extra, logos=logos)
    summary = json.loads(files["summary"].read_text())
    summary["files"] = {k: str(v) for k, v in files.items()}
    return summary


def _spans(
    store: Any, card: Mapping[str, Any], chroms: Sequence[str] | None
) -> tuple[list[tuple[str, int, int]], str]:
    """Where to read windows, and why there: given, held out in training, or everywhere."""
    from fnstore.interpret.regions import held_out_regions, parse_span

    if chroms:
        return [parse_span(store, c) for c in chroms], "given"
    held = held_out_regions(card, store)
    if held:
        return held, "held-out (model card)"
    return [parse_span(store, c) for c in store.chroms], "all"


def _read_motif_windows(
    store: Any,
    inputs: Any,
    tfs: Sequence[str],
    cell: str,
    spans: list[tuple[str, int, int]],
    n_windows: int,
    window: int,
    seed: int,
    source: str,
) -> tuple[np.ndarray, np.ndarray]:
    """Model-input windows on about half bound bins, without mostly-N windows.

    Returns the windows and, per window, whether its bin is bound.
    """
    from fnstore.interpret.regions import read_windows, select_bins, window_starts

    bins, is_bound = select_bins(store, tfs, cell, spans, n_windows, seed=seed)
    if not bins.size:
        chosen = ", ".join(f"{c}:{s}-{e}" for c, s, e in spans)
        raise InputError(source, f"no bins to read in {chosen}")
    chrom_idx, starts = window_starts(store, bins, window)
    x = read_windows(store, inputs, chrom_idx, starts)
    mostly_n = x[:, :, :4].sum(axis=(1, 2)) < 0.5 * window
    return x[~mostly_n], is_bound[~mostly_n]


def _default_cell(card: Mapping[str, Any], store: Any, tfs: Sequence[str]) -> str:
    for c in card.get("train_cells") or []:
        if c in store.cells:
            return str(c)
    for t in store.tasks:
        if t.tf in set(tfs):
            return t.cell
    if store.cells:
        return store.cells[0]
    raise InputError(str(store.path), "store has no cells; give --cell")
