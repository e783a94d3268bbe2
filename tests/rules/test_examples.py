"""Every rule fires on its fixture's "bad" inputs and stays silent on its "good" ones (its own
documented before/after examples where they are enough, see ``tests/rules/cases``), and the
registry finds every rule, one module each, whatever was imported before."""

from __future__ import annotations

import importlib
import json
import pkgutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from hardening.model import Finding, RuleDoc
from hardening.rules import registry
from hardening.rules.base import FACTS, LintContext, Rule, marked, rule
from hardening.rules.registry import READS, TARGETS, all_docs, collect, rule_modules, rules
from tests.rules.cases import case_for, run
from tests.rules.helpers import fires

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("item", rules(), ids=lambda item: item.doc.id)
def test_bad_fires_and_good_is_silent(item: Rule, tmp_path: Path) -> None:
    case = case_for(item)
    assert case is not None, (
        f"{item.doc.id} has no fixture: give it before/after examples that show it, or a case "
        f"in tests/rules/cases/{item.doc.target}.py"
    )
    assert fires(run(case.bad, tmp_path / "bad"), item.doc.id), f"{item.doc.id} did not fire"
    assert not fires(run(case.good, tmp_path / "good"), item.doc.id), f"{item.doc.id} fired"


def test_every_hand_made_case_is_for_a_rule() -> None:
    from tests.rules.cases import context, dockerfile, image, runtime, signatures

    known = {item.doc.id for item in rules()}
    for module in (dockerfile, context, image, runtime, signatures):
        assert set(module.CASES) <= known, module.__name__


def test_every_rule_is_documented_completely() -> None:
    ids = set()
    for doc in all_docs():
        assert doc.id not in ids
        ids.add(doc.id)
        assert doc.name == doc.name.lower() and " " not in doc.name
        assert doc.why and doc.fix and doc.title
        assert all(item.startswith("C") for item in doc.checklist)


def test_each_rule_is_one_module_named_after_it_under_its_target() -> None:
    for module in rule_modules():
        declared = [r for r in (marked(v) for v in vars(module).values()) if r is not None]
        assert len(declared) == 1, f"{module.__name__} declares {len(declared)} rules"
        doc = declared[0].doc
        package, name = module.__name__.rsplit(".", 1)
        assert package == f"hardening.rules.{doc.target}", module.__name__
        assert name.startswith(doc.id.removeprefix("DH-").lower() + "_"), module.__name__


def _module(name: str, doc: RuleDoc) -> ModuleType:
    """A rule module declaring ``doc``."""

    @rule(doc)
    def check(ctx: LintContext) -> list[Finding]:
        return []

    module = ModuleType(name)
    vars(module)["check"] = check
    return module


def test_the_registry_refuses_a_duplicate_id_or_name() -> None:
    existing = all_docs()[0]
    fields = {f: getattr(existing, f) for f in existing.__slots__}
    same_id = RuleDoc(**{**fields, "name": "other-name"})
    with pytest.raises(ValueError, match="duplicate rule id"):
        collect([_module("a", existing), _module("b", same_id)])
    same_name = RuleDoc(**{**fields, "id": "DH-D199"})
    with pytest.raises(ValueError, match="duplicate rule name"):
        collect([_module("a", existing), _module("b", same_name)])


def test_a_rule_must_read_a_known_fact() -> None:
    with pytest.raises(ValueError, match="unknown fact"):
        rule(all_docs()[0], needs="weather")


def test_the_rule_modules_are_the_ones_pkgutil_lists() -> None:
    for target in TARGETS:
        package = importlib.import_module(f"hardening.rules.{target}")
        listed = sorted(info.name for info in pkgutil.iter_modules(package.__path__))
        assert [registry.module_names(folder) for folder in package.__path__] == [listed]
    assert registry.module_names("/nonexistent") == []


def test_each_target_package_reads_the_facts_the_registry_says() -> None:
    assert set(READS) == set(TARGETS)
    assert {fact for reads in READS.values() for fact in reads} == set(FACTS)
    for item in rules():
        assert item.needs in READS[item.doc.target], item.doc.id


@pytest.mark.parametrize(
    "facts",
    [{"dockerfile", "context"}, {"dockerfile", "context", "compose", "image"}, {"compose"},
     {"pins"}, {"signatures"}, {"runtime"}, {"image"}, set(FACTS), set()],
    ids=lambda facts: ",".join(sorted(facts)) or "none",
)  # fmt: skip
def test_the_rules_of_some_facts_are_every_rule_reading_them(facts: set[str]) -> None:
    assert rules(facts) == [item for item in rules() if item.needs in facts]


def test_a_rule_reading_what_its_package_may_not_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(READS, "dockerfile", ("dockerfile", "signatures"))
    registry._in_target.cache_clear()
    try:
        with pytest.raises(ValueError, match="DH-D123 reads 'pins'"):
            rules({"dockerfile"})
    finally:
        monkeypatch.undo()
        registry._in_target.cache_clear()
    assert [item.doc.id for item in rules({"pins"})] == ["DH-D123"]


def _fresh(code: str) -> dict[str, object]:
    """Run ``code`` in a new interpreter (nothing imported yet); it prints one JSON value."""
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, check=True, capture_output=True, text=True
    ).stdout
    result: dict[str, object] = json.loads(out)
    return result


def test_all_docs_is_complete_whatever_was_imported_first() -> None:
    first = _fresh(
        "import json; from hardening.rules.registry import all_docs\n"
        "print(json.dumps({'ids': [d.id for d in all_docs()]}))"
    )
    later = _fresh(
        "import json, hardening.pipeline, hardening.probes, hardening.supply.pins, hardening.cli\n"
        "from hardening.rules.registry import all_docs\n"
        "print(json.dumps({'ids': [d.id for d in all_docs()]}))"
    )
    ids = first["ids"]
    assert ids == later["ids"] == [d.id for d in all_docs()]
    assert isinstance(ids, list)
    assert "DH-D123" in ids and {f"DH-R4{n:02d}" for n in range(1, 12)} <= set(ids)
    assert {d.target for d in all_docs()} == set(TARGETS)


def test_the_rules_import_no_engine_registry_or_pipeline_code() -> None:
    loaded = _fresh(
        "import json, sys; from hardening.rules.registry import all_docs; all_docs()\n"
        "print(json.dumps({'modules': sorted(sys.modules)}))"
    )["modules"]
    assert isinstance(loaded, list)
    forbidden = [
        m for m in loaded
        if m.split(".")[0] in ("docker", "requests")
        or m.startswith(("hardening.pipeline", "hardening.adapters"))
    ]  # fmt: skip
    assert forbidden == []


def test_only_the_rules_define_rules() -> None:
    """The probes and the digest pins produce facts; no rule documentation lives there."""
    import hardening.probes
    import hardening.supply

    for package in (hardening.probes, hardening.supply):
        for info in pkgutil.iter_modules(package.__path__):
            module = importlib.import_module(f"{package.__name__}.{info.name}")
            docs = [name for name, value in vars(module).items() if isinstance(value, RuleDoc)]
            assert docs == [], f"{module.__name__} defines {docs}"


def test_every_checklist_item_a_static_or_image_check_can_judge_has_a_rule() -> None:
    served = {item for doc in all_docs() if doc.target != "runtime" for item in doc.checklist}
    expected = {f"C{n:02d}" for n in range(1, 19)} - {"C15", "C17"}
    assert expected <= served, sorted(expected - served)


def test_rules_reference_is_current() -> None:
    from hardening.rules.docs import reference

    on_disk = (ROOT / "docs" / "rules.md").read_text()
    assert on_disk == reference(all_docs()), (
        "docs/rules.md is stale: run `python -m hardening.rules.docs > docs/rules.md`"
    )
