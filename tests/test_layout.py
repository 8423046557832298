"""The layout's rules, read from the source: no import cycle (imports for annotations count), pytest only at the
harness's edge, no cross imports."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("tmfapis", "mockserver", "harness")


def module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for package in PACKAGES for path in sorted((REPO / package).rglob("*.py"))}


def imports(name: str, source: str | None = None) -> set[str]:
    """The modules ``name`` imports, resolved to module names: at the top, in functions and under
    ``if TYPE_CHECKING:`` alike (an import for annotations is a dependency too). ``source`` stands in for the file."""
    path = MODULES[name]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(source if source is not None else path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{anchor}.{base}".rstrip(".")
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names if f"{base}.{alias.name}" in MODULES)
    return found


def _is_ancestor(package: str, name: str) -> bool:
    return name.startswith(package + ".")  # a module's own packages are imported before it anyway


def edges(name: str, source: str | None = None) -> set[str]:
    """The project's modules ``name`` depends on, leaving out itself and its own packages."""
    return {target for target in imports(name, source) if target in MODULES and target != name and not _is_ancestor(target, name)}


GRAPH = {name: edges(name) for name in MODULES}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as a path of module names, or None."""
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for target in sorted(graph[node]):
            if state.get(target) == 1:
                return path[path.index(target):] + [target]
            if target not in state and (cycle := visit(target)):
                return cycle
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_the_modules_were_found() -> None:
    assert {"harness.pytest.plugin", "harness.ctk.engine", "mockserver.app", "tmfapis"} <= set(MODULES)


def test_no_import_cycle() -> None:
    cycle = find_cycle(GRAPH)
    assert cycle is None, " -> ".join(cycle or [])


def test_the_cycle_finder_finds_a_planted_cycle() -> None:
    planted = {name: set(targets) for name, targets in GRAPH.items()}
    planted["harness.http"].add("harness.pytest.plugin")
    assert find_cycle(planted) is not None


def test_an_import_for_annotations_only_counts() -> None:
    source = MODULES["harness.urls"].read_text(encoding="utf-8")
    planted = source + "\nif TYPE_CHECKING:\n    from harness.http import Reply\n"
    assert "harness.http" in edges("harness.urls", planted)
    assert find_cycle({**GRAPH, "harness.urls": edges("harness.urls", planted)}) is not None


@pytest.mark.parametrize("name", [name for name in MODULES if name.startswith("harness") and not name.startswith("harness.pytest")
                                  and not name.startswith("harness.suites")])
def test_only_the_pytest_layer_imports_pytest(name: str) -> None:
    assert not {"pytest", "_pytest", "allure", "allure_commons", "pluggy"} & {target.split(".")[0] for target in imports(name)}


@pytest.mark.parametrize(("package", "forbidden"), [("harness", "mockserver"), ("mockserver", "harness"),
                                                    ("tmfapis", "harness"), ("tmfapis", "mockserver")])
def test_server_and_harness_do_not_import_each_other(package: str, forbidden: str) -> None:
    offenders = [name for name in MODULES if name.split(".")[0] == package
                 and any(target.split(".")[0] == forbidden for target in imports(name))]
    assert offenders == []
