"""Training: the index-based sampler and the Keras fit loop behind ``fnstore.train``.

:mod:`~fnstore.training.config` (every knob, once: ``SamplerConfig``, ``TrainConfig``),
:mod:`~fnstore.training.examples` (which bins are examples), :mod:`~fnstore.training.cache`
and :mod:`~fnstore.training.windows` (chunk cache and batch gathering),
:mod:`~fnstore.training.sampler` (:class:`~fnstore.training.sampler.Sampler`, no Keras),
:mod:`~fnstore.training.keras_data` (the Keras adapter, which depends on the sampler),
:mod:`~fnstore.training.fit` and :mod:`~fnstore.training.result` (what ``train`` returns).
No Keras import happens here.
"""
