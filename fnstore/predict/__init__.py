"""Prediction: model x store -> scores per bin -> ENCODE-DREAM tables, bedGraph, bigWig, Zarr.

``from fnstore.predict import predict``; :mod:`~fnstore.predict.inputs` places windows and
reads model inputs, :mod:`~fnstore.predict.scoring` runs the model (exact fast path),
:mod:`~fnstore.predict.ensemble` combines prediction files. Importing it does not import Keras.
"""

from fnstore.predict.ensemble import ensemble
from fnstore.predict.run import PredictResult, predict

__all__ = ["PredictResult", "ensemble", "predict"]
