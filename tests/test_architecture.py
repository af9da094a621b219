"""The shape of the code: one direction of imports, no threads or processes of our own on the data path.

Every ``import`` counts, including those inside functions: a cycle hidden in a function is still a cycle.
"""
from __future__ import annotations

import ast
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("etl", "schemas", "dashboard")
CONCURRENCY = ("threading", "multiprocessing", "concurrent", "subprocess")


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            found[name.removesuffix(".__init__")] = path
    return found


def _imports(name: str, path: Path) -> set[str]:
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parts, *([base] if base else [])])
            out |= {base, *(f"{base}.{a.name}" for a in node.names)}
    return out


MODULES = _modules()
IMPORTS = {name: _imports(name, path) for name, path in MODULES.items()}


def _project_module(imported: str) -> str | None:
    while imported and imported not in MODULES:
        imported = imported.rpartition(".")[0]
    return imported or None


def test_no_import_cycle_among_the_project_modules() -> None:
    graph = {name: {t for i in imported if (t := _project_module(i)) and t != name} for name, imported in IMPORTS.items()}
    try:
        tuple(TopologicalSorter(graph).static_order())
    except CycleError as cycle:
        pytest.fail(f"import cycle: {' -> '.join(cycle.args[1])}")


@pytest.mark.parametrize("name", sorted(n for n in MODULES if n.startswith("schemas")))
def test_schemas_import_nothing_from_etl_or_dashboard(name: str) -> None:
    assert not {i for i in IMPORTS[name] if i.split(".")[0] in ("etl", "dashboard")}


@pytest.mark.parametrize("name", sorted(n for n in MODULES if n.startswith(("etl", "schemas"))
                                        and not n.startswith("etl.democity")))
def test_no_threads_or_processes_of_our_own_on_the_data_path(name: str) -> None:
    assert not {i for i in IMPORTS[name] if i.split(".")[0] in CONCURRENCY}
