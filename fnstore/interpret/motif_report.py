"""What ``fnstore motifs`` writes and prints: MEME, match table, arrays, summary, text."""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from fnstore.interpret.kernel_sites import KernelMotif
from fnstore.interpret.motif_plots import plot_footprints, plot_logos
from fnstore.io.meme import Motif, write_meme


def write_kernel_motifs(
    out: str | os.PathLike,
    motifs: Sequence[KernelMotif],
    tracks: Sequence[str] = (),
    flank: int = 50,
    extra: Mapping[str, Any] | None = None,
    logos: bool = True,
) -> dict[str, Path]:
    """Write ``kernels.meme``, ``matches.tsv``, ``kernels.npz``, ``summary.json`` and PNGs.

    Kernels without hits are left out of the MEME file (no sites, no motif) but listed in
    the summary.

    Parameters
    ----------
    out : str or os.PathLike
        Folder to write into (created).
    motifs : sequence of KernelMotif
        Every kernel, in kernel order.
    tracks : sequence of str
        Signal track names of the footprints.
    flank : int
        Footprint flank in bases, as collected.
    extra : Mapping, optional
        More keys for ``summary.json`` (run settings).
    logos : bool
        Also draw ``logos.png``, one ``logos/<kernel>.png`` each and ``footprints.png``.

    Returns
    -------
    dict of str to pathlib.Path
        The files written, by kind (``meme``, ``matches``, ``npz``, ``summary``, ``logos``,
        ``footprints``).
    """
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    live = [m for m in motifs if m.n_sites > 0]
    meme_motifs = [
        Motif(m.name, m.pwm, alt_name=_best_name(m), nsites=float(m.n_sites)) for m in live
    ]
    if meme_motifs:
        paths["meme"] = write_meme(folder / "kernels.meme", meme_motifs)
    rows = [
        "kernel\trank\tmotif\talt_name\tscore\tz\tp_value\te_value\toffset\tstrand\toverlap"
        "\tcore_start\tcore_end\tn_sites"
    ]
    for m in motifs:
        for r, hit in enumerate(m.matches, start=1):
            rows.append(
                f"{m.name}\t{r}\t{hit.name}\t{hit.alt_name or ''}\t{hit.score:.4f}\t{hit.z:.3f}"
                f"\t{hit.p_value:.3g}\t{hit.e_value:.3g}\t{hit.offset}\t{hit.strand}\t{hit.overlap}"
                f"\t{m.core[0]}\t{m.core[1]}\t{m.n_sites}"
            )
    paths["matches"] = folder / "matches.tsv"
    paths["matches"].write_text("\n".join(rows) + "\n")
    paths["npz"] = folder / "kernels.npz"
    np.savez_compressed(
        paths["npz"],
        pwm=np.stack([m.pwm for m in motifs]),
        n_sites=np.array([m.n_sites for m in motifs]),
        max_activation=np.array([m.max_activation for m in motifs]),
        threshold=np.array([m.threshold for m in motifs]),
        core=np.array([m.core for m in motifs]),
        footprint=np.stack([m.footprint for m in motifs]),
        footprint_offset=np.arange(-flank, motifs[0].pwm.shape[0] + flank) if motifs else [],
        tracks=np.array(list(tracks), dtype=str),
    )
    summary = {
        **(extra or {}),
        "tracks": list(tracks),
        "footprint_flank": flank,
        "kernels": [m.summary() for m in motifs],
    }
    paths["summary"] = folder / "summary.json"
    paths["summary"].write_text(json.dumps(summary, indent=2, default=_json_default) + "\n")
    if logos and live:
        paths["logos"] = plot_logos(live, folder / "logos.png")
        logo_dir = folder / "logos"
        logo_dir.mkdir(exist_ok=True)
        for m in live:
            plot_logos([m], logo_dir / f"{m.name}.png", columns=1)
        if tracks:
            paths["footprints"] = plot_footprints(live, tracks, flank, folder / "footprints.png")
    return paths


def _best_name(m: KernelMotif) -> str | None:
    if not m.matches:
        return None
    best = m.matches[0]
    return f"best={best.alt_name or best.name}"


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def format_summary(summary: Mapping[str, Any], max_kernels: int = 50) -> str:
    """A short text table of kernels and their best matches for the terminal.

    Parameters
    ----------
    summary : Mapping
        The content of ``summary.json``.
    max_kernels : int
        Rows shown, the kernels with the highest auROC first.

    Returns
    -------
    str
        A heading line and one line per kernel.
    """
    lines = [
        f"{summary.get('n_windows')} windows ({summary.get('n_bound_windows')} bound) of "
        f"{summary.get('cell')} on {', '.join(summary.get('chroms', []))}"
    ]
    kernels = sorted(
        summary.get("kernels", []), key=lambda k: -(k.get("auroc_bound_vs_random") or 0.0)
    )
    for k in kernels[:max_kernels]:
        best = k["matches"][0] if k["matches"] else None
        auroc = k.get("auroc_bound_vs_random")
        auroc_text = "-" if auroc is None else f"{auroc:.3f}"
        match = "-"
        if best:
            e_value = "" if best.get("e_value") is None else f" E={best['e_value']:.2g}"
            match = f"{best['alt_name'] or best['name']} {best['strand']} r={best['score']:.2f}{e_value}"
        lines.append(
            f"{k['name']}  sites={k['n_sites']:>7}  auROC={auroc_text:>5}  "
            f"{k['consensus'][:24]:<24} {match}"
        )
    return "\n".join(lines)
