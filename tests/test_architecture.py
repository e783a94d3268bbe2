"""The shape of the code, checked: the layers of ARCHITECTURE.md, pure formatters, and short
functions. Imports are read from the source (module-level and inside functions alike) and
followed through the package, so a formatter cannot reach network code through a helper."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "hardening"
MAX_FUNCTION_LINES = 60

# What talks to the outside world: the Docker engine, registries, GitHub, child processes.
OUTSIDE = (
    "docker", "requests", "github", "urllib3", "subprocess", "socket",
    "hardening.adapters", "hardening.github", "hardening.pipeline", "hardening.processes",
    "hardening.probes.engine", "hardening.probes.hostproc", "hardening.scanners.runner",
    "hardening.scanners.trivy_exec", "hardening.supply.registry", "hardening.supply.sbom",
    "hardening.outputs", "hardening.cli", "hardening.action",
)  # fmt: skip
# Pure layers: each may not reach (even through its own imports) anything in OUTSIDE.
PURE = {
    "hardening.model": OUTSIDE,
    "hardening.model_run": OUTSIDE,
    "hardening.gate": OUTSIDE,
    "hardening.report": OUTSIDE,
    "hardening.rules": OUTSIDE,
    "hardening.targets": OUTSIDE,
    "hardening.scanners.merge": OUTSIDE,
    "hardening.scanners.common": OUTSIDE,
    "hardening.enrich.data": OUTSIDE,
    "hardening.enrich.apply": OUTSIDE,
}
# Reading files or the clock is the caller's job, not a formatter's.
IMPURE_CALLS = {"open", "read_text", "read_bytes", "write_text", "write_bytes", "now", "time",
                "utcnow", "today", "getenv"}  # fmt: skip


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in PACKAGE.rglob("*.py")}


@cache
def _direct_imports(module: str) -> frozenset[str]:
    path = _modules()[module]
    tree = ast.parse(path.read_text())
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in _runtime_nodes(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")
                parent = parent[: len(parent) - node.level + 1]
                base = ".".join([*parent, base] if base else parent)
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return frozenset(found)


def _runtime_nodes(tree: ast.AST) -> Iterator[ast.AST]:
    """Every node except those under ``if TYPE_CHECKING:`` (imports for annotations only)."""
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            stack.extend(node.orelse)
            continue
        yield node
        stack.extend(ast.iter_child_nodes(node))


def _within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def _reachable(module: str) -> dict[str, str]:
    """Every module ``module`` can import, with the module that imports it (for the message)."""
    modules = _modules()
    seen: dict[str, str] = {}
    stack = [module]
    while stack:
        current = stack.pop()
        for name in _direct_imports(current):
            if name in seen:
                continue
            seen[name] = current
            if name in modules and not any(_within(name, o) for o in OUTSIDE):
                stack.append(name)
    return seen


def _pure_modules() -> Iterator[tuple[str, tuple[str, ...]]]:
    for module in sorted(_modules()):
        for prefix, forbidden in PURE.items():
            if _within(module, prefix):
                yield module, forbidden
                break


@pytest.mark.parametrize(("module", "forbidden"), list(_pure_modules()), ids=lambda v: str(v)[:60])
def test_pure_layers_never_reach_the_outside_world(module: str, forbidden: tuple[str, ...]) -> None:
    reached = _reachable(module)
    bad = {
        name: via
        for name, via in reached.items()
        if any(_within(name, f) for f in forbidden)
        and not name.startswith("hardening.report.formats")
    }
    assert not bad, f"{module} reaches {sorted(bad)} (via {sorted(set(bad.values()))})"


@pytest.mark.parametrize("module", sorted(m for m in _modules() if _within(m, "hardening.report")))
def test_formatters_read_no_file_and_no_clock(module: str) -> None:
    tree = ast.parse(_modules()[module].read_text())
    calls = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name in IMPURE_CALLS:
                calls.add(f"{name} (line {node.lineno})")
    assert not calls, f"{module} calls {sorted(calls)}: the caller reads files and the clock"


def test_no_function_is_longer_than_sixty_lines() -> None:
    long = []
    for module, path in sorted(_modules().items()):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    long.append(f"{module}.{node.name}: {length} lines")
    assert not long, "split these: " + "; ".join(long)


def test_the_model_imports_nothing_of_the_project() -> None:
    """Nothing but its own two parts: ``model`` names the types of ``model_run`` too."""
    parts = ("hardening.model", "hardening.model_run")
    for module in parts:
        imported = {
            n
            for n in _direct_imports(module)
            if _within(n, "hardening") and n != "hardening"
            and not any(_within(n, part) for part in parts)
        }  # fmt: skip
        assert not imported, f"{module} imports {sorted(imported)}"
