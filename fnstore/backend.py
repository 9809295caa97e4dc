"""Which Keras 3 backend fnstore runs on, chosen before Keras is imported.

Keras reads ``KERAS_BACKEND`` once, when it is first imported; after that the backend
cannot change in the process. So the choice (``fnstore --backend jax``, or the variable
itself) is made here, before any command imports Keras, and a late change is refused with
a clear error instead of silently running on the backend that was already loaded.
TensorFlow stays the default (the ``[tf]`` extra brings it); JAX and PyTorch come with
the ``[jax]`` and ``[torch]`` extras. Models are saved as backend-neutral ``.keras`` files,
so a model trained on one backend predicts on another (tested to 1e-5).
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from fnstore.errors import InputError

BACKENDS = ("tensorflow", "jax", "torch")
DEFAULT_BACKEND = "tensorflow"
#: the module each backend needs, and the extra that installs it
_MODULES = {
    "tensorflow": ("tensorflow", "fnstore[tf]"),
    "jax": ("jax", "fnstore[jax]"),
    "torch": ("torch", "fnstore[torch]"),
}


def current_backend() -> str:
    """The backend Keras uses (or will use when imported).

    Returns
    -------
    str
        ``tensorflow``, ``jax`` or ``torch``.
    """
    if "keras" in sys.modules:
        import keras

        return keras.backend.backend()
    return os.environ.get("KERAS_BACKEND", DEFAULT_BACKEND)


def select_backend(name: str) -> str:
    """Make ``name`` the Keras backend of this process (before Keras is imported).

    Parameters
    ----------
    name
        One of :data:`BACKENDS`.

    Returns
    -------
    str
        The backend now selected.

    Raises
    ------
    InputError
        For an unknown backend, one that is not installed, or a change after Keras was
        imported with another backend.
    """
    if name not in BACKENDS:
        raise InputError("--backend", f"must be one of {', '.join(BACKENDS)}, got {name!r}")
    module, extra = _MODULES[name]
    if not _importable(module):
        raise InputError("--backend", f'{name} is not installed (pip install "{extra}")')
    if "keras" in sys.modules and current_backend() != name:
        raise InputError(
            "--backend", f"Keras is already running on {current_backend()} in this process"
        )
    os.environ["KERAS_BACKEND"] = name
    return name


def _importable(module: str) -> bool:
    """Whether ``module`` can be imported here, without importing it."""
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a parent package missing, or a broken spec
        return False


def require_framework(command: str) -> None:
    """Refuse, in one line naming the extra to install, a Keras command on a light install.

    Parameters
    ----------
    command : str
        The command's name, for the message.

    Raises
    ------
    InputError
        When Keras or the selected backend's package cannot be imported.
    """
    backend = current_backend()
    module, extra = _MODULES.get(backend, (backend, _MODULES[DEFAULT_BACKEND][1]))
    if not (_importable("keras") and _importable(module)):
        raise InputError(
            f"fnstore {command}",
            f"needs Keras and {backend}, not installed here "
            f'(pip install "{extra}"; [jax] or [torch] for another backend)',
        )


def output_gradients(
    model: Any, make_feed: Callable[..., Any], x: np.ndarray, extra: np.ndarray | None, task: int
) -> tuple[np.ndarray, np.ndarray]:
    """Each model output's column ``task`` and its gradient with respect to ``x``.

    Per-sample gradients come from differentiating the batch sum: samples do not interact
    in inference mode. The one place where gradients differ between backends.

    Parameters
    ----------
    model
        A Keras model with one or several outputs ``(n, n_tasks)``.
    make_feed
        ``make_feed(model, x, extra)``: the model's input structure from backend tensors.
    x, extra
        Windows ``(n, L, C)`` and extra rows ``(n, E)`` (or None), float32.
    task
        Output column.

    Returns
    -------
    outputs : numpy.ndarray
        ``(n, S)``: column ``task`` of each of the S outputs.
    gradients : numpy.ndarray
        ``(S, n, L, C)``.
    """
    import keras

    backend = keras.backend.backend()
    x = np.asarray(x, dtype=np.float32)
    extra = None if extra is None else np.asarray(extra, dtype=np.float32)
    if backend == "tensorflow":
        return _tf_gradients(model, make_feed, x, extra, task)
    if backend == "jax":
        return _jax_gradients(model, make_feed, x, extra, task)
    return _torch_gradients(model, make_feed, x, extra, task)


def _as_list(outs: Any) -> list[Any]:
    return list(outs) if isinstance(outs, list | tuple) else [outs]


def _tf_gradients(model, make_feed, x, extra, task):  # noqa: ANN001, ANN202 - see output_gradients
    import tensorflow as tf

    xt = tf.convert_to_tensor(x)
    et = None if extra is None else tf.convert_to_tensor(extra)
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(xt)
        picked = [o[:, task] for o in _as_list(model(make_feed(model, xt, et), training=False))]
        totals = [tf.reduce_sum(p) for p in picked]
    grads = [tape.gradient(t, xt).numpy() for t in totals]
    del tape
    return np.stack([p.numpy() for p in picked], axis=1), np.stack(grads)


def _jax_gradients(model, make_feed, x, extra, task):  # noqa: ANN001, ANN202 - see output_gradients
    import jax
    import jax.numpy as jnp

    trainable = [v.value for v in model.trainable_variables]
    frozen = [v.value for v in model.non_trainable_variables]
    et = None if extra is None else jnp.asarray(extra)

    def picked(xj: Any) -> list[Any]:
        outs, _ = model.stateless_call(trainable, frozen, make_feed(model, xj, et), training=False)
        return [o[:, task] for o in _as_list(outs)]

    xj = jnp.asarray(x)
    outputs = picked(xj)
    grads = [jax.grad(lambda v, k=k: jnp.sum(picked(v)[k]))(xj) for k in range(len(outputs))]
    return np.stack([np.asarray(o) for o in outputs], axis=1), np.stack(
        [np.asarray(g) for g in grads]
    )


def _torch_gradients(model, make_feed, x, extra, task):  # noqa: ANN001, ANN202 - see output_gradients
    import torch

    xt = torch.tensor(x, requires_grad=True)
    et = None if extra is None else torch.tensor(extra)
    picked = [o[:, task] for o in _as_list(model(make_feed(model, xt, et), training=False))]
    grads = []
    for k, p in enumerate(picked):
        (g,) = torch.autograd.grad(p.sum(), xt, retain_graph=k < len(picked) - 1)
        grads.append(g.detach().cpu().numpy())
    return np.stack([p.detach().cpu().numpy() for p in picked], axis=1), np.stack(grads)


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy, Keras and the backend, without importing TensorFlow elsewhere.

    ``keras.utils.set_random_seed`` also seeds TensorFlow whenever it is installed (for
    ``tf.data``), which would load TensorFlow (seconds, hundreds of MB) under JAX or
    PyTorch; so off TensorFlow the same steps are taken here minus that one.

    Parameters
    ----------
    seed
        The seed.
    """
    import keras

    if keras.backend.backend() == "tensorflow":
        keras.utils.set_random_seed(seed)
        return
    keep_tensorflow_unloaded()
    import random

    from keras.src.backend.common import global_state
    from keras.src.random import seed_generator
    from keras.src.utils import rng_utils

    global_state.set_global_attribute(rng_utils.GLOBAL_RANDOM_SEED, seed)
    global_state.set_global_attribute(seed_generator.GLOBAL_SEED_GENERATOR, None)
    random.seed(seed)
    np.random.seed(seed)
    if keras.backend.backend() == "torch":
        import torch

        torch.manual_seed(seed)


def keep_tensorflow_unloaded() -> None:
    """Off TensorFlow, stop Keras from importing TensorFlow just to probe for it.

    Keras checks ``tf.available`` (importing TensorFlow when installed) while saving a model
    and seeding, for ``tf.data`` and ``TensorShape`` values a JAX or PyTorch run never
    holds; that costs seconds and hundreds of MB per process. Marking its lazy TensorFlow
    handle unavailable keeps the import out; a no-op on TensorFlow or once it is loaded.
    """
    import keras

    if keras.backend.backend() == "tensorflow" or "tensorflow" in sys.modules:
        return
    try:
        from keras.src.utils import module_utils
    except ImportError:  # another Keras layout: let it import TensorFlow
        return
    if getattr(module_utils.tensorflow, "_available", True) is None:
        module_utils.tensorflow._available = False


# ---------------------------------------------------------------- compiled inference
def compiled_call(model: Any) -> Callable[..., np.ndarray]:
    """``run(*arrays)`` -> the model's outputs as NumPy, in inference mode.

    On TensorFlow the model is traced ONCE with every input's batch (and free length) axis
    left unknown. With shape-specialised traces (what ``predict_on_batch`` does) the
    kernels picked, and so the last bits of the scores, would depend on the order in which
    batch shapes happen to arrive; a resumed run would then not reproduce an uninterrupted
    one bit for bit. JAX and PyTorch call the model eagerly (JAX compiles each layer);
    PyTorch under ``torch.no_grad()``, so no outputs require grad (the cause of "Can't call
    numpy() on Tensor that requires grad", issue 18) and no graph is kept, and without
    oneDNN, so the fast and per-bin paths round alike (docs/backends.md).

    Parameters
    ----------
    model
        A Keras model taking one array, or a list of arrays in ``model.inputs`` order.

    Returns
    -------
    callable
        ``run(*arrays) -> numpy.ndarray``.
    """
    import keras

    def feed(xs: Sequence[Any]) -> Any:
        return list(xs) if len(xs) > 1 else xs[0]

    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        specs = [tf.TensorSpec([None, *t.shape[1:]], t.dtype) for t in model.inputs]
        fn = tf.function(lambda *xs: model(feed(xs), training=False), input_signature=specs)
        return lambda *arrays: fn(*arrays).numpy()
    if keras.backend.backend() == "torch":
        import torch

        def run(*arrays: Any) -> np.ndarray:
            # no autograd graph: outputs do not require grad (``.numpy()`` works on them)
            # and no activations are kept for a backward pass that never comes. oneDNN off:
            # its convolution rounds a position's last bit differently with the input's
            # shape, so the fast path (long stretches) and the per-bin path (windows)
            # differed in a few bins even without an LSTM; with ATen's own kernels they
            # agreed bit for bit on 1,000-6,000-bin runs (the LSTM's GEMMs still round by
            # batch shape: up to 1.2e-7 over the example, docs/backends.md)
            with torch.no_grad(), _without_onednn(torch):
                out = model(feed(arrays), training=False)
            return keras.ops.convert_to_numpy(out)

        return run
    return lambda *arrays: keras.ops.convert_to_numpy(model(feed(arrays), training=False))


@contextlib.contextmanager
def _without_onednn(torch: Any) -> Any:
    """oneDNN (mkldnn) off inside; not ``torch.backends.mkldnn.flags``, which warns on
    every call about TF32 on Intel GPUs."""
    before = torch.backends.mkldnn.enabled
    torch.backends.mkldnn.enabled = False
    try:
        yield
    finally:
        torch.backends.mkldnn.enabled = before


def fused_window_scores(
    trunk: Any, head: Any, geometry: dict[str, Any], batch_size: int
) -> Callable[..., np.ndarray] | None:
    """The fast scorer's whole job as ONE traced function (TensorFlow), else None.

    Reverse strand, trunk, gather, head (``batch_size`` rows a call, one call at a time, as
    the per-bin path) and strand average: feature maps handed to NumPy and back cost ~10 %
    (docs/backends.md). Other backends take the NumPy route of the scorer (same numbers).

    Parameters
    ----------
    trunk, head
        The fast path's trunk and head models (:class:`fnstore.predict.scoring.WindowScorer`).
    geometry
        ``step``, ``window``, ``pool``, ``n_pool``, ``n_features``, ``n_channels``,
        ``n_extra`` (ints) and ``rc_order`` (channel permutation).
    batch_size
        Rows of the head per call.

    Returns
    -------
    callable or None
        ``run(stretches[, extra]) -> (s, n, n_tasks)`` scores of the ``n`` windows of each
        of ``s`` stretches (``extra`` ``(s, n, n_extra)``: models with one); None off TF.
    """
    import keras

    if keras.backend.backend() != "tensorflow":
        return None
    import tensorflow as tf

    g = geometry
    step, window, pool, n_pool = g["step"], g["window"], g["pool"], g["n_pool"]
    n_extra = int(g["n_extra"])
    order = tf.constant(np.asarray(g["rc_order"]), dtype=tf.int32)

    def pooled_features(x: Any) -> Any:
        s, length = tf.shape(x)[0], tf.shape(x)[1]
        n = (length - window) // step + 1
        both = tf.concat([x, tf.gather(tf.reverse(x, [1]), order, axis=2)], 0)
        feat = trunk(both, training=False)
        k = tf.range(n)[:, None] * step
        j = tf.range(n_pool)[None, :] * pool
        fwd = tf.gather(feat[:s], k + j, axis=1)  # (s, n, n_pool, F)
        rev = tf.gather(feat[s:], length - k - window + j, axis=1)
        return tf.reshape(tf.concat([fwd, rev], 0), [-1, n_pool, g["n_features"]])

    def scores(x: Any, *extra: Any) -> Any:
        s = tf.shape(x)[0]
        n = (tf.shape(x)[1] - window) // step + 1
        feed = [pooled_features(x)]
        if extra:
            flat = tf.reshape(extra[0], [-1, n_extra])
            feed.append(tf.concat([flat, flat], 0))  # the reverse strand's rows
        n_calls = (tf.shape(feed[0])[0] + batch_size - 1) // batch_size
        parts = tf.TensorArray(tf.float32, size=n_calls, infer_shape=False)

        def one_call(i: Any, parts: Any) -> tuple[Any, Any]:
            rows_i = [f[i * batch_size : (i + 1) * batch_size] for f in feed]
            out = head(rows_i if extra else rows_i[0], training=False)
            return i + 1, parts.write(i, tf.cast(out, tf.float32))

        loop = [tf.constant(0), parts]
        _, parts = tf.while_loop(lambda i, _: i < n_calls, one_call, loop, parallel_iterations=1)
        both = tf.reshape(parts.concat(), [2, s, n, -1])
        return (both[0] + both[1]) / 2.0

    widths = [g["n_channels"]] + ([n_extra] if n_extra else [])
    fn = tf.function(scores, input_signature=[tf.TensorSpec([None, None, w]) for w in widths])
    return lambda *arrays: fn(*arrays).numpy()


# ---------------------------------------------------------------- threads
def limit_threads(threads: int) -> None:
    """Bound the backend's thread pools in this process (before it is imported).

    Sweep workers share a machine; each sets its pools from ``threads`` (the environment
    variables are read when the framework starts, so set them before importing it).

    Parameters
    ----------
    threads
        Intra-op threads (and BLAS/OpenMP).
    """
    n = str(max(1, threads))
    pools = {"TF_NUM_INTRAOP_THREADS": n, "TF_NUM_INTEROP_THREADS": "1", "OMP_NUM_THREADS": n}
    for key, value in pools.items():
        os.environ.setdefault(key, value)
    if "tensorflow" not in sys.modules and current_backend() == "tensorflow":
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(max(1, threads))
        tf.config.threading.set_inter_op_parallelism_threads(1)


# ---------------------------------------------------------------- data parallel
def data_parallel(devices: int, batch_size: int = 0) -> contextlib.AbstractContextManager[Any]:
    """A scope in which a model is built and trained on ``devices`` devices of this process.

    TensorFlow: ``tf.distribute.MirroredStrategy`` over that many GPUs (else logical CPUs).
    JAX: ``keras.distribution.DataParallel`` over the first ``devices`` of
    :func:`distribution_devices`, each global batch split along its first axis; in a
    multi-process job (:func:`distributed_rank`) every process feeds its own share.

    Parameters
    ----------
    devices
        Devices (a multi-process job: all of them); 1: no distribution (a null scope).
    batch_size
        The global batch; off TensorFlow it must split evenly over the devices (JAX
        shards an array only into equal parts). 0: not checked.

    Returns
    -------
    context manager
        Enter it around building, compiling and fitting the model.

    Raises
    ------
    InputError
        Too few devices, a batch that does not split evenly, or no ``keras.distribution``.
    """
    if devices <= 1:
        return contextlib.nullcontext()
    import keras

    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        gpus = tf.config.list_logical_devices("GPU")
        pool = gpus if len(gpus) >= devices else tf.config.list_logical_devices("CPU")
        if len(pool) < devices:
            raise InputError("--devices", f"{devices} devices asked for, {len(pool)} available")
        return tf.distribute.MirroredStrategy(devices=[d.name for d in pool[:devices]]).scope()
    if batch_size % devices:
        why = f"{batch_size} does not split evenly over {devices} devices"
        raise InputError("--batch-size", why)
    found = distribution_devices()
    if len(found) < devices:
        hint = "on CPU: XLA_FLAGS=--xla_force_host_platform_device_count=N"
        why = f"{devices} devices asked for, {len(found)} available ({hint})"
        raise InputError("--devices", why)
    return keras.distribution.DataParallel(
        devices=found[:devices], auto_shard_dataset=False
    ).scope()


def distribution_devices() -> list[Any]:
    """Every device ``keras.distribution`` sees (all processes of a joined job), or an
    :class:`InputError` on a backend without it (PyTorch: none in Keras 3.15).

    Returns
    -------
    list
        The devices, as Keras names them.
    """
    import keras

    try:
        return list(keras.distribution.list_devices())
    except (AttributeError, NotImplementedError, ValueError, RuntimeError) as exc:
        why = f"no data-parallel support on {keras.backend.backend()}: {exc}"
        raise InputError("--devices", why) from None


def distributed_rank() -> tuple[int, int]:
    """``(rank, world size)`` of this process in a multi-process run, after joining it.

    JAX, with ``KERAS_DISTRIBUTION_NUM_PROCESSES`` (``..._JOB_ADDRESSES``, ``..._PROCESS_ID``)
    set: ``keras.distribution.initialize()`` joins (``jax.distributed``; tested with two
    processes); PyTorch under ``torchrun``: ``RANK`` / ``WORLD_SIZE``. Else ``(0, 1)``.

    Returns
    -------
    tuple of int
        This process's rank and the number of processes.
    """
    import keras

    backend = keras.backend.backend()
    if backend == "jax" and os.environ.get("KERAS_DISTRIBUTION_NUM_PROCESSES"):
        import jax

        if not getattr(distributed_rank, "_joined", False):
            keep_tensorflow_unloaded()  # joining seeds every framework Keras finds
            keras.distribution.initialize()
            distributed_rank._joined = True  # type: ignore[attr-defined]
        return int(jax.process_index()), int(jax.process_count())
    if backend == "torch" and os.environ.get("WORLD_SIZE"):
        return int(os.environ.get("RANK", "0")), int(os.environ["WORLD_SIZE"])
    return 0, 1


# ---------------------------------------------------------------- devices
def accelerator() -> str | None:
    """The accelerator Keras computes on, in words, or None on CPU.

    Returns
    -------
    str or None
        E.g. ``"gpu: NVIDIA H100 80GB HBM3 (1 device)"``; None when only CPUs are seen.
    """
    import keras

    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        gpus = tf.config.list_physical_devices("GPU")
        details = gpus and tf.config.experimental.get_device_details(gpus[0])
        found = gpus and ("gpu", details.get("device_name", "GPU"), len(gpus))
    elif backend == "jax":
        import jax

        devices = [d for d in jax.devices() if d.platform != "cpu"]
        found = devices and (devices[0].platform, devices[0].device_kind, len(devices))
    else:
        import torch

        cuda = torch.cuda.is_available()
        found = cuda and ("gpu", torch.cuda.get_device_name(0), torch.cuda.device_count())
    if not found:
        return None
    kind, name, n = found
    return f"{kind}: {name} ({n} device{'s' if n > 1 else ''})"


def peak_device_memory() -> int | None:
    """Peak bytes allocated on the first accelerator so far, or None on CPU / unknown.

    Returns
    -------
    int or None
        Bytes, as the backend's allocator reports them.
    """
    if accelerator() is None:
        return None
    import keras

    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        return int(tf.config.experimental.get_memory_info("GPU:0")["peak"])
    if backend == "jax":
        import jax

        stats = jax.devices()[0].memory_stats() or {}
        peak = stats.get("peak_bytes_in_use")
        return None if peak is None else int(peak)
    import torch

    return int(torch.cuda.max_memory_allocated())


# ---------------------------------------------------------------- data for PyTorch
def torch_dataset_types() -> tuple[type, Callable[[], Any]]:
    """``(IterableDataset, get_worker_info)`` of ``torch.utils.data``.

    :meth:`fnstore.training.sampler.Sampler.as_torch` subclasses the first and asks the
    second which DataLoader worker it runs in; PyTorch is imported only here, when called.

    Returns
    -------
    tuple
        The class and the function.

    Raises
    ------
    InputError
        When PyTorch is not installed.
    """
    try:
        from torch.utils.data import IterableDataset, get_worker_info
    except ImportError:
        raise InputError(
            "as_torch", 'needs PyTorch (pip install torch, or "fnstore[torch]")'
        ) from None
    return IterableDataset, get_worker_info
