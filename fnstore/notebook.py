"""How result objects show in a notebook: ``_repr_html_`` built from ``to_dict()``.

One renderer for every result (build, validate, train, predict, ensemble, evaluate, export,
sweep, demo), so they look alike and a new field shows without new code: scalar fields as
a two-column table, lists of records (per-file metrics, per-task outputs) as tables with one
level of nested dicts flattened into ``key.sub`` columns, and the command's prose summary
folded underneath. Standard library only, so any module may use it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import fields
from html import escape
from typing import Any

MAX_ROWS = 50
MAX_COLUMNS = 16


def _scalar(value: Any) -> bool:
    return value is None or isinstance(value, str | int | float | bool)


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if _scalar(value):
        return escape(str(value))
    text = json.dumps(value, default=str)
    return escape(text if len(text) <= 80 else text[:77] + "...")


def _flat(record: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in record.items():
        if isinstance(value, Mapping) and all(_scalar(v) for v in value.values()):
            out.update({f"{key}.{k}": v for k, v in value.items()})
        else:
            out[key] = value
    return out


def _table(rows: list[Mapping[str, Any]]) -> str:
    flat = [_flat(r) for r in rows[:MAX_ROWS]]
    columns: list[str] = []
    for r in flat:
        columns += [k for k in r if k not in columns and _scalar(r[k])]
    columns = columns[:MAX_COLUMNS]
    head = "".join(f"<th>{escape(c)}</th>" for c in columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{_cell(r.get(c, ''))}</td>" for c in columns) + "</tr>" for r in flat
    )
    more = f"<p>... {len(rows) - MAX_ROWS} more rows</p>" if len(rows) > MAX_ROWS else ""
    return f"<table><tr>{head}</tr>{body}</table>{more}"


def result_html(title: str, data: Mapping[str, Any], summary: str | None = None) -> str:
    """An HTML view of a result's JSON-able form.

    Parameters
    ----------
    title : str
        The heading (the result's class name).
    data : mapping
        The result's ``to_dict()``.
    summary : str, optional
        The prose the command prints, shown folded under the tables.

    Returns
    -------
    str
        One ``<div>`` of HTML.
    """
    scalars = {k: v for k, v in data.items() if not _records(v)}
    parts = [f"<b>fnstore.{escape(title)}</b>"]
    if scalars:
        rows = "".join(
            f"<tr><th style='text-align:left'>{escape(str(k))}</th>"
            f"<td style='text-align:left'>{_cell(v)}</td></tr>"
            for k, v in scalars.items()
        )
        parts.append(f"<table>{rows}</table>")
    for key, value in data.items():
        if _records(value):
            rows = list(value)
            if isinstance(value, Mapping):
                rows = [{"name": k, **v} for k, v in value.items()]
            parts.append(f"<p><b>{escape(str(key))}</b></p>{_table(rows)}")
    if summary:
        parts.append(f"<details><summary>summary</summary><pre>{escape(summary)}</pre></details>")
    return "<div>" + "".join(parts) + "</div>"


def _records(value: Any) -> bool:
    """A non-empty list of dicts, or a dict of dicts: shown as a table."""
    if isinstance(value, list | tuple):
        return bool(value) and all(isinstance(v, Mapping) for v in value)
    if isinstance(value, Mapping):
        return bool(value) and all(isinstance(v, Mapping) for v in value.values())
    return False


def html_repr(result: Any) -> str:
    """``_repr_html_`` for a result object: :func:`result_html` of its ``to_dict()``.

    Parameters
    ----------
    result : object
        Anything with ``to_dict()``, or a dataclass (and optionally ``summary()``).

    Returns
    -------
    str
        HTML for Jupyter.
    """
    summary = None
    if callable(getattr(result, "summary", None)):
        try:
            summary = result.summary()
        except Exception:  # a repr must not raise; the tables still show every field
            summary = None
    if callable(getattr(result, "to_dict", None)):
        data = result.to_dict()
    else:  # a plain dataclass
        data = {f.name: getattr(result, f.name) for f in fields(result)}
    return result_html(type(result).__name__, data, summary)
