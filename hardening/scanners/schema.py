"""The parts of Trivy's and Grype's JSON reports that the parsers read, as msgspec structs.

Decoding into these skips every other field without building it (a report of 100,000
findings is mostly text the product never reads). Scalars the parsers coerce themselves stay
``Any``, so a report reads exactly as it did as plain JSON. What is the same for every package
a vulnerability is found in (its CVSS list, references, related vulnerabilities) is kept raw:
the parsers read each distinct one once, by its bytes.
"""

from __future__ import annotations

from typing import Any

import msgspec

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


class TrivyResult(msgspec.Struct):
    Target: Any = msgspec.UNSET
    Type: Any = msgspec.UNSET
    Vulnerabilities: list[msgspec.Raw] | None = None  # each read into a TrivyVulnerability
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


class GrypeReport(msgspec.Struct):
    matches: msgspec.Raw = ABSENT  # read as list[GrypeMatch] once it is known to be Grype's
    descriptor: Any = None
    source: Any = None
