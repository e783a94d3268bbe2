"""The rest of the model: what a vulnerability finding carries (its package, every source's
CVSS, its KEV and EPSS marks) and what one run produced besides its findings (the stages, the
image, the runtime facts, the SBOM, the signatures, the comparison, the base recommendation),
with the :class:`Report` that carries them all to the formatters and the gate.

``hardening.model`` names every type here too; they live apart so that reading and judging the
findings of a Dockerfile, as ``hardening lint`` does, does not build the types of a whole run.
Nothing in this module does I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from hardening.model import (
    NOT_SCANNERS,
    SEVERITIES_DESCENDING,
    Finding,
    GateVerdict,
    Notification,
    RunStatus,
    Severity,
    SignatureOutcome,
    ToolRun,
)


@dataclass(frozen=True, slots=True)
class Cvss:
    """One source's CVSS assessment of a vulnerability (NVD, the distribution, GHSA, ...)."""

    source: str
    version: str  # "2.0", "3.1", "4.0", ...
    vector: str = ""
    score: float | None = None


@dataclass(frozen=True, slots=True)
class Kev:
    """On CISA's Known Exploited Vulnerabilities catalog: exploited in the wild."""

    date_added: str = ""  # YYYY-MM-DD
    due_date: str = ""  # CISA's remediation deadline for US federal agencies
    ransomware: str = ""  # knownRansomwareCampaignUse: "Known" or "Unknown"
    source: str = ""  # "grype" (its report), or "CISA KEV catalog 2025.08.25"


@dataclass(frozen=True, slots=True)
class Epss:
    """FIRST's Exploit Prediction Scoring System: the probability of exploitation in the next
    30 days (``score``), and the share of all scored CVEs at or below it (``percentile``)."""

    score: float
    percentile: float
    date: str = ""  # the date of the scores, YYYY-MM-DD
    source: str = ""  # "grype" (its report), or "EPSS scores of 2026-09-29"


@dataclass(frozen=True, slots=True)
class Package:
    """The software a vulnerability was found in."""

    name: str
    version: str = ""
    fixed_version: str = ""
    type: str = ""  # ecosystem as the scanner names it: deb, apk, python, npm, gobinary, ...
    purl: str = ""
    path: str = ""  # where in the image the package lives, when the scanner says


@dataclass(frozen=True, slots=True)
class StageResult:
    name: str
    status: RunStatus
    detail: str = ""
    duration_s: float = 0.0


@dataclass(frozen=True, slots=True)
class LayerInfo:
    diff_id: str
    created_by: str = ""  # the history entry that made this layer
    created: str = ""  # ISO-8601 creation time from the history
    size: int = 0


@dataclass(frozen=True, slots=True)
class ImageInfo:
    """What the pipeline knows about the image it scanned."""

    reference: str
    image_id: str = ""
    repo_digests: tuple[str, ...] = ()
    size: int = 0
    os: str = ""
    architecture: str = ""
    config: Mapping[str, Any] = field(default_factory=dict)
    layers: tuple[LayerInfo, ...] = ()
    history: tuple[Mapping[str, Any], ...] = ()
    archive: str = ""  # path of the exported docker-archive, when one was written
    built: bool = False  # built by this run (versus taken as it was)

    @property
    def digest(self) -> str:
        for entry in self.repo_digests:
            if "@" in entry:
                return entry.split("@", 1)[1]
        return ""


@dataclass(frozen=True, slots=True)
class ExploitData:
    """Where this run's KEV and EPSS marks came from, and what could not be had."""

    kev: str = ""  # "CISA KEV catalog 2025.08.25, fetched 2026-11-30"; "" when none was read
    epss: str = ""  # "EPSS scores of 2026-09-29 (model v2026.06.15)"
    problems: tuple[str, ...] = ()  # a source that could not be reached, or is too old


@dataclass(frozen=True, slots=True)
class RuntimeFacts:
    """What running the image showed, as the reports need it."""

    uid: int | None = None
    user_name: str = ""
    seccomp: int | None = None
    observed_by: str = ""
    trial_passed: bool = False
    trial_broken_by: str = ""
    trial_no_new_privs: bool | None = None
    recommended_flags: tuple[str, ...] = ()
    compose_snippet: str = ""


@dataclass(frozen=True, slots=True)
class SbomFacts:
    """The SBOM written beside the SARIF file, or why none was."""

    path: str = ""
    tool: str = ""
    tool_version: str = ""
    format: str = ""
    packages: int = 0
    by_type: tuple[tuple[str, int], ...] = ()
    error: str = ""


@dataclass(frozen=True, slots=True)
class SignatureCheck:
    """One image checked against the signature policy: a base image (its FROM line) or the
    scanned image (line 0). ``detail`` says who signed, or why it did not verify."""

    image: str  # the reference as written
    digest: str  # the digest whose signatures were checked
    policy: str  # the policy entry that applied: its pattern and where it is written
    requirement: str  # "key keys/cosign.pub", "keyless: identity ... from issuer ..."
    signature: SignatureOutcome
    detail: str = ""
    line: int = 0  # the FROM line; 0 for the scanned image
    provenance: SignatureOutcome = SignatureOutcome.NOT_REQUIRED
    provenance_detail: str = ""

    @property
    def passed(self) -> bool:
        return self.signature.passed and self.provenance.passed


@dataclass(frozen=True, slots=True)
class PublishOutcome:
    """What reporting to GitHub did: a comment posted or updated, a check run, or why not."""

    target: str  # "pull-request comment", "check run"
    done: bool
    detail: str


@dataclass(frozen=True, slots=True)
class Comparison:
    """What this pull request changes: the findings compared with its base commit's.

    ``compared`` is False when the base could not be had, built or scanned (``reason`` says
    why); every finding then counts as new. Fixed findings are the base's that are gone; they
    are never results of this run (they would open alerts), only listed.
    """

    base: str  # what was compared with: "base commit 1a2b3c4", "baseline file x.sarif"
    compared: bool
    reason: str = ""
    new: int = 0
    unchanged: int = 0
    fixed: tuple[Finding, ...] = ()
    scope_new_only: bool = False  # the gate counts only new findings
    new_by_severity: tuple[tuple[Severity, int], ...] = ()
    fixed_count: int | None = None  # when only a count is known (a baseline SARIF file)

    @property
    def gone(self) -> int:
        return len(self.fixed) if self.fixed_count is None else self.fixed_count

    @property
    def line(self) -> str:
        """"+3 new (1 high), -5 fixed, 40 unchanged"."""
        worst = [
            f"{n} {severity.value}"
            for severity, n in sorted(self.new_by_severity, key=lambda p: -p[0].rank)
            if n and severity >= Severity.HIGH
        ]
        new = f"+{self.new} new" + (f" ({', '.join(worst)})" if worst else "")
        return f"{new}, -{self.gone} fixed, {self.unchanged} unchanged"


@dataclass(frozen=True, slots=True)
class ImageMeasure:
    """One image pulled and scanned in this run for the base-image recommendation: every
    figure measured, none looked up. ``problem`` says why it could not be measured."""

    reference: str  # as a FROM line names it, without the digest
    digest: str = ""
    counts: tuple[tuple[Severity, int], ...] = ()  # vulnerabilities by severity
    fixable_critical: int = 0
    fixable_high: int = 0
    size: int = 0  # bytes, uncompressed, as the engine holds it
    packages: int | None = None  # OS packages in its package database; None: no database read
    os: str = ""  # its os-release name ("Distroless", "Debian GNU/Linux 12 (bookworm)")
    os_id: str = ""  # its os-release ID and VERSION_ID ("debian 12")
    eol: str = ""  # end of security support (YYYY-MM-DD) from the OS end-of-life table
    eol_passed: bool = False
    shells: tuple[str, ...] = ()
    package_managers: tuple[str, ...] = ()
    user: str = ""  # the default user; "" is root
    problem: str = ""

    def count(self, severity: Severity) -> int:
        return dict(self.counts).get(severity, 0)

    @property
    def critical_high(self) -> int:
        return self.count(Severity.CRITICAL) + self.count(Severity.HIGH)


@dataclass(frozen=True, slots=True)
class BaseCandidate:
    """A candidate base image, measured, with what changes against the current base."""

    measure: ImageMeasure
    why: str  # "newer patch version", "smaller variant", "minimal alternative", ...
    from_line: str  # the exact replacement FROM line, pinned by digest
    changes: tuple[str, ...] = ()  # "-12 high", "-240 packages", "-700 MB", "no shell"
    notes: tuple[str, ...] = ()  # compatibility: musl, no shell, a major version change


@dataclass(frozen=True, slots=True)
class BaseRecommendation:
    """A better base image for the final stage, measured in this run (opt-in); informational,
    it never changes the verdict. ``note`` says in one line why nothing was recommended."""

    base: str  # the base image as the final stage names it, ARGs substituted
    path: str = ""  # the Dockerfile
    line: int = 0  # its FROM line
    current: ImageMeasure | None = None
    candidates: tuple[BaseCandidate, ...] = ()  # measured, best first
    unmeasured: tuple[tuple[str, str], ...] = ()  # (reference, why it was not measured)
    recommended: bool = False  # the first candidate measured better than the current base
    note: str = ""
    scanners: tuple[str, ...] = ()
    duration_s: float = 0.0

    @property
    def best(self) -> BaseCandidate | None:
        return self.candidates[0] if self.recommended and self.candidates else None


@dataclass(frozen=True, slots=True)
class Report:
    """Everything one run produced, handed to the formatters and the gate."""

    findings: tuple[Finding, ...]
    tool_runs: tuple[ToolRun, ...] = ()
    stages: tuple[StageResult, ...] = ()
    notifications: tuple[Notification, ...] = ()
    image: ImageInfo | None = None
    dockerfile: str = ""  # repository-relative
    context: str = ""
    category: str = ""
    settings: tuple[tuple[str, str], ...] = ()  # settings in force, for the summary
    verdict: GateVerdict | None = None
    runtime: RuntimeFacts | None = None
    sbom: SbomFacts | None = None
    checklist: tuple[tuple[str, str], ...] = ()  # item -> evidence of the checks that ran
    details: tuple[tuple[str, str], ...] = ()  # (stage, long text such as a log tail)
    publishing: tuple[PublishOutcome, ...] = ()
    baseline: tuple[tuple[str, int], ...] = ()  # new / unchanged / fixed counts
    scanners: tuple[str, ...] = ()  # the scanners checklist item C15 expects to have run
    exploit_data: ExploitData | None = None  # the KEV and EPSS sources of this run
    signatures: tuple[SignatureCheck, ...] = ()  # each image the signature policy covered
    signatures_configured: bool = False  # the policy file asks for signature checks
    comparison: Comparison | None = None  # what this pull request changes, when compared
    base_recommendation: BaseRecommendation | None = None  # recommend-base: a better base
    parts: tuple[Report, ...] = ()  # several images in one run: each image's own report

    def scanner_runs(self) -> tuple[ToolRun, ...]:
        """One run per scanner, in the order they were asked for."""
        seen: dict[str, ToolRun] = {}
        for run in self.tool_runs:
            if run.scanner and run.name not in seen:
                seen[run.name] = run
        return tuple(seen.values())

    def scanner_names(self) -> tuple[str, ...]:
        """Every scanner of this report: expected, run, or named by a finding."""
        names = [*self.scanners, *(r.name for r in self.scanner_runs())]
        names += [t for f in self.findings for t in f.tools if t not in NOT_SCANNERS]
        return tuple(dict.fromkeys(names))

    def scanner_title(self, name: str) -> str:
        run = next((r for r in self.scanner_runs() if r.name == name), None)
        return run.title if run is not None else name[:1].upper() + name[1:]

    def active(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if not f.suppressed)

    def counts_by_severity(self, include_suppressed: bool = False) -> dict[Severity, int]:
        counts = {severity: 0 for severity in SEVERITIES_DESCENDING}
        for finding in self.findings if include_suppressed else self.active():
            counts[finding.severity] += 1
        return counts

    def failed_tools(self) -> tuple[ToolRun, ...]:
        return tuple(run for run in self.tool_runs if run.status is RunStatus.FAILED)
