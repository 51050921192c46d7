"""The import graph of manifestkit, read from the source with `ast`: no package cycles, no hidden imports."""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "manifestkit"


def _modules() -> Iterator[tuple[str, Path]]:
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        yield ".".join(parts), path


def _imported(module: str, path: Path, tree: ast.Module) -> Iterator[str]:
    """Every manifestkit module ``module`` imports, at any depth of its code (function-local too)."""
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = ".".join(package[:len(package) - node.level + 1]) if node.level else ""
            name = ".".join(p for p in (base, node.module or "") if p)
            yield name
            yield from (f"{name}.{alias.name}" for alias in node.names)   # `from pkg import submodule`


def module_graph() -> dict[str, set[str]]:
    """module → the manifestkit modules it imports (only names that are modules)."""
    sources = {name: (path, ast.parse(path.read_text(encoding="utf-8"))) for name, path in _modules()}
    return {name: {target for target in _imported(name, path, tree) if target in sources and target != name}
            for name, (path, tree) in sources.items()}


def unit(module: str) -> str:
    """The package-level node: ``manifestkit.secrets.sops`` → ``manifestkit.secrets``."""
    return ".".join(module.split(".")[:2])


def package_graph(modules: Mapping[str, set[str]]) -> dict[str, set[str]]:
    """Edges between manifestkit's top-level packages and modules. The root ``manifestkit``
    package only re-exports the public API, so it is left out as a source."""
    graph: dict[str, set[str]] = {}
    for source, targets in modules.items():
        if source == "manifestkit":
            continue
        graph.setdefault(unit(source), set()).update(unit(t) for t in targets if unit(t) != unit(source))
    return graph


def cycles(graph: Mapping[str, set[str]]) -> list[list[str]]:
    """Every strongly connected component of more than one node (Tarjan), sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(found)


def reachable(graph: Mapping[str, set[str]], start: str) -> set[str]:
    seen: set[str] = set()
    todo = [start]
    while todo:
        node = todo.pop()
        for target in graph.get(node, ()):
            if target not in seen:
                seen.add(target)
                todo.append(target)
    return seen


def test_cycles_are_found() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_package_import_cycle() -> None:
    graph = package_graph(module_graph())
    assert "manifestkit.patterns" in graph["manifestkit.secrets"]   # the secrets step applies vault/agent
    assert cycles(graph) == []


def _hides_an_import(node: ast.AST) -> bool:
    if isinstance(node, ast.Attribute):
        return node.attr == "import_module"
    if isinstance(node, ast.Name):
        return node.id in ("import_module", "__import__")
    if isinstance(node, ast.ImportFrom):
        return node.module == "importlib" and any(alias.name == "import_module" for alias in node.names)
    return False


def test_no_hidden_imports() -> None:
    """An import the graph cannot see (``importlib.import_module``, ``__import__``) hides a cycle."""
    hidden = []
    for name, path in _modules():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if _hides_an_import(node):
                hidden.append(f"{name}:{getattr(node, 'lineno', 0)}")
    assert hidden == []


def test_the_secrets_step_does_not_import_the_writer() -> None:
    assert "manifestkit.writer" not in reachable(module_graph(), "manifestkit.secrets.step")


def test_modes_import_no_vault_client() -> None:
    """The CLI and the schemas take their choices from MODES: importing it stays cheap."""
    code = ("import sys, manifestkit.secrets.modes as m; "
            "print(sorted(n for n in ('hvac', 'requests') if n in sys.modules), sorted(m.MODES))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out == "[] ['external-secret', 'reference', 'secret', 'sops', 'vault-agent']\n"
