"""What Trivy and Grype parsers share: the parsed-report type, ecosystems, ids and redaction."""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
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


_PURL_TYPE = re.compile(r"^pkg:([^/]+)/")
_PYPI_SEPARATORS = re.compile(r"[-_.]+")


def purl_type(purl: str) -> str:
    match = _PURL_TYPE.match(purl) if purl.startswith("pkg:") else None
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
        return _PYPI_SEPARATORS.sub("-", name).lower()
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


# The fields the parsers and the merge hand ``maker``'s constructors by position, in this
# order: a vulnerability finding's (``fix``, ``confidence`` and ``suppression`` by keyword).
FINDING_FIELDS = (
    "rule_id", "kind", "severity", "title", "message", "cvss_score", "package", "location",
    "tools", "tool_severities", "references", "aliases", "checklist", "properties",
    "fix_status", "severity_source", "cvss", "kev", "epss",
)  # fmt: skip
PACKAGE_FIELDS = ("name", "version", "fixed_version", "type", "purl", "path")


@functools.cache
def maker(cls: type, positional: tuple[str, ...] = ()) -> Callable[..., Any]:
    """A faster constructor of a frozen, slotted dataclass (Finding, Package, Location): an
    instance equal in every field to ``cls(...)``, made by setting each slot directly rather
    than through the frozen ``__init__`` (``object.__setattr__`` once per field). Parsers and
    the merge make a few hundred thousand of them.

    It takes the fields named in ``positional`` by position, in that order (a field the class
    does not have fails here, at import), and every other field by keyword, with the class's
    own defaults. A class it cannot make the same way (no slots, ``__post_init__``, fields
    outside ``__init__``) is made by the class itself."""
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = [name for name in positional if name not in fields]
    if unknown:
        raise TypeError(f"{cls.__name__} has no field {', '.join(unknown)}")
    options = getattr(cls, "__dataclass_params__", None)
    generated = options is not None and options.init and "__slots__" in vars(cls)
    simple = all(f.init and not f.kw_only for f in fields.values())
    if generated and simple and not hasattr(cls, "__post_init__"):
        return _generated(cls, positional)

    def by_the_class(*values: Any, **named: Any) -> Any:
        return cls(**dict(zip(positional, values, strict=True)), **named)

    return by_the_class


def _generated(cls: type, positional: tuple[str, ...]) -> Callable[..., Any]:
    names: dict[str, Any] = {"_new": object.__new__, "_cls": cls, "_missing": dataclasses.MISSING}
    params, keywords, body = list(positional), [], []
    for i, f in enumerate(dataclasses.fields(cls)):
        names[f"_set{i}"] = getattr(cls, f.name).__set__
        value = f.name
        if f.name in positional:
            pass
        elif f.default is not dataclasses.MISSING:
            names[f"_default{i}"] = f.default
            keywords.append(f"{f.name}=_default{i}")
        elif f.default_factory is not dataclasses.MISSING:
            names[f"_factory{i}"] = f.default_factory
            keywords.append(f"{f.name}=_missing")
            value = f"_factory{i}() if {f.name} is _missing else {f.name}"
        else:
            keywords.append(f.name)
        body.append(f"    _set{i}(self, {value})\n")
    signature = ", ".join([*params, *(["*", *keywords] if keywords else [])])
    source = (
        f"def make({signature}):\n    self = _new(_cls)\n" + "".join(body) + "    return self\n"
    )
    exec(source, names)  # noqa: S102 - code made from the class's own field names only
    made: Callable[..., Any] = names["make"]
    return made
