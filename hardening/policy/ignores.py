"""Reasoned ignores: the policy file's entries, and the Trivy and Grype ignore files a
repository already has, so nobody has to translate them. An ignored finding is kept, marked
suppressed with its reason; an expired entry stops applying and is reported."""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hardening.errors import UsageError
from hardening.model import Finding, FixStatus, Kind, Notification, Suppression
from hardening.policy.config import Config
from hardening.yamlsafe import YamlRefused, load_yaml, read_text

if TYPE_CHECKING:
    import datetime


@dataclass(frozen=True, slots=True)
class Ignore:
    """One entry of the policy file's ``ignores``."""

    id: str
    reason: str
    source: str  # file:line
    package: str = ""
    version: str = ""
    path: str = ""
    file: str = ""
    expires: datetime.date | None = None


@dataclass(frozen=True, slots=True)
class Rule:
    """One ignore rule, whatever file it came from."""

    id: str
    reason: str
    source: str
    package: str = ""
    version: str = ""
    path: str = ""
    file: str = ""
    purl: str = ""
    fix_state: str = ""
    package_type: str = ""
    expires: datetime.date | None = None


def _ids(finding: Finding) -> set[str]:
    return {finding.rule_id.upper(), *(a.upper() for a in finding.aliases)}


def _glob(pattern: str, value: str) -> bool:
    value = value.lstrip("/")
    pattern = pattern.lstrip("/")
    return fnmatch.fnmatch(value, pattern) or fnmatch.fnmatch(
        value, pattern.rstrip("*").rstrip("/") + "/*"
    )


def matches(rule: Rule, finding: Finding) -> bool:
    if rule.id.upper() not in _ids(finding):
        return False
    pkg = finding.package
    if rule.package and (pkg is None or pkg.name != rule.package):
        return False
    if rule.version and (pkg is None or pkg.version != rule.version):
        return False
    if rule.package_type and (pkg is None or pkg.type != rule.package_type):
        return False
    if rule.purl and (pkg is None or not _purl_matches(rule.purl, pkg.purl)):
        return False
    inside = finding.location.image_path or (pkg.path if pkg else "")
    if rule.path and not _glob(rule.path, inside):
        return False
    if rule.file and not _glob(rule.file, finding.location.path):
        return False
    if rule.fix_state and not _fix_state_matches(rule.fix_state, finding):
        return False
    return True


def _purl_matches(pattern: str, purl: str) -> bool:
    from hardening.scanners.common import purl_matches

    return purl_matches(pattern, purl)


def _fix_state_matches(state: str, finding: Finding) -> bool:
    """Grype's ignore ``fix-state`` against the finding's own fix status."""
    if state == "fixed":
        return not finding.unfixed
    if finding.kind is not Kind.VULNERABILITY or not finding.unfixed:
        return False
    status = finding.fix_status
    if state == "wont-fix":
        return status is FixStatus.WILL_NOT_FIX
    if state == "unknown":
        return status in (None, FixStatus.UNKNOWN)
    return True  # not-fixed: every unfixed status


def _from_config(config: Config) -> list[Rule]:
    return [
        Rule(i.id, i.reason, i.source, i.package, i.version, i.path, i.file, expires=i.expires)
        for i in config.ignores
    ]


def _date(value: Any, where: str) -> datetime.date | None:
    """An expiry date; one that is not a real date is an error, never "no expiry"."""
    import datetime

    if value is None or value == "":
        return None
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    try:
        return datetime.date.fromisoformat(str(value)[:10])
    except ValueError:
        raise UsageError(
            f"{where}: expiry {value!r} is not a date", "write it as YYYY-MM-DD"
        ) from None


def trivyignore(text: str, name: str) -> list[Rule]:
    """``.trivyignore``: one id per line, ``#`` comments, optional ``exp:YYYY-MM-DD``."""
    rules = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        parts = line.split()
        expires = None
        for part in parts[1:]:
            if part.startswith("exp:"):
                expires = _date(part[4:], f"{name}:{number}")
        rules.append(Rule(parts[0], f"listed in {name}", f"{name}:{number}", expires=expires))
    return rules


def _document(text: str, name: str, key: str) -> list[tuple[Any, str]]:
    """The entries under ``key`` of an ignore file, each with its ``file:line``."""
    try:
        document = load_yaml(text)
    except YamlRefused as exc:
        raise _refused(name, exc) from None
    if document is None:
        return []
    if not isinstance(document, dict):
        raise UsageError(f"{name}: expected a mapping", f"see the {name} format")
    entries = document.get(key) or []
    if not isinstance(entries, list):
        raise UsageError(f"{name}:{_line(document, key)}: {key}: expected a list", "write `- ...`")
    return [(entry, f"{name}:{_line(entries, index)}") for index, entry in enumerate(entries)]


def _refused(name: str, exc: YamlRefused) -> UsageError:
    return UsageError(
        f"{name}:{exc.line}: {exc.reason}" if exc.line else f"{name}: {exc.reason}", exc.fix
    )


def _line(node: Any, key: Any) -> int:
    try:
        return int((node.lc.item(key) if isinstance(key, int) else node.lc.key(key))[0]) + 1
    except (AttributeError, KeyError, TypeError, IndexError):
        return 0


def trivyignore_yaml(text: str, name: str) -> list[Rule]:
    rules = []
    for section in ("vulnerabilities", "misconfigurations", "secrets"):
        for entry, where in _document(text, name, section):
            if not isinstance(entry, dict) or not entry.get("id"):
                continue
            reason = str(entry.get("statement") or f"listed in {name}")
            expires = _date(entry.get("expired_at"), where)
            rid = str(entry["id"])
            if section == "secrets":
                rid = f"trivy-secret/{rid}"
            elif section == "misconfigurations":
                rid = f"trivy-config/{rid}"
            for path in _listed(entry.get("paths")):
                for purl in _listed(entry.get("purls")):
                    rules.append(Rule(rid, reason, name, path=path, purl=purl, expires=expires))
    return rules


def _listed(value: Any) -> list[str]:
    if not value:
        return [""]
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def grype_yaml(text: str, name: str) -> list[Rule]:
    rules = []
    for entry, _where in _document(text, name, "ignore"):
        if not isinstance(entry, dict) or not entry.get("vulnerability"):
            continue
        package = entry.get("package") or {}
        if not isinstance(package, dict):
            package = {"name": package}
        rules.append(
            Rule(
                str(entry["vulnerability"]),
                str(entry.get("reason") or f"listed in {name}"),
                name,
                package=str(package.get("name", "") or ""),
                version=str(package.get("version", "") or ""),
                path=str(package.get("location", "") or ""),
                package_type=str(package.get("type", "") or ""),
                fix_state=str(entry.get("fix-state", "") or ""),
            )  # fmt: skip
        )
    return rules


def repository_rules(workspace: Path) -> list[Rule]:
    """The ignore files of every known scanner that the repository has (each scanner's
    module names its own), applied here so their suppressions stay visible with a reason."""
    from hardening.scanners import registry

    if not any((workspace / name).is_file() for name in registry.ignore_file_names()):
        return []  # none here: no scanner module is loaded to read them
    rules: list[Rule] = []
    readers = [pair for scanner in registry.scanners().values() for pair in scanner.ignore_files]
    for name, reader in readers:
        path = workspace / name
        if not path.is_file():
            continue
        if not path.resolve().is_relative_to(workspace.resolve()):
            raise UsageError(
                f"{name} links outside the workspace ({path.resolve()})",
                f"make {name} a file in the repository",
            )
        try:
            text = read_text(path)
        except YamlRefused as exc:
            raise _refused(name, exc) from None
        rules.extend(reader(text, name))
    return rules


def apply_ignores(
    findings: list[Finding], config: Config, workspace: Path, today: datetime.date | None = None
) -> tuple[list[Finding], list[Notification]]:
    rules = _from_config(config) + repository_rules(workspace)
    if today is None and any(rule.expires is not None for rule in rules):
        import datetime

        today = datetime.date.today()
    notes = []
    active = []
    for rule in rules:
        if rule.expires is not None and today is not None and rule.expires < today:
            notes.append(
                Notification(
                    "warning",
                    "policy",
                    f"{rule.source}: the ignore of {rule.id} expired on {rule.expires} and no longer applies",
                )
            )
        else:
            active.append(rule)
    out = []
    for finding in findings:
        if not finding.suppressed:
            matched = next((r for r in active if matches(r, finding)), None)
            if matched is not None:
                note = f" (until {matched.expires})" if matched.expires else ""
                finding = finding.with_suppression(
                    Suppression("external", matched.reason + note, matched.source)
                )
        out.append(finding)
    return out, notes


__all__ = ["Ignore", "Kind", "apply_ignores", "matches"]
