"""The ``recommend-base:`` setting of the policy file: measure a better base image (opt-in).

    recommend-base: true
    # or, with its options:
    recommend-base:
      enabled: true
      max-candidates: 4          # images measured besides the current base (default 4)
      timeout: 300               # seconds for the whole recommendation (default 300)
      alternatives:              # per image name, replaces the shipped minimal alternatives
        python: [gcr.io/distroless/python3-debian12:nonroot, cgr.dev/chainguard/python:latest]
      mirrors:                   # registry host -> the mirror to pull its images from
        gcr.io: mirror.example.com/gcr

A section with options and no ``enabled`` turns the recommendation on.
"""

from __future__ import annotations

from dataclasses import dataclass

KEYS = ("enabled", "max-candidates", "timeout", "alternatives", "mirrors")
MAX_CANDIDATES = 4
TIMEOUT_S = 300.0

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing (lint starts fast)
if TYPE_CHECKING:  # the policy file's reader, as this module uses it (for the type checker)
    from pathlib import Path
    from typing import Any, Protocol

    class _Reader(Protocol):
        path: Path

        def fail(self, node: Any, key: Any, problem: str, fix: str) -> Exception: ...

        def mapping(self, node: Any, key: Any, allowed: tuple[str, ...] = ()) -> Any: ...

        def flag(self, node: Any, key: Any) -> bool: ...

        def number(self, node: Any, key: Any) -> float: ...

        def strings(self, node: Any, key: Any) -> tuple[str, ...]: ...


@dataclass(frozen=True, slots=True)
class RecommendPolicy:
    """The options of the base-image recommendation."""

    max_candidates: int = MAX_CANDIDATES
    timeout_s: float = TIMEOUT_S
    alternatives: tuple[tuple[str, tuple[str, ...]], ...] = ()  # image name -> references
    mirrors: tuple[tuple[str, str], ...] = ()  # registry host -> mirror


def enabled(reader: _Reader, document: Any) -> dict[str, Any]:
    """``{"recommend-base": True or False}`` when the file says, for the settings."""
    if "recommend-base" not in document:
        return {}
    node = document["recommend-base"]
    if isinstance(node, bool):
        return {"recommend-base": node}
    section = reader.mapping(document, "recommend-base", KEYS)  # options: on unless disabled
    return {"recommend-base": reader.flag(section, "enabled") if "enabled" in section else True}


def read_recommend(reader: _Reader, document: Any) -> RecommendPolicy:
    """The options of ``recommend-base:`` (the defaults for ``recommend-base: true``)."""
    if "recommend-base" not in document or isinstance(document["recommend-base"], bool):
        return RecommendPolicy()
    section = reader.mapping(document, "recommend-base", KEYS)
    policy = RecommendPolicy()
    if "max-candidates" in section:
        count = reader.number(section, "max-candidates")
        if count != int(count) or not 1 <= count <= 20:
            raise reader.fail(section, "max-candidates", f"{count:g} is not a whole number "
                              "from 1 to 20", "write max-candidates: 4")  # fmt: skip
        policy = RecommendPolicy(int(count), policy.timeout_s)
    if "timeout" in section:
        seconds = reader.number(section, "timeout")
        if seconds <= 0:
            raise reader.fail(section, "timeout", "must be above 0", "write timeout: 300")
        policy = RecommendPolicy(policy.max_candidates, seconds)
    alternatives = _alternatives(reader, section)
    mirrors = _mirrors(reader, section)
    return RecommendPolicy(policy.max_candidates, policy.timeout_s, alternatives, mirrors)


def _alternatives(reader: _Reader, section: Any) -> tuple[tuple[str, tuple[str, ...]], ...]:
    if "alternatives" not in section:
        return ()
    node = reader.mapping(section, "alternatives")
    return tuple((str(name).lower(), reader.strings(node, name)) for name in node)


def _mirrors(reader: _Reader, section: Any) -> tuple[tuple[str, str], ...]:
    if "mirrors" not in section:
        return ()
    node = reader.mapping(section, "mirrors")
    out = []
    for host in node:
        if not isinstance(node[host], str) or not node[host].strip():
            raise reader.fail(node, host, "expected a registry host (and path)",
                              f"write {host}: mirror.example.com/path")  # fmt: skip
        out.append((str(host), node[host].strip()))
    return tuple(out)
