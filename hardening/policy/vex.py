"""OpenVEX: a ``not_affected`` or ``fixed`` statement for a vulnerability and a product (the
image, or a package by PURL) suppresses matching findings with the statement's justification;
``affected`` and ``under_investigation`` keep them."""

from __future__ import annotations

import glob
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hardening.errors import UsageError
from hardening.model import Finding, Suppression
from hardening.scanners.common import purl_matches

STATUSES = ("not_affected", "affected", "fixed", "under_investigation")
SUPPRESSING = ("not_affected", "fixed")


@dataclass(frozen=True, slots=True)
class Statement:
    vulnerability: frozenset[str]  # name and aliases, upper-case
    products: tuple[str, ...]
    subcomponents: tuple[str, ...]
    status: str
    justification: str
    source: str


def _ids(value: Any) -> frozenset[str]:
    if isinstance(value, str):
        return frozenset({value.upper()})
    if isinstance(value, dict):
        names = [value.get("name") or value.get("@id") or "", *(value.get("aliases") or [])]
        return frozenset(str(n).upper() for n in names if n)
    return frozenset()


def _refs(items: Any) -> tuple[str, ...]:
    out = []
    for item in items or []:
        if isinstance(item, str):
            out.append(item)
        elif isinstance(item, dict):
            out.append(str(item.get("@id") or (item.get("identifiers") or {}).get("purl") or ""))
    return tuple(r for r in out if r)


def vex_paths(patterns: tuple[str, ...], workspace: Path) -> list[Path]:
    """The files the policy's VEX globs name, all inside the workspace (symlinks resolved)."""
    root = workspace.resolve()
    found: list[Path] = []
    for pattern in patterns:
        paths = sorted(glob.glob(str(root / pattern), recursive=True))
        if not paths:
            raise UsageError(
                f"VEX: {pattern} matches no file", "check the vex paths in the policy file"
            )
        for path in paths:
            if not Path(path).resolve().is_relative_to(root):
                raise UsageError(
                    f"VEX: {pattern} reaches {path}, outside the workspace {root}",
                    "keep VEX documents in the repository and name them by relative paths",
                )
            found.append(Path(path))
    return found


def load_vex(patterns: tuple[str, ...], workspace: Path) -> list[Statement]:
    statements: list[Statement] = []
    for path in vex_paths(patterns, workspace):
        statements.extend(_read(path))
    return statements


def _read(path: Path) -> list[Statement]:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError) as exc:
        problem = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)
        raise UsageError(
            f"VEX file {path} is not valid JSON ({problem})", "fix or remove the file"
        ) from None
    if (
        not isinstance(document, dict)
        or "openvex" not in str(document.get("@context", ""))
        or not isinstance(document.get("statements"), list)
    ):
        raise UsageError(
            f"VEX file {path} is not an OpenVEX document (no @context/statements)",
            "pass OpenVEX JSON",
        )
    out = []
    for index, item in enumerate(document["statements"]):
        status = str(item.get("status", "")) if isinstance(item, dict) else ""
        vulnerability = _ids(item.get("vulnerability")) if isinstance(item, dict) else frozenset()
        if status not in STATUSES or not vulnerability:
            raise UsageError(
                f"VEX file {path}: statement {index + 1} has an unknown status {status!r} or no vulnerability",
                f"status must be one of {', '.join(STATUSES)}",
            )
        justification = str(
            item.get("justification")
            or item.get("impact_statement")
            or item.get("status_notes")
            or status
        )
        if item.get("impact_statement") and item.get("justification"):
            justification = f"{item['justification']}: {item['impact_statement']}"
        out.append(Statement(vulnerability, _refs(item.get("products")), _refs(item.get("subcomponents")), status,
                             justification, f"{path.name}#{index + 1}"))  # fmt: skip
    return out


def _image_matches(product: str, image_ref: str) -> bool:
    if not image_ref:
        return False
    if product.startswith("pkg:oci/"):
        name = product.removeprefix("pkg:oci/").split("?", 1)[0].split("@", 1)[0]
        return image_ref.split("@", 1)[0].rsplit(":", 1)[0].endswith(name)
    return product in (image_ref, image_ref.split("@", 1)[0])


def applies(statement: Statement, finding: Finding, image_ref: str) -> bool:
    ids = {finding.rule_id.upper(), *(a.upper() for a in finding.aliases)}
    if not ids & statement.vulnerability:
        return False
    purl = finding.package.purl if finding.package else ""
    for product in statement.products or ("",):
        if purl_matches(product, purl):
            return True
        if product == "" or _image_matches(product, image_ref):
            if not statement.subcomponents:
                return True
            if any(purl_matches(sub, purl) for sub in statement.subcomponents):
                return True
    return False


def apply_vex(
    findings: list[Finding], statements: list[Statement], image_ref: str
) -> list[Finding]:
    out = []
    for finding in findings:
        if not finding.suppressed and finding.package is not None:
            match = next((s for s in statements if applies(s, finding, image_ref)), None)
            if match is not None and match.status in SUPPRESSING:
                finding = finding.with_suppression(
                    Suppression(
                        "external", f"VEX {match.status}: {match.justification}", match.source
                    )
                )
        out.append(finding)
    return out
