"""Secret values a run knows about, and their removal from every text it prints or writes.

Build-argument values, build-secret values (their files' content) and the values of the
environment variables that build secrets name. BuildKit prints build-argument values expanded
in its step names and a failing step prints whatever it echoed, so the build log, error
messages, notifications and tool output all pass through here before they are printed,
written or published.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

MASK = "***"
MIN_LENGTH = 4  # shorter values ("1", "yes") are not secrets, and masking them garbles text


@dataclass(frozen=True, slots=True)
class Redactor:
    values: tuple[str, ...] = ()

    @classmethod
    def of(cls, values: Iterable[str]) -> Redactor:
        kept = {v for v in values if len(v) >= MIN_LENGTH}
        # Longest first, so a value that contains another is masked whole.
        return cls(tuple(sorted(kept, key=len, reverse=True)))

    def __call__(self, text: str) -> str:
        for value in self.values:
            if value in text:
                text = text.replace(value, MASK)
        return text

    def __bool__(self) -> bool:
        return bool(self.values)


def secret_values(
    build_args: Iterable[tuple[str, str]],
    secret_files: Iterable[str],
    secret_envs: Iterable[str],
    environ: Mapping[str, str] | None = None,
) -> list[str]:
    """Every value to mask: each build-arg value, each secret file's content and its lines,
    each environment variable named by a build secret."""
    environ = os.environ if environ is None else environ
    values = [value for _, value in build_args]
    for path in secret_files:
        try:
            content = Path(path).read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        values += [content, content.strip(), *content.splitlines()]
    for name in secret_envs:
        value = environ.get(name, "")
        values += [value, value.strip()]
    return [v for v in values if v.strip()]
