"""The shape of the package, drawn from its own imports: the data flow reads one way.

Every ``import`` is counted, also ones inside functions (lazy imports still tie modules
together) and ones under ``TYPE_CHECKING``. The rules are the layout's promises:
no cycle between modules, nothing under predict/, evaluate/ or interpret/ imports
training/, the store never imports the builder or the format writers, and no module or
function grows past the size a reader can hold in mind (code lines, the docstring not
counted; a longer function says why in a ``# long:`` comment on its ``def`` line).
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "fnstore"
MAX_MODULE_LINES = 600
MAX_FUNCTION_LINES = 80


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def imports_of(path: Path, known: set[str]) -> set[str]:
    """fnstore modules imported anywhere in ``path`` (a ``from pkg import mod`` names the
    module when ``pkg.mod`` is one)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("fnstore"))
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if not node.module.startswith("fnstore"):
                continue
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                found.add(sub if sub in known else node.module)
    return {m for m in found if m in known}


def graph() -> dict[str, set[str]]:
    mods = modules()
    known = set(mods)
    # importing a package module runs its __init__: an edge to a package is an edge to it
    return {name: imports_of(path, known) - {name} for name, path in mods.items()}


def find_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    """One import cycle (as a path that returns to its start), or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(edges.get(node, ())):
            # a package's __init__ importing its own submodules is how packages work
            if nxt.startswith(node + "."):
                continue
            if state.get(nxt) == 1:
                return stack[stack.index(nxt) :] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(edges):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_no_import_cycle() -> None:
    assert find_cycle(graph()) is None, " -> ".join(find_cycle(graph()) or [])


def test_cycle_finder_finds_a_cycle() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


@pytest.mark.parametrize(
    ("layer", "forbidden"),
    [
        ("fnstore.predict", "fnstore.training"),
        ("fnstore.evaluate", "fnstore.training"),
        ("fnstore.interpret", "fnstore.training"),
        ("fnstore.store", "fnstore.build"),
        ("fnstore.store", "fnstore.cli"),
        ("fnstore.io", "fnstore.cli"),
        ("fnstore.model", "fnstore.training"),
    ],
)
def test_data_flows_one_way(layer: str, forbidden: str) -> None:
    bad = sorted(
        f"{m} imports {t}"
        for m, targets in graph().items()
        if m == layer or m.startswith(layer + ".")
        for t in targets
        if t == forbidden or t.startswith(forbidden + ".")
    )
    assert not bad, "\n".join(bad)


#: io modules that write files; the store reads BED regions through io.bed but writes nothing foreign
IO_WRITERS = ("fnstore.io.tables", "fnstore.io.signal_writers", "fnstore.io.bedgraph")


def test_store_imports_no_format_writer() -> None:
    bad = sorted(
        f"{m} imports {t}"
        for m, targets in graph().items()
        if m.startswith("fnstore.store")
        for t in targets
        if t in IO_WRITERS
    )
    assert not bad, "\n".join(bad)


def test_modules_stay_small() -> None:
    big = {
        name: n
        for name, path in modules().items()
        if (n := len(path.read_text().splitlines())) > MAX_MODULE_LINES
    }
    assert not big, big


def long_functions(path: Path) -> list[str]:
    lines = path.read_text().splitlines()
    out = []
    for node in ast.walk(ast.parse("\n".join(lines))):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if (
                len(body) > 1
                and isinstance(body[0], ast.Expr)
                and isinstance(body[0].value, ast.Constant)
            ):
                body = body[1:]  # a numpydoc docstring is documentation, not length
            n = node.end_lineno - body[0].lineno + 1
            head = " ".join(lines[node.lineno - 1 : node.body[0].lineno])
            if n > MAX_FUNCTION_LINES and "# long:" not in head:
                out.append(f"{module_name(path)}.{node.name}: {n} lines")
    return out


def test_functions_stay_short() -> None:
    found = [f for path in modules().values() for f in long_functions(path)]
    assert not found, "\n".join(found)


def test_import_fnstore_stays_light() -> None:
    """``import fnstore`` (and its store/build/io layers) must not pull in a deep-learning
    framework or plotting: TensorFlow alone costs seconds and hundreds of MB."""
    import subprocess

    code = (
        "import sys, fnstore, fnstore.store, fnstore.build, fnstore.io.bed, fnstore.model, "
        "fnstore.predict, fnstore.evaluate, fnstore.export, fnstore.cli\n"
        "heavy = [m for m in ('tensorflow', 'keras', 'torch', 'jax', 'matplotlib') "
        "if m in sys.modules]\n"
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


#: the only module that may import a Keras backend's framework (docs/backends.md)
BACKEND_MODULE = "fnstore.backend"
FRAMEWORKS = ("tensorflow", "jax", "jaxlib", "torch")


def framework_imports(path: Path) -> set[str]:
    """Deep-learning frameworks ``path`` imports anywhere (inside functions included)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        else:
            continue
        found.update(n.split(".")[0] for n in names if n.split(".")[0] in FRAMEWORKS)
    return found


def test_only_the_backend_module_imports_a_framework() -> None:
    bad = sorted(
        f"{name} imports {', '.join(sorted(found))}"
        for name, path in modules().items()
        if name != BACKEND_MODULE and (found := framework_imports(path))
    )
    assert not bad, "\n".join(bad)


def test_framework_import_finder_finds_lazy_imports(tmp_path: Path) -> None:
    src = tmp_path / "m.py"
    src.write_text("def f():\n    import tensorflow as tf\n    from jax import numpy\n")
    assert framework_imports(src) == {"tensorflow", "jax"}
