"""Kernels -> motifs, the DeepBind / DanQ way: count the bases under every strong hit.

See :mod:`fnstore.interpret.kernel_motifs` for the method; this module is its pure-NumPy
core, from windows and kernel weights to one :class:`KernelMotif` per kernel.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from fnstore.errors import InputError
from fnstore.interpret.kernels import ConvKernels, conv_activations
from fnstore.interpret.motif_match import Match, MotifDatabase
from fnstore.interpret.pwm import consensus, counts_to_pwm, information_content, trim_pwm
from fnstore.model.tracks import rc_channel_order


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
        """Each kernel's base counts as probabilities (see :func:`~fnstore.interpret.pwm.counts_to_pwm`).

        Parameters
        ----------
        pseudocount : float
            Added to every count before normalising.

        Returns
        -------
        numpy.ndarray
            ``(n_kernels, width, 4)`` float64; uniform rows for kernels without hits.
        """
        return counts_to_pwm(self.counts, pseudocount)


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

    Parameters
    ----------
    x : numpy.ndarray
        Windows ``(n, L, 4 + n_tracks)``, as the model sees them.
    conv : ConvKernels
        The first layer's weights; its channel count must match ``x``.
    threshold : float
        Fraction of each kernel's maximum activation a hit must reach, in (0, 1].
    both_strands : bool
        Also scan the reverse complement of every window.
    rc_order : sequence of int, optional
        Channel permutation of the reverse strand; default ACGT reversed, tracks kept (use
        :func:`~fnstore.interpret.kernels.rc_order_of` for the model's own).
    flank : int
        Bases either side of a hit included in the signal footprint.
    batch_size : int
        Windows per activation pass (bounds memory).

    Returns
    -------
    KernelSites
        Counts, hit numbers, thresholds, footprints and per-window maxima of every kernel.

    Raises
    ------
    InputError
        When ``x`` does not fit the kernels or ``threshold`` is out of range.
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
        """JSON-able row of ``summary.json``: counts, core, information, auROC, consensus, matches.

        Returns
        -------
        dict
            Non-finite match numbers are None.
        """
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

    Parameters
    ----------
    x : numpy.ndarray
        Windows ``(n, L, 4 + n_tracks)``.
    conv : ConvKernels
        The first layer's weights.
    is_bound : numpy.ndarray, optional
        One bool per window; needs both classes for an auROC.
    database : MotifDatabase, optional
        Motifs to match each kernel's core against.
    threshold, rc_order, flank
        As in :func:`collect_kernel_sites`.
    top : int
        Matches kept per kernel.
    min_information : float
        Bits a column needs to count as core (:func:`~fnstore.interpret.pwm.trim_pwm`).
    min_overlap, n_shuffles
        As in :meth:`MotifDatabase.search`.
    seed : int
        Seed of kernel 0's shuffles (kernel ``k`` uses ``seed + k``).

    Returns
    -------
    motifs : list of KernelMotif
        One per kernel, in kernel order.
    sites : KernelSites
        The raw collection they were made from.
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
