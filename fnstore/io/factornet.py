"""Turn a FactorNet data folder into a build spec, so FactorNet users can move over.

FactorNet keeps one folder per cell type::

    data/<CELL>/chip.txt    conservative.narrowPeak<TAB>TF<TAB>relaxed.narrowPeak   (one TF a line)
    data/<CELL>/bigwig.txt  file.bigWig<TAB>NAME                                    (e.g. DGF, Unique35)
    data/<CELL>/meta.txt    value<TAB>NAME                                          (RNA-seq PCs)

File names are relative to the cell folder.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fnstore.errors import InputError


def _rows(path: Path, min_cols: int) -> list[list[str]]:
    rows = []
    for lineno, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        parts = line.split("\t") if "\t" in line else line.split()
        if len(parts) < min_cols:
            raise InputError(path, f"line {lineno}: expected at least {min_cols} columns")
        rows.append(parts)
    return rows


def spec_from_factornet(folder: str | Path, genome: str | None) -> dict[str, Any]:
    """A spec dict equivalent to a FactorNet ``data/`` folder (labels, tracks, metadata).

    Parameters
    ----------
    folder : str or pathlib.Path
        The ``data/`` folder, one sub-folder per cell.
    genome : str or None
        The genome FASTA, which FactorNet kept elsewhere; ``None`` is an
        :class:`InputError`.

    Returns
    -------
    dict
        A spec (name, genome, cells, labels) for :func:`fnstore.build.load_spec`;
        paths are absolute when ``folder`` is.
    """
    root = Path(folder)
    if not root.is_dir():
        raise InputError(root, "no such FactorNet data folder")
    if genome is None:
        raise InputError(
            root, "--from-factornet needs --genome FASTA (FactorNet kept it elsewhere)"
        )
    cells: dict[str, dict[str, Any]] = {}
    labels: list[dict[str, str]] = []
    for cell_dir in sorted(p for p in root.iterdir() if p.is_dir()):
        cell = cell_dir.name
        entry: dict[str, Any] = {}
        if (cell_dir / "bigwig.txt").exists():
            entry["tracks"] = {
                name: str(cell_dir / f) for f, name, *_ in _rows(cell_dir / "bigwig.txt", 2)
            }
        if (cell_dir / "meta.txt").exists():
            entry["metadata"] = str(cell_dir / "meta.txt")
        if (cell_dir / "chip.txt").exists():
            for cons, tf, *rest in _rows(cell_dir / "chip.txt", 2):
                item = {"tf": tf, "cell": cell, "conservative": str(cell_dir / cons)}
                if rest and rest[0]:
                    item["relaxed"] = str(cell_dir / rest[0])
                labels.append(item)
        if entry:
            cells[cell] = entry
    if not cells and not labels:
        raise InputError(
            root, "no <CELL>/chip.txt, bigwig.txt or meta.txt found: not a FactorNet data folder"
        )
    return {
        "name": f"factornet-{root.name}",
        "genome": {"fasta": str(Path(genome).resolve())},
        "cells": cells,
        "labels": labels,
    }
