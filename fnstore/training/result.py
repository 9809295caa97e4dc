"""What :func:`fnstore.train` returns: the files it wrote, the history and the validation.

A dataclass rather than a bare dict so the fields are documented and typed; it is still a
read-only mapping (``result["validation"]``, ``result.get(...)``, ``dict(result)``) with
the keys the dict had, so code written against the dict keeps working. No Keras here.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, fields
from typing import Any

from fnstore.notebook import html_repr


@dataclass(frozen=True, eq=False)
class TrainResult(Mapping[str, Any]):
    """The outcome of one training run.

    Parameters
    ----------
    model_dir
        The model folder.
    model, card, checkpoint, history_csv, learning_curve
        Paths of ``model.keras``, ``model_card.json``, ``checkpoint.keras``,
        ``history.csv`` and ``learning_curve.png`` in it.
    history
        Per-epoch Keras metrics (``loss``, ``val_loss``, ...).
    validation
        Loss and per-TF auROC/auPR on the fixed validation set, with its regions and cells.
    seconds
        Wall time of ``model.fit``.
    honest
        Honest validation (:func:`fnstore.training.honest.honest_validation`): the metrics
        on every countable bin of the validation regions; None when switched off.
    """

    model_dir: str
    model: str
    card: str
    checkpoint: str
    history_csv: str
    learning_curve: str
    history: dict[str, list[float]]
    validation: dict[str, Any]
    seconds: float
    honest: dict[str, Any] | None = None

    _repr_html_ = html_repr  # how a notebook shows it (fnstore.notebook)

    def to_dict(self) -> dict[str, Any]:
        """The summary as the plain dict ``fnstore.train`` used to return (same keys).

        Returns
        -------
        dict
            One key per field, values shared (not copied).
        """
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def summary(self) -> str:
        """What ``fnstore train`` prints: each TF's validation scores, then the folder.

        Returns
        -------
        str
            Lines joined by newlines, without a trailing newline.
        """
        lines = []
        for tf, row in self.validation["tasks"].items():
            scores = ", ".join(f"{k} {row[k]:.3f}" for k in ("auroc", "auprc") if k in row)
            lines.append(f"{tf}: balanced validation sample {scores or row.get('note', '')}")
        if self.honest is not None:
            where = ", ".join(self.honest["regions"])
            for row in self.honest["results"]:
                lines.append(f"{row['tf']} in {row['cell']} ({row['role']}): {_honest_text(row)}")
            lines.append(f"(honest: every non-ambiguous, non-blacklisted bin of {where})")
            skipped = self.honest.get("skipped") or {}
            if skipped:
                lines.append(
                    f"(not scored, lacking an input the model reads: {', '.join(skipped)}; "
                    f"the card's honest_validation.skipped says which)"
                )
        lines.append(f"Wrote {self.model_dir} ({self.seconds:.0f} s)")
        lines += [f"Warning: {w}" for w in (self.honest or {}).get("warnings", [])]
        return "\n".join(lines)

    def __getitem__(self, key: str) -> Any:
        return self.to_dict()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.to_dict())

    def __len__(self) -> int:
        return len(fields(self))


def _honest_text(row: dict[str, Any]) -> str:
    """One honest-validation result as ``auROC 0.912, auPRC 0.405, recall@10%FDR 0.311``."""
    if "auprc" not in row:
        return f"honest validation not defined ({row.get('note', 'one class only')})"
    text = f"honest auROC {row['auroc']:.3f}, auPRC {row['auprc']:.3f}"
    recall = row.get("recall_at_10_fdr")
    text = text if recall is None else f"{text}, recall@10%FDR {recall:.3f}"
    base = row.get("motif_baseline", {})
    if "auprc" in base:
        text += f" (motif {base['motif']} scan: auPRC {base['auprc']:.3f})"
    return text
