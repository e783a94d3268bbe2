"""What a scanner is to the product: the extension point for vulnerability scanners.

A scanner is one module in ``hardening/scanners/`` that defines ``SCANNER``, a
:class:`Scanner` (its command, version probe, how it runs, its report parser, the ignore
files it honours, its name, vendor and link), plus one line in ``registry.BUILTIN``. The CLI,
the action, the merge, SARIF, the Markdown report, the scorecard and the GitLab report take
the list of scanners from the registry, or from the tool runs that carry these names.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hardening.model import Finding
from hardening.scanners.common import ParsedReport

if TYPE_CHECKING:
    from hardening.adapters.image_source import ImageSource
    from hardening.request import ScanRequest


@dataclass(frozen=True, slots=True)
class ScanJob:
    """One scanner's run on the run's image: in the engine (``source.engine_id``) and, on
    demand, as the run's one docker-archive (``archive``)."""

    request: ScanRequest
    executable: str
    source: ImageSource
    workdir: Path  # the scanner's own folder inside the run's temporary folder
    cache: Path  # its database cache

    @property
    def archive(self) -> Path:
        """The run's docker-archive, exported on first demand (once for every consumer)."""
        return self.source.archive()

    @property
    def reads_archive(self) -> bool:
        """Read the archive rather than the engine: there is no engine image, or the archive
        is made anyway, so reading the engine would export the image a second time."""
        return not self.source.engine_id or self.source.archive_wanted


@dataclass(frozen=True, slots=True)
class ScanOutput:
    findings: tuple[Finding, ...] = ()
    problem: str = ""  # why the run failed or is incomplete; "" when it succeeded
    warnings: tuple[str, ...] = ()
    version: str = ""  # as the report says, when the version probe said nothing
    # A report of every package the scanner catalogued (Trivy's --list-all-pkgs JSON), from
    # which the SBOM is made without cataloguing the image a second time.
    package_list: Path | None = None


@dataclass(frozen=True, slots=True)
class Scanner:
    name: str  # as users write it in --scanners
    display_name: str
    vendor: str
    information_uri: str
    executable: str  # the program to find on PATH (or beside this Python)
    version_args: tuple[str, ...]  # arguments that print {"Version"|"version": ...} as JSON
    scan: Callable[[ScanJob], ScanOutput]
    parse: Callable[[Any, str], ParsedReport]
    looks_like: Callable[[Any], bool]  # is this JSON document this scanner's report?
    # The repository files it honours, each with the reader that turns it into policy rules
    # (applied by the product's policy, so suppressions stay visible with their reason).
    ignore_files: tuple[tuple[str, Callable[[str, str], list[Any]]], ...] = ()
    default: bool = True  # run when --scanners is not given
    rank: int = 50  # merge order: whose location and fixed version win on a tie
    # Its report read straight from the file's bytes (None: not its report), faster and
    # leaner than ``parse`` of the decoded document; without it, ``looks_like`` and ``parse``.
    parse_json: Callable[[bytes, str], ParsedReport | None] | None = None
