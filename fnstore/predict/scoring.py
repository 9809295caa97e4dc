"""Scoring runs of consecutive bins with a FactorNet model: the naive and the fast (exact) way.

*Naive* (what FactorNet did): cut one full window per bin and run the whole model on it.
With 200 bp bins every 50 bp and 1 kb windows, each base goes through the convolution
about 20 times.

*Fast*: the convolution, its dropout (identity at inference) and the per-position dense
layer are position-wise: their output at a position depends only on the ``kernel_width``
bases from there. So they run ONCE over a whole stretch covering many consecutive windows
(and once over its reverse complement), and every window takes its slice of that feature
map. The max-pool (size ``P``, stride ``P``) of a window starting at offset ``o`` equals a
stride-1 max-pool of the stretch read at ``o, o + P, o + 2P, ...``, so that too is computed
once. Only the BiLSTM and dense head run per window, on both strands, from the very same
layer objects (same weights; on TensorFlow the BiLSTM rewritten for inference,
:mod:`fnstore.predict.head_lstm`), and the two strands' sigmoids are averaged as the full
model does. On TensorFlow the result equals the naive method bit for bit
(``benchmarks/predict.py``: difference 0); elsewhere up to float rounding (~1e-7).

The fast path rebuilds two small Keras models from the trained model's layers, found by
the names :mod:`fnstore.model` gives them; a model of another shape is refused with
:class:`FastPathUnsupported` (callers fall back to the naive method).

Importing this module imports Keras.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import keras
import numpy as np
from keras import layers

from fnstore.backend import compiled_call, fused_window_scores
from fnstore.errors import InputError
from fnstore.model.architecture import model_input_sizes
from fnstore.model.bag import bag_members
from fnstore.model.card import CONV_LAYER
from fnstore.predict.head_lstm import InferenceBiLSTM, rewritable, rewrite_fast_head
from fnstore.predict.inputs import stretch_windows

METHODS = ("fast", "naive")
#: bins per stretch in the fast method: the convolution over a stretch of ``n`` windows costs
#: ``(n - 1) * step + L`` positions instead of ``n * L``; 256 keeps the overhead small (docs/design.md)
DEFAULT_PIECE_BINS = 256

#: one unit of work: a stretch ``(T, C)`` covering ``n`` windows that start every ``step``
#: positions (``T = (n - 1) * step + L``) and their ``extra`` rows ``(n, E)`` or None
Item = tuple[np.ndarray, int, np.ndarray | None]


class FastPathUnsupported(Exception):
    """The model does not have the layer layout the fast method relies on."""


def _layer(model: keras.Model, name: str, required: bool = True) -> Any:
    try:
        return model.get_layer(name)
    except ValueError:
        if required:
            raise FastPathUnsupported(f"no layer {name!r}") from None
        return None


def _inference_bilstm(bilstm: Any) -> Any:
    """``bilstm`` itself, or the same maths rewritten for inference where that is faster
    and exact (:mod:`fnstore.predict.head_lstm`)."""
    if rewrite_fast_head() and rewritable(bilstm):
        return InferenceBiLSTM(bilstm, name="fast_bilstm")
    return bilstm


class WindowScorer:
    """Score windows of a model built by :func:`fnstore.model.build_model`.

    ``step`` is the distance between consecutive windows (the store's stride).
    ``batch_size`` bounds the windows per model call (and so memory).
    """

    def __init__(
        self,
        model: keras.Model,
        step: int,
        method: str = "fast",
        batch_size: int = 1024,
        piece_bins: int = DEFAULT_PIECE_BINS,
    ) -> None:
        if method not in METHODS:
            raise InputError("--method", f"must be one of {', '.join(METHODS)}, got {method!r}")
        if batch_size < 1:
            raise InputError("--batch-size", f"must be positive, got {batch_size}")
        self.model = model
        self.step = int(step)
        self.batch_size = int(batch_size)
        self.window, n_tracks, self.n_extra = model_input_sizes(model)
        self.n_channels = 4 + n_tracks
        self.n_tasks = int(model.outputs[0].shape[-1])
        # a power of two, so short runs are padded to one of few sizes (few retraces)
        self.piece_bins = 1 << max(0, int(piece_bins).bit_length() - 1)
        self.method = method
        if method == "fast":
            self._build_fast()
        else:
            self._run_model = compiled_call(model)

    # ------------------------------------------------------------------ fast path set-up
    def _build_fast(self) -> None:
        m = self.model
        rc = _layer(m, "reverse_complement")
        self.rc_order = np.asarray(rc.order, dtype=np.int64)
        trunk = [_layer(m, CONV_LAYER), _layer(m, "conv_dropout")]
        dense_pos = _layer(m, "position_dense", required=False)
        if dense_pos is not None:
            trunk.append(dense_pos)
        conv = trunk[0]
        if (
            conv.padding != "valid"
            or tuple(conv.strides) != (1,)
            or tuple(conv.dilation_rate) != (1,)
        ):
            raise FastPathUnsupported("first convolution is not a plain valid stride-1 Conv1D")
        self.kernel_width = int(conv.kernel_size[0])
        self.conv_len = self.window - self.kernel_width + 1
        pool = _layer(m, "pool", required=False)
        if pool is not None:
            size = int(pool.pool_size[0])
            if int(pool.strides[0]) != size or pool.padding != "valid":
                raise FastPathUnsupported("max-pool stride differs from its size")
            self.pool = size
            self.n_pool = self.conv_len // size
            bilstm = _layer(m, "bilstm")
            post = [_inference_bilstm(bilstm), _layer(m, "recurrent_dropout"), _layer(m, "flatten")]
            self.global_pool = False
        else:
            _layer(m, "global_pool")
            self.pool = self.conv_len
            self.n_pool = 1
            post = [layers.Flatten(name="fast_flatten"), _layer(m, "recurrent_dropout")]
            self.global_pool = True
        post.append(_layer(m, "dense"))
        head = [
            lay
            for lay in (
                _layer(m, n, required=False)
                for n in ("extra_dropout", "extra_dense", "dense_dropout")
            )
            if lay
        ]
        head.append(_layer(m, "task_sigmoid"))
        concat = _layer(m, "concat_extra", required=self.n_extra > 0)

        x_in = keras.Input(shape=(None, self.n_channels), name="stretch")
        h = x_in
        for lay in trunk:
            h = lay(h)
        if not self.global_pool:
            # stride-1 pool: the window at offset o reads it at o, o + P, ...
            h = layers.MaxPooling1D(self.pool, strides=1, padding="valid", name="sliding_pool")(h)
        self.trunk_model = keras.Model(x_in, h, name="fast_trunk")
        self.n_features = int(h.shape[-1])

        f_in = keras.Input(shape=(self.n_pool, self.n_features), name="pooled")
        inputs = [f_in]
        h = f_in
        for lay in post:
            h = lay(h)
        if self.n_extra:
            e_in = keras.Input(shape=(self.n_extra,), name="extra")
            inputs.append(e_in)
            h = concat([h, e_in])
        for lay in head:
            h = lay(h)
        self.head_model = keras.Model(inputs, h, name="fast_head")
        self._run_trunk = compiled_call(self.trunk_model)
        self._run_head = compiled_call(self.head_model)
        # the whole job as one traced graph where the backend has one (TensorFlow)
        self._fused = None
        if not self.global_pool:
            self._fused = fused_window_scores(
                self.trunk_model, self.head_model, self._geometry(), self.batch_size
            )
        self._index_cache: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    def _geometry(self) -> dict[str, Any]:
        """The sizes the fused job needs (:func:`fnstore.backend.fused_window_scores`)."""
        names = ("step", "window", "pool", "n_pool", "n_features", "n_channels", "n_extra")
        return {**{k: getattr(self, k) for k in names}, "rc_order": self.rc_order}

    def _indices(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        """Positions in the (pooled) feature maps read by each of ``n`` windows: forward
        strand and reverse strand (the reverse stretch is the forward one read backwards)."""
        if n not in self._index_cache:
            length = (n - 1) * self.step + self.window
            k = np.arange(n)[:, None] * self.step
            j = np.arange(self.n_pool)[None, :] * self.pool
            self._index_cache[n] = (k + j, length - k - self.window + j)
        return self._index_cache[n]

    # ------------------------------------------------------------------ scoring
    def score(self, items: Sequence[Item]) -> list[np.ndarray]:
        """Scores ``(n, n_tasks)`` float32 of each item's windows, in item order.

        Parameters
        ----------
        items : sequence of Item
            ``(stretch, n, extra)`` each: a float32 stretch ``((n - 1) * step + window,
            n_channels)``, the number of windows ``n`` and the ``extra`` rows ``(n, n_extra)``
            (None when the model has no extra input).

        Returns
        -------
        list of numpy.ndarray
            One ``(n, n_tasks)`` float32 array per item.

        Raises
        ------
        ValueError
            When an item's shapes do not match the model.
        """
        for stretch, n, extra in items:
            expect = (n - 1) * self.step + self.window
            if stretch.shape != (expect, self.n_channels):
                raise ValueError(
                    f"stretch {stretch.shape} for {n} windows, expected "
                    f"({expect}, {self.n_channels})"
                )
            if (extra is None) != (self.n_extra == 0) or (
                extra is not None and extra.shape != (n, self.n_extra)
            ):
                raise ValueError("extra rows do not match the model's extra input")
        if self.method == "naive":
            return [self._score_naive(*item) for item in items]
        return self._score_fast(items)

    def _score_naive(self, stretch: np.ndarray, n: int, extra: np.ndarray | None) -> np.ndarray:
        out = np.empty((n, self.n_tasks), dtype=np.float32)
        for a in range(0, n, self.batch_size):
            b = min(n, a + self.batch_size)
            part = stretch[a * self.step : (b - 1) * self.step + self.window]
            x = stretch_windows(part, b - a, self.window, self.step)
            feed = [x] if extra is None else [x, extra[a:b]]  # model inputs: x, then extra
            out[a:b] = self._run_model(*feed)
        return out

    def _score_fast(self, items: Sequence[Item]) -> list[np.ndarray]:
        # cut every item into pieces of at most piece_bins windows; a short piece is padded
        # to the next power of two (the extra windows read zeros past the stretch and are
        # dropped), so the trunk sees few distinct shapes
        outs = [np.empty((n, self.n_tasks), dtype=np.float32) for _, n, _ in items]
        pieces: dict[int, list[tuple[int, int, int]]] = defaultdict(list)
        for i, (_, n, _) in enumerate(items):
            for a in range(0, n, self.piece_bins):
                m = min(self.piece_bins, n - a)
                size = min(self.piece_bins, 1 << (m - 1).bit_length())
                pieces[size].append((i, a, m))
        for size, group in pieces.items():
            per_call = max(1, self.batch_size // size)
            for g in range(0, len(group), per_call):
                job = group[g : g + per_call]
                mean = self._score_job(items, size, job)
                for p, (i, a, m) in enumerate(job):
                    outs[i][a : a + m] = mean[p, :m]
        return outs

    def _score_job(
        self, items: Sequence[Item], size: int, group: list[tuple[int, int, int]]
    ) -> np.ndarray:
        """Scores ``(s, size, n_tasks)`` of one job's ``s`` pieces, strands averaged."""
        length = (size - 1) * self.step + self.window
        s = len(group)
        # the NumPy route needs room for the reverse strands after the forward ones
        x = np.zeros((s if self._fused else 2 * s, length, self.n_channels), dtype=np.float32)
        extra = np.zeros((s, size, self.n_extra), dtype=np.float32) if self.n_extra else None
        for p, (i, a, m) in enumerate(group):
            stretch, _, ex = items[i]
            part = stretch[a * self.step : (a + m - 1) * self.step + self.window]
            x[p, : part.shape[0]] = part
            if extra is not None and ex is not None:
                extra[p, :m] = ex[a : a + m]
        if self._fused is not None:
            return self._fused(x) if extra is None else self._fused(x, extra)
        feed = [self._numpy_features(x, s, size)]
        if extra is not None:
            flat = extra.reshape(s * size, self.n_extra)
            feed.append(np.concatenate([flat, flat]))
        both = self._head_in_batches(feed).reshape(2, s, size, self.n_tasks)
        return (both[0] + both[1]) / 2.0

    def _numpy_features(self, x: np.ndarray, s: int, size: int) -> np.ndarray:
        """Per-window pooled features, forward windows then reverse ones, where the backend
        has no fused graph: ``x`` holds ``s`` stretches, then room for their reverse strands."""
        x[s:] = x[:s, ::-1][:, :, self.rc_order]  # flip length, permute channels
        feat = self._run_trunk(x)
        fwd_idx, rev_idx = self._indices(size)
        if self.global_pool:
            win = np.lib.stride_tricks.sliding_window_view(feat, self.conv_len, axis=1)
            fwd = win[:s, fwd_idx[:, 0]].max(axis=-1)
            rev = win[s:, rev_idx[:, 0]].max(axis=-1)
            return np.concatenate([fwd, rev]).reshape(2 * s * size, 1, self.n_features)
        fwd = feat[:s][:, fwd_idx]
        rev = feat[s:][:, rev_idx]
        return np.concatenate([fwd, rev]).reshape(2 * s * size, self.n_pool, self.n_features)

    def _head_in_batches(self, feed: list[np.ndarray]) -> np.ndarray:
        """The head on ``batch_size`` rows at a time: the batch the per-bin path's strands run
        at, so the LSTM's kernels see the same shapes (and, on a 2-core CPU, 1.1-1.35x faster
        than twice as many rows, whose state no longer fits the cache)."""
        rows = feed[0].shape[0]
        parts = [
            self._run_head(*[f[a : a + self.batch_size] for f in feed])
            for a in range(0, rows, self.batch_size)
        ]
        return np.concatenate(parts)


def make_scorer(
    model: keras.Model,
    step: int,
    method: str = "fast",
    batch_size: int = 1024,
    piece_bins: int = DEFAULT_PIECE_BINS,
) -> tuple[WindowScorer | BagScorer, str | None]:
    """A scorer for ``method``; if the fast path does not fit the model, a naive one plus
    the reason (so the caller can say why it is slower). A bag gets a :class:`BagScorer`.

    Parameters
    ----------
    model : keras.Model
        A model built by :func:`fnstore.model.build_model`.
    step : int
        Distance between consecutive windows in bp (the store's stride).
    method : {"fast", "naive"}
        Scoring method asked for.
    batch_size : int
        Windows per model call.
    piece_bins : int
        Fast path: windows scored per piece, rounded down to a power of two.

    Returns
    -------
    scorer : WindowScorer or BagScorer
        The scorer actually used.
    fallback : str or None
        Why the fast path was not used; None when ``method`` was honoured.
    """
    members = bag_members(model)
    if members and method == "fast":
        parts = [make_scorer(m, step, method, batch_size, piece_bins) for m in members]
        if all(reason is None for _, reason in parts):
            return BagScorer([scorer for scorer, _ in parts]), None
        return WindowScorer(model, step, "naive", batch_size, piece_bins), next(
            f"member {m.name}: {reason}"
            for m, (_, reason) in zip(members, parts, strict=True)
            if reason
        )
    try:
        return WindowScorer(model, step, method, batch_size, piece_bins), None
    except FastPathUnsupported as exc:
        return WindowScorer(model, step, "naive", batch_size, piece_bins), str(exc)


class BagScorer:
    """The fast scorer of a bag (:mod:`fnstore.model.bag`): each member's fast scores,
    averaged, as the bag's ``Average`` layer does (equal to its naive scores to float
    rounding)."""

    def __init__(self, members: Sequence[WindowScorer]) -> None:
        first = members[0]
        self.members = list(members)
        self.method = first.method
        self.step, self.window, self.batch_size = first.step, first.window, first.batch_size
        self.n_channels, self.n_extra, self.n_tasks = first.n_channels, first.n_extra, first.n_tasks

    def score(self, items: Sequence[Item]) -> list[np.ndarray]:
        """Mean of the members' :meth:`WindowScorer.score`, item by item.

        Parameters
        ----------
        items : sequence of Item
            As for :meth:`WindowScorer.score`.

        Returns
        -------
        list of numpy.ndarray
            One ``(n, n_tasks)`` float32 array per item.
        """
        total = [np.zeros((n, self.n_tasks), dtype=np.float64) for _, n, _ in items]
        for member in self.members:
            for acc, part in zip(total, member.score(items), strict=True):
                acc += part
        return [(acc / len(self.members)).astype(np.float32) for acc in total]
