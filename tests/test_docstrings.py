"""Every public function and method says what it takes and gives (numpydoc sections).

"Public" means reachable by a user: module-level functions and classes whose names do not
start with an underscore, in modules whose names do not either, and the public methods of
public classes. Command functions in ``fnstore.cli`` are documented by their click help
instead, and are left out.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "fnstore"


def _returns_something(node: ast.FunctionDef) -> bool:
    if node.returns is not None:
        return not (isinstance(node.returns, ast.Constant) and node.returns.value is None)
    return any(isinstance(n, ast.Return) and n.value is not None for n in ast.walk(node))


def _takes_something(node: ast.FunctionDef) -> bool:
    args = [a.arg for a in node.args.args + node.args.kwonlyargs if a.arg not in ("self", "cls")]
    return bool(args or node.args.vararg or node.args.kwarg)


def _problems(where: str, node: ast.FunctionDef) -> list[str]:
    is_property = any(
        isinstance(d, ast.Name) and d.id == "property" or isinstance(d, ast.Attribute)
        for d in node.decorator_list
    )  # properties and setters read like attributes; their one line says what they hold
    if node.name.startswith("_") or is_property:
        return []
    doc = ast.get_docstring(node) or ""
    out = []
    if _takes_something(node) and "Parameters\n" not in doc:
        out.append(f"{where}.{node.name}: no Parameters section")
    if _returns_something(node) and "Returns\n" not in doc and "Yields\n" not in doc:
        out.append(f"{where}.{node.name}: no Returns section")
    return out


def undocumented() -> list[str]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE.parent).with_suffix("")
        if any(part.startswith("_") and part != "__init__" for part in rel.parts):
            continue
        if rel.parts[:2] == ("fnstore", "cli"):
            continue
        module = ".".join(p for p in rel.parts if p != "__init__")
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.FunctionDef):
                found += _problems(module, node)
            elif isinstance(node, ast.ClassDef) and not node.name.startswith("_"):
                for item in node.body:
                    if isinstance(item, ast.FunctionDef) and item.name != "__init__":
                        found += _problems(f"{module}.{node.name}", item)
    return found


def test_public_functions_have_numpydoc_sections() -> None:
    missing = undocumented()
    assert not missing, f"{len(missing)} undocumented:\n" + "\n".join(missing)
