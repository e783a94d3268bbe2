"""Every documented check: the hardening rules and the runtime probes' documentation."""

from __future__ import annotations

from hardening.model import RuleDoc
from hardening.rules.base import docs, register_doc


def all_docs() -> list[RuleDoc]:
    return sorted(docs().values(), key=lambda d: d.id)


def get_doc(rule_id: str) -> RuleDoc | None:
    return docs().get(rule_id)


__all__ = ["all_docs", "get_doc", "register_doc"]
