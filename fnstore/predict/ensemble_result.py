"""What :func:`fnstore.predict.ensemble.ensemble` wrote, as a result object.

Kept apart from the ensembling maths so the result faces (build, evaluate, validate,
ensemble) read alike: fields, ``to_dict()`` and ``summary()``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from fnstore.notebook import html_repr


@dataclass(frozen=True)
class EnsembleResult:
    """The written file, the method, the inputs in order and the number of rows.

    ``result["out"]`` and the other keys still work, as with the dict ``ensemble`` used
    to return.
    """

    out: str
    method: str
    inputs: list[str]
    n_rows: int

    _repr_html_ = html_repr  # how a notebook shows it (fnstore.notebook)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form: ``out``, ``method``, ``inputs``, ``n_rows``.

        Returns
        -------
        dict
            The four fields; ``inputs`` is a list.
        """
        return dataclasses.asdict(self)

    def summary(self) -> str:
        """The line ``fnstore ensemble`` prints.

        Returns
        -------
        str
            One line, no trailing newline.
        """
        return (
            f"{self.out}: {self.method} average of {len(self.inputs)} files, {self.n_rows:,} rows"
        )

    def __getitem__(self, key: str) -> Any:
        return self.to_dict()[key]
