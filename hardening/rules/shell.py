"""What RUN instructions do, read from their shell text: commands, package installs, pipes.

Shell is not parsed fully (no shell parser is worth its weight here); commands are split on
``&&``, ``||``, ``;``, pipes and new lines, and words are read with shlex.
"""

from __future__ import annotations

import re
import shlex

_SPLIT = re.compile(r"&&|\|\||;|\n|(?<!\|)\|(?!\|)")
_PIPE_TO_SHELL = re.compile(
    r"\b(?:curl|wget)\b[^|;&\n]*\|\s*(?:sudo\s+(?:-\S+\s+)*)?(?:/usr)?(?:/bin/)?(?:ba|da|z|k|a)?sh\b"
)


def join_continuations(script: str) -> str:
    return re.sub(r"\\\r?\n", " ", script)


def commands(script: str) -> list[list[str]]:
    """Each simple command of the script, as words."""
    out = []
    for part in _SPLIT.split(join_continuations(script)):
        part = part.strip()
        if not part or part.startswith("#"):
            continue
        try:
            words = shlex.split(part, comments=True)
        except ValueError:
            words = part.split()
        # Leading environment assignments and wrappers do not change the command.
        while words and (
            re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", words[0])
            or words[0] in ("exec", "time", "nohup", "then", "do", "else", "{", "(")
        ):
            words = words[1:]
        if words:
            out.append(words)
    return out


def program(words: list[str]) -> str:
    return words[0].rsplit("/", 1)[-1] if words else ""


def pipes_download_to_shell(script: str) -> bool:
    return bool(_PIPE_TO_SHELL.search(join_continuations(script)))


def is_apt_install(words: list[str]) -> bool:
    rest = _after_sudo(words)
    return program(rest) in ("apt-get", "apt") and "install" in rest[1:]


def is_apt(words: list[str]) -> bool:
    rest = _after_sudo(words)
    return program(rest) in ("apt-get", "apt") and any(
        w in ("install", "update", "upgrade", "dist-upgrade") for w in rest[1:]
    )


def _after_sudo(words: list[str]) -> list[str]:
    if words and program(words) == "sudo":
        rest = words[1:]
        while rest and rest[0].startswith("-"):
            rest = rest[1:]
        return rest
    return words


def strip_sudo(words: list[str]) -> list[str]:
    return _after_sudo(words)
