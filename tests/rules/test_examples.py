"""Every Dockerfile rule's own before/after examples are its fixtures: the "before" fires, the
"after" stays silent."""

from __future__ import annotations

from pathlib import Path

import pytest

from hardening.rules.registry import all_docs
from tests.rules.helpers import fires, lint_texts

DOCKERFILE_DOCS = [
    d for d in all_docs() if d.target == "dockerfile" and d.example_bad and d.example_good
]
# Rules whose trigger needs more than a Dockerfile fragment (a build context without
# .dockerignore, a global property of the file) are tested in their own files.
NEEDS_CONTEXT = {"DH-D111", "DH-D105", "DH-D119", "DH-D102", "DH-D104"}


def _complete(snippet: str) -> str:
    if any(line.strip().upper().startswith("FROM ") for line in snippet.splitlines()):
        return snippet + "\n"
    return "FROM debian:12-slim@sha256:" + "a" * 64 + "\n" + snippet + "\n"


@pytest.mark.parametrize(
    "doc", [d for d in DOCKERFILE_DOCS if d.id not in NEEDS_CONTEXT], ids=lambda d: d.id
)
def test_before_fires_and_after_is_silent(doc, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    before = lint_texts(tmp_path / "before", _complete(doc.example_bad))
    after = lint_texts(tmp_path / "after", _complete(doc.example_good))
    assert fires(before, doc.id), f"{doc.id} did not fire on its own 'before' example"
    assert not fires(after, doc.id), f"{doc.id} fired on its own 'after' example"


def test_every_rule_is_documented_completely() -> None:
    ids = set()
    for doc in all_docs():
        assert doc.id not in ids
        ids.add(doc.id)
        assert doc.name == doc.name.lower() and " " not in doc.name
        assert doc.why and doc.fix and doc.title
        assert all(item.startswith("C") for item in doc.checklist)


def test_registry_refuses_a_duplicate_id() -> None:
    from hardening.rules.base import register_doc

    existing = all_docs()[0]
    with pytest.raises(ValueError, match="duplicate rule id"):
        register_doc(
            type(existing)(
                **{**{f: getattr(existing, f) for f in existing.__slots__}, "name": "other-name"}
            )
        )


def test_every_checklist_item_a_static_or_image_check_can_judge_has_a_rule() -> None:
    served = {item for doc in all_docs() if doc.target != "runtime" for item in doc.checklist}
    expected = {f"C{n:02d}" for n in range(1, 19)} - {"C15", "C17"}
    assert expected <= served, sorted(expected - served)


def test_rules_reference_is_current() -> None:
    from hardening.pipeline import all_rule_docs
    from hardening.rules.docs import reference

    current = reference(sorted(all_rule_docs().values(), key=lambda d: d.id))
    on_disk = (Path(__file__).resolve().parents[2] / "docs" / "rules.md").read_text()
    assert on_disk == current, (
        "docs/rules.md is stale: run `python -m hardening.rules.docs > docs/rules.md`"
    )
