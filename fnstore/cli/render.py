"""Plain-text rendering of summaries for the terminal (no logic, no I/O)."""

from __future__ import annotations

from typing import Any


def human_bytes(n: int | None) -> str:
    if n is None:
        return "unknown"
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if size < 1024 or unit == "TiB":
            return f"{size:.1f} {unit}" if unit != "B" else f"{int(size)} B"
        size /= 1024
    return f"{size:.1f} TiB"


def table(rows: list[list[Any]], header: list[str]) -> str:
    """Left-aligned text columns, right-aligned numbers."""
    cells = [[str(h) for h in header]] + [
        [f"{v:,}" if isinstance(v, int) else str(v) for v in r] for r in rows
    ]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    numeric = [all(isinstance(r[i], int | float) for r in rows) for i in range(len(header))]

    def fmt(r: list[str]) -> str:
        return "  ".join(
            c.rjust(w) if num else c.ljust(w) for c, w, num in zip(r, widths, numeric, strict=True)
        ).rstrip()

    lines = [fmt(cells[0]), "  ".join("-" * w for w in widths)]
    return "\n".join(lines + [fmt(r) for r in cells[1:]])


def format_info(info: dict[str, Any]) -> str:
    """The human-readable ``fnstore info`` summary."""
    chroms = info["chroms"]
    total = sum(chroms.values())
    lines = [
        f"store      {info['path']}  (schema v{info['schema_version']}, {info['status']}, id {info['store_id'][:8]})",
        f"genome     {len(chroms)} chromosome(s), {total:,} bp: "
        + ", ".join(list(chroms)[:8])
        + (" ..." if len(chroms) > 8 else ""),
        f"bins       {info['n_bins']:,} bins of {info['bin_size']} bp every {info['stride']} bp; {info['n_blacklisted']:,} blacklisted",
        f"cells      {len(info['cells'])}: " + ", ".join(info["cells"]),
        "tracks     "
        + (
            "; ".join(
                f"{t} ({len(c)} cells, {info['signal_dtype']})" for t, c in info["tracks"].items()
            )
            or "none"
        ),
        "annotations " + (", ".join(info["annotations"]) or "none"),
        "metadata   "
        + (f"{len(info['meta_features'])} features" if info["meta_features"] else "none"),
        f"size       {human_bytes(info['size_bytes'])}",
        f"tasks      {len(info['tasks'])}",
    ]
    if info["tasks"] and "B" in info["tasks"][0]:
        rows = [[t["tf"], t["cell"], t["B"], t["A"], t["U"], t["missing"]] for t in info["tasks"]]
        lines.append(table(rows, ["TF", "cell", "bound", "ambiguous", "unbound", "no data"]))
    return "\n".join(lines)


def format_log(store: str, history: list[dict[str, Any]]) -> str:
    """``fnstore log``: one line per version, oldest first.

    Parameters
    ----------
    store : str
        The store, for the heading.
    history : list of dict
        Its version entries (:func:`fnstore.store.versions.versions`).

    Returns
    -------
    str
        A table: version, action, time, content hash (short), what was added; for an
        icechunk store also each version's snapshot id and tags.
    """
    if not history:
        return f"{store}: no version history (built before fnstore recorded versions)"
    rows = []
    snaps = any("tags" in v or v.get("snapshot_id") for v in history)  # an icechunk store
    for v in history:
        added = v.get("added") or {}
        what = "; ".join(
            f"{len(names)} {kind}" if v.get("action") == "build" else f"{kind}: {', '.join(names)}"
            for kind, names in added.items()
            if names and kind != "cell_tracks"
        )
        rows.append(
            [
                v["version"],
                v.get("action", ""),
                v.get("time", ""),
                str(v.get("content_hash", ""))[:19],
                *([v.get("snapshot_id") or "-", ", ".join(v.get("tags") or []) or "-"] * snaps),
                what,
            ]
        )
    heads = ["version", "action", "time", "content hash"]
    return table(rows, [*heads, *(["snapshot", "tags"] * snaps), "added"])
