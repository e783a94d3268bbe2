"""Read a scanner report from a file, telling which scanner wrote it by its shape."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hardening import codec
from hardening.errors import UsageError
from hardening.scanners import registry
from hardening.scanners.common import ParsedReport

if TYPE_CHECKING:
    from hardening.scanners.schema import ReportText

EXPECTED = "a scanner's own JSON report (Trivy --format json, Grype -o json)"


def parse_document(document: Any, source: str) -> ParsedReport:
    for scanner in registry.scanners().values():
        if scanner.looks_like(document):
            return scanner.parse(document, source)
    if isinstance(document, dict) and "runs" in document and "version" in document:
        kind = "a SARIF file"
    elif isinstance(document, dict) and document.get("bomFormat") == "CycloneDX":
        kind = "a CycloneDX SBOM"
    else:
        kind = "no known scanner's JSON report"
    raise UsageError(
        f"{source} is {kind}; expected {EXPECTED}",
        "run the scanner with JSON output and pass that file",
    )


def load_report(path: Path) -> ParsedReport:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise UsageError(f"report {path} does not exist", "check the path") from None
    except OSError as exc:
        raise UsageError(f"report {path} cannot be read: {exc}", f"pass {EXPECTED}") from None
    try:
        parsed = _parse_text(data, str(path))
        if parsed is not None:
            return parsed
        for scanner in registry.scanners().values():
            if scanner.parse_json is not None:
                parsed = scanner.parse_json(data, str(path))
                if parsed is not None:
                    return parsed
        document = codec.decode(data)
    except codec.NotJson as exc:
        raise UsageError(f"{path} is not JSON ({exc})", f"pass {EXPECTED}") from None
    return parse_document(document, str(path))


def _parse_text(data: bytes, source: str) -> ParsedReport | None:
    """Trivy's or Grype's report read in one pass: the top level of both is decoded once
    (``schema.ReportText``) and each built-in scanner, in the registry's order, reads that.
    None when the report does not decode that way or is another scanner's: the scanners then
    read the bytes themselves, as they always do."""
    from hardening.scanners import grype, trivy
    from hardening.scanners.schema import decode_report_text

    readers: dict[Callable[..., Any], Callable[[ReportText, str], ParsedReport | None]] = {
        trivy.parse_trivy_json: trivy.parse_trivy_text,
        grype.parse_grype_json: grype.parse_grype_text,
    }
    text = decode_report_text(data)
    if text is None:
        return None
    for scanner in registry.scanners().values():
        if scanner.parse_json is None:
            continue
        read = readers.get(scanner.parse_json)
        if read is None:  # a scanner that reads only bytes
            return None
        parsed = read(text, source)
        if parsed is not None:
            return parsed
    return None
