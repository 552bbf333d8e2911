"""The project's structure: no import cycle (function-local imports included), and importing a
package changes no global state (JAX's configuration stays as it was)."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("lamb_ref", "theory", "experiments", "figures")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    out = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            out[_module_name(path)] = path
    return out


def _resolve(name: str, modules: dict[str, Path]) -> str | None:
    """The project module that ``import name`` loads (a submodule or its package)."""
    while name:
        if name in modules:
            return name
        name = name.rpartition(".")[0]
    return None


def import_graph() -> dict[str, set[str]]:
    """module -> project modules it imports anywhere in its body (``__main__`` modules are entry
    points: nothing imports them, so they cannot close a cycle and are left out)."""
    modules = _modules()
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        if name.endswith("__main__"):
            continue
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        edges = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            targets = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    up = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*up, base] if base else up)
                # ``from pkg import sub`` depends on the submodule; ``from mod import name`` on mod
                targets = [
                    f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base
                    for a in node.names
                ]
            for target in targets:
                hit = _resolve(target, modules)
                if hit and hit != name and not hit.endswith("__main__"):
                    edges.add(hit)
        graph[name] = edges
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as a list of modules, or None. A package's ``__init__`` importing its
    own submodules is not a cycle unless a submodule imports the package back."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def test_no_import_cycle():
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_cycle_finder_finds_a_planted_cycle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}
    assert find_cycle(graph) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_protocol_imports_no_suite():
    graph = import_graph()
    protocol = graph["experiments.reproduction.protocol"]
    assert not any(m.startswith("experiments.reproduction.suites") for m in protocol)


@pytest.mark.parametrize(
    "package",
    [
        "lamb_ref",
        "lamb_ref.reference",
        "theory",
        "experiments",
        "experiments.validation",
        "experiments.training",
        "experiments.distributed",
        "experiments.reproduction.registry",
        "figures",
    ],
)
def test_import_leaves_jax_config_alone(package):
    code = (
        "import json, jax\n"
        "before = {k: getattr(jax.config, k) for k in "
        "('jax_enable_x64', 'jax_default_matmul_precision', 'jax_compilation_cache_dir')}\n"
        f"import {package}\n"
        "import importlib, pkgutil\n"
        f"mod = importlib.import_module('{package}')\n"
        "after = {k: getattr(jax.config, k) for k in before}\n"
        "print(json.dumps([before, after]))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    before, after = json.loads(out.stdout.strip().splitlines()[-1])
    assert before == after


# Which layer may import which (docs/design.md): reproduction on top, the engines below it, the
# neutral leaves (cache, precision) and lamb_ref/theory at the bottom; figures read tables only.
ALLOWED = {
    "lamb_ref": set(),
    "theory": set(),
    "figures": set(),
    "experiments": set(),  # the package docstring; cache, precision, cli_errors are leaves
    "distributed": {"lamb_ref", "experiments"},
    "validation": {"lamb_ref", "theory", "distributed", "experiments"},
    "training": {"lamb_ref", "distributed", "experiments"},
    "reproduction": {"lamb_ref", "theory", "validation", "training", "distributed", "experiments"},
}


def _layer(module: str) -> str:
    parts = module.split(".")
    if parts[0] == "experiments" and len(parts) > 1 and parts[1] in ALLOWED:
        return parts[1]
    return parts[0]


def layer_violations(graph: dict[str, set[str]]) -> list[tuple[str, str]]:
    return sorted(
        (a, b)
        for a, targets in graph.items()
        for b in targets
        if _layer(a) != _layer(b) and _layer(b) not in ALLOWED[_layer(a)]
    )


def test_dependencies_point_one_way():
    assert layer_violations(import_graph()) == []


def test_layer_check_catches_an_upward_import():
    planted = {"lamb_ref.lamb": {"experiments.validation.runner"}, "figures.rate": {"theory"}}
    assert layer_violations(planted) == [
        ("figures.rate", "theory"),
        ("lamb_ref.lamb", "experiments.validation.runner"),
    ]
