"""Notebook faces: every result object renders as HTML, and the flat API has real signatures."""

from __future__ import annotations

import importlib
import inspect

import fnstore
from fnstore.notebook import result_html

RESULTS = [
    "BuildResult",
    "ValidateResult",
    "TrainResult",
    "PredictResult",
    "EnsembleResult",
    "EvaluateResult",
    "ExportResult",
]


def test_every_result_class_has_an_html_repr() -> None:
    from fnstore.demo import DemoResult
    from fnstore.sweep.run import SweepResult

    for cls in [getattr(fnstore, n) for n in RESULTS] + [DemoResult, SweepResult]:
        assert callable(getattr(cls, "_repr_html_", None)), cls.__name__


def test_evaluate_result_shows_a_metrics_table() -> None:
    res = fnstore.EvaluateResult(
        [
            {
                "file": "F.CTCF.K562.tab.gz",
                "tf": "CTCF",
                "auroc": 0.98765,
                "auprc": 0.5,
                "recall_at_fdr": {"0.1": 0.25},
            },
            {
                "file": "<b>odd</b>",
                "tf": "MAX",
                "auroc": 0.9,
                "auprc": 0.1,
                "recall_at_fdr": {"0.1": 0.05},
            },
        ]
    )
    html = res._repr_html_()
    assert html.startswith("<div><b>fnstore.EvaluateResult</b>")
    assert "<th>auroc</th>" in html and "<td>0.9877</td>" in html
    assert "<th>recall_at_fdr.0.1</th>" in html  # one nested level flattened
    assert "&lt;b&gt;odd" in html and "<b>odd</b>" not in html  # escaped


def test_train_result_html() -> None:
    res = fnstore.TrainResult(
        model_dir="m",
        model="m/model.keras",
        card="m/model_card.json",
        checkpoint="m/checkpoint.keras",
        history_csv="m/history.csv",
        learning_curve="m/learning_curve.png",
        history={"loss": [0.7, 0.6]},
        validation={"CTCF": {"auroc": 0.91, "auprc": 0.3}},
        seconds=12.5,
    )
    html = res._repr_html_()
    assert "fnstore.TrainResult" in html and "m/model.keras" in html and "12.5" in html
    assert "<th>auroc</th>" in html  # per-TF validation as a table


def test_summary_is_folded_and_escaped() -> None:
    html = result_html("X", {"n": 1}, summary="a < b")
    assert "<details><summary>summary</summary><pre>a &lt; b</pre></details>" in html


def test_many_rows_are_cut() -> None:
    html = result_html("X", {"rows": [{"i": i} for i in range(120)]})
    assert html.count("<tr>") == 51 and "70 more rows" in html


def test_public_api_has_real_signatures() -> None:
    """No ``*args, **kwargs`` wrappers behind ``dir(fnstore)``: help() shows the knobs."""
    for name in dir(fnstore):
        obj = getattr(fnstore, name)
        if not callable(obj) or (isinstance(obj, type) and issubclass(obj, Exception)):
            continue
        params = inspect.signature(obj).parameters.values()
        kinds = {p.kind for p in params}
        assert inspect.Parameter.VAR_POSITIONAL not in kinds, name
        assert inspect.Parameter.VAR_KEYWORD not in kinds, name
    assert "window" in inspect.signature(fnstore.Sampler).parameters
    assert "epochs" in inspect.signature(fnstore.train).parameters
    importlib.import_module("fnstore.sweep.spec")  # binds the package (callable) to fnstore.sweep

    assert list(inspect.signature(fnstore.sweep).parameters)[:2] == ["spec", "outdir"]
