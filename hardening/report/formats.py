"""Output formats: the extension point for what a run writes.

A format is one module in ``hardening/report/`` that defines ``FORMAT``, an
:class:`OutputFormat` whose ``render`` turns a :class:`RenderInput` into bytes, and one line
in :data:`BUILTIN` below. ``scan``, ``lint`` and the action then offer it the same way
(``--output NAME=PATH``; the action's ``outputs`` input).

Formatters are pure: they read no file, no clock and no network. The caller gives them the
text of the files the findings point at (for GitHub's line fingerprints) and the time.
"""

from __future__ import annotations

import datetime
import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from hardening.model import Report, RuleDoc

# The built-in formats, one module each.
BUILTIN = (
    "hardening.report.sarif",
    "hardening.report.markdown",
    "hardening.report.gitlab",
)


@dataclass(frozen=True, slots=True)
class RenderInput:
    report: Report
    rule_docs: Mapping[str, RuleDoc] = field(default_factory=dict)
    sources: Mapping[str, str] = field(default_factory=dict)  # repo-relative path -> its text
    now: datetime.datetime = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)
    started: datetime.datetime | None = None


@dataclass(frozen=True, slots=True)
class OutputFormat:
    name: str  # what users write in --output NAME=PATH
    default_file: str
    description: str
    render: Callable[[RenderInput], bytes]


_EXTRA: dict[str, OutputFormat] = {}


def register(fmt: OutputFormat) -> None:
    """Add a format that is not built in (a plug-in of its own, or a test's)."""
    _EXTRA[fmt.name] = fmt


def formats() -> dict[str, OutputFormat]:
    """Every format, by name: the built-in ones first, in the order of :data:`BUILTIN`."""
    found: dict[str, OutputFormat] = {}
    for module in BUILTIN:
        fmt: OutputFormat = importlib.import_module(module).FORMAT
        found[fmt.name] = fmt
    found.update(_EXTRA)
    return found


def get(name: str) -> OutputFormat | None:
    return formats().get(name.strip().lower())
