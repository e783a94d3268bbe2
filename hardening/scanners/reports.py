"""Reading a scanner's report file: shared by every scanner's ``scan``."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hardening.scanners.common import ParsedReport


def read_report(
    path: Path,
    display_name: str,
    looks_like: Callable[[Any], bool],
    parse: Callable[[Any, str], ParsedReport],
) -> ParsedReport | str:
    """The report parsed; or why it cannot be used (never zero findings instead)."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return "wrote no report"
    except (ValueError, UnicodeDecodeError):
        return "wrote a report that is not JSON"
    if not looks_like(document):
        return f"wrote JSON that is not {display_name}'s report format"
    try:
        return parse(document, "")
    except (TypeError, ValueError, AttributeError, KeyError) as exc:
        return f"wrote a report this version cannot read ({type(exc).__name__}: {exc})"
