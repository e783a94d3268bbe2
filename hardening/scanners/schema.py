"""The parts of Trivy's and Grype's JSON reports that the parsers read, as msgspec structs.

Decoding into these skips every other field without building it (a report of 100,000
findings is mostly text the product never reads). Scalars the parsers coerce themselves stay
``Any``, so a report reads exactly as it did as plain JSON. What is the same for every package
a vulnerability is found in (its CVSS list, references, related vulnerabilities) is kept raw:
the parsers read each distinct one once, by its bytes.

A large report is read in one pass (``ReportText``: the top level of both tools' reports,
every finding in it read whole, with text typed as text). A report with anything of another
type where text belongs does not fit, and is read as before: the top level first, then each
item on its own, as text when it fits and loosely (``Any``) when it does not.
"""

from __future__ import annotations

import functools
import re
from typing import Any

import msgspec

from hardening import codec

UNSET = msgspec.UNSET
NULL = msgspec.Raw(b"null")
ABSENT = msgspec.Raw()  # a key the document does not have (``null`` is b"null")
RAW_LIST = list[msgspec.Raw] | None  # a list whose items are read one at a time


def raw_bytes(raw: msgspec.Raw) -> bytes:
    return bytes(raw) or b"null"


def present(raw: msgspec.Raw) -> bool:
    return len(memoryview(raw)) > 0


def decode_raw(raw: msgspec.Raw) -> Any:
    return msgspec.json.decode(raw_bytes(raw))


# Trivy (SchemaVersion 2, and the legacy list of results before 0.20).


class TrivyVulnerability(msgspec.Struct):
    VulnerabilityID: Any = None
    PkgName: Any = None
    PkgPath: Any = None
    PkgIdentifier: Any = None
    InstalledVersion: Any = None
    FixedVersion: Any = None
    Status: Any = None
    Layer: Any = None
    SeveritySource: Any = None
    Severity: Any = None
    Title: Any = None
    Description: Any = None
    VendorIDs: Any = None
    PrimaryURL: Any = None
    References: msgspec.Raw = NULL
    CVSS: msgspec.Raw = NULL


class TrivyPkgIdentifier(msgspec.Struct):
    PURL: str = ""


class TrivyLayer(msgspec.Struct):
    DiffID: str = ""


class TrivyVulnerabilityText(msgspec.Struct):
    """A vulnerability whose fields are all text where Trivy writes text: read first, and
    whatever does not fit is read again as a ``TrivyVulnerability``. Text is compared as it
    is (a CVE's parts are read once per distinct value), which the loose ``Any`` is not: 1,
    1.0 and true are equal keys with different text. The description, long and the same in
    every package, stays raw like the CVSS and references, read once per distinct one."""

    VulnerabilityID: str | None = None
    PkgName: str | None = None
    PkgPath: str | None = None
    PkgIdentifier: TrivyPkgIdentifier | None = None
    InstalledVersion: str | None = None
    FixedVersion: str | None = None
    Status: str | None = None
    Layer: TrivyLayer | None = None
    SeveritySource: str | None = None
    Severity: str | None = None
    Title: str | None = None
    Description: msgspec.Raw = NULL
    VendorIDs: list[str] | None = None
    PrimaryURL: str | None = None
    References: msgspec.Raw = NULL
    CVSS: msgspec.Raw = NULL


class TrivyResult(msgspec.Struct):
    Target: Any = msgspec.UNSET
    Type: Any = msgspec.UNSET
    Vulnerabilities: list[msgspec.Raw] | None = None  # each read into a TrivyVulnerability
    Secrets: Any = None
    Misconfigurations: Any = None


class TrivyResultText(msgspec.Struct):
    Target: Any = msgspec.UNSET
    Type: Any = msgspec.UNSET
    Vulnerabilities: list[TrivyVulnerabilityText] | None = None
    Secrets: Any = None
    Misconfigurations: Any = None


class TrivyReport(msgspec.Struct):
    SchemaVersion: msgspec.Raw = ABSENT
    ArtifactName: msgspec.Raw = ABSENT
    ArtifactType: Any = None
    Trivy: Any = None
    Results: msgspec.Raw = ABSENT  # read as list[TrivyResult] once it is known to be Trivy's


# Grype (0.7 to 0.116).


class GrypeVulnerability(msgspec.Struct):
    id: Any = None
    dataSource: Any = None
    namespace: Any = None
    severity: Any = None
    description: Any = None
    fix: Any = None
    risk: Any = None
    epss: Any = None
    knownExploited: Any = None
    urls: msgspec.Raw = NULL
    cvss: msgspec.Raw = NULL


class GrypeArtifact(msgspec.Struct):
    name: Any = None
    version: Any = None
    type: Any = None
    purl: Any = None
    locations: Any = None


class GrypeMatch(msgspec.Struct):
    vulnerability: msgspec.Raw = ABSENT  # read into a GrypeVulnerability once per distinct one
    artifact: GrypeArtifact | None = None
    relatedVulnerabilities: msgspec.Raw = NULL


class GrypeLocation(msgspec.Struct):
    path: str = ""
    layerID: str = ""


class GrypeArtifactText(msgspec.Struct):
    """An artifact whose fields are all text where Grype writes text (read first; one that
    does not fit is read again as a ``GrypeArtifact``)."""

    name: str | None = None
    version: str | None = None
    type: str | None = None
    purl: str | None = None
    locations: list[GrypeLocation] | None = None


class GrypeMatchText(msgspec.Struct):
    vulnerability: msgspec.Raw = ABSENT
    artifact: GrypeArtifactText | None = None
    relatedVulnerabilities: msgspec.Raw = NULL


class GrypeReport(msgspec.Struct):
    matches: msgspec.Raw = ABSENT  # read as list[GrypeMatch] once it is known to be Grype's
    descriptor: Any = None
    source: Any = None


# Both, in one pass.


class ReportText(msgspec.Struct):
    """The top level of Trivy's and of Grype's report at once, each finding read whole as
    text (``TrivyVulnerabilityText``, ``GrypeMatchText``): one pass over a large report,
    whichever tool wrote it. A report that does not fit is read as it always was, by the
    structs above (``decode_report_text`` says None)."""

    SchemaVersion: msgspec.Raw = ABSENT
    ArtifactName: msgspec.Raw = ABSENT
    ArtifactType: Any = None
    Trivy: Any = None
    Results: list[TrivyResultText] | msgspec.UnsetType | None = UNSET
    matches: list[GrypeMatchText] | msgspec.UnsetType | None = UNSET
    descriptor: Any = None
    source: Any = None


_LEADING_SPACE = re.compile(rb"[ \t\n\r\x0b\x0c]*")  # what bytes.lstrip() strips


def first_byte(data: Any) -> bytes:
    """The first byte after leading white space, of bytes or of any buffer."""
    end = _LEADING_SPACE.match(data).end()  # type: ignore[union-attr]
    return bytes(data[end : end + 1])


def decode_report_text(data: Any) -> ReportText | None:
    """Trivy's or Grype's report in one pass, when it is a JSON object that fits
    ``ReportText``; None for anything else (not an object, not JSON, a field of another
    type): the parsers then read it as they always did, errors and all."""
    if first_byte(data) != b"{":
        return None
    try:
        with codec.paused_gc():  # a few hundred thousand objects, no cycles among them
            report: ReportText = _report_text_decoder().decode(data)
    except msgspec.MsgspecError:
        return None
    return report


@functools.cache
def _report_text_decoder() -> msgspec.json.Decoder[ReportText]:
    return msgspec.json.Decoder(ReportText)
