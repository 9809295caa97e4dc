"""Training: the index-based sampler and the Keras fit loop behind ``fnstore.train``.

:mod:`~fnstore.training.examples` (which bins are examples), :mod:`~fnstore.training.cache`
and :mod:`~fnstore.training.windows` (chunk cache and batch gathering),
:mod:`~fnstore.training.sampler` (:class:`~fnstore.training.sampler.Sampler`),
:mod:`~fnstore.training.keras_data` (the Keras adapter) and :mod:`~fnstore.training.fit`.
No Keras import happens here.
"""
