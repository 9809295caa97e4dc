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

import importlib.util
import os
import sys
from collections.abc import Callable
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
    if importlib.util.find_spec(module) is None:
        raise InputError("--backend", f'{name} is not installed (pip install "{extra}")')
    if "keras" in sys.modules and current_backend() != name:
        raise InputError(
            "--backend", f"Keras is already running on {current_backend()} in this process"
        )
    os.environ["KERAS_BACKEND"] = name
    return name


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
