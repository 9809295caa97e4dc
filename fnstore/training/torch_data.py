"""The sampler as a PyTorch ``IterableDataset`` that shards its batches by DataLoader worker.

Batches are a pure function of ``(seed, epoch, batch index)``, so the workers of one
``DataLoader`` need no coordination: worker ``w`` of ``k`` draws batches ``w, w + k, ...``
(:func:`worker_batches`), and together they yield every batch of the epoch exactly once. The
sampler's own ``shard_index``/``num_shards`` (one shard per data-parallel process) apply
first; workers split what their process's shard holds.

PyTorch is imported only when :func:`as_torch_dataset` is called (it is not a dependency of
fnstore); the batches stay NumPy arrays, which the ``DataLoader`` (``batch_size=None``)
turns into tensors.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from fnstore.backend import torch_dataset_types


def worker_batches(n_batches: int, worker: int, n_workers: int) -> range:
    """The batch indices of an epoch that one DataLoader worker draws.

    Parameters
    ----------
    n_batches : int
        Batches in the epoch (this process's shard).
    worker, n_workers : int
        This worker's id and how many there are (0 and 1 without workers).

    Returns
    -------
    range
        ``worker, worker + n_workers, ...`` below ``n_batches``: disjoint across workers,
        and together every batch once.
    """
    if not 0 <= worker < n_workers:
        raise ValueError(f"worker {worker} not in [0, {n_workers})")
    return range(worker, n_batches, n_workers)


def as_torch_dataset(sampler: Any) -> Any:
    """Wrap a :class:`~fnstore.training.sampler.Sampler` as a ``torch`` ``IterableDataset``.

    Parameters
    ----------
    sampler : fnstore.Sampler
        The batches to serve (create it with ``layout="NCL", dtype="float32"`` for
        ``Conv1d``).

    Returns
    -------
    torch.utils.data.IterableDataset
        Iterating yields ``({"x": ..., "extra": ...}, y)`` NumPy batches of one epoch; call
        ``set_epoch(e)`` before each epoch (as with ``DistributedSampler``) so every epoch
        draws fresh negatives and shifts. Use ``DataLoader(ds, batch_size=None,
        num_workers=k)``.

    Raises
    ------
    InputError
        When PyTorch is not installed.
    """
    IterableDataset, get_worker_info = torch_dataset_types()

    class SamplerDataset(IterableDataset):  # type: ignore[misc, valid-type]
        """One epoch of the sampler's batches, split across DataLoader workers."""

        def __init__(self, sampler: Any) -> None:
            super().__init__()
            self.sampler = sampler
            self.epoch = sampler.epoch

        def set_epoch(self, epoch: int) -> None:
            """Draw epoch ``epoch`` on the next iteration."""
            self.epoch = int(epoch)

        def __len__(self) -> int:
            return len(self.sampler)

        def __reduce__(self) -> tuple[Any, tuple[Any, int]]:
            # a class made in a function does not pickle by name: rebuild it from the
            # sampler, so DataLoader workers started by spawn or forkserver get it too
            return _rebuild, (self.sampler, self.epoch)

        def __iter__(self) -> Iterator[Any]:
            info = get_worker_info()
            worker, n_workers = (0, 1) if info is None else (info.id, info.num_workers)
            for i in worker_batches(len(self.sampler), worker, n_workers):
                yield self.sampler.batch(i, self.epoch)

    return SamplerDataset(sampler)


def _rebuild(sampler: Any, epoch: int) -> Any:
    """The dataset again, in a DataLoader worker process (see ``__reduce__``)."""
    ds = as_torch_dataset(sampler)
    ds.set_epoch(epoch)
    return ds
