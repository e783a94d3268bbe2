"""The build context's .dockerignore: which paths it keeps out of the context.

Docker's matching: patterns are paths relative to the context root, cleaned, with ``*``, ``?``
and ``**`` globs; a leading ``!`` re-includes; the last matching pattern wins; a pattern that
matches a folder excludes everything under it.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class Pattern:
    """One line of the .dockerignore, as a regular expression over context paths."""

    text: str
    line: int
    negated: bool
    regex: re.Pattern[str]


@dataclass(frozen=True, slots=True)
class DockerIgnore:
    """The build context's .dockerignore (no patterns when there is none)."""

    path: str  # repository-relative, "" when the file does not exist
    patterns: tuple[Pattern, ...]

    @property
    def exists(self) -> bool:
        return bool(self.path)

    def excludes(self, relative: str) -> bool:
        """Whether the context path (or a folder above it) is excluded."""
        parts = relative.strip("/").split("/")
        candidates = ["/".join(parts[: i + 1]) for i in range(len(parts))]
        excluded = False
        for pattern in self.patterns:
            if any(pattern.regex.fullmatch(c) for c in candidates):
                excluded = not pattern.negated
        return excluded


def _compile(glob: str) -> re.Pattern[str]:
    parts = []
    for segment in glob.split("/"):
        if segment == "**":
            parts.append("(?:.*)")
        else:
            parts.append(fnmatch.translate(segment).removeprefix("(?s:").removesuffix(")\\Z"))
    regex = "/".join(parts).replace("(?:.*)/", "(?:.*/)?")
    return re.compile(regex)


def parse_dockerignore(text: str, path: str) -> DockerIgnore:
    patterns = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        negated = line.startswith("!")
        glob = line[1:].strip() if negated else line
        glob = re.sub(r"/+", "/", glob).strip("/")
        if glob.startswith("./"):
            glob = glob[2:]
        if not glob:
            continue
        patterns.append(Pattern(line, number, negated, _compile(glob)))
    return DockerIgnore(path, tuple(patterns))


def load_dockerignore(
    context: Path, workspace: Path, dockerfile: Path | None = None
) -> DockerIgnore:
    """BuildKit reads ``<Dockerfile>.dockerignore`` first, then the context's ``.dockerignore``."""
    candidates = []
    if dockerfile is not None:
        candidates.append(dockerfile.with_name(dockerfile.name + ".dockerignore"))
    candidates.append(context / ".dockerignore")
    for candidate in candidates:
        if candidate.is_file():
            try:
                rel = candidate.resolve().relative_to(workspace.resolve()).as_posix()
            except ValueError:
                rel = str(candidate)
            return parse_dockerignore(candidate.read_text(errors="replace"), rel)
    return DockerIgnore("", ())
