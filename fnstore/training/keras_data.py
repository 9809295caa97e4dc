"""The sampler as a ``keras.utils.PyDataset`` (imported only by Keras users).

Batches are pure functions of (seed, epoch, index), so Keras may fetch them from worker
threads or processes in any order; each worker process keeps its own chunk cache. This
module depends on the sampler and never the reverse, so the sampler stays framework-free.
"""

from __future__ import annotations

import threading
from typing import Any

import keras
import numpy as np

from fnstore.training.sampler import Sampler


def model_inputs(inputs: dict[str, Any]) -> Any:
    """A one-input model takes the bare array (a dict makes Keras warn about structure).

    Parameters
    ----------
    inputs : dict of str to numpy.ndarray
        A batch's inputs, ``x`` and optionally ``extra``.

    Returns
    -------
    numpy.ndarray or dict
        The only array when there is one input, else ``inputs`` unchanged.
    """
    return next(iter(inputs.values())) if len(inputs) == 1 else inputs


FEEDS = ("onehot", "codes")


def as_codes(inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """A batch for the ``codes`` feed: ``codes`` ``(B, L)`` uint8 (A=0 .. T=3, N=4), ``tracks``
    ``(B, L, T)`` float16 (when there are tracks) and ``extra`` unchanged.

    The sampler's Numba gather writes one-hot rows; packing them back to codes here costs a
    few vectorised passes on the host and saves ~5x the bytes shipped to the device.

    Parameters
    ----------
    inputs : dict of str to numpy.ndarray
        A sampler batch's inputs (``x`` one-hot then tracks, ``extra``).

    Returns
    -------
    dict of str to numpy.ndarray
        The inputs of :func:`fnstore.model.architecture.training_model` with ``feed="codes"``.
    """
    x = inputs["x"]
    hot = x[..., :4]
    if x.dtype == np.float16 and x.flags.c_contiguous:
        # a position's four float16 one-hot values read as one uint64: the lane set is the code
        v = np.ndarray(buffer=x, dtype=np.uint64, shape=x.shape[:2], strides=x.strides[:2])
        codes = (v > 0xFFFF).view(np.uint8) + (v > 0xFFFFFFFF) + (v > 0xFFFFFFFFFFFF)
        codes[v == 0] = 4
    else:
        codes = np.argmax(hot, axis=-1).astype(np.uint8)
        codes[~hot.any(axis=-1)] = 4
    out = {"codes": codes}
    if x.shape[-1] > 4:
        out["tracks"] = x[..., 4:].astype(np.float16)
    if "extra" in inputs:
        out["extra"] = inputs["extra"]
    return out


class SamplerDataset(keras.utils.PyDataset):
    """``len`` = batches per epoch; ``on_epoch_end`` moves the sampler to its next epoch."""

    def __init__(
        self, sampler: Sampler, multiple: int = 1, feed: str = "onehot", **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.sampler = sampler
        self.multiple = max(1, int(multiple))
        self.feed = feed
        # the chunk cache is not thread-safe; NumPy still overlaps with the training step
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self.sampler)

    def __getitem__(self, index: int) -> Any:
        with self._lock:
            inputs, y = self.sampler.batch(int(index))
        keep = len(y) - len(y) % self.multiple
        if keep < len(y):  # data parallel: every device takes an equal part
            inputs, y = {k: v[:keep] for k, v in inputs.items()}, y[:keep]
        if self.feed == "codes":
            inputs = as_codes(inputs)
        return model_inputs(inputs), y

    def on_epoch_end(self) -> None:
        if self.sampler.split == "train":
            self.sampler.on_epoch_end()


def as_keras_dataset(
    sampler: Sampler,
    workers: int = 1,
    use_multiprocessing: bool = False,
    max_queue_size: int = 10,
    multiple: int = 1,
    feed: str = "onehot",
) -> SamplerDataset:
    """``sampler`` as a ``keras.utils.PyDataset`` that Keras ``fit``/``predict`` accept.

    Parameters
    ----------
    sampler
        A training or validation :class:`~fnstore.training.sampler.Sampler`.
    workers, use_multiprocessing, max_queue_size
        Passed to ``keras.utils.PyDataset``: reader threads (processes with
        ``use_multiprocessing``) and how many batches they may read ahead (the prefetch
        that overlaps host gathering with device compute).
    multiple
        Data-parallel devices: a short last batch is cut to a multiple of it (at most
        ``multiple - 1`` examples an epoch left out), since every device takes an equal part.
    feed
        ``onehot``: the sampler's ``x``; ``codes``: :func:`as_codes` batches.

    Returns
    -------
    SamplerDataset
        ``len`` is the sampler's batches per epoch; a training sampler moves to its next
        epoch when Keras ends one.
    """
    return SamplerDataset(
        sampler,
        multiple=multiple,
        feed=feed,
        workers=workers,
        use_multiprocessing=use_multiprocessing,
        max_queue_size=max_queue_size,
    )
