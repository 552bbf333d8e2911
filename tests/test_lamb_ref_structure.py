"""The layout of ``lamb_ref``: two backends that share only backend-neutral checks.

* The JAX package (``lamb_ref/*.py``) never imports the NumPy reference (``lamb_ref.reference``),
  not even inside a function; the reference imports nothing of JAX's. Both import the neutral
  modules, which import neither backend.
* There is one ``resolve_mask`` (mask argument -> one bool per leaf), in the neutral module, and
  one trust-ratio function per backend, which every LARS/LAMB form of that backend calls.
* The in-place NumPy fast path lives outside the reference package.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "lamb_ref"
REFERENCE = PACKAGE / "reference"

# Modules of lamb_ref/ that are not part of the JAX package, and why.
NOT_JAX = {
    "numpy_inplace.py": "the NumPy in-place fast path, built on the reference",
    "conformance.py": "replays the golden trajectories with both backends",
}
# Backend-neutral modules: both backends import them; they import neither backend.
NEUTRAL = ("_checks.py", "_variant_specs.py", "masks.py")
# The one trust-ratio function of each backend.
TRUST_RATIO = {
    "JAX": ("_layers.py", "trust_ratio"),
    "NumPy": ("reference/_common.py", "trust_ratio"),
}
# Who must take the trust ratio from it (module -> backend).
TRUST_RATIO_USERS = {
    "lamb.py": "JAX",
    "lars.py": "JAX",
    "nesterov.py": "JAX",
    "reference/lamb.py": "NumPy",
    "reference/lars.py": "NumPy",
    "reference/nesterov.py": "NumPy",
    "numpy_inplace.py": "NumPy",
}


def _rel(path: Path) -> str:
    return path.relative_to(PACKAGE).as_posix()


def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(), str(path))


def _imports(path: Path, package: str | None = None) -> set[str]:
    """Every module ``path`` imports, anywhere in its body, as absolute dotted names.

    ``from a import b`` yields both ``a`` and ``a.b`` (b may be a submodule); relative imports
    are resolved against ``package`` (by default the package ``path`` lies in).
    """
    if package is None:
        package = ".".join(path.relative_to(ROOT).parts[:-1])
    out: set[str] = set()
    for node in ast.walk(_tree(path)):
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                up = parts[: len(parts) - node.level + 1]
                base = ".".join([*up, base] if base else up)
            out.add(base)
            out.update(f"{base}.{alias.name}" for alias in node.names)
    return out


def _lamb_ref_modules(imported: set[str]) -> set[str]:
    """The lamb_ref modules among ``imported`` (a name inside a module counts as the module)."""
    out = set()
    for name in imported:
        while name.startswith("lamb_ref."):
            path = ROOT / name.replace(".", "/")
            if path.with_suffix(".py").is_file() or (path / "__init__.py").is_file():
                out.add(name)
                break
            name = name.rpartition(".")[0]
    return out


def _jax_modules() -> list[Path]:
    return [p for p in sorted(PACKAGE.glob("*.py")) if p.name not in NOT_JAX]


def _is_reference(module: str) -> bool:
    return module == "lamb_ref.reference" or module.startswith("lamb_ref.reference.")


def _defs(path: Path) -> list[str]:
    """Names of every function defined in ``path`` (nested ones included)."""
    return [
        node.name
        for node in ast.walk(_tree(path))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    ]


def _all_modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def test_the_module_lists_name_existing_files():
    for name in [*NOT_JAX, *NEUTRAL, *TRUST_RATIO_USERS]:
        assert (PACKAGE / name).is_file(), name
    assert len(_jax_modules()) >= 10


@pytest.mark.parametrize("path", _jax_modules(), ids=_rel)
def test_jax_package_does_not_import_the_reference(path):
    imported = _imports(path)
    assert not [m for m in imported if _is_reference(m)]
    # nor a module that does (so importing the JAX package never loads the reference)
    not_jax = {f"lamb_ref.{name.removesuffix('.py')}" for name in NOT_JAX}
    assert not imported & not_jax


def test_import_finder_sees_function_local_and_relative_imports(tmp_path):
    probe = tmp_path / "probe.py"
    probe.write_text(
        "def f():\n"
        "    import lamb_ref.reference.lars\n"
        "    from lamb_ref.reference import _common\n"
        "    from .reference import lamb\n"
        "    from . import reference\n"
    )
    found = {m for m in _imports(probe, package="lamb_ref") if _is_reference(m)}
    assert found == {
        "lamb_ref.reference",
        "lamb_ref.reference.lars",
        "lamb_ref.reference._common",
        "lamb_ref.reference.lamb",
    }


def test_importing_the_jax_package_loads_no_reference_module():
    modules = [f"lamb_ref.{p.stem}" for p in _jax_modules() if p.stem != "__init__"]
    code = (
        "import importlib, sys\n"
        f"for m in {modules!r}: importlib.import_module(m)\n"
        "print(sorted(m for m in sys.modules if m.startswith('lamb_ref.reference')))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip().splitlines()[-1] == "[]"


@pytest.mark.parametrize("path", sorted(REFERENCE.glob("*.py")), ids=_rel)
def test_reference_imports_only_neutral_modules_of_the_package(path):
    imported = _imports(path)
    assert not [m for m in imported if m.split(".")[0] in ("jax", "jaxlib", "optax")]
    own = {m for m in _lamb_ref_modules(imported) if not _is_reference(m)}
    neutral = {f"lamb_ref.{name.removesuffix('.py')}" for name in NEUTRAL}
    assert own <= neutral, own - neutral


@pytest.mark.parametrize("name", NEUTRAL)
def test_neutral_modules_import_neither_backend(name):
    imported = _imports(PACKAGE / name)
    assert not [m for m in imported if m.split(".")[0] in ("jax", "jaxlib", "optax")]
    own = _lamb_ref_modules(imported)
    neutral = {f"lamb_ref.{n.removesuffix('.py')}" for n in NEUTRAL}
    assert own <= neutral, own - neutral


def test_one_resolve_mask_in_the_neutral_module():
    where = [_rel(p) for p in _all_modules() for name in _defs(p) if name == "resolve_mask"]
    assert where == ["_checks.py"]


def test_one_trust_ratio_function_per_backend():
    found = sorted(
        (_rel(p), name)
        for p in _all_modules()
        for name in _defs(p)
        if "trust_ratio" in name or "ratio_of_norms" in name
    )
    assert found == sorted(TRUST_RATIO.values())


@pytest.mark.parametrize("module", list(TRUST_RATIO_USERS))
def test_every_lars_lamb_form_calls_its_backends_trust_ratio(module):
    home = Path(TRUST_RATIO[TRUST_RATIO_USERS[module]][0]).stem  # _layers / _common
    calls = [
        node
        for node in ast.walk(_tree(PACKAGE / module))
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "trust_ratio"
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id == home
    ]
    assert calls


def test_lars_2017_and_optax_lars_use_the_shared_trust_ratio():
    """The 2017 forms (c‖x‖/(‖g‖ + λ‖x‖ + ε), c‖x‖/(‖g + λx‖ + ε)) are no separate formula."""
    for module in ("lars.py", "reference/lars.py"):
        tree = _tree(PACKAGE / module)
        for fn in ("lars_2017", "optax_lars"):
            (node,) = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == fn]
            keywords = {
                k.arg
                for c in ast.walk(node)
                if isinstance(c, ast.Call)
                and isinstance(c.func, ast.Attribute)
                and c.func.attr == "trust_ratio"
                for k in c.keywords
            }
            assert "coefficient" in keywords and "eps" in keywords, (module, fn)


def test_the_in_place_fast_path_is_outside_the_reference():
    assert not (REFERENCE / "_inplace.py").exists()
    assert (PACKAGE / "numpy_inplace.py").is_file()
    assert not [p for p in REFERENCE.glob("*.py") if "inplace" in p.name]
