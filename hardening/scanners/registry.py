"""The scanners the product knows: one line per built-in scanner module, and the names of the
ignore files it honours when it has any (so a repository without them loads no scanner)."""

from __future__ import annotations

import importlib

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing (lint starts fast)
if TYPE_CHECKING:
    from hardening.scanners.base import Scanner

BUILTIN = (
    "hardening.scanners.trivy",
    "hardening.scanners.grype",
)
# The names of each built-in scanner's ``ignore_files`` (tests/test_registries.py keeps them
# equal); a module not listed here is imported to ask it.
IGNORE_FILES: dict[str, tuple[str, ...]] = {
    "hardening.scanners.trivy": (".trivyignore", ".trivyignore.yaml"),
    "hardening.scanners.grype": (".grype.yaml",),
}

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


def ignore_file_names() -> tuple[str, ...]:
    """Every ignore file a known scanner reads, by name."""
    names: list[str] = []
    for module in BUILTIN:
        listed = IGNORE_FILES.get(module)
        if listed is None:
            scanner: Scanner = importlib.import_module(module).SCANNER
            listed = tuple(name for name, _ in scanner.ignore_files)
        names.extend(listed)
    names.extend(name for scanner in _EXTRA.values() for name, _ in scanner.ignore_files)
    return tuple(dict.fromkeys(names))


def get(name: str) -> Scanner | None:
    return scanners().get(name.strip().lower())


def names() -> tuple[str, ...]:
    return tuple(scanners())


def default_names() -> tuple[str, ...]:
    return tuple(name for name, scanner in scanners().items() if scanner.default)


def rank(tool: str) -> int:
    scanner = scanners().get(tool)
    return scanner.rank if scanner is not None else 99
