"""Sweep specs: load the YAML, check it against its JSON Schema and the store, expand it
into runs with stable names.

Everything a user can get wrong is found here, before any worker starts or any model
trains: unknown keys (the schema), unknown TFs and cells (the store), and train keywords
that do not exist or are out of range (each run's :class:`TrainConfig` and model
configuration are built, which runs their range checks). A run's name is made from the
parameters it sets itself (TF, cells, its grid point or ``runs:`` entry, seed), so adding
a seed or a grid value later leaves the names, and the finished folders, of the other runs
as they were.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from importlib import resources
from pathlib import Path
from typing import Any

from fnstore.errors import FnstoreError, InputError

#: longest run name before it is cut and given a hash of the whole
MAX_NAME = 120
#: train keywords the sweep sets itself (honest validation is what it ranks by: always on)
RESERVED = ("store", "model_dir", "config", "overwrite", "seed", "honest")


@dataclass(frozen=True)
class HeldoutTarget:
    """Where every finished run is tested: a cell and whole chromosomes, spans or a BED."""

    name: str
    cell: str
    chroms: tuple[str, ...] | None = None
    regions: str | None = None

    def definition(self) -> dict[str, Any]:
        """The target as recorded beside its metrics (a changed target is recomputed).

        Returns
        -------
        dict
            ``name``, ``cell``, ``chroms`` and ``regions``.
        """
        return {
            "name": self.name,
            "cell": self.cell,
            "chroms": list(self.chroms) if self.chroms else None,
            "regions": self.regions,
        }


@dataclass(frozen=True)
class RunSpec:
    """One model to train: TFs, cells, seed and its ``fnstore.train`` keywords."""

    name: str
    tfs: tuple[str, ...]
    cells: tuple[str, ...]
    seed: int
    #: every train keyword except ``seed`` (model fields already in ``hyperparameters``)
    keywords: dict[str, Any]
    #: what this run sets itself (grid point / ``runs:`` entry), for names and the board
    params: dict[str, Any] = field(default_factory=dict)

    def train_keywords(self) -> dict[str, Any]:
        """Keywords for :func:`fnstore.train` (the seed included).

        Returns
        -------
        dict
            A fresh dict.
        """
        return {**self.keywords, "seed": self.seed}

    def definition(self, store_id: str) -> dict[str, Any]:
        """What makes two runs the same run: store, TFs, cells, seed and keywords.

        Parameters
        ----------
        store_id
            The store's identity (not its path: a moved store is the same store).

        Returns
        -------
        dict
            JSON-normalised (lists, sorted keys), comparable with a recorded one.
        """
        body = {
            "store_id": store_id,
            "tfs": list(self.tfs),
            "cells": list(self.cells),
            "seed": self.seed,
            "keywords": self.keywords,
        }
        return json.loads(json.dumps(body, sort_keys=True))


@dataclass
class SweepPlan:
    """A checked sweep spec: the store, the runs in spec order, held-out targets."""

    source: str
    store: str
    store_id: str
    runs: list[RunSpec]
    heldout: list[HeldoutTarget]
    ensemble: dict[str, Any] | None
    #: keys of the parameters runs set themselves (the board's parameter columns)
    param_keys: list[str]
    raw: dict[str, Any]
    tfs: list[str] = field(default_factory=list)


def _schema() -> dict[str, Any]:
    text = resources.files("fnstore.schemas").joinpath("sweep-spec.schema.json").read_text()
    return json.loads(text)


def _names(value: str | Sequence[str]) -> tuple[str, ...]:
    """``"A,B"`` or ``["A", "B"]`` as a tuple of names."""
    items = value.split(",") if isinstance(value, str) else value
    return tuple(str(v).strip() for v in items if str(v).strip())


def _known_keywords() -> tuple[set[str], set[str]]:
    """(train keywords, model hyperparameter names)."""
    from fnstore.model.config import ModelConfig
    from fnstore.training.config import SamplerConfig, TrainConfig

    train = {f.name for f in fields(TrainConfig) if f.name != "sampler"}
    train |= {f.name for f in fields(SamplerConfig) if f.metadata.get("cli")}
    model = {f.name for f in fields(ModelConfig)} - {"strand_pairs"}
    return train, model


def _merge(*layers: Mapping[str, Any]) -> dict[str, Any]:
    """Keyword layers, later wins; ModelConfig fields are gathered into ``hyperparameters``."""
    train, model = _known_keywords()
    out: dict[str, Any] = {}
    hyper: dict[str, Any] = {}
    for layer in layers:
        for key, value in layer.items():
            if key == "hyperparameters":
                hyper.update(value or {})
            elif key in model and key not in train:
                hyper[key] = value
            else:
                out[key] = value
    if hyper:
        out["hyperparameters"] = hyper
    return out


def _value_text(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return str(value).lower()
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, Mapping):
        return "_".join(f"{k}-{_value_text(v)}" for k, v in sorted(value.items()))
    if isinstance(value, list | tuple):
        return "+".join(_value_text(v) for v in value)
    text = str(value)
    return Path(text).name if "/" in text else text  # a file: its name is enough


def flat_params(params: Mapping[str, Any]) -> dict[str, Any]:
    """A run's own parameters with ``hyperparameters`` spread into their own keys.

    Parameters
    ----------
    params
        A grid point or ``runs:`` entry (without ``tfs``/``cells``).

    Returns
    -------
    dict
        Key -> value, sorted by key.
    """
    out: dict[str, Any] = {}
    for key, value in params.items():
        if key == "hyperparameters" and isinstance(value, Mapping):
            out.update(value)
        else:
            out[key] = value
    return dict(sorted(out.items()))


def run_name(tfs: Sequence[str], cells: Sequence[str], params: Mapping[str, Any], seed: int) -> str:
    """A stable, filesystem-safe name: ``TF.CELLS.key-value....sSEED``.

    Parameters
    ----------
    tfs, cells
        The run's TFs and training cells.
    params
        What the run sets itself (see :func:`flat_params`).
    seed
        Its seed.

    Returns
    -------
    str
        Letters, digits and ``._+=-`` only; a name over :data:`MAX_NAME` characters is cut
        and ends in a hash of the whole, so it stays unique.
    """
    parts = ["+".join(tfs), "+".join(cells)]
    parts += [f"{k}-{_value_text(v)}" for k, v in flat_params(params).items()]
    parts.append(f"s{seed}")
    name = re.sub(r"[^A-Za-z0-9._+=-]", "-", ".".join(parts))
    if len(name) > MAX_NAME:
        digest = hashlib.sha1(name.encode()).hexdigest()[:10]
        name = f"{name[: MAX_NAME - 11]}-{digest}"
    return name


def _points(raw: dict[str, Any]) -> list[dict[str, Any]]:
    """The grid's cross product followed by the explicit runs (one empty point if neither)."""
    grid = raw.get("grid") or {}
    keys = list(grid)
    points = [dict(zip(keys, combo, strict=True)) for combo in itertools.product(*grid.values())]
    if not grid and raw.get("runs"):
        points = []
    return points + [dict(r) for r in raw.get("runs") or []]


def _resolve_files(keywords: dict[str, Any], base: Path) -> dict[str, Any]:
    """A relative ``motif_file`` starts at the spec's folder, as every path in a spec does."""
    if keywords.get("motif_file"):
        p = Path(os.path.expanduser(str(keywords["motif_file"])))
        keywords["motif_file"] = str(p if p.is_absolute() else (base / p).resolve())
    return keywords


def _expand(raw: dict[str, Any], source: str, folder: Path) -> list[RunSpec]:
    """Every run: (point x TF set x cell set x seed), in that nesting order."""
    base = _merge(raw.get("defaults") or {}, raw.get("validation") or {})
    runs: list[RunSpec] = []
    for point in _points(raw):
        tf_sets = [_names(point.pop("tfs"))] if "tfs" in point else [_names(t) for t in raw["tfs"]]
        cell_sets = (
            [_names(point.pop("cells"))] if "cells" in point else [_names(c) for c in raw["cells"]]
        )
        for tfs, cells, seed in itertools.product(tf_sets, cell_sets, raw.get("seeds") or [0]):
            own = _merge(point)
            keywords = _resolve_files({"verbose": 2, **_merge(base, point)}, folder)
            name = run_name(tfs, cells, own, seed)
            runs.append(RunSpec(name, tfs, cells, int(seed), keywords, flat_params(own)))
    seen: dict[str, RunSpec] = {}
    for run in runs:
        if run.name in seen:
            raise InputError(source, f"run {run.name} is defined twice (grid and runs overlap?)")
        seen[run.name] = run
    return runs


def _check_keywords(run: RunSpec, source: str) -> None:
    """Build the run's TrainConfig and model configuration: unknown or out-of-range
    keywords fail here, naming the run, before anything trains."""
    from fnstore.model.config import model_config
    from fnstore.training.config import TrainConfig

    try:
        config = TrainConfig.from_keywords(**run.train_keywords())
        model_config(config.preset, **(config.hyperparameters or {})).validate()
    except TypeError as exc:
        raise InputError(source, f"run {run.name}: {exc}") from None
    except FnstoreError as exc:
        raise InputError(source, f"run {run.name}: {exc}") from None


def _check_store(store: Any, runs: list[RunSpec], heldout: list[HeldoutTarget], src: str) -> None:
    """Every TF and cell a run or target names exists in the store, with labels to train on."""
    tfs = sorted({t.tf for t in store.tasks})
    for run in runs:
        for tf in run.tfs:
            if tf not in tfs:
                raise InputError(src, f"unknown TF {tf!r} (store has {', '.join(tfs)})")
        for cell in (*run.cells, run.keywords.get("valid_cell")):
            if cell is not None and cell not in store.cells:
                raise InputError(src, f"unknown cell {cell!r} (store has {', '.join(store.cells)})")
        for tf, cell in itertools.product(run.tfs, run.cells):
            if not any(t.tf == tf and t.cell == cell for t in store.tasks):
                raise InputError(src, f"run {run.name}: the store has no {tf} labels in {cell}")
    for target in heldout:
        if target.cell not in store.cells:
            raise InputError(
                src,
                f"heldout {target.name}: unknown cell {target.cell!r} "
                f"(store has {', '.join(store.cells)})",
            )


def _heldout(raw: dict[str, Any], base: Path, store: Any, source: str) -> list[HeldoutTarget]:
    from fnstore.store.regions import chrom_lengths, parse_span

    out = []
    for item in raw.get("heldout") or []:
        chroms = _names(item["chroms"]) if "chroms" in item else None
        regions = None
        if "regions" in item:
            p = Path(os.path.expanduser(item["regions"]))
            regions = str(p if p.is_absolute() else (base / p).resolve())
            if not Path(regions).is_file():
                raise InputError(regions, "no such region file (heldout regions)")
        for span in chroms or ():
            parse_span(span, chrom_lengths(store), source=f"{source}: heldout chroms")
        label = chroms and "+".join(chroms) or Path(regions or "").name.split(".")[0]
        name = item.get("name") or re.sub(r"[^A-Za-z0-9._+-]", "-", f"{item['cell']}.{label}")
        out.append(HeldoutTarget(name, item["cell"], chroms, regions))
    names = [t.name for t in out]
    if len(set(names)) != len(names):
        raise InputError(source, f"heldout targets need distinct names, got {names}")
    return out


def load_sweep_spec(spec: str | os.PathLike | dict[str, Any]) -> SweepPlan:
    """Read, validate and expand a sweep spec (see ``docs/sweep.md``).

    Parameters
    ----------
    spec
        A YAML file, or a parsed dict (relative paths then start at the working folder).

    Returns
    -------
    SweepPlan
        The runs in spec order with their names and keywords, the held-out targets.

    Raises
    ------
    InputError
        One line for the first problem: YAML (duplicate keys included), schema, store,
        unknown TF or cell, an unknown or out-of-range train keyword.
    """
    import jsonschema

    from fnstore.build.spec import read_raw_spec
    from fnstore.store.read import open_store

    raw, source, base = read_raw_spec(spec)
    _check_reserved(raw, source)  # before the schema: its message names the key to use
    errors = sorted(
        jsonschema.Draft202012Validator(_schema()).iter_errors(raw),
        key=lambda e: list(e.absolute_path),
    )
    if errors:
        err = errors[0]
        where = "/".join(str(p) for p in err.absolute_path) or "(top level)"
        raise InputError(source, f"sweep spec does not match the schema at {where}: {err.message}")
    store_path = Path(os.path.expanduser(raw["store"]))
    store_path = store_path if store_path.is_absolute() else (base / store_path).resolve()
    store = open_store(store_path)
    runs = _expand(raw, source, base)
    for run in runs:
        _check_keywords(run, source)
    heldout = _heldout(raw, base, store, source)
    _check_store(store, runs, heldout, source)
    param_keys = sorted({k for run in runs for k in run.params})
    tfs = list(dict.fromkeys(tf for run in runs for tf in run.tfs))
    return SweepPlan(
        source, str(store_path), store.store_id, runs, heldout, raw.get("ensemble"),
        param_keys, raw, tfs,
    )  # fmt: skip


def _check_reserved(raw: dict[str, Any], source: str) -> None:
    """Keywords the sweep sets itself, refused wherever they appear (the schema also
    refuses them; this names the place and, for ``seed``, the key to use instead)."""
    layers = [("defaults", raw.get("defaults")), ("grid", raw.get("grid"))]
    runs = raw.get("runs")
    layers += [(f"runs/{i}", e) for i, e in enumerate(runs if isinstance(runs, list) else [])]
    for place, layer in layers:
        bad = sorted(set(layer) & set(RESERVED)) if isinstance(layer, dict) else []
        if bad:
            hint = " (use seeds:)" if "seed" in bad else ""
            raise InputError(source, f"{place}: {', '.join(bad)} is set by the sweep{hint}")
