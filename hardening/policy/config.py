"""The policy file (``.hardening.yml``): read once, validated with errors that name the file,
the line and the key, before anything runs.

    fail-on: high                  # critical, high, medium, low or none
    fail-on-kinds: [vulnerability, secret, misconfiguration, runtime]
    thresholds: {vulnerability: critical, runtime: none}   # per kind, over fail-on
    ignore-unfixed: false
    on-tool-failure: fail          # or warn
    fail-on-kev: true              # fail on any finding on CISA's KEV catalog, whatever its severity
    fail-on-epss: 0.1              # fail on any finding with an EPSS score of 0.1 or more
    kev-url: https://mirror.example.com/known_exploited_vulnerabilities.json   # default: CISA's
    epss-url: https://mirror.example.com/epss_scores-current.csv.gz           # default: FIRST's
    rules:
      disable: [DH-D107]
      severity: {DH-D119: medium}
    probes: {enabled: true, grace-period: 5, min-uid: 1000, allowed-capabilities: [NET_BIND_SERVICE]}
    minimal-bases: [registry.example.com/base/]
    ignores:
      - id: CVE-2023-4911          # a vulnerability id (or alias) or a rule id
        package: libc6             # optional
        path: /usr/lib/*           # optional glob of the path in the image
        file: services/*/Dockerfile  # optional glob of the repository file
        reason: not reachable: we never run setuid binaries   # required
        expires: 2027-01-31        # optional
    vex: [.vex/*.json]
    baseline: {sarif: baseline.sarif, new-only: true}
    signatures: [{images: docker.io/library/*, key: cosign.pub}]   # see docs/signatures.md
    recommend-base: true           # measure a better base image; see docs/recommend.md
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from hardening.errors import UsageError
from hardening.model import Kind, Severity
from hardening.policy.recommend import RecommendPolicy, enabled, read_recommend
from hardening.yamlsafe import YamlRefused, load_yaml_file

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing (lint starts fast)
if TYPE_CHECKING:
    from typing import Any

    from hardening.policy.ignores import Ignore
    from hardening.policy.signatures import SignaturePolicy

LEVELS = ("critical", "high", "medium", "low", "none")
TOP_KEYS = (
    "fail-on-kev", "fail-on-epss", "kev-url", "epss-url",
    "fail-on", "fail-on-kinds", "fail-on-scope", "thresholds", "ignore-unfixed", "on-tool-failure", "rules",
    "probes", "minimal-bases", "ignores", "vex", "baseline", "signatures", "recommend-base",
)  # fmt: skip
IGNORE_KEYS = ("id", "package", "version", "path", "file", "reason", "expires")
PROBE_KEYS = ("enabled", "grace-period", "min-uid", "allowed-capabilities")


@dataclass(frozen=True, slots=True)
class Config:
    """The policy file, read and validated (empty when there is none)."""

    path: str = ""  # "" when no file was read
    values: dict[str, Any] = field(default_factory=dict)  # the settings the file sets
    thresholds: tuple[tuple[Kind, Severity | None], ...] = ()
    disabled_rules: frozenset[str] = frozenset()
    severity_overrides: tuple[tuple[str, Severity], ...] = ()
    ignores: tuple[Ignore, ...] = ()
    minimal_bases: tuple[str, ...] = ()
    vex: tuple[str, ...] = ()
    baseline_sarif: str = ""
    new_only: bool = False
    allowed_capabilities: frozenset[str] = frozenset()
    signatures: tuple[SignaturePolicy, ...] = ()  # which images must be signed, by whom
    recommend: RecommendPolicy = field(default_factory=RecommendPolicy)  # recommend-base: options


class _Reader:
    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, node: Any, key: Any, problem: str, fix: str) -> UsageError:
        line = _line(node, key)
        where = f"{self.path}:{line}" if line else str(self.path)
        return UsageError(f"{where}: {key}: {problem}", fix)

    def level(self, node: Any, key: Any) -> Severity | None:
        value = str(node[key]).strip().lower()
        if value not in LEVELS:
            raise self.fail(
                node, key, f"{node[key]!r} is not a severity", f"use one of {', '.join(LEVELS)}"
            )
        return None if value == "none" else Severity(value)

    def kinds(self, node: Any, key: Any) -> frozenset[Kind]:
        items = node[key] if isinstance(node[key], list) else str(node[key]).split(",")
        out = set()
        for item in items:
            try:
                out.add(Kind(str(item).strip().lower()))
            except ValueError:
                raise self.fail(
                    node,
                    key,
                    f"unknown kind {item!r}",
                    f"use any of {', '.join(k.value for k in Kind)}",
                ) from None
        return frozenset(out)

    def flag(self, node: Any, key: Any) -> bool:
        if not isinstance(node[key], bool):
            raise self.fail(node, key, f"{node[key]!r} is not true or false", "write true or false")
        return bool(node[key])

    def number(self, node: Any, key: Any) -> float:
        """A finite number, 0 or more (.inf, .nan, true and text are refused)."""
        import math

        value = node[key]
        try:
            number = float(value) if isinstance(value, int | float) else math.nan
        except OverflowError:  # an integer too large for a float
            number = math.inf
        if isinstance(value, bool) or not math.isfinite(number) or number < 0:
            raise self.fail(
                node, key, f"{value!r} is not a finite number of 0 or more", "write a number"
            )
        return number

    def strings(self, node: Any, key: Any) -> tuple[str, ...]:
        value = node[key]
        if isinstance(value, str):
            return (value,)
        if not isinstance(value, list) or not all(isinstance(v, str | int) for v in value):
            raise self.fail(node, key, "expected a list of strings", f"write {key}: [a, b]")
        return tuple(str(v) for v in value)

    def mapping(self, node: Any, key: Any, allowed: tuple[str, ...] = ()) -> Any:
        value = node[key]
        if not hasattr(value, "items"):
            raise self.fail(
                node, key, "expected a mapping", f"write {key}: followed by indented keys"
            )
        for inner in value:
            if allowed and inner not in allowed:
                raise self.fail(value, inner, "unknown key", _suggest(str(inner), allowed))
        return value


def _line(node: Any, key: Any) -> int:
    try:
        if isinstance(key, int):
            return int(node.lc.item(key)[0]) + 1
        return int(node.lc.key(key)[0]) + 1
    except (AttributeError, KeyError, TypeError, IndexError):
        try:
            return int(node.lc.line) + 1
        except AttributeError:
            return 0


def _suggest(key: str, allowed: tuple[str, ...]) -> str:
    import difflib

    close = difflib.get_close_matches(key, allowed, n=1)
    return f"did you mean {close[0]!r}?" if close else f"known keys: {', '.join(allowed)}"


def load_config(path: Path, required: bool) -> Config:
    """Read and validate the policy file; a missing default file is an empty policy."""
    if not path.is_file():
        if required:
            raise UsageError(
                f"config file {path} does not exist", "create it or point the config input at it"
            )
        return Config()
    document = _document(path)
    if document is None:
        return Config(path=str(path))
    reader = _Reader(path)
    values: dict[str, Any] = enabled(reader, document)  # recommend-base: on or off
    thresholds: list[tuple[Kind, Severity | None]] = []
    disabled: set[str] = set()
    overrides: list[tuple[str, Severity]] = []
    ignores: list[Ignore] = []
    minimal: tuple[str, ...] = ()
    vex: tuple[str, ...] = ()
    baseline, new_only = "", False
    caps: frozenset[str] = frozenset()
    values.update(_exploit_settings(reader, document))
    for key in document:
        if key not in TOP_KEYS:
            raise reader.fail(document, key, "unknown setting", _suggest(str(key), TOP_KEYS))
        if key == "fail-on":
            values["fail-on"] = reader.level(document, key)
        elif key == "fail-on-kinds":
            values["fail-on-kinds"] = reader.kinds(document, key)
        elif key == "thresholds":
            node = reader.mapping(document, key, tuple(k.value for k in Kind))
            thresholds = [(Kind(str(kind)), reader.level(node, kind)) for kind in node]
        elif key == "ignore-unfixed":
            values["ignore-unfixed"] = reader.flag(document, key)
        elif key == "fail-on-scope":
            values["fail-on-scope"] = _scope(reader, document)
        elif key == "on-tool-failure":
            value = str(document[key]).lower()
            if value not in ("fail", "warn"):
                raise reader.fail(
                    document, key, f"{document[key]!r} is not fail or warn", "write fail or warn"
                )
            values["on-tool-failure"] = value
        elif key == "rules":
            disabled, overrides = _rules(reader, document)
        elif key == "probes":
            caps = _probes(reader, document, values)
        elif key == "minimal-bases":
            minimal = reader.strings(document, key)
        elif key == "vex":
            vex = reader.strings(document, key)
        elif key == "baseline":
            baseline, new_only = _baseline(reader, document)
        elif key == "ignores":
            ignores = _ignores(reader, document)
    return Config(
        path=str(path), values=values, thresholds=tuple(thresholds), disabled_rules=frozenset(disabled),
        severity_overrides=tuple(overrides), ignores=tuple(ignores), minimal_bases=minimal, vex=vex,
        baseline_sarif=baseline, new_only=new_only, allowed_capabilities=caps, signatures=_signatures(reader, document), recommend=read_recommend(reader, document),
    )  # fmt: skip


def _document(path: Path) -> Any:
    """The file's settings (None when empty), read within the YAML bounds of hardening.yamlsafe."""
    try:
        document = load_yaml_file(path)
    except YamlRefused as exc:
        where = f"{path}:{exc.line}" if exc.line else str(path)
        raise UsageError(f"{where}: {exc.reason}", exc.fix) from None
    if document is not None and not hasattr(document, "items"):
        raise UsageError(f"{path}: expected a mapping of settings", "see docs/configuration.md")
    return document


def _rules(reader: _Reader, document: Any) -> tuple[set[str], list[tuple[str, Severity]]]:
    node = reader.mapping(document, "rules", ("disable", "severity"))
    disabled = set(reader.strings(node, "disable")) if "disable" in node else set()
    overrides = []
    if "severity" in node:
        sev = reader.mapping(node, "severity")
        overrides = [(str(rule), reader.level(sev, rule) or Severity.LOW) for rule in sev]
    return disabled, overrides


def _probes(reader: _Reader, document: Any, values: dict[str, Any]) -> frozenset[str]:
    """Set the probe settings in ``values``; return the allowed capabilities."""
    node = reader.mapping(document, "probes", PROBE_KEYS)
    if "enabled" in node:
        values["probes"] = reader.flag(node, "enabled")
    for name in ("grace-period", "min-uid"):
        if name in node:
            values[name] = reader.number(node, name)
    if "allowed-capabilities" not in node:
        return frozenset()
    return frozenset(
        c.upper().removeprefix("CAP_") for c in reader.strings(node, "allowed-capabilities")
    )


def _scope(reader: _Reader, document: Any) -> str:
    value = str(document["fail-on-scope"]).strip().lower()
    if value not in ("all", "new"):
        raise reader.fail(
            document, "fail-on-scope", f"{document['fail-on-scope']!r} is not all or new",
            "write all (every finding counts) or new (only what this change introduces)",
        )  # fmt: skip
    return value


def _exploit_settings(reader: _Reader, document: Any) -> dict[str, Any]:
    """fail-on-kev (true or false), fail-on-epss (a score from 0 to 1, or none), and where
    the KEV catalog and the EPSS scores are downloaded from (kev-url, epss-url)."""
    from hardening.settings import epss_threshold

    values: dict[str, Any] = {}
    if "fail-on-kev" in document:
        values["fail-on-kev"] = reader.flag(document, "fail-on-kev")
    if "fail-on-epss" in document:
        try:
            values["fail-on-epss"] = epss_threshold(document["fail-on-epss"]) or "none"
        except UsageError as exc:
            raise reader.fail(document, "fail-on-epss", exc.message, exc.fix) from None
    for key in ("kev-url", "epss-url"):
        if key in document:
            if not isinstance(document[key], str) or not document[key].strip():
                raise reader.fail(document, key, "expected a URL", f"write {key}: https://...")
            values[key] = document[key].strip()
    return values


def _baseline(reader: _Reader, document: Any) -> tuple[str, bool]:
    node = reader.mapping(document, "baseline", ("sarif", "new-only"))
    sarif = node.get("sarif") or ""
    if not isinstance(sarif, str):
        raise reader.fail(node, "sarif", f"{sarif!r} is not a path", "write sarif: FILE.sarif")
    return sarif, reader.flag(node, "new-only") if "new-only" in node else False


def _signatures(reader: _Reader, document: Any) -> tuple[SignaturePolicy, ...]:
    if "signatures" not in document:
        return ()
    from hardening.policy.signatures import read_signatures

    return read_signatures(reader, document, _line)


def _ignores(reader: _Reader, document: Any) -> list[Ignore]:
    import datetime

    from hardening.policy.ignores import Ignore

    entries = document["ignores"]
    if not isinstance(entries, list):
        raise reader.fail(
            document, "ignores", "expected a list of entries", "write each entry as `- id: ...`"
        )
    out = []
    for index, entry in enumerate(entries):
        if not hasattr(entry, "items"):
            raise reader.fail(
                entries,
                index,
                "an ignore entry must be a mapping",
                "write `- id: CVE-...` and `reason: ...`",
            )
        for key in entry:
            if key not in IGNORE_KEYS:
                raise reader.fail(
                    entry, key, "unknown key in an ignore entry", _suggest(str(key), IGNORE_KEYS)
                )
        if not str(entry.get("id", "")).strip():
            raise reader.fail(
                entries, index, "an ignore entry needs an id", "add `id: CVE-...` or a rule id"
            )
        if not str(entry.get("reason", "")).strip():
            raise reader.fail(
                entries,
                index,
                f"ignore of {entry['id']} has no reason",
                "add `reason:` saying why it is safe",
            )
        expires = entry.get("expires")
        if expires is not None and not isinstance(expires, datetime.date):
            try:
                expires = datetime.date.fromisoformat(str(expires))
            except ValueError:
                raise reader.fail(
                    entry, "expires", f"{expires!r} is not a date", "write it as YYYY-MM-DD"
                ) from None
        out.append(
            Ignore(
                id=str(entry["id"]).strip(),
                reason=str(entry["reason"]).strip(),
                source=f"{reader.path.name}:{_line(entries, index)}",
                package=str(entry.get("package", "") or ""),
                version=str(entry.get("version", "") or ""),
                path=str(entry.get("path", "") or ""),
                file=str(entry.get("file", "") or ""),
                expires=expires,
            )  # fmt: skip
        )
    return out
