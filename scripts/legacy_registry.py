"""Regenerate fnstore/model/legacy_models.json: the SHA-256 of published FactorNet models.

``fnstore import-legacy`` refuses weights that differ from the published ones for a
published ``model.json`` (``fnstore/model/legacy_weights.py`` says why). Run this on folders
of released FactorNet models (``FactorNet/models/<TF>/<NAME>/``, or the four in
``../shared/data/legacy_models``) to record each folder's ``model.json`` and every ``*.hdf5``
beside it:

    python scripts/legacy_registry.py ../shared/data/legacy_models [MORE_ROOTS...] \\
        [--out fnstore/model/legacy_models.json]

A root is searched recursively for folders holding a ``model.json``; entries are keyed by
folder name and written sorted, so rerunning on the same files gives the same bytes.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from fnstore.io.files import atomic_write, sha256sum  # noqa: E402


def registry(roots: list[Path]) -> dict:
    """``{"about": ..., "models": {folder name: {"model.json": sha, "weights": {file: sha}}}}``."""
    models: dict[str, dict] = {}
    for root in roots:
        for model_json in sorted(root.rglob("model.json")):
            folder = model_json.parent
            weights = {p.name: sha256sum(p) for p in sorted(folder.glob("*.hdf5"))}
            if not weights:
                continue
            if folder.name in models:
                raise SystemExit(f"{folder}: a second model folder named {folder.name}")
            models[folder.name] = {"model.json": sha256sum(model_json), "weights": weights}
    return {
        "about": "SHA-256 of published FactorNet models (model.json and weight files); "
        "written by scripts/legacy_registry.py",
        "models": dict(sorted(models.items())),
    }


def main() -> None:
    """Write the registry of the model folders under the given roots."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("roots", nargs="+", type=Path)
    parser.add_argument("--out", type=Path, default=REPO / "fnstore/model/legacy_models.json")
    args = parser.parse_args()
    reg = registry(args.roots)
    with atomic_write(args.out) as fh:
        fh.write(json.dumps(reg, indent=2) + "\n")
    print(f"{args.out}: {len(reg['models'])} models")


if __name__ == "__main__":
    main()
