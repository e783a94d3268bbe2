"""What the parsers, the merge and the SARIF writer share among a CVE's findings, and the
faster paths that rely on it, give exactly what the plain paths give."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import msgspec
import pytest

from hardening.model import Finding, Kind, Location, Package, Report, Severity
from hardening.report import sarif
from hardening.report.formats import RenderInput
from hardening.scanners import grype, schema, trivy
from hardening.scanners.common import FINDING_FIELDS, PACKAGE_FIELDS, maker
from hardening.scanners.load import load_report
from hardening.scanners.merge import merge_findings
from hardening.scanners.schema import decode_report_text
from tests.conftest import shared_dir

FIXTURES = shared_dir() / "fixtures" / "scanners"
REPORTS = sorted(
    p
    for p in FIXTURES.glob("*.json")
    if p.name.startswith(("trivy-", "grype-")) and not p.name.endswith(".cdx.json")
)
PAIRS = ["alpine", "mysql", "nginx", "ubuntu"]


def test_maker_makes_what_the_class_makes() -> None:
    make = maker(Finding, FINDING_FIELDS)
    values = {name: object() for name in FINDING_FIELDS}
    made = make(*values.values(), fix="upgrade", confidence="low")
    assert made == Finding(**values, fix="upgrade", confidence="low")  # type: ignore[arg-type]
    plain = maker(Finding)(rule_id="R", kind=Kind.SECRET, severity=Severity.LOW, title="t",
                           message="m")  # fmt: skip
    assert repr(plain) == repr(Finding("R", Kind.SECRET, Severity.LOW, "t", "m"))
    assert type(plain) is Finding and plain.location == Location()
    assert (
        plain.location
        is not maker(Finding)(
            rule_id="R", kind=Kind.SECRET, severity=Severity.LOW, title="t", message="m"
        ).location
    )  # a default factory is called for each instance, as the class does
    assert maker(Package, PACKAGE_FIELDS)("a", "1", "2", "deb", "p", "/x") == Package(
        "a", "1", "2", "deb", "p", "/x"
    )
    assert maker(Package, ("version", "name"))("1", "a") == Package("a", "1")
    with pytest.raises(TypeError):
        maker(Package, ("nickname",))
    with pytest.raises(AttributeError):
        made.rule_id = "changed"  # still frozen


@dataclass(frozen=True, slots=True)
class _Checked:
    name: str
    size: int = 0

    def __post_init__(self) -> None:
        if self.size < 0:
            raise ValueError("negative")


def test_maker_leaves_a_class_it_cannot_make_to_the_class() -> None:
    make = maker(_Checked, ("size", "name"))
    assert make(3, "a") == _Checked("a", 3)
    with pytest.raises(ValueError):
        make(-1, "a")  # the class's own checks run


def _odd_item(path: Path) -> tuple[bytes, bytes]:
    """The report, and the report with one more item that yields no finding and whose fields
    are not all text, so that the whole report is read item by item, loosely where needed."""
    document = json.loads(path.read_text())
    if path.name.startswith("grype-"):
        document["matches"] = [*document["matches"], {"artifact": {"name": 5}}]
    else:
        odd = {"VulnerabilityID": "", "PkgName": 5}
        results = document if isinstance(document, list) else document.get("Results") or []
        if results:
            results[0]["Vulnerabilities"] = [*(results[0].get("Vulnerabilities") or []), odd]
        else:  # a result of its own, with nothing else in it
            document["Results"] = [{"Target": "odd", "Vulnerabilities": [odd]}]
    return path.read_bytes(), json.dumps(document).encode()


@pytest.mark.parametrize("path", REPORTS, ids=lambda p: p.name)
def test_one_pass_and_item_by_item_reading_agree(path: Path, tmp_path: Path) -> None:
    original, odd = _odd_item(path)
    if original.lstrip()[:1] == b"{":
        assert decode_report_text(odd) is None  # the odd item sends it the old way
    odd_path = tmp_path / path.name
    odd_path.write_bytes(odd)
    one_pass, item_by_item = load_report(path), load_report(odd_path)
    assert item_by_item.findings == one_pass.findings
    assert (item_by_item.tool, item_by_item.version, item_by_item.target) == (
        one_pass.tool,
        one_pass.version,
        one_pass.target,
    )
    parse = trivy.parse_trivy_json if one_pass.tool == "trivy" else grype.parse_grype_json
    from_bytes = parse(original, str(path))
    assert from_bytes is not None and from_bytes.findings == one_pass.findings


class _NeverText(msgspec.Struct):
    """Fits no item: every vulnerability and match is read loosely, by the plain parsers."""

    field_no_report_has: int


@pytest.mark.parametrize("path", REPORTS, ids=lambda p: p.name)
def test_reading_as_text_gives_what_the_plain_parsers_give(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    as_text = load_report(path)
    monkeypatch.setattr(schema, "decode_report_text", lambda data: None)
    monkeypatch.setattr(schema, "TrivyVulnerabilityText", _NeverText)
    monkeypatch.setattr(schema, "GrypeMatchText", _NeverText)
    plain = load_report(path)
    assert plain.findings == as_text.findings
    assert (plain.tool, plain.version, plain.target) == (
        as_text.tool,
        as_text.version,
        as_text.target,
    )


TRIVY_CHANGES: dict[str, Any] = {
    "VulnerabilityID": " CVE-2099-0001 ", "Severity": "CRITICAL", "SeveritySource": "nvd",
    "Title": "Another title", "Description": "Another description.", "VendorIDs": ["DSA-1"],
    "PrimaryURL": "https://example.com/p", "References": ["https://example.com/r"],
    "CVSS": {"nvd": {"V3Score": 9.1, "V3Vector": "CVSS:3.1/AV:N"}}, "Status": "will_not_fix",
    "FixedVersion": "9.9", "Layer": {"DiffID": "sha256:other"}, "PkgPath": "/usr/lib/x",
    "PkgIdentifier": {"PURL": "pkg:deb/debian/x@1"}, "InstalledVersion": "0.1",
}  # fmt: skip
GRYPE_CHANGES: dict[str, Any] = {
    "relatedVulnerabilities": [{"id": "CVE-2099-0002", "namespace": "nvd:cpe"}],
    "vulnerability": {"id": "GHSA-aaaa-bbbb-cccc", "severity": "High", "namespace": "github"},
    "artifact": {"type": "python", "purl": "pkg:pypi/x@1", "version": "2",
                 "locations": [{"path": "/usr/lib/x.py", "layerID": "sha256:other"}]},
}  # fmt: skip


def _each_change_alone(path: Path, tmp_path: Path) -> Path:
    """The report, with its first item repeated in other packages, each copy changed in one
    field alone (the same vulnerability otherwise): what is read once per vulnerability must
    tell them apart."""
    document = json.loads(path.read_text())
    if path.name.startswith("grype-"):
        first = document["matches"][0]
        copies = []
        for index, (name, value) in enumerate(GRYPE_CHANGES.items()):
            copy = json.loads(json.dumps(first))
            copy[name] = {**copy[name], **value} if isinstance(value, dict) else value
            copy["artifact"]["name"] = f"{copy['artifact']['name']}-{index}"
            copies.append(copy)
        document["matches"] = [first, *copies, *document["matches"][1:]]
    else:
        vulns = document["Results"][0]["Vulnerabilities"]
        copies = [
            {**vulns[0], name: value, "PkgName": f"{vulns[0]['PkgName']}-{index}"}
            for index, (name, value) in enumerate(TRIVY_CHANGES.items())
        ]
        document["Results"][0]["Vulnerabilities"] = [vulns[0], *copies, *vulns[1:]]
    changed = tmp_path / path.name
    changed.write_text(json.dumps(document))
    return changed


@pytest.mark.parametrize(
    "name", ["trivy-nginx-latest-msusel-2023.json", "grype-nginx-latest-msusel-v0.62.3.json"]
)
def test_what_is_read_once_tells_apart_each_change(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _each_change_alone(FIXTURES / name, tmp_path)
    as_text = load_report(path)
    monkeypatch.setattr(schema, "decode_report_text", lambda data: None)
    monkeypatch.setattr(schema, "TrivyVulnerabilityText", _NeverText)
    monkeypatch.setattr(schema, "GrypeMatchText", _NeverText)
    assert load_report(path).findings == as_text.findings


def test_a_null_where_text_belongs_reads_as_before(tmp_path: Path) -> None:
    path = FIXTURES / "trivy-alpine-3.10-trivyaction-v0.72.0.json"
    document = json.loads(path.read_text())
    vuln = document["Results"][0]["Vulnerabilities"][0]
    vuln["PkgIdentifier"] = {"PURL": None}
    vuln["Layer"] = {"DiffID": None}
    (tmp_path / "r.json").write_text(json.dumps(document))
    finding = load_report(tmp_path / "r.json").findings[0]
    assert finding.package is not None and finding.package.purl == "None"  # str(None)
    assert finding.location.layer == "None"


def test_a_large_report_is_read_as_its_bytes_are(tmp_path: Path) -> None:
    document = json.loads((FIXTURES / "trivy-nginx-latest-msusel-2023.json").read_text())
    vulns = document["Results"][0]["Vulnerabilities"]
    document["Results"][0]["Vulnerabilities"] = [
        {**v, "PkgName": f"{v['PkgName']}-{k}"} for k in range(8) for v in vulns
    ]
    path = tmp_path / "large.json"
    path.write_text(json.dumps(document))
    assert path.stat().st_size > 1 << 20
    loaded = load_report(path)
    from_bytes = trivy.parse_trivy_json(path.read_bytes(), str(path))
    assert from_bytes is not None and loaded.findings == from_bytes.findings
    assert len(loaded.findings) == 8 * len(vulns)


def _fresh(value: Any) -> Any:
    """An equal value that shares no object with the given one."""
    if isinstance(value, tuple):
        return tuple([_fresh(v) for v in value])  # a new tuple, not the same one
    if isinstance(value, float):
        return float(repr(value))
    if isinstance(value, Package | Location) or hasattr(value, "__dataclass_fields__"):
        return replace(value)
    return value


def _unshared(finding: Finding) -> Finding:
    fields = {name: _fresh(getattr(finding, name)) for name in finding.__dataclass_fields__}
    return Finding(**fields)


def _pair(image: str) -> list[Finding]:
    trivy_report = load_report(FIXTURES / f"trivy-{image}-latest-msusel-2023.json")
    grype_report = load_report(FIXTURES / f"grype-{image}-latest-msusel-v0.62.3.json")
    return [*trivy_report.findings, *grype_report.findings]


@pytest.mark.parametrize("image", PAIRS)
def test_the_merge_does_not_depend_on_what_findings_share(image: str) -> None:
    findings = _pair(image)
    unshared = [_unshared(f) for f in findings]
    assert unshared == findings
    assert merge_findings(unshared) == merge_findings(findings)


@pytest.mark.parametrize("image", PAIRS)
def test_sarif_does_not_depend_on_what_findings_share(image: str) -> None:
    merged = merge_findings(_pair(image))
    shared_bytes = sarif.render(RenderInput(Report(findings=tuple(merged), category="x/")))
    unshared = tuple(_unshared(f) for f in merged)
    unshared_bytes = sarif.render(RenderInput(Report(findings=unshared, category="x/")))
    assert unshared_bytes == shared_bytes


def _others(finding: Finding) -> dict[str, Any]:
    """For each field, another value: a finding that differs from the given one in that
    field alone shares every other object with it."""
    from hardening.model import Cvss, Epss, FixStatus, Kev, Suppression

    return {
        "kind": Kind.MISCONFIGURATION,
        "severity": Severity.CRITICAL
        if finding.severity is not Severity.CRITICAL
        else Severity.LOW,
        "title": "another title",
        "message": "another message",
        "cvss_score": 1.25,
        "tools": ("grype", "trivy"),
        "tool_severities": (("grype", Severity.NEGLIGIBLE),),
        "references": ("https://example.com/other",),
        "aliases": ("GHSA-aaaa-bbbb-cccc",),
        "checklist": ("C01",),
        "fix": "another fix",
        "confidence": "low",
        "suppression": Suppression("external", "accepted risk"),
        "properties": (("grype-risk", "9.99"), ("replacement", "FROM x"), ("baseline", "new")),
        "fix_status": FixStatus.WILL_NOT_FIX,
        "severity_source": "another-source",
        "cvss": (Cvss("nvd", "3.1", "CVSS:3.1/AV:N", 9.8),),
        "kev": Kev("2024-01-01", "2024-02-01", "Known", "grype"),
        "epss": Epss(0.5, 0.97, "2026-01-01", "grype"),
        "location": Location(path="Dockerfile", line=3, end_line=3, layer="sha256:other"),
    }


def _variants(base: Finding, package_name: str) -> list[Finding]:
    assert base.package is not None
    others = [*_others(base).items(), ("location", Location(image_path="/usr/lib/x"))]
    out = []
    for index, (name, value) in enumerate(others):
        package = replace(base.package, name=f"{package_name}-{index}")
        out.append(replace(base, package=package, **{name: value}))
    fixed = "" if base.package.fixed_version else "9.9"  # a fixed version, or none
    package = replace(base.package, name=f"{package_name}-fixed", fixed_version=fixed)
    return [*out, replace(base, package=package)]


def test_sarif_tells_apart_findings_that_differ_in_one_field() -> None:
    merged = merge_findings(_pair("nginx"))
    base = next(f for f in merged if len(f.tools) == 2 and f.location.layer and f.cvss)
    findings = (base, *_variants(base, "variant"), replace(base, package=None))
    shared_bytes = sarif.render(RenderInput(Report(findings=findings, category="x/")))
    unshared = tuple(_unshared(f) for f in findings)
    assert sarif.render(RenderInput(Report(findings=unshared, category="x/"))) == shared_bytes


def test_the_merge_tells_apart_pairs_that_differ_in_one_field() -> None:
    findings = _pair("nginx")
    merged = {(f.rule_id, f.package.name): f for f in merge_findings(findings) if f.package}
    pair = next(
        (t, g)
        for t in findings
        for g in findings
        if t.tools == ("trivy",) and g.tools == ("grype",) and t.package and g.package
        and (t.rule_id, t.package.name) == (g.rule_id, g.package.name)
        and len(merged[(t.rule_id, t.package.name)].tools) == 2
    )  # fmt: skip
    grouped = [*pair]
    for first, second in ((0, 1), (1, 0)):  # a field of the first, then of the second, differs
        base, other = pair[first], pair[second]
        for index, variant in enumerate(_variants(base, f"variant{first}")):
            if variant.kind is not Kind.VULNERABILITY:
                continue
            assert variant.package is not None and other.package is not None
            package = replace(other.package, name=variant.package.name, fixed_version="")
            grouped += [variant, replace(other, package=package)]
            del index
    unshared = [_unshared(f) for f in grouped]
    assert merge_findings(grouped) == merge_findings(unshared)


@pytest.mark.parametrize("level", [1, 6])
def test_the_gzip_size_is_gzips_own(level: int) -> None:
    import gzip

    for data in (b"", b"x", (FIXTURES / "trivy-nginx-latest-msusel-2023.json").read_bytes()):
        assert sarif._gzip_size(data, level) == len(gzip.compress(data, level))


def _vulnerability(rule_id: str, tool: str, package: str, *aliases: str) -> Finding:
    return Finding(
        rule_id=rule_id, kind=Kind.VULNERABILITY, severity=Severity.HIGH, title=rule_id,
        message=f"{rule_id} in {package}", package=Package(package, "1.0", type="deb"),
        tools=(tool,), tool_severities=((tool, Severity.HIGH),), aliases=aliases,
    )  # fmt: skip


def test_an_advisory_folds_into_the_cve_that_names_it() -> None:
    advisory = _vulnerability("GHSA-1111-2222-3333", "grype", "openssl")
    findings = [
        _vulnerability("CVE-2024-0002", "grype", "zlib"),
        advisory,  # before the CVE finding that names it: its group comes first all the same
        _vulnerability("CVE-2024-0001", "trivy", "openssl", "GHSA-1111-2222-3333"),
        _vulnerability("CVE-2024-0002", "trivy", "zlib"),
    ]
    renamed = replace(advisory, rule_id="CVE-2024-0001", aliases=("GHSA-1111-2222-3333",))
    merged = merge_findings(findings)
    assert merged == merge_findings([findings[0], renamed, *findings[2:]])
    assert [(f.rule_id, f.tools) for f in merged] == [
        ("CVE-2024-0001", ("trivy", "grype")),
        ("CVE-2024-0002", ("trivy", "grype")),
    ]
