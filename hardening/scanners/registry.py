"""The scanners the product knows: one line per built-in scanner module."""

from __future__ import annotations

import importlib

from hardening.scanners.base import Scanner

BUILTIN = (
    "hardening.scanners.trivy",
    "hardening.scanners.grype",
)

_EXTRA: dict[str, Scanner] = {}


def register(scanner: Scanner) -> None:
    """Add a scanner that is not built in (a plug-in of its own, or a test's)."""
    _EXTRA[scanner.name] = scanner


def scanners() -> dict[str, Scanner]:
    found: dict[str, Scanner] = {}
    for module in BUILTIN:
        scanner: Scanner = importlib.import_module(module).SCANNER
        found[scanner.name] = scanner
    found.update(_EXTRA)
    return found


def get(name: str) -> Scanner | None:
    return scanners().get(name.strip().lower())


def names() -> tuple[str, ...]:
    return tuple(scanners())


def default_names() -> tuple[str, ...]:
    return tuple(name for name, scanner in scanners().items() if scanner.default)


def rank(tool: str) -> int:
    scanner = scanners().get(tool)
    return scanner.rank if scanner is not None else 99
