"""A Dockerfile parsed once, with BuildKit's own parser, into stages and instructions.

The ``dockerfile`` package wraps BuildKit's Go parser, so continuations, heredocs, flags and
JSON forms are read exactly as ``docker build`` reads them. On top of it this module resolves
what rules need: stages with names and parents, ``ARG`` expansion in ``FROM``, and the final
stage (the last one, or the ``--target``).
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field

import dockerfile as buildkit

KNOWN_INSTRUCTIONS = frozenset(
    "ADD ARG CMD COPY ENTRYPOINT ENV EXPOSE FROM HEALTHCHECK LABEL MAINTAINER ONBUILD RUN "
    "SHELL STOPSIGNAL USER VOLUME WORKDIR".split()
)
_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?([-+])([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)")


@dataclass(frozen=True, slots=True)
class Instruction:
    cmd: str  # upper-case keyword
    original: str
    line: int
    end_line: int
    flags: tuple[str, ...]
    value: tuple[str, ...]
    json: bool = False
    heredocs: tuple[str, ...] = ()
    sub_cmd: str = ""

    def flag(self, name: str) -> str | None:
        """The value of ``--name=value`` (or "" for a bare ``--name``), None when absent."""
        for item in self.flags:
            key, sep, value = item.partition("=")
            if key == f"--{name}":
                return value if sep else ""
        return None

    @property
    def script(self) -> str:
        """The shell text a RUN executes, heredoc bodies included."""
        text = " ".join(self.value)
        if self.heredocs:
            text += "\n" + "\n".join(self.heredocs)
        return text


@dataclass(frozen=True, slots=True)
class Stage:
    index: int
    name: str  # the AS alias, lower-case, or ""
    base: str  # as written
    base_resolved: str  # ARG defaults substituted
    parent: int | None  # index of the stage this one is FROM, if any
    platform: str
    from_line: int
    instructions: tuple[Instruction, ...]

    @property
    def is_scratch(self) -> bool:
        return self.base_resolved.lower() == "scratch"


@dataclass(frozen=True, slots=True)
class DockerfileModel:
    path: str  # repository-relative
    text: str
    stages: tuple[Stage, ...]
    global_args: tuple[tuple[str, str | None], ...]
    final_index: int
    error: tuple[int, str] | None = None  # (line, message) when it does not parse
    unknown: tuple[Instruction, ...] = field(default_factory=tuple)
    preamble: tuple[Instruction, ...] = field(default_factory=tuple)  # ARGs before the first FROM

    @property
    def final(self) -> Stage | None:
        return self.stages[self.final_index] if self.stages else None

    def chain(self, index: int | None = None) -> list[Stage]:
        """The stage and its ancestors through ``FROM <stage>``, the root first."""
        out: list[Stage] = []
        current: int | None = self.final_index if index is None else index
        seen: set[int] = set()
        while current is not None and current not in seen and self.stages:
            seen.add(current)
            stage = self.stages[current]
            out.append(stage)
            current = stage.parent
        return list(reversed(out))

    def root_base(self, index: int | None = None) -> Stage | None:
        chain = self.chain(index)
        return chain[0] if chain else None

    def instructions(self, cmd: str | None = None) -> list[Instruction]:
        """Every instruction of every stage, after the global ARGs, in file order."""
        every = [*self.preamble, *(i for s in self.stages for i in s.instructions)]
        return [i for i in every if cmd is None or i.cmd == cmd]


def expand(text: str, values: dict[str, str | None]) -> str:
    """Substitute ``$VAR``, ``${VAR}``, ``${VAR:-default}`` and ``${VAR:+alt}`` as BuildKit does."""

    def sub(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(4)
        op, word = match.group(2), match.group(3) or ""
        value = values.get(name)
        if op == "-":
            return value if value else word
        if op == "+":
            return word if value else ""
        return value if value is not None else match.group(0)

    return _VAR.sub(sub, text)


def unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        return value[1:-1]
    return value


def pairs(instruction: Instruction) -> list[tuple[str, str | None]]:
    """ENV/ARG/LABEL as (name, value) pairs; ``ARG X`` gives (X, None)."""
    if instruction.cmd == "ARG":
        out: list[tuple[str, str | None]] = []
        for item in instruction.value:
            name, sep, value = item.partition("=")
            out.append((name, unquote(value) if sep else None))
        return out
    values = list(instruction.value)
    return [(values[i], unquote(values[i + 1])) for i in range(0, len(values) - 1, 2)]


def split_words(script: str) -> list[str]:
    try:
        return shlex.split(script, comments=True)
    except ValueError:
        return script.split()


def _stage_of_from(value: tuple[str, ...]) -> tuple[str, str]:
    base = value[0] if value else ""
    name = value[2].lower() if len(value) >= 3 and value[1].upper() == "AS" else ""
    return base, name


def parse_dockerfile(text: str, path: str, target: str = "") -> DockerfileModel:
    try:
        commands = buildkit.parse_string(text)
    except buildkit.GoParseError as exc:
        message = str(exc)
        match = re.search(r"line (\d+)", message)
        return DockerfileModel(
            path, text, (), (), 0, error=(int(match.group(1)) if match else 1, message)
        )
    global_args: list[tuple[str, str | None]] = []
    raw_stages: list[tuple[Instruction, list[Instruction]]] = []
    unknown: list[Instruction] = []
    preamble: list[Instruction] = []
    for command in commands:
        instruction = Instruction(
            cmd=command.cmd.upper(),
            original=command.original,
            line=command.start_line,
            end_line=command.end_line,
            flags=tuple(command.flags),
            value=tuple(command.value),
            json=bool(command.json),
            heredocs=tuple(h.content for h in command.heredocs),
            sub_cmd=(command.sub_cmd or "").upper(),
        )
        if instruction.cmd not in KNOWN_INSTRUCTIONS:
            unknown.append(instruction)
            continue
        if instruction.cmd == "FROM":
            raw_stages.append((instruction, []))
        elif not raw_stages:
            preamble.append(instruction)
            if instruction.cmd == "ARG":
                global_args.extend(pairs(instruction))
        else:
            raw_stages[-1][1].append(instruction)
    defaults = {name: value for name, value in global_args}
    stages: list[Stage] = []
    names: dict[str, int] = {}
    for index, (from_instruction, body) in enumerate(raw_stages):
        base, name = _stage_of_from(from_instruction.value)
        resolved = expand(base, defaults)
        parent = names.get(resolved.lower())
        stages.append(
            Stage(
                index=index,
                name=name,
                base=base,
                base_resolved=resolved,
                parent=parent,
                platform=from_instruction.flag("platform") or "",
                from_line=from_instruction.line,
                instructions=(from_instruction, *body),
            )
        )
        if name:
            names[name] = index
    final_index = len(stages) - 1
    if target and target.lower() in names:
        final_index = names[target.lower()]
    error = None
    if not stages:
        error = (1, "no FROM instruction: this is not a buildable Dockerfile")
    return DockerfileModel(
        path,
        text,
        tuple(stages),
        tuple(global_args),
        max(final_index, 0),
        error,
        tuple(unknown),
        tuple(preamble),
    )
