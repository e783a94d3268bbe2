"""Every rule, found where rules live: one module each under ``hardening/rules/<target>/``.

Discovery walks the target packages when asked (nothing registers itself on import), so the
answer is the same whatever was imported before. A module whose name starts with ``_`` holds
shared helpers, not a rule. Two rules with one id or one name are refused.
"""

from __future__ import annotations

import functools
import importlib
import pkgutil
from collections.abc import Iterable, Iterator
from types import ModuleType

from hardening.model import RuleDoc
from hardening.rules.base import Rule, marked

# The packages that hold rule modules, by the target their rules document.
TARGETS = ("dockerfile", "context", "compose", "image", "runtime")


def rule_modules() -> Iterator[ModuleType]:
    """Import and yield each rule module, target by target, in name order."""
    for target in TARGETS:
        package = importlib.import_module(f"hardening.rules.{target}")
        for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda m: m.name):
            if not info.name.startswith("_"):
                yield importlib.import_module(f"{package.__name__}.{info.name}")


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
def _discovered() -> dict[str, Rule]:
    return collect(rule_modules())


def rules() -> list[Rule]:
    return sorted(_discovered().values(), key=lambda r: r.doc.id)


def docs_by_id() -> dict[str, RuleDoc]:
    return {item.doc.id: item.doc for item in rules()}


def all_docs() -> list[RuleDoc]:
    return [item.doc for item in rules()]


def get_doc(rule_id: str) -> RuleDoc | None:
    return docs_by_id().get(rule_id)


__all__ = ["TARGETS", "all_docs", "collect", "docs_by_id", "get_doc", "rule_modules", "rules"]
