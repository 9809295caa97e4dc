"""A model pins the data it was trained on: store id, version and content hash in its card.

Trained on version 1 of a store, it is used on version 2 (after ``fnstore add``):
``predict`` and ``evaluate`` print one ``Warning:`` line, and ``--strict`` refuses with one
``Error:`` line; on version 1 itself nothing is said.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "training"))
from planted import TINY, build_planted  # noqa: E402

from fnstore.cli import main  # noqa: E402
from fnstore.model.card import read_card  # noqa: E402
from fnstore.store.read import open_store  # noqa: E402
from fnstore.store.versions import current_version  # noqa: E402

pytest.importorskip("keras")


def _train(store: Path, out: Path) -> Path:
    import fnstore

    fnstore.train(
        store,
        out,
        "PLANT",
        ["C1"],
        hyperparameters=TINY,
        epochs=1,
        steps_per_epoch=2,
        valid_steps=1,
        batch_size=8,
        seed=1,
        annotations=False,
        metadata=False,
        verbose=0,
        honest=False,
    )
    return out


def _run(args: list[str]) -> tuple[int, str]:
    result = CliRunner().invoke(main, args)
    return result.exit_code, result.output


def test_model_trained_on_version_1_reports_version_2(tmp_path: Path) -> None:
    store = build_planted(tmp_path)
    model = _train(store, tmp_path / "m")
    pinned = read_card(model)["store"]
    v1 = current_version(open_store(store).attrs)
    assert pinned["store_id"] == open_store(store).store_id
    assert (pinned["version"], pinned["content_hash"]) == (1, v1["content_hash"])

    code, out = _run(
        ["predict", str(model), str(store), str(tmp_path / "p1"), "--cell", "C1", "--quiet"]
    )
    assert code == 0 and "Warning" not in out, out

    (tmp_path / "tss.bed").write_text("chrS\t100\t900\n")
    (tmp_path / "frag.yaml").write_text(yaml.safe_dump({"annotations": {"tss": "tss.bed"}}))
    code, out = _run(["add", str(store), str(tmp_path / "frag.yaml"), "--quiet"])
    assert code == 0, out

    preds = tmp_path / "p2"
    args = ["predict", str(model), str(store), str(preds), "--cell", "C1", "--quiet"]
    code, out = _run([*args, "--strict"])
    assert code == 1 and out.startswith("Error: ") and len(out.strip().splitlines()) == 1, out
    assert "version 1" in out and "version 2" in out
    code, out = _run(args)
    assert code == 0
    warnings = [line for line in out.splitlines() if line.startswith("Warning: ")]
    assert len(warnings) == 1 and "version 1" in warnings[0] and "version 2" in warnings[0]

    table = preds / "F.PLANT.C1.tab.gz"
    evaluate = ["evaluate", str(table), str(store), "--tf", "PLANT", "--cell", "C1"]
    code, out = _run(evaluate)
    assert code == 0 and sum(line.startswith("Warning: ") for line in out.splitlines()) == 1, out
    code, out = _run([*evaluate, "--strict"])
    assert code == 1 and out.startswith("Error: ") and "version 2" in out, out
