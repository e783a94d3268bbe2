"""Every rule, found where rules live: one module each under ``hardening/rules/<target>/``.

Discovery walks the target packages when asked (nothing registers itself on import), so the
answer is the same whatever was imported before. A module whose name starts with ``_`` holds
shared helpers, not a rule. Two rules with one id or one name are refused.

The rules of a target package read the facts :data:`READS` lists for it, and only those (a
rule reading another fact is refused), so running the rules of some facts walks only the
packages that can hold them: linting a Dockerfile loads no image, runtime or compose rule.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import os
from collections.abc import Collection, Iterable, Iterator
from types import ModuleType

from hardening.model import RuleDoc
from hardening.rules.base import Rule, marked

# The packages that hold rule modules, by the target their rules document.
TARGETS = ("dockerfile", "context", "compose", "image", "runtime")
# The facts (``base.FACTS``) the rules of each target package may read; tests keep every
# fact read somewhere.
READS = {
    "dockerfile": ("dockerfile", "pins", "signatures"),
    "context": ("context",),
    "compose": ("compose",),
    "image": ("image", "signatures"),
    "runtime": ("runtime",),
}


def rule_modules(targets: Iterable[str] = TARGETS) -> Iterator[ModuleType]:
    """Import and yield each rule module, target by target, in name order."""
    for target in targets:
        package = importlib.import_module(f"hardening.rules.{target}")
        for name in sorted({name for folder in package.__path__ for name in module_names(folder)}):
            if not name.startswith("_"):
                yield importlib.import_module(f"{package.__name__}.{name}")


def module_names(folder: str) -> list[str]:
    """The modules and packages in ``folder``, as ``pkgutil.iter_modules`` names them (pkgutil
    itself loads the typing module, which linting does not need)."""
    try:
        entries = sorted(os.listdir(folder))
    except OSError:
        return []
    names: list[str] = []
    for entry in entries:
        name = inspect.getmodulename(entry)
        if name is None and "." not in entry and _is_package(os.path.join(folder, entry)):
            name = entry
        if name and name != "__init__" and "." not in name and name not in names:
            names.append(name)
    return names


def _is_package(path: str) -> bool:
    try:
        return os.path.isdir(path) and any(
            inspect.getmodulename(entry) == "__init__" for entry in os.listdir(path)
        )
    except OSError:
        return False


def collect(modules: Iterable[ModuleType]) -> dict[str, Rule]:
    """The rules the modules declare, by id."""
    found: dict[str, Rule] = {}
    names: dict[str, str] = {}
    for module in modules:
        for value in list(vars(module).values()):
            item = marked(value)
            if item is None or found.get(item.doc.id) is item:
                continue
            if item.doc.id in found:
                raise ValueError(f"duplicate rule id {item.doc.id} (in {module.__name__})")
            if item.doc.name in names:
                raise ValueError(
                    f"duplicate rule name {item.doc.name} ({names[item.doc.name]}, {item.doc.id})"
                )
            found[item.doc.id] = item
            names[item.doc.name] = item.doc.id
    return found


@functools.cache
def _in_target(target: str) -> dict[str, Rule]:
    """The rules of one target package, each reading a fact its package may read."""
    found = collect(rule_modules((target,)))
    for item in found.values():
        if item.needs not in READS[target]:
            raise ValueError(
                f"{item.doc.id} reads {item.needs!r}, which no rule under hardening/rules/"
                f"{target}/ reads (registry.READS: {', '.join(READS[target])})"
            )
    return found


@functools.cache
def _discovered() -> dict[str, Rule]:
    for target in TARGETS:
        _in_target(target)
    return collect(rule_modules())  # one id or name twice, in any two packages, is refused


def rules(facts: Collection[str] | None = None) -> list[Rule]:
    """Every rule, by id; or only those reading one of ``facts`` (from the packages that can
    hold them)."""
    if facts is None:
        return sorted(_discovered().values(), key=lambda r: r.doc.id)
    found = [
        item
        for target in TARGETS
        if not set(READS[target]).isdisjoint(facts)
        for item in _in_target(target).values()
        if item.needs in facts
    ]
    return sorted(found, key=lambda r: r.doc.id)


def docs_by_id() -> dict[str, RuleDoc]:
    return {item.doc.id: item.doc for item in rules()}


def all_docs() -> list[RuleDoc]:
    return [item.doc for item in rules()]


def get_doc(rule_id: str) -> RuleDoc | None:
    return docs_by_id().get(rule_id)


__all__ = ["TARGETS", "all_docs", "collect", "docs_by_id", "get_doc", "rule_modules", "rules"]
