"""Scoring predictions against a store's labels: the ENCODE-DREAM metrics, tables and plots.

``from fnstore.evaluate import evaluate``; :mod:`~fnstore.evaluate.metrics` is the pure maths.
"""

from fnstore.evaluate.score import evaluate

__all__ = ["evaluate"]
