"""What Trivy and Grype parsers share: the parsed-report type, ecosystems, ids and redaction."""

from __future__ import annotations

import functools
import hashlib
import re
from dataclasses import dataclass
from urllib.parse import unquote

from hardening.model import Finding, Package

CVE_RE = re.compile(r"^CVE-\d{4}-\d{4,}$", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class ParsedReport:
    tool: str  # "trivy" or "grype"
    version: str
    findings: tuple[Finding, ...]
    source: str = ""  # the file it came from, when it came from one
    target: str = ""  # what the tool scanned, as it names it


# Both tools' package type names, mapped to one ecosystem name per package universe.
_ECOSYSTEMS = {
    # OS packages
    "apk": "apk", "alpine": "apk", "wolfi": "apk", "chainguard": "apk",
    "deb": "deb", "debian": "deb", "ubuntu": "deb",
    "rpm": "rpm", "redhat": "rpm", "centos": "rpm", "oracle": "rpm", "amazon": "rpm",
    "rocky": "rpm", "alma": "rpm", "fedora": "rpm", "suse": "rpm", "opensuse": "rpm",
    "sles": "rpm", "photon": "rpm", "cbl-mariner": "rpm", "azurelinux": "rpm", "ol": "rpm",
    # language packages
    "python": "pypi", "python-pkg": "pypi", "pip": "pypi", "pipenv": "pypi", "poetry": "pypi",
    "pypi": "pypi", "uv": "pypi", "conda-pkg": "conda", "conda": "conda",
    "go-module": "golang", "gobinary": "golang", "gomod": "golang", "golang": "golang",
    "java-archive": "maven", "jar": "maven", "pom": "maven", "gradle": "maven",
    "maven": "maven", "jenkins-plugin": "maven", "sbt": "maven",
    "npm": "npm", "node-pkg": "npm", "yarn": "npm", "pnpm": "npm", "bun": "npm",
    "gem": "gem", "gemspec": "gem", "bundler": "gem",
    "rust-crate": "cargo", "cargo": "cargo", "rust-binary": "cargo", "rustbinary": "cargo",
    "php-composer": "composer", "composer": "composer", "composer-vendor": "composer",
    "dotnet": "nuget", "nuget": "nuget", "dotnet-core": "nuget", "dotnet-deps": "nuget",
    "packages-props": "nuget",
    "binary": "binary", "hex": "hex", "pub": "pub", "swift": "swift", "cocoapods": "cocoapods",
}  # fmt: skip


def ecosystem(package_type: str) -> str:
    key = package_type.strip().lower()
    return _ECOSYSTEMS.get(key, key)


def purl_type(purl: str) -> str:
    match = re.match(r"^pkg:([^/]+)/", purl)
    return match.group(1).lower() if match else ""


def purl_name(purl: str) -> str:
    """namespace/name of a PURL, without version, qualifiers or subpath."""
    body = purl.split("?", 1)[0].split("#", 1)[0]
    body = body.split("/", 1)[1] if "/" in body else body
    body = body.rsplit("@", 1)[0] if "@" in body else body
    return unquote(body)


def normalize_name(eco: str, name: str) -> str:
    """Package names as each ecosystem compares them."""
    if eco == "pypi":
        return re.sub(r"[-_.]+", "-", name).lower()
    if eco in ("npm", "deb", "apk", "rpm", "gem", "cargo", "composer", "nuget"):
        return name.lower()
    return name


def package_key(package: Package) -> tuple[str, str]:
    """(ecosystem, name) under which both tools' reports of a package meet.

    The PURL type wins over the tool's own type name. For Maven the name is the PURL's
    ``group/artifact`` when a PURL exists, since Trivy says ``group:artifact`` and Grype says
    ``artifact``. OS package names drop the distro namespace (Trivy ``debian``, Grype
    ``debian``; for Oracle Linux both say ``ol`` or ``oracle``).
    """
    return _package_key(package.purl, package.type, package.name)


@functools.lru_cache(maxsize=1 << 16)  # asked for every finding twice in a merge
def _package_key(purl: str, kind: str, name: str) -> tuple[str, str]:
    eco = ecosystem(purl_type(purl) or kind)
    if eco == "maven":
        if purl:
            name = purl_name(purl).replace("/", ":")
    return eco, normalize_name(eco, name)


def redact(secret: str) -> str:
    """A redacted form of a secret: its first 4 characters and a short hash, never more."""
    digest = hashlib.sha256(secret.encode()).hexdigest()[:8]
    return f"{secret[:4]}…(sha256:{digest})" if len(secret) > 8 else f"…(sha256:{digest})"


def purl_matches(expected: str, actual: str) -> bool:
    """PURLs compare without qualifiers or subpath; one without a version matches every version."""
    if not expected.startswith("pkg:") or not actual:
        return False
    want = expected.split("?", 1)[0].split("#", 1)[0]
    have = actual.split("?", 1)[0].split("#", 1)[0]
    if want.split("/", 1)[0].lower() != have.split("/", 1)[0].lower():
        return False
    if "@" not in want.rsplit("/", 1)[-1]:
        return purl_name(want).lower() == purl_name(have).lower()
    return want.lower() == have.lower()
