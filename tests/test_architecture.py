"""The package's layering (docs/architecture.md), checked on every import in labeling/.

Imports inside functions count: a cycle or an upward import hidden in a function body is
still a dependency. A module may import its own package and the layers below its own
rank; equal ranks may import each other only where no cycle results.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "labeling"

# The table of docs/architecture.md: a top-level module or package of labeling/ -> rank.
# Lower ranks are earlier in the pipeline; nothing may import a higher rank.
RANKS = {
    "errors": 0, "files": 0, "metrics": 0,
    "lf": 1, "llm": 1, "__init__": 1,
    "config": 2, "data": 2, "artifacts": 2,
    "apply": 3,
    "gold": 4, "gold_io": 4, "analysis": 4,
    "models": 5,
    "train": 6,
    "export": 7,
    "predict": 8, "serve": 8,
    "pipeline": 9, "multilabel_steps": 9, "report": 9, "distill_output": 9,
    "distill": 10, "distill_multilabel": 10, "scaffold": 10, "suggest": 10,
    "review": 11,
    "session": 12, "session_multilabel": 12, "session_models": 12, "session_sources": 12,
    "dev_loop": 13, "dev_loop_multilabel": 13,
    "cli": 14, "__main__": 14,
}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in PACKAGE.rglob("*.py")}


def _imported(module: str, path: Path, known: set[str]) -> set[str]:
    """Modules of labeling/ that ``module`` imports, anywhere in its body."""
    out = set()
    is_package = path.name == "__init__.py"
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = module.split(".")
            if node.level:
                base = base[:len(base) - node.level + (1 if is_package else 0)]
                prefix = ".".join(base + ([node.module] if node.module else []))
            else:
                prefix = node.module or ""
            targets = [prefix] + [f"{prefix}.{alias.name}" for alias in node.names]
        else:
            continue
        for target in targets:
            while target and target not in known:  # `from pkg import name` -> pkg
                target = target.rpartition(".")[0]
            if target and target != module and target.startswith("labeling"):
                out.add(target)
    return out


def import_graph() -> dict[str, set[str]]:
    modules = _modules()
    known = set(modules)
    return {m: _imported(m, p, known) for m, p in modules.items()}


def _unit(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, on_stack, stack, out = {}, {}, set(), [], []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def upward_imports(graph: dict[str, set[str]]) -> list[str]:
    bad = []
    for module, targets in graph.items():
        for target in targets:
            a, b = _unit(module), _unit(target)
            if a != b and RANKS[b] > RANKS[a]:
                bad.append(f"{module} (rank {RANKS[a]}) imports {target} (rank {RANKS[b]})")
    return sorted(bad)


def test_every_module_has_a_place_in_the_layering():
    units = {_unit(m) for m in _modules()}
    assert sorted(units - set(RANKS)) == [], "add new modules to RANKS and docs/architecture.md"


def test_no_import_cycles():
    assert find_cycles(import_graph()) == []


def test_imports_point_down_the_pipeline():
    assert upward_imports(import_graph()) == []


def test_the_docs_table_is_the_tests_table():
    """docs/architecture.md lists every unit with the rank the test enforces."""
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    documented = {name: int(rank) for rank, names in
                  re.findall(r"^\|\s*(\d+)\s*\|([^|]+)\|", text, flags=re.M)
                  for name in re.findall(r"`([\w_]+)`", names)}
    assert documented == RANKS


@pytest.mark.parametrize("source, expected", [
    ({"labeling.a": {"labeling.b"}, "labeling.b": {"labeling.a"}}, [["labeling.a", "labeling.b"]]),
    ({"labeling.a": {"labeling.b"}, "labeling.b": set()}, []),
])
def test_the_cycle_finder_finds_cycles(source, expected):
    assert find_cycles(source) == expected


def test_the_layer_check_catches_an_upward_import():
    graph = {"labeling.models.auto": {"labeling.train.ensemble"}, "labeling.train.ensemble": set()}
    assert upward_imports(graph) == [
        "labeling.models.auto (rank 5) imports labeling.train.ensemble (rank 6)"]
