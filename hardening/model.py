"""The one currency of the pipeline: immutable findings and the report that carries them.

Every producer (scanner parsers, hardening rules, runtime probes) emits :class:`Finding`;
everything downstream (merge, SARIF, Markdown, GitHub, the gate) reads a :class:`Report`.
Nothing in this module does I/O.
"""

from __future__ import annotations

import enum
import functools
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing (lint starts fast)
if TYPE_CHECKING:  # named here, defined in model_run
    from typing import Any

    from hardening.model_run import BaseCandidate as BaseCandidate
    from hardening.model_run import BaseRecommendation as BaseRecommendation
    from hardening.model_run import Comparison as Comparison
    from hardening.model_run import Cvss as Cvss
    from hardening.model_run import Epss as Epss
    from hardening.model_run import ExploitData as ExploitData
    from hardening.model_run import ImageInfo as ImageInfo
    from hardening.model_run import ImageMeasure as ImageMeasure
    from hardening.model_run import Kev as Kev
    from hardening.model_run import LayerInfo as LayerInfo
    from hardening.model_run import Package as Package
    from hardening.model_run import PublishOutcome as PublishOutcome
    from hardening.model_run import Report as Report
    from hardening.model_run import RuntimeFacts as RuntimeFacts
    from hardening.model_run import SbomFacts as SbomFacts
    from hardening.model_run import SignatureCheck as SignatureCheck
    from hardening.model_run import StageResult as StageResult

# Defined in ``hardening.model_run`` and named here as well, made on first use: reading and
# judging the findings of a Dockerfile (``hardening lint``) needs none of them.
RUN_TYPES = frozenset({
    "BaseCandidate", "BaseRecommendation", "Comparison", "Cvss", "Epss", "ExploitData",
    "ImageInfo", "ImageMeasure", "Kev", "LayerInfo", "Package", "PublishOutcome", "Report",
    "RuntimeFacts", "SbomFacts", "SignatureCheck", "StageResult",
})  # fmt: skip


def __getattr__(name: str) -> object:
    if name not in RUN_TYPES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from hardening import model_run

    value: object = getattr(model_run, name)
    globals()[name] = value  # asked for once: later lookups find it here
    return value


class Severity(enum.Enum):
    """One ordered severity scale for every source.

    ``NEGLIGIBLE`` (Grype) and ``UNKNOWN`` (Trivy and Grype) are kept as they are and rank
    below ``LOW``, so a default gate of ``high`` or even ``low`` never fails on them.
    """

    UNKNOWN = "unknown"
    NEGLIGIBLE = "negligible"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return _SEVERITY_RANK[self]

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Severity):
            return NotImplemented
        return self.rank < other.rank

    def __le__(self, other: object) -> bool:
        if not isinstance(other, Severity):
            return NotImplemented
        return self.rank <= other.rank

    def __gt__(self, other: object) -> bool:
        if not isinstance(other, Severity):
            return NotImplemented
        return self.rank > other.rank

    def __ge__(self, other: object) -> bool:
        if not isinstance(other, Severity):
            return NotImplemented
        return self.rank >= other.rank

    @classmethod
    def parse(cls, text: str | None) -> Severity:
        """Read a severity as any tool spells it ("HIGH", "High", "moderate", "info")."""
        if not text:
            return cls.UNKNOWN
        key = text.strip().lower()
        return _SEVERITY_ALIASES.get(key, cls.UNKNOWN)

    @property
    def security_severity(self) -> float:
        """A representative score on GitHub's ``security-severity`` bands.

        GitHub reads >= 9.0 as critical, 7.0-8.9 high, 4.0-6.9 medium, 0.1-3.9 low.
        """
        return _SECURITY_SEVERITY[self]

    # Every mapping of a severity onto another tool's scale, in one place.

    @property
    def sarif_level(self) -> str:
        """SARIF ``level``: error, warning or note."""
        if self >= Severity.HIGH:
            return "error"
        if self is Severity.MEDIUM:
            return "warning"
        return "note"

    @property
    def problem_severity(self) -> str:
        """SARIF ``problem.severity`` property (GitHub's non-security severity)."""
        return {"error": "error", "warning": "warning"}.get(self.sarif_level, "recommendation")

    @property
    def workflow_level(self) -> str:
        """GitHub workflow command: ``::error``, ``::warning`` or ``::notice``."""
        return {"error": "error", "warning": "warning"}.get(self.sarif_level, "notice")

    @property
    def annotation_level(self) -> str:
        """Check-run annotation level: failure, warning or notice."""
        return {"error": "failure", "warning": "warning"}.get(self.sarif_level, "notice")

    @property
    def gitlab_severity(self) -> str:
        """GitLab security report severity."""
        return _GITLAB_SEVERITY[self]


_SEVERITY_RANK = {
    Severity.UNKNOWN: 0,
    Severity.NEGLIGIBLE: 1,
    Severity.LOW: 2,
    Severity.MEDIUM: 3,
    Severity.HIGH: 4,
    Severity.CRITICAL: 5,
}

_GITLAB_SEVERITY = {
    Severity.CRITICAL: "Critical",
    Severity.HIGH: "High",
    Severity.MEDIUM: "Medium",
    Severity.LOW: "Low",
    Severity.NEGLIGIBLE: "Info",
    Severity.UNKNOWN: "Unknown",
}

_SEVERITY_ALIASES = {
    "critical": Severity.CRITICAL,
    "high": Severity.HIGH,
    "important": Severity.HIGH,
    "medium": Severity.MEDIUM,
    "moderate": Severity.MEDIUM,
    "low": Severity.LOW,
    "negligible": Severity.NEGLIGIBLE,
    "info": Severity.LOW,
    "informational": Severity.LOW,
    "unknown": Severity.UNKNOWN,
    "none": Severity.UNKNOWN,
}

_SECURITY_SEVERITY = {
    Severity.CRITICAL: 9.5,
    Severity.HIGH: 8.0,
    Severity.MEDIUM: 5.5,
    Severity.LOW: 2.0,
    Severity.NEGLIGIBLE: 0.0,
    Severity.UNKNOWN: 0.0,
}
# GitHub's security-severity bands (inclusive): a score outside its severity's band would make
# GitHub show another severity than the one reported.
SECURITY_SEVERITY_BANDS = {
    Severity.CRITICAL: (9.0, 10.0),
    Severity.HIGH: (7.0, 8.9),
    Severity.MEDIUM: (4.0, 6.9),
    Severity.LOW: (0.1, 3.9),
}

SEVERITIES_DESCENDING: tuple[Severity, ...] = tuple(sorted(Severity, reverse=True))

# Tools that produce findings and are not vulnerability scanners.
NOT_SCANNERS = frozenset({"docker-hardening", "runtime"})

# The key of Finding.fingerprint in SARIF partialFingerprints (read back for baselines).
FINGERPRINT_KEY = "dockerHardeningFinding/v1"


class FixStatus(enum.Enum):
    """Whether a fix exists for a vulnerability, as the scanners' data sources say.

    Trivy's ``Status`` and Grype's ``fix.state`` meet here. Only ``FIXED`` has a fixed version;
    every other status counts as unfixed (``ignore-unfixed`` suppresses them and says which).
    """

    FIXED = "fixed"
    AFFECTED = "affected"  # no fix yet
    WILL_NOT_FIX = "will_not_fix"
    FIX_DEFERRED = "fix_deferred"
    END_OF_LIFE = "end_of_life"
    UNDER_INVESTIGATION = "under_investigation"
    NOT_AFFECTED = "not_affected"
    UNKNOWN = "unknown"

    @classmethod
    def parse(cls, text: object) -> FixStatus | None:
        if not isinstance(text, str) or not text.strip():
            return None
        key = text.strip().lower().replace("-", "_").replace(" ", "_")
        return _FIX_STATUS_ALIASES.get(key, cls.UNKNOWN)

    @property
    def label(self) -> str:
        return _FIX_STATUS_LABELS[self]


_FIX_STATUS_ALIASES = {
    "fixed": FixStatus.FIXED,
    "affected": FixStatus.AFFECTED,
    "not_fixed": FixStatus.AFFECTED,  # Grype
    "will_not_fix": FixStatus.WILL_NOT_FIX,
    "wont_fix": FixStatus.WILL_NOT_FIX,  # Grype
    "fix_deferred": FixStatus.FIX_DEFERRED,
    "end_of_life": FixStatus.END_OF_LIFE,
    "under_investigation": FixStatus.UNDER_INVESTIGATION,
    "not_affected": FixStatus.NOT_AFFECTED,
    "unknown": FixStatus.UNKNOWN,
}
_FIX_STATUS_LABELS = {
    FixStatus.FIXED: "fixed",
    FixStatus.AFFECTED: "no fix yet",
    FixStatus.WILL_NOT_FIX: "will not fix",
    FixStatus.FIX_DEFERRED: "fix deferred",
    FixStatus.END_OF_LIFE: "end of life: no fix will come",
    FixStatus.UNDER_INVESTIGATION: "under investigation",
    FixStatus.NOT_AFFECTED: "not affected",
    FixStatus.UNKNOWN: "fix status unknown",
}


@functools.cache  # a handful of names, asked for once per CVSS entry of every finding
def normalize_source(source: str) -> str:
    """One name per data source, as both tools spell it (nvd@nist.gov, github, ghsa)."""
    key = source.strip().lower()
    key = key.split(":", 1)[0].split("@", 1)[0]
    return {"nist": "nvd", "github": "ghsa", "nvd.nist.gov": "nvd"}.get(key, key)


class Kind(enum.Enum):
    VULNERABILITY = "vulnerability"
    SECRET = "secret"
    MISCONFIGURATION = "misconfiguration"
    RUNTIME = "runtime"


@dataclass(frozen=True, slots=True)
class Location:
    """Where a finding points.

    ``path`` is repository-relative (a Dockerfile or compose file) when known. ``image_path``
    and ``layer`` say where inside the image the finding lives.
    """

    path: str = ""
    line: int = 0
    end_line: int = 0
    column: int = 0
    image_path: str = ""
    layer: str = ""  # layer diff id (sha256:...)
    note: str = ""  # why the location is approximate, if it is


@dataclass(frozen=True, slots=True)
class Suppression:
    """Why a finding does not count: an ignore entry, VEX statement or inline comment."""

    kind: str  # "external" (config, ignore file, VEX) or "inSource" (inline comment)
    justification: str
    source: str = ""  # the file or rule that suppressed it


@dataclass(frozen=True, slots=True)
class Finding:
    """One thing wrong with the image, its Dockerfile, its compose file or its runtime.

    ``rule_id`` is the vulnerability id for vulnerabilities (the CVE where one exists) and the
    rule id (for example ``DH-D101``) for everything else. ``aliases`` keeps every other id a
    tool used for the same vulnerability (GHSA, ELSA, ...).
    """

    rule_id: str
    kind: Kind
    severity: Severity
    title: str
    message: str
    cvss_score: float | None = None
    package: Package | None = None
    location: Location = field(default_factory=Location)
    tools: tuple[str, ...] = ()
    tool_severities: tuple[tuple[str, Severity], ...] = ()
    references: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()
    checklist: tuple[str, ...] = ()  # C01..C18 items this finding serves
    fix: str = ""
    confidence: str = "high"  # high, medium, low
    suppression: Suppression | None = None
    properties: tuple[tuple[str, str], ...] = ()
    fix_status: FixStatus | None = None  # vulnerabilities only
    severity_source: str = ""  # the data source whose rating set ``severity`` (debian, nvd, ...)
    cvss: tuple[Cvss, ...] = ()  # every source's CVSS vector and score
    kev: Kev | None = None  # vulnerabilities on CISA's KEV catalog
    epss: Epss | None = None  # vulnerabilities with an EPSS score

    @property
    def fixable(self) -> bool:
        return bool(self.package and self.package.fixed_version) or (
            self.kind is not Kind.VULNERABILITY and bool(self.fix)
        )

    @property
    def suppressed(self) -> bool:
        return self.suppression is not None

    @property
    def fingerprint(self) -> str:
        """A stable identity that survives line moves and re-runs.

        Vulnerabilities: (id, package name, package version, package path in the image).
        Other findings: (rule, file, image path, and the finding's own key property when it
        has one, e.g. the ENV name), never the line number.
        """
        if self.package is not None:
            parts = [self.rule_id, self.package.name, self.package.version, self.package.path]
        else:
            key = dict(self.properties).get("key", "")
            parts = [self.rule_id, self.location.path, self.location.image_path, key]
        digest: str = (_SHA256 or _sha256())("\x1f".join(parts).encode()).hexdigest()
        return digest[:32]

    @property
    def unfixed(self) -> bool:
        """A vulnerability with no fixed version to move to, whatever the reason."""
        if self.kind is not Kind.VULNERABILITY:
            return False
        if self.package is not None and self.package.fixed_version:
            return False
        return self.fix_status is not FixStatus.NOT_AFFECTED

    @property
    def fix_label(self) -> str:
        """ "Fixed in 1.2.3", "will not fix", "no fix yet", ... for reports."""
        if self.package is not None and self.package.fixed_version:
            return f"fixed in {self.package.fixed_version}"
        if self.fix_status is None or self.fix_status is FixStatus.FIXED:
            return FixStatus.AFFECTED.label
        return self.fix_status.label

    @property
    def security_severity(self) -> float | None:
        """The score GitHub sorts by, always inside the band of the reported severity.

        The CVSS score of the same source as the severity when it lies in that band, else a
        fixed score for the band; negligible is 0.0 and unknown has none.
        """
        if self.severity is Severity.UNKNOWN:
            return None
        band = SECURITY_SEVERITY_BANDS.get(self.severity)
        if band is None:
            return 0.0
        source = normalize_source(self.severity_source) if self.severity_source else ""
        if source:
            for entry in sorted(self.cvss, key=lambda c: c.version, reverse=True):
                score = entry.score
                if normalize_source(entry.source) == source and score is not None:
                    if band[0] <= score <= band[1]:
                        return float(score)
        return self.severity.security_severity

    @property
    def baseline_state(self) -> str:
        """"new" or "unchanged" when the run was compared with a base; "" otherwise."""
        return self.property("baseline")

    def with_suppression(self, suppression: Suppression) -> Finding:
        return replace(self, suppression=suppression)

    def property(self, name: str, default: str = "") -> str:
        return dict(self.properties).get(name, default)


_SHA256: Callable[[bytes], Any] | None = None


def _sha256() -> Callable[[bytes], Any]:
    """hashlib's SHA-256, imported on the first fingerprint (OpenSSL takes a while to load)."""
    global _SHA256
    import hashlib

    _SHA256 = hashlib.sha256
    return _SHA256


def sort_key(finding: Finding) -> tuple[int, float, int, int, float, str, str]:
    """What matters first: known exploited (CISA KEV) first, then the highest EPSS percentile
    (to the whole percent, so noise in the last digits does not outrank severity), then the
    most severe, fixable before unfixable, the highest CVSS score, then stable by id."""
    return (
        0 if finding.kev is not None else 1,
        -round(finding.epss.percentile, 2) if finding.epss is not None else 0.0,
        -finding.severity.rank,
        0 if finding.fixable else 1,
        -(finding.cvss_score or 0.0),
        finding.rule_id,
        finding.package.name if finding.package else finding.location.path,
    )


class RunStatus(enum.Enum):
    OK = "ok"
    FAILED = "failed"
    SKIPPED = "skipped"  # not asked for, not installed on the CLI, or not applicable
    NOT_IMPLEMENTED = "not-implemented"


@dataclass(frozen=True, slots=True)
class ToolRun:
    """What one external tool (trivy, grype, docker build, ...) did in this run."""

    name: str
    status: RunStatus
    version: str = ""
    reason: str = ""
    duration_s: float = 0.0
    information_uri: str = ""
    scanner: bool = False  # a vulnerability scanner (its own column, SARIF extension, ...)
    display_name: str = ""
    vendor: str = ""

    @property
    def title(self) -> str:
        return self.display_name or self.name


@dataclass(frozen=True, slots=True)
class Notification:
    """A failure or a skipped step, recorded as data so everything else is still published.

    Becomes a SARIF ``toolExecutionNotification`` and a line in the summary.
    """

    level: str  # "error", "warning" or "note"
    stage: str
    message: str


@dataclass(frozen=True, slots=True)
class GateVerdict:
    """The gate's decision as the reports show it."""

    passed: bool
    reason: str
    incomplete: bool = False  # something did not run or complete: exit 3
    exit_code: int = 0
    blocking: tuple[str, ...] = ()  # fingerprints of the findings that failed the gate


class SignatureOutcome(enum.Enum):
    """What checking one image against the signature policy showed."""

    VERIFIED = "verified"
    NOT_REQUIRED = "not required"  # the policy asks for no provenance for this image
    MISSING = "missing"  # no signature (or attestation) at all
    OTHER_SIGNER = "signed by someone else"  # valid, but not by the key or identity required
    INVALID = "invalid"  # present but does not verify, or is for another image

    @property
    def passed(self) -> bool:
        return self in (SignatureOutcome.VERIFIED, SignatureOutcome.NOT_REQUIRED)


# The informational finding that carries the recommended base image's FROM line (never gating).
BASE_RECOMMENDATION_RULE = "DH-B601"


def highest(severities: Iterable[Severity]) -> Severity:
    return max(severities, default=Severity.UNKNOWN)


@dataclass(frozen=True, slots=True)
class RuleDoc:
    """Documentation of one hardening rule or runtime probe, for `hardening rules` and SARIF.

    Vulnerability "rules" are not documented here: the SARIF writer makes them from findings.
    """

    id: str  # stable, e.g. DH-D101
    name: str  # kebab-case, e.g. final-stage-runs-as-root
    title: str  # one line
    severity: Severity
    kind: Kind
    checklist: tuple[str, ...]  # C01..C18
    why: str
    fix: str
    example_bad: str = ""
    example_good: str = ""
    owasp: str = ""  # e.g. A01
    cross_refs: tuple[str, ...] = ()  # e.g. ("hadolint:DL3002", "dockle:CIS-DI-0001")
    target: str = "dockerfile"  # dockerfile, image, compose, runtime, context

    @property
    def help_markdown(self) -> str:
        parts = [f"**{self.title}**", "", self.why, "", f"**Fix:** {self.fix}"]
        if self.example_bad:
            parts += ["", "Before:", "```dockerfile", self.example_bad, "```"]
        if self.example_good:
            parts += ["", "After:", "```dockerfile", self.example_good, "```"]
        if self.cross_refs:
            parts += ["", "Equivalent checks: " + ", ".join(self.cross_refs)]
        return "\n".join(parts)
