"""Build specs: load YAML, validate against the JSON Schema, resolve paths, expand folders."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from fnstore.errors import InputError
from fnstore.store.labels import LabelRule
from fnstore.store.layout import DEFAULT_BIN_CHUNK, DEFAULT_POSITION_CHUNK

PEAK_FILE = re.compile(
    r"^ChIPseq\.(?P<cell>[^.]+)\.(?P<tf>[^.]+)\.(?P<kind>conservative|relaxed)(\.train)?\.narrowPeak(\.gz)?$"
)


def _spec_schema() -> dict[str, Any]:
    text = resources.files("fnstore.schemas").joinpath("build-spec.schema.json").read_text()
    return json.loads(text)


@dataclass
class PeakTask:
    tf: str
    cell: str
    conservative: str
    relaxed: str | None = None
    allow_empty: bool = False  # an empty file (or none of its rows on the store) is wanted


class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that refuses a mapping key given twice (PyYAML keeps the last silently)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            line = key_node.start_mark.line + 1
            try:
                if key in seen:
                    raise yaml.constructor.ConstructorError(
                        None,
                        None,
                        f"duplicate key {key!r} on line {line} (first on line {seen[key]})",
                    )
            except TypeError:  # unhashable key: let SafeLoader word it
                break
            seen[key] = line
        return super().construct_mapping(node, deep=deep)


@dataclass
class DreamSource:
    path: str
    tf: str


@dataclass
class BuildSpec:
    """A validated spec with absolute paths; the builder reads only this."""

    raw: dict[str, Any]
    source: str
    fasta: str
    chroms: list[str] | None
    chrom_sizes: str | None
    bin_size: int
    stride: int
    blacklist: list[str]
    signal_dtype: str
    cell_tracks: dict[str, dict[str, str]]
    cell_meta: dict[str, str]
    peak_tasks: list[PeakTask]
    dream: list[DreamSource]
    annotations: dict[str, str]
    rule: LabelRule
    metadata_fill: float | None
    position_chunk: int
    bin_chunk: int
    name: str = "fnstore"
    assembly: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    #: the absolute folder relative paths in the spec start from (the spec's own folder)
    base: str = ""

    def input_files(self) -> list[str]:
        """Every input file the spec names, in spec order.

        Returns
        -------
        list of str
            Absolute paths; a file named twice appears twice.
        """
        files = [self.fasta] + ([self.chrom_sizes] if self.chrom_sizes else []) + self.blacklist
        for tracks in self.cell_tracks.values():
            files += list(tracks.values())
        files += list(self.cell_meta.values())
        for t in self.peak_tasks:
            files += [t.conservative] + ([t.relaxed] if t.relaxed else [])
        files += [d.path for d in self.dream] + list(self.annotations.values())
        return files


def schema_error_message(err: Any) -> str:
    """One line for the first schema violation (a build spec's, or an add fragment's).

    Parameters
    ----------
    err : jsonschema.ValidationError
        The violation.

    Returns
    -------
    str
        ``spec does not match the schema at <path>: <message>``.
    """
    where = "/".join(str(p) for p in err.absolute_path) or "(top level)"
    return f"spec does not match the schema at {where}: {err.message}"


def read_raw_spec(spec: str | os.PathLike | dict[str, Any]) -> tuple[dict[str, Any], str, Path]:
    """The parsed spec, where it came from, and the folder its relative paths start from.

    Shared by build specs, sweep specs and add fragments, so all three refuse the same bad
    files (missing, not UTF-8, not YAML, duplicate keys, not a mapping) in the same words.

    Parameters
    ----------
    spec : str, os.PathLike or dict
        A YAML file, or an already parsed mapping.

    Returns
    -------
    tuple
        ``(raw mapping, source name for errors, base folder of relative paths)``.

    Raises
    ------
    InputError
        When the file cannot be read as a YAML mapping.
    """
    if isinstance(spec, dict):
        return spec, "<spec>", Path.cwd()
    path = Path(spec)
    if not path.is_file():
        raise InputError(path, "no such spec file" if not path.exists() else "not a file")
    data = path.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(path, f"not UTF-8 text (byte {exc.start})") from None
    try:
        raw = yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader
    except yaml.YAMLError as exc:
        raise InputError(path, f"not valid YAML ({_yaml_problem(exc)})") from None
    if not isinstance(raw, dict):
        raise InputError(path, "spec must be a YAML mapping")
    return raw, str(path), path.parent


def _yaml_problem(exc: yaml.YAMLError) -> str:
    """One line for a YAML error: the problem and where, without PyYAML's source excerpt."""
    problem = getattr(exc, "problem", None)
    mark = getattr(exc, "problem_mark", None)
    if not problem:
        return str(exc).splitlines()[0]
    return (
        f"{problem}, line {mark.line + 1}"
        if mark is not None and "line" not in problem
        else problem
    )


def label_sources(
    items: list[dict[str, Any]], resolve: Callable[[str], str]
) -> tuple[list[PeakTask], list[DreamSource]]:
    """Peak-file tasks (listed or found in folders) and DREAM TSVs; duplicates refused.

    Parameters
    ----------
    items : list of dict
        The spec's (or fragment's) ``labels`` entries.
    resolve : callable
        Turns a path as written into one relative to the spec's folder.

    Returns
    -------
    tuple
        ``(peak tasks, DREAM label sources)``.
    """
    peak_tasks: list[PeakTask] = []
    dream: list[DreamSource] = []
    for item in items:
        if "conservative" in item:
            peak_tasks.append(
                PeakTask(
                    item["tf"],
                    item["cell"],
                    resolve(item["conservative"]),
                    resolve(item["relaxed"]) if item.get("relaxed") else None,
                    bool(item.get("allow_empty", False)),
                )
            )
        elif "dream_tsv" in item:
            p = resolve(item["dream_tsv"])
            dream.append(DreamSource(p, item.get("tf") or Path(p).name.split(".")[0]))
        else:
            found = _scan_peaks_dir(resolve(item["peaks_dir"]), item.get("tfs"), item.get("cells"))
            for t in found:
                t.allow_empty = bool(item.get("allow_empty", False))
            peak_tasks += found
    seen: dict[tuple[str, str], str] = {}
    for t in peak_tasks:
        key = (t.tf, t.cell)
        if key in seen:
            raise InputError(
                t.conservative,
                f"duplicate TF x cell pair {t.tf} x {t.cell} (also from {seen[key]})",
            )
        seen[key] = t.conservative
    return peak_tasks, dream


def load_spec(spec: str | os.PathLike | dict[str, Any]) -> BuildSpec:
    """Read and validate a spec; relative paths are taken from the spec file's folder.

    The spec is checked against the JSON Schema before anything is resolved, so a typo
    is reported as one line naming where it is, not as a KeyError deep in the build.

    Parameters
    ----------
    spec
        A YAML spec path, or an already-parsed dict (paths relative to the working folder).

    Returns
    -------
    BuildSpec
        The validated spec with absolute paths and defaults filled in.

    Raises
    ------
    InputError
        When the file is missing, not YAML, or does not match the schema.
    """
    import jsonschema

    raw, source, base = read_raw_spec(spec)
    validator = jsonschema.Draft202012Validator(_spec_schema())
    errors = sorted(validator.iter_errors(raw), key=lambda e: list(e.absolute_path))
    if errors:
        raise InputError(source, schema_error_message(errors[0]))

    def resolve(p: str) -> str:
        q = Path(os.path.expanduser(p))
        return str(q if q.is_absolute() else (base / q).resolve())

    genome = raw["genome"]
    cells = raw.get("cells") or {}
    peak_tasks, dream = label_sources(raw.get("labels") or [], resolve)
    bins = raw.get("bins") or {}
    chunks = raw.get("chunks") or {}
    return BuildSpec(
        base=str(Path(base).resolve()),
        raw=raw,
        source=source,
        fasta=resolve(genome["fasta"]),
        chroms=genome.get("chroms"),
        chrom_sizes=resolve(genome["chrom_sizes"]) if genome.get("chrom_sizes") else None,
        bin_size=int(bins.get("size", 200)),
        stride=int(bins.get("stride", 50)),
        blacklist=[resolve(b) for b in raw.get("blacklist") or []],
        signal_dtype=raw.get("signal_dtype", "auto"),
        cell_tracks={
            c: {t: resolve(p) for t, p in (v.get("tracks") or {}).items()} for c, v in cells.items()
        },
        cell_meta={c: resolve(v["metadata"]) for c, v in cells.items() if v.get("metadata")},
        peak_tasks=peak_tasks,
        dream=dream,
        annotations={k: resolve(v) for k, v in (raw.get("annotations") or {}).items()},
        rule=LabelRule(**(raw.get("label_rule") or {})),
        metadata_fill=_metadata_fill(raw.get("metadata_fill")),
        position_chunk=int(chunks.get("positions", DEFAULT_POSITION_CHUNK)),
        bin_chunk=int(chunks.get("bins", DEFAULT_BIN_CHUNK)),
        name=raw.get("name", "fnstore"),
        assembly=raw.get("assembly"),
    )


def _metadata_fill(value: Any) -> float | None:
    """``metadata_fill`` as a number: NaN for ``nan``, None when unset (mismatch refused)."""
    if value is None:
        return None
    return float("nan") if str(value).lower() == "nan" else float(value)


def _scan_peaks_dir(folder: str, tfs: list[str] | None, cells: list[str] | None) -> list[PeakTask]:
    """Pair ENCODE-DREAM ``ChIPseq.<CELL>.<TF>.{conservative,relaxed}`` files found under a folder."""
    root = Path(folder)
    if not root.is_dir():
        raise InputError(root, "no such peaks folder")
    found: dict[tuple[str, str], dict[str, str]] = {}
    for path in sorted(root.rglob("*")):
        m = PEAK_FILE.match(path.name)
        if not m or (tfs and m["tf"] not in tfs) or (cells and m["cell"] not in cells):
            continue
        slot = found.setdefault((m["tf"], m["cell"]), {})
        if m["kind"] in slot:
            raise InputError(
                path,
                f"duplicate {m['kind']} peak file for {m['tf']} x {m['cell']} (also {slot[m['kind']]})",
            )
        slot[m["kind"]] = str(path)
    tasks = []
    for (tf, cell), files in sorted(found.items()):
        if "conservative" not in files:
            raise InputError(
                files["relaxed"], f"relaxed peaks for {tf} x {cell} without a conservative file"
            )
        tasks.append(PeakTask(tf, cell, files["conservative"], files.get("relaxed")))
    if not tasks:
        raise InputError(root, "no ChIPseq.<CELL>.<TF>.conservative*.narrowPeak[.gz] files found")
    return tasks
