"""Reading a scanner's report file: shared by every scanner's ``scan``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from hardening import codec
from hardening.scanners.common import ParsedReport


def read_report(
    path: Path,
    display_name: str,
    looks_like: Callable[[Any], bool],
    parse: Callable[[Any, str], ParsedReport],
    parse_json: Callable[[bytes, str], ParsedReport | None] | None = None,
) -> ParsedReport | str:
    """The report parsed; or why it cannot be used (never zero findings instead)."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return "wrote no report"
    not_its = f"wrote JSON that is not {display_name}'s report format"
    try:
        if parse_json is not None:
            parsed = parse_json(data, "")
            return not_its if parsed is None else parsed
        document = codec.decode(data)
        return parse(document, "") if looks_like(document) else not_its
    except codec.NotJson:
        return "wrote a report that is not JSON"
    except (TypeError, ValueError, AttributeError, KeyError) as exc:
        return f"wrote a report this version cannot read ({type(exc).__name__}: {exc})"
