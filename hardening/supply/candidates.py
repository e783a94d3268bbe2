"""Which base images to measure against the current one: newer tags of the same line, smaller
variants of the same version, and well-known minimal alternatives for the same runtime.

Tags are read as ``<version>-<suffix>``: ``3.12.1-slim-bookworm`` is version (3, 12, 1) with
suffix ``slim-bookworm``. The same line is the same suffix with as many version parts
(``3.12.1`` moves to ``3.12.4``, ``3.13.0``, then ``4.0.1``; pre-releases never count). A
smaller variant is the same version with ``slim`` (then ``alpine``) in its suffix, the
distro word of the current suffix kept where such a tag exists (``-bookworm`` to
``-slim-bookworm``). Alternatives come from ``hardening/data/base-alternatives.json`` by the
image's name, replaced per name by the policy file, with their registry hosts pointed at
mirrors when asked. Nothing here talks to a registry: the caller lists the tags.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources

# Smaller variants, by how small: a full image is 0.
VARIANTS = {"slim": 1, "minimal": 1, "micro": 2, "alpine": 2}
_TAG = re.compile(r"v?(\d+(?:\.\d+){0,3})(?:-([A-Za-z][\w.-]*))?")
_PRERELEASE = re.compile(r"^(?:rc|beta|alpha|dev|nightly|ea|snapshot|preview|pre)\d*$", re.I)
_LEVELS = ("major", "minor", "patch", "build")
DATE_LIKE = 1000  # a first version part this big is a date stamp, not a version


@dataclass(frozen=True, slots=True)
class Tag:
    text: str
    numbers: tuple[int, ...]  # () for a tag without a version ("latest", "bookworm-slim")
    suffix: str  # what follows the version; the whole tag when it has none ("" for latest)

    @property
    def major(self) -> int | None:
        return self.numbers[0] if self.numbers else None

    @property
    def words(self) -> tuple[str, ...]:
        return tuple(word for word in self.suffix.lower().split("-") if word)

    @property
    def variant(self) -> str:
        """The smaller-variant word of the suffix ("slim", "alpine", ...), or ""."""
        for word in self.words:
            for name in VARIANTS:
                if word.startswith(name):
                    return name
        return ""

    @property
    def rest(self) -> frozenset[str]:
        """The suffix's other words: the distro ("bookworm"), a flavour ("jre")."""
        return frozenset(w for w in self.words if not any(w.startswith(v) for v in VARIANTS))

    @property
    def prerelease(self) -> bool:
        return any(_PRERELEASE.match(word) for word in self.words)


@dataclass(frozen=True, slots=True)
class Candidate:
    reference: str  # as a FROM line would name it, without a digest
    why: str


def parse_tag(text: str) -> Tag:
    match = _TAG.fullmatch(text)
    if match is None:
        return Tag(text, (), "" if text == "latest" else text)
    numbers = tuple(int(part) for part in match.group(1).split("."))
    return Tag(text, numbers, match.group(2) or "")


def name_of(reference: str) -> str:
    """The reference without its tag and digest, as written (``python:3.12@sha256:..`` is
    ``python``; ``127.0.0.1:5000/app:1`` is ``127.0.0.1:5000/app``)."""
    name = reference.split("@", 1)[0]
    head, _, last = name.rpartition("/")
    return f"{head}/{last.split(':', 1)[0]}" if head else last.split(":", 1)[0]


def tag_of(reference: str) -> str:
    name = reference.split("@", 1)[0]
    last = name.rpartition("/")[2]
    return last.split(":", 1)[1] if ":" in last else ("" if "@" in reference else "latest")


def _usable(tag: Tag, current: Tag) -> bool:
    if tag.prerelease or tag.text == current.text:
        return False
    current_major = current.major or 0
    return not (tag.major is not None and tag.major >= DATE_LIKE > current_major)


def newer_in_line(current: Tag, tags: Sequence[Tag]) -> list[Candidate]:
    """The newest patch of the same minor, the newest of the same major, the newest of all:
    same suffix, as many version parts, higher version."""
    if not current.numbers:
        return []
    same = [
        t for t in tags
        if _usable(t, current) and t.suffix == current.suffix
        and len(t.numbers) == len(current.numbers) and t.numbers > current.numbers
    ]  # fmt: skip
    picks: list[Tag] = []
    for prefix in range(len(current.numbers) - 1, -1, -1):
        group = [t for t in same if t.numbers[:prefix] == current.numbers[:prefix]]
        if group and max(group, key=lambda t: t.numbers) not in picks:
            picks.append(max(group, key=lambda t: t.numbers))
    return [Candidate(t.text, f"newer {_level(current, t)} version") for t in picks]


def _level(current: Tag, newer: Tag) -> str:
    index = next(
        i for i, (a, b) in enumerate(zip(current.numbers, newer.numbers, strict=True)) if a != b
    )
    return _LEVELS[min(index, len(_LEVELS) - 1)]


def newest_patch(current: Tag, tags: Sequence[Tag]) -> list[tuple[int, ...]]:
    """The newest version above the current one that differs only in its last part, whatever
    the suffix (a newer patch may exist only as a variant tag)."""
    numbers = current.numbers
    newer = [
        t.numbers for t in tags
        if _usable(t, current) and len(numbers) > 1 and len(t.numbers) == len(numbers)
        and t.numbers[:-1] == numbers[:-1] and t.numbers > numbers
    ]  # fmt: skip
    return [max(newer)] if newer else []


def smaller_variants(
    current: Tag, tags: Sequence[Tag], numbers: Sequence[tuple[int, ...]]
) -> list[Candidate]:
    """One tag per smaller variant (slim, then alpine) of the first of ``numbers`` (versions)
    that has it; the current suffix's other words kept where such a tag exists."""
    size = VARIANTS.get(current.variant, 0)
    kinds = sorted({k for k, v in VARIANTS.items() if v > size}, key=lambda k: (VARIANTS[k], k))
    found: list[Candidate] = []
    for kind in kinds:
        for version in numbers:
            group = [
                t for t in tags
                if _usable(t, current) and t.numbers == version and t.variant == kind
                and (version or t.rest == current.rest)
            ]  # fmt: skip
            if group:
                best = min(group, key=lambda t: (t.rest != current.rest, len(t.text), t.text))
                found.append(Candidate(best.text, f"smaller variant ({kind})"))
                break
    return found


def load_alternatives() -> dict[str, tuple[str, ...]]:
    """The shipped mapping: image name -> minimal alternatives."""
    text = resources.files("hardening").joinpath("data/base-alternatives.json").read_text()
    data = json.loads(text)
    return {k: tuple(v) for k, v in data.items() if not k.startswith("$") and isinstance(v, list)}


def mirrored(reference: str, mirrors: Mapping[str, str]) -> str:
    """``reference`` with its registry host replaced by its mirror, when one is given."""
    for host, mirror in mirrors.items():
        if reference.startswith(host.rstrip("/") + "/"):
            return mirror.rstrip("/") + reference[len(host.rstrip("/")) :]
    return reference


def alternatives(
    name: str, major: int | None, mapping: Mapping[str, Sequence[str]], mirrors: Mapping[str, str]
) -> list[Candidate]:
    """The minimal alternatives for the image named ``name`` (its last path part)."""
    key = name.rsplit("/", 1)[-1].lower()
    out = []
    for template in mapping.get(key, ()):
        if "{major}" in template and major is None:
            continue
        reference = mirrored(template.replace("{major}", str(major)), mirrors)
        if ":" not in reference.rpartition("/")[2] and "@" not in reference:
            reference += ":latest"
        if name_of(reference) != name:
            out.append(Candidate(reference, "minimal alternative"))
    return out


def interleave(groups: Iterable[Sequence[Candidate]]) -> list[Candidate]:
    """One of each group in turn, so a cap keeps some of every kind; duplicates dropped."""
    lists = [list(g) for g in groups]
    out: list[Candidate] = []
    while any(lists):
        for group in lists:
            if group:
                candidate = group.pop(0)
                if all(c.reference != candidate.reference for c in out):
                    out.append(candidate)
    return out


def list_candidates(
    base: str,
    tags: Sequence[str],
    mapping: Mapping[str, Sequence[str]],
    mirrors: Mapping[str, str] | None = None,
) -> list[Candidate]:
    """Every candidate for ``base`` (a reference as written), most useful first: the newest
    patch, a smaller variant, an alternative, then the rest in turn."""
    name, current = name_of(base), parse_tag(tag_of(base) or "latest")
    parsed = [parse_tag(t) for t in tags]
    line = newer_in_line(current, parsed)
    variants = smaller_variants(current, parsed, [*newest_patch(current, parsed), current.numbers])
    own = [Candidate(f"{name}:{c.reference}", c.why) for c in [*line, *variants]]
    in_line = [c for c in own if c.why.startswith("newer")]
    smaller = [c for c in own if not c.why.startswith("newer")]
    others = alternatives(name, current.major, mapping, mirrors or {})
    return interleave([in_line[:1], smaller, others, in_line[1:]])
