"""Legacy weights against the published models' hashes, and the import's output folder.

FactorNet's HDF5 files carry no checksum: a flipped byte inside a weight array reads as
another number. ``fnstore/model/legacy_models.json`` records the published files' SHA-256;
a published ``model.json`` with other weights is refused, an unknown one imports with a
warning and ``"published": false``. ``import_legacy(model_dir=...)`` writes its folder like
``train``: swapped in whole, never over something that is not a model.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from fnstore.errors import InputError
from fnstore.model import legacy_weights
from fnstore.model.legacy_weights import check_published

os.environ.setdefault("KERAS_BACKEND", "tensorflow")

REPO = Path(__file__).resolve().parents[2]
EGR1 = "EGR1_onePeak_DGF"


@pytest.fixture(scope="module")
def legacy_root(shared_data: Path) -> Path:
    root = shared_data / "legacy_models"
    if not root.is_dir():
        pytest.skip("no legacy models in shared data")
    return root


def _flip_byte(path: Path, at: float = 0.7) -> None:
    data = bytearray(path.read_bytes())
    data[int(len(data) * at)] ^= 0x01
    path.write_bytes(bytes(data))


def _copy(legacy_root: Path, tmp_path: Path, published_json: bool = True) -> Path:
    """EGR1's folder; ``published_json=False``: its model.json re-indented (same network,
    other bytes: an unknown model)."""
    folder = tmp_path / EGR1
    shutil.copytree(legacy_root / EGR1, folder)
    if not published_json:
        arch = json.loads((folder / "model.json").read_text())
        (folder / "model.json").write_text(json.dumps(arch, indent=1))
    return folder


# --------------------------------------------------------------------------- the registry


def test_check_published_with_a_fake_registry(tmp_path: Path, monkeypatch) -> None:
    """The rule itself, no shared data: published pair, modified weights, unknown model."""
    from fnstore.io.files import sha256sum

    folder = tmp_path / "TF_model"
    folder.mkdir()
    (folder / "model.json").write_text("{}")
    (folder / "final_model.hdf5").write_bytes(b"weights")
    fake = {
        "TF_model": {
            "model.json": sha256sum(folder / "model.json"),
            "weights": {"final_model.hdf5": sha256sum(folder / "final_model.hdf5")},
        }
    }
    monkeypatch.setattr(legacy_weights, "published_models", lambda: fake)
    got = check_published(folder / "model.json", folder / "final_model.hdf5")
    assert got["published"] is True and got["published_model"] == "TF_model"

    (folder / "final_model.hdf5").write_bytes(b"weightz")
    with pytest.raises(
        InputError, match=r"final_model.hdf5: differs from the published .* TF_model"
    ):
        check_published(folder / "model.json", folder / "final_model.hdf5")

    (folder / "model.json").write_text("{ }")
    got = check_published(folder / "model.json", folder / "final_model.hdf5")
    assert got == {"published": False, "weights_sha256": sha256sum(folder / "final_model.hdf5")}


def test_registry_matches_the_published_models(legacy_root: Path) -> None:
    """The shipped registry is what scripts/legacy_registry.py writes for the four models."""
    sys.path.insert(0, str(REPO / "scripts"))
    try:
        from legacy_registry import registry
    finally:
        sys.path.remove(str(REPO / "scripts"))
    shipped = json.loads(legacy_weights.REGISTRY_FILE.read_text())
    assert shipped == registry([legacy_root])
    assert len(shipped["models"]) == 4


# --------------------------------------------------------------------------- import


def test_published_model_card_says_so(legacy_root: Path) -> None:
    from fnstore.model.legacy import import_legacy

    _, card = import_legacy(legacy_root / EGR1)
    assert card["legacy"]["published"] is True
    assert card["legacy"]["published_model"] == EGR1
    assert (
        card["legacy"]["weights_sha256"]
        == (legacy_weights.published_models()[EGR1]["weights"]["final_model.hdf5"])
    )


@pytest.mark.faults
def test_modified_published_weights_are_refused(legacy_root: Path, tmp_path: Path) -> None:
    from fnstore.cli import main

    folder = _copy(legacy_root, tmp_path)
    _flip_byte(folder / "final_model.hdf5")  # inside a weight array: HDF5 reads it fine
    out = tmp_path / "m"
    result = CliRunner().invoke(main, ["import-legacy", str(folder), str(out)])
    assert result.exit_code == 1, result.output
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert lines == [
        f"Error: {folder / 'final_model.hdf5'}: differs from the published FactorNet weights "
        f"for {EGR1}: damaged or modified"
    ]
    assert not out.exists()


@pytest.mark.faults
def test_unknown_model_imports_with_a_warning(legacy_root: Path, tmp_path: Path) -> None:
    from fnstore.cli import main
    from fnstore.io.files import sha256sum

    folder = _copy(legacy_root, tmp_path, published_json=False)
    _flip_byte(folder / "final_model.hdf5")  # unverifiable without a published model.json
    out = tmp_path / "m"
    result = CliRunner().invoke(main, ["import-legacy", str(folder), str(out)])
    assert result.exit_code == 0, result.output
    digest = sha256sum(folder / "final_model.hdf5")
    warnings = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert len(warnings) == 1 and warnings[0].startswith(f"Warning: {folder}: not a published")
    assert digest in warnings[0]
    card = json.loads((out / "model_card.json").read_text())
    assert card["legacy"]["published"] is False
    assert card["legacy"]["weights_sha256"] == digest
    assert "published_model" not in card["legacy"]


@pytest.mark.faults
@pytest.mark.parametrize("pos", [0, 194, 776], ids=["signature", "heap", "header"])
def test_damaged_hdf5_structure_is_one_line(legacy_root: Path, tmp_path: Path, pos: int) -> None:
    """Flipped bytes in HDF5's own structures (unknown model, so no hash to compare):
    offsets at which h5py refuses the file."""
    from fnstore.cli import main

    folder = _copy(legacy_root, tmp_path, published_json=False)
    data = bytearray((folder / "final_model.hdf5").read_bytes())
    data[pos] ^= 0xFF
    (folder / "final_model.hdf5").write_bytes(bytes(data))
    result = CliRunner().invoke(main, ["import-legacy", str(folder), str(tmp_path / "m")])
    assert result.exit_code == 1, result.output
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith(f"Error: {folder / 'final_model.hdf5'}: ")
    assert "Traceback" not in result.output
    assert not (tmp_path / "m").exists()


# --------------------------------------------------------------------------- the output folder


@pytest.mark.faults
def test_api_writes_the_model_folder_whole(legacy_root: Path, tmp_path: Path, monkeypatch) -> None:
    from fnstore.model import folder as model_folder
    from fnstore.model.legacy import import_legacy

    out = tmp_path / "m"
    import_legacy(legacy_root / EGR1, model_dir=out)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    with pytest.raises(InputError, match="already holds a model .use --overwrite"):
        import_legacy(legacy_root / EGR1, model_dir=out)

    def save_then_fail(path, model, card):  # killed after model.keras was written
        (Path(path) / "model.keras").write_bytes(b"half")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(model_folder, "save_model_dir", save_then_fail)
    with pytest.raises(OSError):
        import_legacy(legacy_root / EGR1, model_dir=out, overwrite=True)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".tmp-")]
    monkeypatch.undo()

    import_legacy(legacy_root / EGR1, model_dir=out, overwrite=True)
    assert sorted(p.name for p in out.iterdir()) == sorted(before)

    foreign = tmp_path / "notes"
    foreign.mkdir()
    (foreign / "todo.txt").write_text("mine")
    with pytest.raises(InputError, match="not a model folder"):
        import_legacy(legacy_root / EGR1, model_dir=foreign, overwrite=True)
    assert (foreign / "todo.txt").read_text() == "mine"
