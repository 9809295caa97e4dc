"""``fnstore ism``: ISM of the windows of a region or a BED file, written as one folder.

Windows: each region (``--region`` or each BED row) gets the model's window centred on
it, or, when longer than the window, half-overlapping windows tiling it (as ``fnstore
saliency`` tiles). Inputs come from the store as prediction reads them (the cell's own
signals, padding past chromosome ends, the ``extra`` row of the bin nearest the window's
centre).

``OUT/`` (written under a temporary name and swapped in whole)::

    ism.npz        effects (window, position, base, task), ref_scores (window, task),
                   onehot (window, position, base), chrom, start, tasks, cell
    logos.png      the top windows (by reference score of --tf) as logos of ISM contributions
    modisco/       ohe.npz and hyp.npz (N, 4, L) for ``modisco motifs`` (with --modisco)
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from fnstore.errors import InputError, StoreError
from fnstore.interpret.ism import hypothetical_contributions, ism, plot_logos
from fnstore.io.lock import output_lock
from fnstore.io.outputs import refuse_foreign, temporary_folder
from fnstore.progress import progress_bar
from fnstore.store.read import Store, open_store

NPZ = "ism.npz"


def ism_windows(
    store: Store, window: int, region: str | None, regions: str | os.PathLike | None
) -> tuple[np.ndarray, np.ndarray]:
    """``(chrom index, start)`` of the windows covering a region or a BED file's rows.

    Parameters
    ----------
    store : Store
        The store the regions lie on.
    window : int
        The model's window length.
    region : str, optional
        ``CHROM:START-END`` (0-based half-open).
    regions : str or os.PathLike, optional
        A BED file; one of the two must be given.

    Returns
    -------
    chrom, start : numpy.ndarray
        int64 store chromosome index and window start of each window, in region order.
    """
    from fnstore.interpret.regions import parse_region
    from fnstore.interpret.saliency import tile_windows
    from fnstore.io.bed import read_region_file

    if (region is None) == (regions is None):
        raise InputError("--region", "give exactly one of --region or --regions")
    if region is not None:
        rows = [(*parse_region(region), "--region")]
    else:
        bed = read_region_file(regions)
        rows = [
            (bed.chrom_names[c], int(s), int(e), f"{regions}: line {bed.line(i)}")
            for i, (c, s, e) in enumerate(zip(bed.chrom_codes, bed.starts, bed.ends, strict=True))
        ]
    chroms, starts = [], []
    for chrom, start, end, where in rows:
        try:
            c = store.chrom_index(chrom)
        except StoreError:
            raise InputError(where, f"{chrom} is not a chromosome of the store") from None
        if not 0 <= start < end <= int(store.chrom_lengths[c]):
            raise InputError(where, f"{chrom}:{start}-{end} is outside {chrom}")
        for s in tile_windows(start, end, window):
            chroms.append(c)
            starts.append(int(s))
    return np.asarray(chroms, np.int64), np.asarray(starts, np.int64)


def run_ism(
    model_dir: str | os.PathLike,
    store: str | os.PathLike | Store,
    cell: str,
    out: str | os.PathLike,
    *,
    region: str | None = None,
    regions: str | os.PathLike | None = None,
    tf: str | None = None,
    method: str = "fast",
    top: int = 5,
    logo_width: int = 200,
    modisco: bool = False,
    overwrite: bool = False,
    progress: bool = True,
) -> dict[str, Any]:
    """``fnstore ism``: every single-base substitution of each window, written to ``out``.

    Parameters
    ----------
    model_dir : str or os.PathLike
        A trained model folder.
    store : str, os.PathLike or Store
        The store.
    cell : str
        Cell whose signals feed the model.
    out : str or os.PathLike
        Output folder (see the module docstring).
    region, regions
        ``CHROM:START-END`` or a BED file (exactly one).
    tf : str, optional
        Task drawn in the logos and exported for TF-MoDISco (default the first).
    method : {"fast", "naive"}
        Fast path (shared with ``predict``) or ``model.predict``.
    top : int
        Windows drawn in ``logos.png`` (0: no PNG).
    logo_width : int
        Bases drawn around each window's centre.
    modisco : bool
        Also write ``modisco/ohe.npz`` and ``modisco/hyp.npz``.
    overwrite : bool
        Replace an existing ISM folder.
    progress : bool
        Show progress on stderr.

    Returns
    -------
    dict
        ``files`` (kind -> path), ``n_windows``, ``tf``, ``method``, ``top`` (window,
        reference score) pairs.
    """
    from fnstore.model.card import read_card
    from fnstore.predict.inputs import resolve_inputs
    from fnstore.predict.outputs import task_names
    from fnstore.variants.alleles import nearest_bins

    if method not in ("fast", "naive"):
        raise InputError("--method", f"must be fast or naive, got {method!r}")
    st = store if isinstance(store, Store) else open_store(store)
    card = read_card(model_dir)
    inputs = resolve_inputs(st, card, cell, source=f"model {model_dir}")
    names = task_names(card)
    if tf is not None and tf not in names:
        raise InputError("--tf", f"{tf!r} is not a task of this model ({', '.join(names)})")
    task = names.index(tf) if tf else 0
    chrom_idx, starts = ism_windows(st, inputs.window, region, regions)
    target = Path(out)
    if target.exists() and not overwrite:
        raise InputError(target, "already exists: use --overwrite to replace it")
    if target.exists() and not (target / NPZ).is_file():
        refuse_foreign(target, "an fnstore ISM folder")
    with output_lock(target):
        ref, effects, x, used = _compute(
            model_dir, st, inputs, chrom_idx, starts, method, progress, nearest_bins
        )
        with temporary_folder(target) as work:
            files = _write(work, st, cell, names, task, chrom_idx, starts, ref, effects, x)
            order = np.argsort(-ref[:, task], kind="stable")[: max(top, 0)]
            if top > 0:
                contrib = hypothetical_contributions(effects[order, :, :, task], x[order])
                titles = [
                    f"{names[task]} {cell} {st.chroms[chrom_idx[i]]}:{starts[i]}-"
                    f"{starts[i] + inputs.window} score {ref[i, task]:.3f}"
                    for i in order
                ]
                plot_logos(contrib * x[order, :, :4], titles, work / "logos.png", logo_width)
                files["logos"] = "logos.png"
            if modisco:
                files.update(_write_modisco(work, effects[:, :, :, task], x))
    return {
        "files": {k: str(target / v) for k, v in files.items()},
        "n_windows": int(starts.size),
        "tf": names[task],
        "method": used,
        "top": [[int(i), float(ref[i, task])] for i in order],
    }


def _compute(
    model_dir: str | os.PathLike,
    store: Store,
    inputs: Any,
    chrom_idx: np.ndarray,
    starts: np.ndarray,
    method: str,
    progress: bool,
    nearest_bins: Any,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, str]:
    """Windows read, model loaded, ISM computed window by window (with progress)."""
    from fnstore.interpret.regions import read_windows
    from fnstore.model.folder import load_model_dir
    from fnstore.predict.inputs import extra_for_bins
    from fnstore.predict.scoring import make_scorer

    x = read_windows(store, inputs, chrom_idx, starts)
    extra = extra_for_bins(
        store, inputs, nearest_bins(store, chrom_idx, starts + inputs.window // 2)
    )
    model, _ = load_model_dir(model_dir)
    scorer = None
    used = "naive"
    if method == "fast":
        scorer, _ = make_scorer(model, store.stride, "fast")
        used = scorer.method
    refs, effects = [], []
    with progress_bar(len(x), f"ism {inputs.cell}", "window", progress) as bar:
        for i in range(len(x)):
            ex = None if extra is None else extra[i : i + 1]
            r, e = ism(x[i : i + 1], ex, scorer=scorer, model=None if scorer else model)
            refs.append(r[0])
            effects.append(e[0])
            bar.update(1)
    return np.stack(refs), np.stack(effects), x, used


def _write(
    work: Path,
    store: Store,
    cell: str,
    names: list[str],
    task: int,
    chrom_idx: np.ndarray,
    starts: np.ndarray,
    ref: np.ndarray,
    effects: np.ndarray,
    x: np.ndarray,
) -> dict[str, str]:
    """``ism.npz`` in the work folder."""
    np.savez_compressed(
        work / NPZ,
        effects=effects,
        ref_scores=ref,
        onehot=x[:, :, :4],
        chrom=np.asarray([store.chroms[c] for c in chrom_idx]),
        start=starts,
        tasks=np.asarray(names),
        tf=np.asarray(names[task]),
        cell=np.asarray(cell),
    )
    return {"npz": NPZ}


def _write_modisco(work: Path, effects: np.ndarray, x: np.ndarray) -> dict[str, str]:
    """``modisco/ohe.npz`` and ``modisco/hyp.npz``, channels first as ``modisco motifs`` reads."""
    folder = work / "modisco"
    folder.mkdir()
    hyp = hypothetical_contributions(effects, x)
    np.savez_compressed(folder / "ohe.npz", np.ascontiguousarray(x[:, :, :4].transpose(0, 2, 1)))
    np.savez_compressed(folder / "hyp.npz", np.ascontiguousarray(hyp.transpose(0, 2, 1)))
    return {"modisco_ohe": "modisco/ohe.npz", "modisco_hyp": "modisco/hyp.npz"}
