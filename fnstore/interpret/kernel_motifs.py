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

The maths here is pure NumPy on arrays; :func:`run_kernel_motifs` reads windows from a
store, and only plotting imports matplotlib/logomaker (lazily). The Keras model is only
asked for its first convolution's weights.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from fnstore.errors import InputError
from fnstore.io.meme import Motif, read_meme, reverse_complement, write_meme
from fnstore.model.card import CONV_LAYER as CONV_LAYER_NAME  # the name's one home
from fnstore.model.tracks import rc_channel_order

#: environment variable naming the default motif database for ``fnstore motifs``
MOTIF_DB_ENV = "FNSTORE_MOTIF_DB"
_EPS = 1e-9


# --------------------------------------------------------------------------- kernels


@dataclass
class ConvKernels:
    """First-layer weights: ``kernel`` ``(width, channels, n_kernels)``, ``bias`` ``(n_kernels,)``.

    Convolution is cross-correlation (Keras 3), so ``kernel[i]`` weighs the i-th base of
    the window slice in reading order.
    """

    kernel: np.ndarray
    bias: np.ndarray
    activation: str = "relu"

    @property
    def width(self) -> int:
        return int(self.kernel.shape[0])

    @property
    def n_kernels(self) -> int:
        return int(self.kernel.shape[2])


def conv_kernels(model: Any, layer_name: str = CONV_LAYER_NAME) -> ConvKernels:
    """The first convolution's weights of a Keras model (by name, else the first Conv1D)."""
    layer = None
    try:
        layer = model.get_layer(layer_name)
    except ValueError:
        layer = next((lay for lay in _all_layers(model) if type(lay).__name__ == "Conv1D"), None)
    if layer is None:
        raise InputError("model", f"no {layer_name!r} layer and no Conv1D layer")
    config = layer.get_config()
    strides = config.get("strides", (1,))
    dilation = config.get("dilation_rate", (1,))
    if tuple(np.atleast_1d(strides)) != (1,) or tuple(np.atleast_1d(dilation)) != (1,):
        raise InputError("model", f"layer {layer.name!r}: only stride 1, dilation 1 is supported")
    if config.get("padding", "valid") != "valid":
        raise InputError("model", f"layer {layer.name!r}: only 'valid' padding is supported")
    weights = [np.asarray(w, dtype=np.float32) for w in layer.get_weights()]
    kernel = weights[0]
    bias = weights[1] if len(weights) > 1 else np.zeros(kernel.shape[2], np.float32)
    activation = config.get("activation", "relu")
    return ConvKernels(kernel, bias, activation if isinstance(activation, str) else "relu")


def _all_layers(model: Any) -> list[Any]:
    out = []
    for layer in getattr(model, "layers", []):
        out.append(layer)
        out += _all_layers(layer) if hasattr(layer, "layers") else []
    return out


def rc_order_of(model: Any, n_channels: int) -> list[int]:
    """Channel permutation the model uses for its reverse strand (ACGT reversed, tracks kept)."""
    for layer in _all_layers(model):
        order = getattr(layer, "order", None)
        if type(layer).__name__ == "ReverseComplement" and order is not None:
            return [int(v) for v in order]
    return rc_channel_order(n_channels - 4)


def conv_activations(x: np.ndarray, conv: ConvKernels) -> np.ndarray:
    """Activations ``(n, L - width + 1, n_kernels)`` of the first layer on inputs ``x``."""
    view = sliding_window_view(x, conv.width, axis=1)  # (n, P, C, w)
    z = np.tensordot(view, conv.kernel, axes=([3, 2], [0, 1])) + conv.bias
    if conv.activation == "linear":
        return z.astype(np.float32, copy=False)
    return np.maximum(z, 0.0, dtype=np.float32)


# --------------------------------------------------------------------------- site collection


@dataclass
class KernelSites:
    """What the DeepBind/DanQ collection found for each kernel ``k``.

    ``counts[k]`` ``(width, 4)`` base counts over the hits; ``footprint[k]``
    ``(width + 2 * flank, n_tracks)`` mean signal over the hits and ``flank`` bases either
    side (NaN where no hit covers a position); ``window_max`` ``(n_windows, K)`` each
    window's maximum activation over both strands.
    """

    counts: np.ndarray
    n_sites: np.ndarray
    max_activation: np.ndarray
    thresholds: np.ndarray
    footprint: np.ndarray
    window_max: np.ndarray
    flank: int

    def pwms(self, pseudocount: float = 0.0) -> np.ndarray:
        return counts_to_pwm(self.counts, pseudocount)


def counts_to_pwm(counts: np.ndarray, pseudocount: float = 0.0) -> np.ndarray:
    """Row-normalised probabilities from base counts ``(..., width, 4)`` (uniform where empty)."""
    c = np.asarray(counts, dtype=np.float64) + pseudocount
    total = c.sum(axis=-1, keepdims=True)
    return np.where(total > 0, c / np.where(total > 0, total, 1.0), 0.25)


def collect_kernel_sites(
    x: np.ndarray,
    conv: ConvKernels,
    threshold: float = 0.5,
    *,
    both_strands: bool = True,
    rc_order: Sequence[int] | None = None,
    flank: int = 50,
    batch_size: int = 64,
) -> KernelSites:
    """Count the bases (and average the signal) under every above-threshold kernel hit.

    A hit is any (window, strand, position) whose activation reaches
    ``threshold * max activation over all windows`` for that kernel, DanQ's rule (all
    qualifying positions, not only each window's best). Kernels that never activate
    (dead ReLUs) get no sites and a uniform PWM. Two passes over ``x`` (maximum, then
    collection) keep memory at one batch of activations.
    """
    x = np.asarray(x, dtype=np.float32)
    if x.ndim != 3 or x.shape[2] != conv.kernel.shape[1]:
        raise InputError("windows", f"shape {x.shape} does not fit kernels {conv.kernel.shape}")
    if not 0.0 < threshold <= 1.0:
        raise InputError("threshold", f"must be in (0, 1], got {threshold}")
    n, length, channels = x.shape
    if length < conv.width:
        raise InputError("windows", f"length {length} is shorter than the kernels ({conv.width})")
    order = list(rc_order) if rc_order is not None else rc_channel_order(channels - 4)
    n_tracks, w, k_count = channels - 4, conv.width, conv.n_kernels

    def strands(xb: np.ndarray) -> list[np.ndarray]:
        return [xb, xb[:, ::-1][:, :, order]] if both_strands else [xb]

    window_max = np.zeros((n, k_count), dtype=np.float32)
    for lo in range(0, n, batch_size):
        for xs in strands(x[lo : lo + batch_size]):
            np.maximum(
                window_max[lo : lo + batch_size],
                conv_activations(xs, conv).max(axis=1),
                out=window_max[lo : lo + batch_size],
            )
    max_act = window_max.max(axis=0) if n else np.zeros(k_count, np.float32)
    thresholds = threshold * max_act

    counts = np.zeros((k_count, w, 4))
    n_sites = np.zeros(k_count, dtype=np.int64)
    span = w + 2 * flank
    fp_sum = np.zeros((k_count, span, n_tracks))
    fp_n = np.zeros((k_count, span, n_tracks))
    cols = np.arange(w)
    fp_cols = np.arange(span)
    for lo in range(0, n, batch_size):
        for xs in strands(x[lo : lo + batch_size]):
            act = conv_activations(xs, conv)
            sig = None
            if n_tracks:
                sig = np.pad(xs[:, :, 4:], ((0, 0), (flank, flank), (0, 0)), constant_values=np.nan)
            for k in range(k_count):
                if max_act[k] <= 0:
                    continue
                nn, tt = np.nonzero(act[:, :, k] >= thresholds[k])
                if not nn.size:
                    continue
                n_sites[k] += nn.size
                counts[k] += xs[nn[:, None], tt[:, None] + cols, :4].sum(axis=0)
                if sig is not None:
                    under = sig[nn[:, None], tt[:, None] + fp_cols]
                    fp_sum[k] += np.nansum(under, axis=0)
                    fp_n[k] += (~np.isnan(under)).sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        footprint = np.where(fp_n > 0, fp_sum / np.maximum(fp_n, 1), np.nan)
    return KernelSites(counts, n_sites, max_act, thresholds, footprint, window_max, flank)


# --------------------------------------------------------------------------- PWM summaries


def information_content(pwm: np.ndarray, background: np.ndarray | None = None) -> np.ndarray:
    """Per-column relative entropy (bits) of ``pwm`` against ``background`` (uniform)."""
    p = np.asarray(pwm, dtype=np.float64)
    bg = np.full(4, 0.25) if background is None else np.asarray(background, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(p > 0, p * np.log2(p / bg), 0.0)
    return terms.sum(axis=-1)


def trim_pwm(pwm: np.ndarray, min_information: float = 0.3, min_width: int = 4) -> tuple[int, int]:
    """``(start, end)`` of the core of ``pwm`` between its first and last informative columns.

    A kernel is usually wider than its motif; the flat flanks would only dilute a
    column-correlation comparison. At least ``min_width`` columns (centred on the most
    informative one) are kept.
    """
    ic = information_content(pwm)
    width = ic.size
    keep = np.flatnonzero(ic >= min_information)
    start, end = (int(keep[0]), int(keep[-1]) + 1) if keep.size else (0, 0)
    if end - start < min_width:
        centre = int(np.argmax(ic)) if not keep.size else (start + end) // 2
        start = max(0, min(centre - min_width // 2, width - min_width))
        end = min(width, start + min_width)
    return start, end


# --------------------------------------------------------------------------- database matching


@dataclass
class Match:
    """A database motif aligned to a query PWM.

    ``offset``: position in the (``strand``-oriented) target of the query's first column
    (negative when the query starts before the target); ``strand`` ``"-"`` means the
    target's reverse complement matched. ``score`` is the summed column correlation over
    ``overlap`` columns divided by the shorter width; ``z`` is its distance in null sds
    from the mean best score of the same target with shuffled columns, ``p_value`` the
    Gumbel tail there (see :func:`gumbel_p_value`), ``e_value`` that x database size.
    """

    name: str
    alt_name: str | None
    score: float
    offset: int
    strand: str
    overlap: int
    z: float = float("nan")
    p_value: float = float("nan")
    e_value: float = float("nan")


def _unit_columns(pwm: np.ndarray) -> np.ndarray:
    """Columns centred and scaled so a dot product is their Pearson correlation (0 if flat)."""
    c = np.asarray(pwm, dtype=np.float64)
    c = c - c.mean(axis=1, keepdims=True)
    norm = np.linalg.norm(c, axis=1, keepdims=True)
    return np.where(norm > _EPS, c / np.maximum(norm, _EPS), 0.0)


def column_correlations(query: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Pearson correlation of every query column with every target column ``(Wq, Wt)``."""
    return _unit_columns(query) @ _unit_columns(target).T


class MotifDatabase:
    """Motifs prepared for fast column-correlation search of many queries.

    All targets' columns (and their reverse complements) are stacked once, so comparing a
    query with the whole database is one matrix product plus one ``bincount`` per strand.
    """

    def __init__(self, motifs: Sequence[Motif]) -> None:
        if not motifs:
            raise InputError("motif database", "no motifs")
        self.motifs = list(motifs)
        self.widths = np.array([m.width for m in self.motifs], dtype=np.int64)
        self.target_of = np.repeat(np.arange(len(self.motifs)), self.widths)
        self.column_of = np.concatenate([np.arange(w) for w in self.widths])
        self.fwd = np.concatenate([_unit_columns(m.pwm) for m in self.motifs])
        self.rev = np.concatenate([_unit_columns(reverse_complement(m.pwm)) for m in self.motifs])

    @classmethod
    def from_meme(cls, path: str | os.PathLike) -> MotifDatabase:
        return cls(read_meme(path))

    def __len__(self) -> int:
        return len(self.motifs)

    def _layout(self, wq: int, min_overlap: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Keys of (query column, target column) pairs into per-target diagonal slots."""
        n_diag = wq + self.widths - 1
        base = np.concatenate([[0], np.cumsum(n_diag)[:-1]])
        i = np.arange(wq)[:, None]
        keys = base[self.target_of][None, :] + self.column_of[None, :] - i + (wq - 1)
        slot_target = np.repeat(np.arange(len(self.motifs)), n_diag)
        d = np.concatenate([np.arange(-(wq - 1), w) for w in self.widths])
        wt = self.widths[slot_target]
        overlap = np.minimum(wq, wt - d) - np.maximum(0, -d)
        need = np.minimum(min_overlap, np.minimum(wq, wt))
        valid = overlap >= need
        return keys, np.stack([slot_target, d, overlap]), valid

    def search(
        self,
        query: np.ndarray,
        top: int = 5,
        *,
        min_overlap: int = 5,
        n_shuffles: int = 20,
        rank_by: str = "p_value",
        seed: int = 0,
    ) -> list[Match]:
        """The ``top`` best matches of PWM ``query`` ``(width, 4)`` over the database."""
        q = _unit_columns(query)
        wq = q.shape[0]
        keys, (slot_target, d, overlap), valid = self._layout(wq, min_overlap)
        n_slots = slot_target.size
        shorter = np.minimum(wq, self.widths)[slot_target].astype(np.float64)
        starts = np.concatenate([[0], np.cumsum(wq + self.widths - 1)[:-1]])
        flat_keys = keys.ravel()

        def slot_scores(corr: np.ndarray) -> np.ndarray:
            sums = np.bincount(flat_keys, weights=corr.ravel(), minlength=n_slots)
            return np.where(valid, sums / shorter, -np.inf)

        corr = {"+": q @ self.fwd.T, "-": q @ self.rev.T}
        scores = {s: slot_scores(c) for s, c in corr.items()}
        best = np.maximum(
            np.maximum.reduceat(scores["+"], starts), np.maximum.reduceat(scores["-"], starts)
        )

        z = np.full(len(self.motifs), np.nan)
        if n_shuffles > 1:
            rng = np.random.default_rng(seed)
            null = np.empty((n_shuffles, len(self.motifs)))
            for s in range(n_shuffles):
                perm = np.lexsort((rng.random(self.target_of.size), self.target_of))
                null[s] = np.maximum(
                    np.maximum.reduceat(slot_scores(corr["+"][:, perm]), starts),
                    np.maximum.reduceat(slot_scores(corr["-"][:, perm]), starts),
                )
            sd = null.std(axis=0, ddof=1)
            z = (best - null.mean(axis=0)) / np.maximum(sd, 1e-3)
        p = gumbel_p_value(z)

        if rank_by not in ("p_value", "score"):
            raise InputError("rank_by", f"must be 'p_value' or 'score', got {rank_by!r}")
        if rank_by == "p_value" and np.isfinite(z).all():
            order = np.lexsort((-best, -z))
        else:
            order = np.argsort(-best, kind="stable")
        matches = []
        for t in order[:top]:
            lo, hi = starts[t], starts[t] + wq + self.widths[t] - 1
            strand = "+" if scores["+"][lo:hi].max() >= scores["-"][lo:hi].max() else "-"
            slot = lo + int(np.argmax(scores[strand][lo:hi]))
            m = self.motifs[t]
            matches.append(
                Match(
                    m.name,
                    m.alt_name,
                    float(best[t]),
                    int(d[slot]),
                    strand,
                    int(overlap[slot]),
                    float(z[t]),
                    float(p[t]),
                    float(p[t] * len(self.motifs)),
                )
            )
        return matches


def gumbel_p_value(z: np.ndarray) -> np.ndarray:
    """Upper tail of a Gumbel law with the null's mean and sd, at ``z`` null sds above the mean.

    A best-over-alignments score is a maximum, so its null has an extreme-value (Gumbel)
    right tail, much heavier than a normal one: a normal tail would call random queries
    significant. Fitting the Gumbel by moments keeps random PWMs at E-values near 1.
    """
    z = np.asarray(z, dtype=np.float64)
    u = z * math.pi / math.sqrt(6.0) + 0.5772156649
    with np.errstate(over="ignore"):
        return -np.expm1(-np.exp(-u))


def compare_pwms(query: np.ndarray, target: np.ndarray, min_overlap: int = 5) -> Match:
    """Best alignment of ``query`` against one ``target`` (both strands), without a null."""
    db = MotifDatabase([Motif("target", np.asarray(target, dtype=np.float64))])
    return db.search(query, top=1, min_overlap=min_overlap, n_shuffles=0)[0]


# --------------------------------------------------------------------------- kernel reports


@dataclass
class KernelMotif:
    """One kernel's motif: PWM, hits, informative core, footprint and database matches."""

    index: int
    pwm: np.ndarray
    n_sites: int
    max_activation: float
    threshold: float
    core: tuple[int, int]
    information: float
    footprint: np.ndarray
    auroc_bound: float | None = None
    matches: list[Match] = field(default_factory=list)

    @property
    def name(self) -> str:
        return f"kernel_{self.index:03d}"

    def summary(self) -> dict[str, Any]:
        return {
            "kernel": self.index,
            "name": self.name,
            "n_sites": self.n_sites,
            "max_activation": self.max_activation,
            "threshold": self.threshold,
            "core": list(self.core),
            "information_bits": round(self.information, 4),
            "auroc_bound_vs_random": self.auroc_bound,
            "consensus": consensus(self.pwm[self.core[0] : self.core[1]]),
            "matches": [_finite(asdict(m)) for m in self.matches],
        }


def _finite(row: dict[str, Any]) -> dict[str, Any]:
    return {
        k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in row.items()
    }


def consensus(pwm: np.ndarray, min_probability: float = 0.5) -> str:
    """Upper-case base where one base has >= ``min_probability``, else ``n``."""
    best = np.argmax(pwm, axis=1)
    return "".join("ACGT"[b] if pwm[i, b] >= min_probability else "n" for i, b in enumerate(best))


def kernel_motifs_from_windows(
    x: np.ndarray,
    conv: ConvKernels,
    *,
    is_bound: np.ndarray | None = None,
    database: MotifDatabase | None = None,
    threshold: float = 0.5,
    top: int = 5,
    rc_order: Sequence[int] | None = None,
    flank: int = 50,
    min_information: float = 0.3,
    min_overlap: int = 5,
    n_shuffles: int = 20,
    seed: int = 0,
) -> tuple[list[KernelMotif], KernelSites]:
    """Kernels -> PWMs on windows ``x``, each matched to ``database`` (when given).

    ``is_bound`` (one flag per window) adds each kernel's auROC of its per-window maximum
    activation for bound versus other windows: a cheap ranking of which kernels matter.
    """
    from fnstore.evaluate.metrics import roc_auc

    sites = collect_kernel_sites(x, conv, threshold, rc_order=rc_order, flank=flank)
    pwms = sites.pwms()
    out = []
    flags = None if is_bound is None else np.asarray(is_bound, dtype=bool)
    for k in range(conv.n_kernels):
        core = trim_pwm(pwms[k], min_information)
        info = float(information_content(pwms[k][core[0] : core[1]]).sum())
        auroc = None
        if flags is not None and 0 < flags.sum() < flags.size:
            auroc = float(roc_auc(flags.astype(np.int8), sites.window_max[:, k]))
        motif = KernelMotif(
            k,
            pwms[k],
            int(sites.n_sites[k]),
            float(sites.max_activation[k]),
            float(sites.thresholds[k]),
            core,
            info,
            sites.footprint[k],
            auroc,
        )
        if database is not None and motif.n_sites > 0:
            motif.matches = database.search(
                pwms[k][core[0] : core[1]],
                top,
                min_overlap=min_overlap,
                n_shuffles=n_shuffles,
                seed=seed + k,
            )
        out.append(motif)
    return out, sites


# --------------------------------------------------------------------------- outputs


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


def _logo_frame(pwm: np.ndarray) -> Any:
    import pandas as pd

    ic = information_content(pwm)
    return pd.DataFrame(np.asarray(pwm) * ic[:, None], columns=list("ACGT"))


def plot_logos(motifs: Sequence[KernelMotif], path: str | os.PathLike, columns: int = 4) -> Path:
    """Information-content sequence logos (logomaker), one panel per kernel, titled by best match."""
    import matplotlib

    matplotlib.use("Agg")
    import logomaker
    import matplotlib.pyplot as plt

    n = len(motifs)
    cols = max(1, min(columns, n))
    rows = -(-n // cols)
    width = motifs[0].pwm.shape[0]
    fig, axes = plt.subplots(
        rows, cols, figsize=(cols * max(3.0, width * 0.18), rows * 1.6), squeeze=False
    )
    for ax in axes.ravel()[n:]:
        ax.axis("off")
    for ax, m in zip(axes.ravel(), motifs, strict=False):
        logomaker.Logo(_logo_frame(m.pwm), ax=ax, color_scheme="classic", show_spines=False)
        ax.set_ylim(0, 2)
        ax.set_yticks([0, 1, 2])
        ax.axvspan(m.core[0] - 0.5, m.core[1] - 0.5, color="0.92", zorder=-1)
        title = f"{m.name} (n={m.n_sites:,})"
        if m.matches:
            best = m.matches[0]
            title += f"  {best.alt_name or best.name} {best.strand} r={best.score:.2f}"
        ax.set_title(title, fontsize=8)
        ax.tick_params(labelsize=6)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return Path(path)


def plot_footprints(
    motifs: Sequence[KernelMotif],
    tracks: Sequence[str],
    flank: int,
    path: str | os.PathLike,
    columns: int = 4,
) -> Path:
    """Mean signal of each track around each kernel's hits (kernel span shaded)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = len(motifs)
    cols = max(1, min(columns, n))
    rows = -(-n // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(cols * 3.2, rows * 1.8), squeeze=False)
    for ax in axes.ravel()[n:]:
        ax.axis("off")
    for ax, m in zip(axes.ravel(), motifs, strict=False):
        pos = np.arange(-flank, m.footprint.shape[0] - flank)
        for t, name in enumerate(tracks):
            ax.plot(pos, m.footprint[:, t], lw=1, label=name)
        ax.axvspan(0, m.pwm.shape[0], color="0.9", zorder=-1)
        ax.set_title(m.name, fontsize=8)
        ax.tick_params(labelsize=6)
    axes.ravel()[0].legend(fontsize=6)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return Path(path)


# --------------------------------------------------------------------------- store entry point


def default_database() -> str | None:
    """The motif database named by ``$FNSTORE_MOTIF_DB``, if set."""
    return os.environ.get(MOTIF_DB_ENV) or None


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
    them, else the whole store. Returns the summary written to
    ``summary.json`` (plus ``files``).
    """
    from fnstore.interpret.regions import (
        held_out_regions,
        parse_span,
        read_windows,
        select_bins,
        window_starts,
    )
    from fnstore.model.folder import load_model_dir
    from fnstore.predict.inputs import resolve_inputs
    from fnstore.store.read import open_store

    database = MotifDatabase.from_meme(db) if db else None
    model, card = load_model_dir(model_dir)
    store = open_store(store_path)
    tfs = [str(t.get("tf")) for t in card.get("tasks", [])]
    cell = cell or _default_cell(card, store, tfs)
    inputs = resolve_inputs(store, card, cell, source=str(model_dir))
    tracks = list(inputs.store_tracks)
    if chroms:
        spans, chrom_source = [parse_span(store, c) for c in chroms], "given"
    else:
        held = held_out_regions(card, store)
        spans, chrom_source = (
            (held, "held-out (model card)")
            if held
            else ([parse_span(store, c) for c in store.chroms], "all")
        )
    chosen = [f"{c}:{s}-{e}" for c, s, e in spans]
    window = int(card["window"])
    bins, is_bound = select_bins(store, tfs, cell, spans, n_windows, seed=seed)
    if not bins.size:
        raise InputError(str(store_path), f"no bins to read in {', '.join(chosen)}")
    chrom_idx, starts = window_starts(store, bins, window)
    x = read_windows(store, inputs, chrom_idx, starts)
    mostly_n = x[:, :, :4].sum(axis=(1, 2)) < 0.5 * window
    x, bins, is_bound = x[~mostly_n], bins[~mostly_n], is_bound[~mostly_n]
    conv = conv_kernels(model)
    motifs, _ = kernel_motifs_from_windows(
        x,
        conv,
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
    files = write_kernel_motifs(out, motifs, tracks, flank, extra, logos=logos)
    summary = json.loads(files["summary"].read_text())
    summary["files"] = {k: str(v) for k, v in files.items()}
    return summary


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


def format_summary(summary: Mapping[str, Any], max_kernels: int = 50) -> str:
    """A short text table of kernels and their best matches for the terminal."""
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
