"""A Dockerfile parsed once, with BuildKit's own parser, into stages and instructions.

The ``dockerfile`` package wraps BuildKit's Go parser, so continuations, heredocs, flags and
JSON forms are read exactly as ``docker build`` reads them. That parser only checks syntax;
BuildKit then rejects instructions that are well formed but meaningless (``FROM`` without an
image, ``USER`` without a user, ``COPY`` without a destination, unknown flags, ...) in its
``instructions.Parse`` step and its word processing. This module repeats those checks with
BuildKit's own messages, so such a file is reported instead of silently checked.

On top of it this module resolves what rules need: every argument with its quotes removed
once, as BuildKit's shell-word processing removes them (``Instruction.value``; the text as
written stays in ``Instruction.raw``), stages with names and parents, and the final stage (the
last one, or the ``--target``). Variables are read with BuildKit's scoping
(``dockerfile2llb/convert.go``): ARGs before the first FROM are resolved in order, each default
seeing the ones before it, and are what FROM lines see, with BuildKit's automatic platform ARGs
(read for a linux/amd64 target); inside a stage only the ARGs and ENVs declared there (an
``ARG NAME`` brings a global one in) and those of the stage it is built FROM. A FROM that names
an earlier stage, also through an ARG (``FROM ${BASE}-base``), is that stage. What could not be
resolved is said (``Stage.notes``). ONBUILD triggers are parsed as BuildKit parses them in child
images (``Instruction.trigger``), and a RUN's shell text is the one BuildKit hands to the shell,
heredocs included (``Instruction.script``).
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass, field, replace

import dockerfile as buildkit

KNOWN_INSTRUCTIONS = frozenset(
    "ADD ARG CMD COPY ENTRYPOINT ENV EXPOSE FROM HEALTHCHECK LABEL MAINTAINER ONBUILD RUN "
    "SHELL STOPSIGNAL USER VOLUME WORKDIR".split()
)
# Instructions whose arguments BuildKit passes through its shell-word processing (quote
# removal, then variable expansion) before using them. RUN, CMD and ENTRYPOINT text goes to a
# shell as written; HEALTHCHECK, SHELL, MAINTAINER and ONBUILD are used as written too.
WORD_PROCESSED = frozenset(
    "ADD ARG COPY ENV EXPOSE FROM LABEL STOPSIGNAL USER VOLUME WORKDIR".split()
)
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# ${NAME<modifier>word} as BuildKit's shell lexer (shell/lex.go) reads them, longest first
_MODIFIERS = (":-", ":+", ":?", "-", "+", "?", "##", "#", "%%", "%", "//", "/")
_DIRECTIVE = re.compile(r"^#[ \t]*([a-zA-Z][a-zA-Z0-9]*)[ \t]*=[ \t]*(.+?)[ \t]*$")
_DIRECTIVES = frozenset({"syntax", "escape", "check"})  # any other ends the directives
BOM = "\ufeff"
# The ARGs BuildKit defines itself (dockerfile2llb/platform.go), as a build for a linux/amd64
# target on a linux/amd64 host sets them; TARGETSTAGE is the target stage's name.
PLATFORM_ARGS: dict[str, str] = {
    "BUILDPLATFORM": "linux/amd64", "BUILDOS": "linux", "BUILDOSVERSION": "",
    "BUILDARCH": "amd64", "BUILDVARIANT": "", "TARGETPLATFORM": "linux/amd64",
    "TARGETOS": "linux", "TARGETOSVERSION": "", "TARGETARCH": "amd64", "TARGETVARIANT": "",
}  # fmt: skip
# Patterns of rarer instructions: compiled on first use (by the re module, which keeps them).
_HEREDOC_ONLY = r"<<-?\s*([\"']?)([^\s\"']+)\1"
_SHELL_SHEBANG = r"^#!\s*\S*?/(?:env\s+)?(?:ba|da|z|k|a|mk)?sh\b"
EXCERPT = 80  # at most this many characters of the file's own text in a message


@dataclass(frozen=True, slots=True)
class Instruction:
    """One instruction as BuildKit parsed it: its arguments as BuildKit uses them and as
    written, its flags, heredocs and, for ONBUILD, the instruction it triggers."""

    cmd: str  # upper-case keyword
    original: str
    line: int
    end_line: int
    flags: tuple[str, ...]
    value: tuple[str, ...]  # the arguments as BuildKit uses them: quotes removed, JSON decoded
    json: bool = False
    heredocs: tuple[str, ...] = ()
    sub_cmd: str = ""
    raw: tuple[str, ...] = ()  # the arguments as written, quotes kept
    escape: str = "\\"  # the file's escape character (``# escape=`` directive)
    heredoc_names: tuple[str, ...] = ()  # each heredoc's delimiter, in order
    onbuild: bool = False  # an ONBUILD trigger: it runs in child images, not in this one
    trigger: Instruction | None = None  # for ONBUILD, the instruction it triggers

    def flag(self, name: str) -> str | None:
        """The value of ``--name=value`` (or "" for a bare ``--name``), None when absent."""
        for item in self.flags:
            key, sep, value = item.partition("=")
            if key == f"--{name}":
                return value if sep else ""
        return None

    def resolved(
        self, index: int, values: dict[str, str | None], missing: list[str] | None = None
    ) -> str:
        """Argument ``index`` as BuildKit expands it: quotes removed, ``values`` substituted
        (a variable with no value is kept as written and named in ``missing``)."""
        words = self.raw or self.value
        return resolve(words[index], values, self.escape, missing) if index < len(words) else ""

    @property
    def script(self) -> str:
        """The shell text a RUN hands to its shell, as BuildKit builds it: a lone heredoc is
        the script itself (nothing for the shell when its ``#!`` names another interpreter);
        otherwise the command line with each heredoc body and delimiter after it, for the
        shell to feed to the command that reads it. An exec form's arguments are quoted, so a
        reader of the text sees the same argument list."""
        if self.json:
            import shlex

            return shlex.join(self.value)
        text = " ".join(self.value)
        if not self.heredocs:
            return text
        lone = re.fullmatch(_HEREDOC_ONLY, text.strip())
        if lone and len(self.heredocs) == 1:
            body = self.heredocs[0]
            if lone.group(0).startswith("<<-"):  # BuildKit removes the leading tabs
                body = "\n".join(line.lstrip("\t") for line in body.split("\n"))
            if body.startswith("#!") and not re.match(_SHELL_SHEBANG, body):
                return ""
            return body
        names = self.heredoc_names or ("EOF",) * len(self.heredocs)
        bodies = zip(self.heredocs, names, strict=False)
        return text + "".join(f"\n{body}{name}" for body, name in bodies)

    @property
    def text(self) -> str:
        """The command line and every heredoc body as written, for searching the text."""
        return "\n".join((" ".join(self.value), *self.heredocs))


@dataclass(frozen=True, slots=True)
class Stage:
    """One build stage: its FROM line and base, the stage it is built from, its instructions
    and the variables in force before each."""

    index: int
    name: str  # the AS alias, lower-case, or ""
    base: str  # as written, quotes removed
    base_resolved: str  # ARG defaults substituted
    parent: int | None  # index of the stage this one is FROM, if any
    platform: str
    from_line: int
    instructions: tuple[Instruction, ...]
    # what in the FROM reference could not be resolved, or was read for the assumed platform
    notes: tuple[str, ...] = ()
    # the variables (ARG and ENV values; None: declared with no default) in force before each
    # instruction, then at the end of the stage
    scopes: tuple[dict[str, str | None], ...] = field(default=(), compare=False)

    @property
    def is_scratch(self) -> bool:
        return self.base_resolved.lower() == "scratch"

    def values_at(self, instruction: Instruction) -> dict[str, str | None]:
        """The variables BuildKit expands ``instruction``'s arguments with."""
        for position, item in enumerate(self.instructions):
            if item is instruction and position < len(self.scopes):
                return dict(self.scopes[position])
        return {}


@dataclass(frozen=True, slots=True)
class DockerfileModel:
    """A Dockerfile parsed once: its stages, the global ARGs, the final stage, and what does
    not parse or BuildKit rejects."""

    path: str  # repository-relative
    text: str
    stages: tuple[Stage, ...]
    global_args: tuple[tuple[str, str | None], ...]
    final_index: int
    error: tuple[int, str] | None = None  # (line, message) when it does not parse
    unknown: tuple[Instruction, ...] = field(default_factory=tuple)
    preamble: tuple[Instruction, ...] = field(default_factory=tuple)  # ARGs before the first FROM
    # (line, BuildKit's message) for each instruction that parses but BuildKit rejects
    invalid: tuple[tuple[int, str], ...] = field(default_factory=tuple)

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

    def instructions(self, cmd: str | None = None, *, triggers: bool = False) -> list[Instruction]:
        """Every instruction of every stage, after the global ARGs, in file order; with
        ``triggers``, each ONBUILD's trigger (``onbuild`` set) right after it."""
        every = [*self.preamble, *(i for s in self.stages for i in s.instructions)]
        if triggers:
            every = [item for i in every for item in (i, i.trigger) if item is not None]
        return [i for i in every if cmd is None or i.cmd == cmd]

    def values_at(self, instruction: Instruction) -> dict[str, str | None]:
        """The variables in force at ``instruction`` (none for a trigger: they are the child
        image's)."""
        for stage in self.stages:
            if any(item is instruction for item in stage.instructions):
                return stage.values_at(instruction)
        return {}


def shown(text: str, limit: int = EXCERPT) -> str:
    """``text`` safe to print in a message: control characters, undecodable bytes (read as
    U+FFFD) and other unprintable characters escaped, cut to ``limit`` characters."""
    parts = [
        c if c.isprintable() and c != "\ufffd" else c.encode("unicode_escape").decode("ascii")
        for c in text
    ]
    if sum(map(len, parts)) <= limit:
        return "".join(parts)
    out, size = [], 0
    for part in parts:  # cut between characters, never inside an escape
        if size + len(part) > limit - 3:
            break
        out.append(part)
        size += len(part)
    return "".join(out) + "..."


def _quoted(text: str) -> str:
    """``text`` quoted as Go's ``%q`` quotes it in BuildKit's messages, then made safe."""
    import json

    return shown(json.dumps(text, ensure_ascii=False))


def expand(text: str, values: dict[str, str | None], missing: list[str] | None = None) -> str:
    """Substitute ``$NAME`` and ``${NAME...}`` with every modifier BuildKit's lexer knows
    (``-``, ``+``, ``?`` with or without ``:``, ``#``, ``##``, ``%``, ``%%``, ``/``, ``//``).
    A variable with no value (declared with no default, or not declared) is kept as written
    and its name added to ``missing``; ``${NAME:-word}`` then takes ``word``, as a build
    without ``--build-arg NAME`` does."""
    out: list[str] = []
    index = 0
    while index < len(text):
        if text[index] != "$":
            out.append(text[index])
            index += 1
        elif text.startswith("${", index) and (end := _closing_brace(text, index + 2)) > 0:
            out.append(_braced(text[index + 2 : end], text[index : end + 1], values, missing))
            index = end + 1
        elif match := _NAME.match(text, index + 1):
            out.append(_lookup(match.group(0), "$" + match.group(0), values, missing))
            index = match.end()
        else:
            out.append("$")
            index += 1
    return "".join(out)


def _closing_brace(text: str, start: int) -> int:
    """Where the ``}`` closing a ``${`` opened before ``start`` is, or -1."""
    depth = 1
    for index in range(start, len(text)):
        if text.startswith("${", index):
            depth += 1
        elif text[index] == "}":
            depth -= 1
            if depth == 0:
                return index
    return -1


def _lookup(
    name: str, written: str, values: dict[str, str | None], missing: list[str] | None
) -> str:
    value = values.get(name)
    if value is not None:
        return value
    if missing is not None and name not in missing:
        missing.append(name)
    return written


def _braced(
    body: str, written: str, values: dict[str, str | None], missing: list[str] | None
) -> str:
    """``${body}`` expanded; ``written`` is kept when it cannot be."""
    match = _NAME.match(body)
    if match is None:
        return written
    name, rest = match.group(0), body[match.end() :]
    if not rest:
        return _lookup(name, written, values, missing)
    op = next((m for m in _MODIFIERS if rest.startswith(m)), "")
    if not op:
        return written
    word, value = rest[len(op) :], values.get(name)
    if op in (":-", "-"):
        use_value = value is not None and (value != "" or op == "-")
        return value if use_value and value is not None else expand(word, values, missing)
    if op in (":+", "+"):
        use_word = value is not None and (value != "" or op == "+")
        return expand(word, values, missing) if use_word else ""
    if value is None:
        return _lookup(name, written, values, missing)
    if op in (":?", "?"):
        return value
    return _pattern_op(op, value, expand(word, values, missing))


def _pattern_op(op: str, value: str, word: str) -> str:
    """``#``/``##`` (prefix), ``%``/``%%`` (suffix) and ``/``/``//`` (replace) with a shell
    pattern, as BuildKit applies them."""
    if op in ("/", "//"):
        pattern, _, replacement = word.partition("/")
        regex = re.compile(fnmatch.translate(pattern).removesuffix(r"\Z"))
        return regex.sub(lambda _: replacement, value, count=0 if op == "//" else 1)
    cuts = range(len(value) + 1)
    for cut in reversed(cuts) if op in ("##", "%%") else cuts:
        if op in ("#", "##") and fnmatch.fnmatchcase(value[:cut], word):
            return value[cut:]
        if op in ("%", "%%") and fnmatch.fnmatchcase(value[len(value) - cut :], word):
            return value[: len(value) - cut]
    return value


def _pieces(word: str, escape: str) -> tuple[list[tuple[str, bool]], str]:
    """BuildKit's quote removal of one word (its shell lexer): the characters that remain, each
    with whether a variable in it would be expanded, and the quote left open at the end."""
    pieces: list[tuple[str, bool]] = []
    quote, index = "", 0
    while index < len(word):
        char, following = word[index], word[index + 1 : index + 2]
        if quote == "'":
            if char == "'":
                quote = ""
            else:
                pieces.append((char, False))
        elif char == escape and (not quote or following in ('"', "$", escape)):
            pieces.append((following, False))  # an escaped character is taken literally
            index += 2
            continue
        elif quote == '"' and char == '"':
            quote = ""
        elif not quote and char in "'\"":
            quote = char
        else:
            pieces.append((char, True))
        index += 1
    return pieces, quote


def unquote(word: str, escape: str = "\\") -> str:
    """One word with BuildKit's quote removal applied once; variables are left as written."""
    return "".join(text for text, _ in _pieces(word, escape)[0])


def resolve(
    word: str,
    values: dict[str, str | None],
    escape: str = "\\",
    missing: list[str] | None = None,
) -> str:
    """One word as BuildKit's word processing gives it: quotes removed and ``values``
    substituted, except inside single quotes and after an escape character."""
    out: list[str] = []
    run: list[str] = []
    for text, expandable in _pieces(word, escape)[0]:
        if expandable:
            run.append(text)
            continue
        out += [expand("".join(run), values, missing), text]
        run = []
    out.append(expand("".join(run), values, missing))
    return "".join(out)


def escape_token(text: str) -> str:
    """The escape character a ``# escape=`` parser directive sets, or the backslash. As in
    BuildKit's parser, a byte-order mark before it is skipped, and the directives end at the
    first line that is not one of them (an unknown name included)."""
    for line in text.removeprefix(BOM).split("\n"):
        match = _DIRECTIVE.match(line.rstrip("\r"))
        if not match or match.group(1).lower() not in _DIRECTIVES:
            break
        if match.group(1).lower() == "escape":
            return match.group(2)
    return "\\"


def _arguments(cmd: str, raw: tuple[str, ...], escape: str) -> tuple[str, ...]:
    """The arguments as BuildKit uses them: word-processed instructions lose their quotes
    (each word once; an ARG's name and default separately), the others stay as written."""
    if cmd not in WORD_PROCESSED:
        return raw
    if cmd == "ARG":
        out = []
        for word in raw:
            name, sep, value = word.partition("=")
            out.append(unquote(name, escape) + (sep + unquote(value, escape) if sep else ""))
        return tuple(out)
    return tuple(
        word if cmd in ("ADD", "COPY") and word.startswith("<<") else unquote(word, escape)
        for word in raw
    )


def pairs(instruction: Instruction) -> list[tuple[str, str | None]]:
    """ENV/ARG/LABEL as (name, value) pairs; ``ARG X`` gives (X, None)."""
    if instruction.cmd == "ARG":
        out: list[tuple[str, str | None]] = []
        for item in instruction.value:
            name, sep, value = item.partition("=")
            out.append((name, value if sep else None))
        return out
    values = list(instruction.value)
    return [(values[i], values[i + 1]) for i in range(0, len(values) - 1, 2)]


def split_words(script: str) -> list[str]:
    import shlex

    try:
        return shlex.split(script, comments=True)
    except ValueError:
        return script.split()


# What BuildKit's instruction parser (frontend/dockerfile/instructions/parse.go) checks.
_EXACTLY_ONE = frozenset({"MAINTAINER", "STOPSIGNAL", "USER", "WORKDIR"})
_AT_LEAST_ONE = frozenset({"ARG", "ENV", "EXPOSE", "HEALTHCHECK", "LABEL", "SHELL", "VOLUME"})
_STRING, _STRINGS, _BOOL = "string", "strings", "bool"
_HEALTH_TIMES = ("interval", "timeout", "start-period", "start-interval")
# The flags each instruction's parser defines. RUN is left out (its flags come from hooks that
# vary between BuildKit versions), and ARG, ONBUILD and STOPSIGNAL never parse their flags.
_FLAGS: dict[str, dict[str, str]] = {
    "ADD": {"chown": _STRING, "chmod": _STRING, "link": _BOOL, "keep-git-dir": _BOOL,
            "checksum": _STRING, "unpack": _BOOL, "exclude": _STRINGS},
    "COPY": {"chown": _STRING, "from": _STRING, "chmod": _STRING, "link": _BOOL,
             "exclude": _STRINGS, "parents": _BOOL},
    "FROM": {"platform": _STRING},
    "HEALTHCHECK": {name: _STRING for name in (*_HEALTH_TIMES, "retries")},
    **{cmd: {} for cmd in
       "CMD ENTRYPOINT ENV EXPOSE LABEL MAINTAINER SHELL USER VOLUME WORKDIR".split()},
}  # fmt: skip
_FLAGS_FIRST = frozenset({"CMD", "ENTRYPOINT", "ENV", "LABEL", "SHELL"})  # flags before counts
_STAGE_NAME = re.compile(r"^[a-z][a-z0-9_.-]*$")
_NS = {"ns": 1, "us": 10**3, "µs": 10**3, "μs": 10**3, "ms": 10**6, "s": 10**9, "m": 60 * 10**9,
       "h": 3600 * 10**9}  # fmt: skip
_DURATION_PART = r"([0-9]*)(\.[0-9]*)?([^0-9.]*)"  # compiled on first use


def _count_error(ins: Instruction) -> str | None:
    """How many arguments the instruction has, as BuildKit counts them."""
    count = len(ins.raw)
    if ins.cmd in _EXACTLY_ONE and count != 1:
        return f"{ins.cmd} requires exactly one argument"
    if ins.cmd in _AT_LEAST_ONE and count == 0:
        return f"{ins.cmd} requires at least one argument"
    if ins.cmd in ("ADD", "COPY") and count < 2:
        return (
            f"{ins.cmd} requires at least two arguments, but only one was provided. "
            "Destination could not be determined"
        )
    if ins.cmd == "FROM":
        if count == 3 and ins.raw[1].lower() == "as":
            if not _STAGE_NAME.match(ins.raw[2].lower()):
                return (
                    f"invalid name for build stage: {_quoted(ins.raw[2])}, name can't start "
                    "with a number or contain symbols"
                )
        elif count != 1:
            return "FROM requires either one or three arguments"
    if ins.cmd == "HEALTHCHECK" and ins.raw[0].upper() == "NONE" and count > 1:
        return "HEALTHCHECK NONE takes no arguments"
    return None


def _flag_error(ins: Instruction) -> str | None:
    """BuildKit's flag parser (BFlags.Parse): unknown, repeated or malformed flags."""
    known = _FLAGS.get(ins.cmd)
    if known is None or (ins.cmd == "HEALTHCHECK" and ins.raw[0].upper() == "NONE"):
        return None
    used: set[str] = set()
    for item in ins.flags:
        if item == "--":
            break
        name, sep, value = item.partition("=")
        kind = known.get(name[2:])
        if kind is None:
            return f"unknown flag: {shown(name)}"
        if name in used and kind != _STRINGS:
            return f"duplicate flag specified: {shown(name)}"
        used.add(name)
        if (kind == _BOOL and sep and not value) or (kind != _BOOL and not sep):
            return f"missing a value on flag: {shown(name)}"
        if kind == _BOOL and value.lower() not in ("", "true", "false"):
            return f"expecting boolean value for flag {shown(name)}, not: {shown(value)}"
    return None


def go_duration(text: str) -> int:
    """Nanoseconds in a Go duration ("1m30s"); ValueError with Go's message when it is not one."""
    from fractions import Fraction

    sign = -1 if text.startswith("-") else 1
    rest = text[1:] if text[:1] in ("-", "+") else text
    if rest == "0":
        return 0
    if not rest:
        raise ValueError(f"time: invalid duration {_quoted(text)}")
    total = Fraction(0)
    while rest:
        match = re.match(_DURATION_PART, rest)
        assert match is not None  # every part of the pattern is optional
        whole, fraction, unit = match.group(1), match.group(2) or "", match.group(3)
        if not whole and len(fraction) <= 1:
            raise ValueError(f"time: invalid duration {_quoted(text)}")
        if not unit:
            raise ValueError(f"time: missing unit in duration {_quoted(text)}")
        if unit not in _NS:
            raise ValueError(f"time: unknown unit {_quoted(unit)} in duration {_quoted(text)}")
        total += Fraction((whole or "0") + fraction) * _NS[unit]
        rest = rest[match.end() :]
    return sign * int(total)


def _healthcheck_error(ins: Instruction) -> str | None:
    """HEALTHCHECK's type, command, durations and retries, checked as BuildKit checks them."""
    kind = ins.raw[0].upper()
    if kind == "NONE":
        return None
    if kind != "CMD":
        return f"Unknown type {_quoted(kind)} in HEALTHCHECK (try CMD)"
    if len(ins.raw) < 2:
        return "Missing command after HEALTHCHECK CMD"
    for name in _HEALTH_TIMES:
        value = ins.flag(name) or ""
        try:
            nanoseconds = go_duration(value) if value else 0
        except ValueError as exc:
            return str(exc)
        if nanoseconds and nanoseconds < 10**6:
            return f'Interval "{name}" cannot be less than 1ms'
    retries = ins.flag("retries") or ""
    if not retries:
        return None
    if not re.fullmatch(r"[+-]?[0-9]+", retries):
        return f"strconv.ParseInt: parsing {_quoted(retries)}: invalid syntax"
    if not -(2**31) <= int(retries) < 2**31:
        return f"strconv.ParseInt: parsing {_quoted(retries)}: value out of range"
    if int(retries) < 0:
        return f"--retries cannot be negative ({int(retries)})"
    return None


def _detail_error(ins: Instruction) -> str | None:
    """What each instruction's own parser checks after counting its arguments and flags."""
    if ins.cmd in ("ENV", "LABEL") and any(not key for key in ins.raw[::2]):
        return f"{ins.cmd} names can not be blank"
    if ins.cmd == "ARG" and any(word.startswith("=") for word in ins.raw):
        return "ARG names can not be blank"
    if ins.cmd == "VOLUME" and any(not word.strip() for word in ins.raw):
        return "VOLUME specified can not be an empty string"
    if ins.cmd == "SHELL" and not ins.json:
        return "SHELL requires the arguments to be in JSON form"
    if ins.cmd == "HEALTHCHECK":
        return _healthcheck_error(ins)
    if ins.cmd == "ONBUILD":
        if not ins.sub_cmd:
            return "ONBUILD requires at least one argument"
        if ins.sub_cmd == "ONBUILD":
            return "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed"
        if ins.sub_cmd in ("FROM", "MAINTAINER"):
            return f"{ins.sub_cmd} isn't allowed as an ONBUILD trigger"
    return None


def _quote_error(ins: Instruction) -> str | None:
    """A word BuildKit's word processing cannot read: a quote that is never closed. (ARG is
    left out: BuildKit defers its errors to when the value is used.)"""
    if ins.cmd not in WORD_PROCESSED or ins.cmd == "ARG":
        return None
    words = ins.raw[:1] if ins.cmd == "FROM" else ins.raw
    for word in words:
        if ins.cmd in ("ADD", "COPY") and word.startswith("<<"):
            continue
        quote = _pieces(word, ins.escape)[1]
        if quote:
            which = "double-quote" if quote == '"' else "single-quote"
            return (
                f"failed to process {_quoted(word)}: unexpected end of statement while "
                f"looking for matching {which}"
            )
    return None


def meaning_error(ins: Instruction) -> str | None:
    """BuildKit's error for an instruction that parses but does not mean anything to it (from
    ``instructions.Parse``, then from word processing), or None."""
    if ins.cmd in _FLAGS_FIRST:
        checks = (_flag_error, _count_error, _detail_error, _quote_error)
    else:
        checks = (_count_error, _flag_error, _detail_error, _quote_error)
    for check in checks:
        message = check(ins)
        if message:
            return message
    return None


def _fails_with(text: str, message: str) -> bool:
    try:
        buildkit.parse_string(text)
    except buildkit.GoParseError as exc:
        return str(exc) == message
    return False


def _error_line(text: str, message: str) -> int:
    """The line a syntax error is on (the package's errors do not say): the shortest prefix of
    the file that fails with the same message ends there; a continued instruction is reported
    on its first line, as BuildKit does."""
    lines = text.split("\n")
    low, high = 1, max(len(lines), 1)
    while low < high:
        middle = (low + high) // 2
        if _fails_with("\n".join(lines[:middle]), message):
            high = middle
        else:
            low = middle + 1
    escape = escape_token(text)
    while low > 1 and lines[low - 2].rstrip().endswith(escape):
        low -= 1
    return low


def _instruction(
    command: buildkit.Command, escape: str, lines: list[str] | None = None, offset: int = 0
) -> Instruction:
    cmd = command.cmd.upper()
    raw = tuple(command.value)
    instruction = Instruction(
        cmd=cmd,
        original=command.original,
        line=command.start_line + offset,
        end_line=command.end_line + offset,
        flags=tuple(command.flags),
        value=_arguments(cmd, raw, escape),
        json=bool(command.json),
        heredocs=tuple(h.content for h in command.heredocs),
        sub_cmd=(command.sub_cmd or "").upper(),
        raw=raw,
        escape=escape,
        heredoc_names=tuple(h.name for h in command.heredocs),
    )
    if cmd == "ONBUILD" and lines is not None:
        trigger = _trigger(instruction, lines)
        if trigger is not None:
            instruction = replace(instruction, trigger=trigger)
    return instruction


_ONBUILD = r"(?i)^\s*onbuild\s+"  # compiled on first use


def _trigger(onbuild: Instruction, lines: list[str]) -> Instruction | None:
    """The instruction an ONBUILD triggers, parsed from its text as BuildKit parses it in a
    child image (its flags, JSON form and heredocs included), on the ONBUILD's lines."""
    body = re.sub(_ONBUILD, "", "\n".join(lines[onbuild.line - 1 : onbuild.end_line]), count=1)
    directive = f"# escape={onbuild.escape}\n" if onbuild.escape != "\\" else ""
    try:
        commands = buildkit.parse_string(directive + body)
    except buildkit.GoParseError:
        return None
    if len(commands) != 1 or commands[0].cmd.upper() not in KNOWN_INSTRUCTIONS - {"ONBUILD"}:
        return None
    shift = onbuild.line - 1 - directive.count("\n")
    return replace(_instruction(commands[0], onbuild.escape, None, shift), onbuild=True)


def _arg_defaults(instruction: Instruction) -> list[tuple[str, str | None]]:
    """An ARG's names with their defaults as written (None: no default)."""
    out: list[tuple[str, str | None]] = []
    for word in instruction.raw:
        name, sep, default = word.partition("=")
        out.append((unquote(name, instruction.escape), default if sep else None))
    return out


def _global_scope(preamble: list[Instruction], target: str) -> dict[str, str | None]:
    """What FROM lines see: BuildKit's platform ARGs, then the ARGs before the first FROM in
    order, each default expanded with the ones before it (``buildMetaArgs``)."""
    values: dict[str, str | None] = {**PLATFORM_ARGS, "TARGETSTAGE": target}
    for instruction in preamble:
        if instruction.cmd != "ARG":
            continue
        for name, default in _arg_defaults(instruction):
            if default is None:
                values.setdefault(name, None)
            else:
                values[name] = resolve(default, values, instruction.escape)
    return values


def _scopes(
    instructions: tuple[Instruction, ...],
    start: dict[str, str | None],
    global_values: dict[str, str | None],
) -> tuple[dict[str, str | None], ...]:
    """The variables in force before each instruction of a stage, then at its end: an ARG's
    default is expanded with what is in force (the ones before it in the same ARG too), an
    ``ARG NAME`` brings in the global value, an ENV's values are all expanded with what was
    in force before it."""
    scope = dict(start)
    out: list[dict[str, str | None]] = []
    for instruction in instructions:
        out.append(scope)
        escape, raw = instruction.escape, instruction.raw
        if instruction.cmd == "ARG":
            scope = dict(scope)
            for name, default in _arg_defaults(instruction):
                if default is not None:
                    scope[name] = resolve(default, scope, escape)
                elif global_values.get(name) is not None or name not in scope:
                    scope[name] = global_values.get(name)
        elif instruction.cmd == "ENV":
            before, scope = scope, dict(scope)
            for index in range(0, len(raw) - 1, 2):
                scope[unquote(raw[index], escape)] = resolve(raw[index + 1], before, escape)
    out.append(scope)
    return tuple(out)


def _from_notes(
    instruction: Instruction, missing: list[str], global_values: dict[str, str | None]
) -> tuple[str, ...]:
    """What a FROM reference's resolution could not do (also inside the defaults it used),
    or assumed."""
    resolved = instruction.resolved(0, global_values) if instruction.raw else ""
    left = [m.group(1) for m in re.finditer(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)", resolved)]
    notes = [
        f"{name} has no default"
        if name in global_values
        else f"{name} is not declared before the first FROM"
        for name in dict.fromkeys([*missing, *left])
    ]
    written = instruction.raw[0] if instruction.raw else ""
    for name, value in PLATFORM_ARGS.items():
        if (
            global_values.get(name) == value
            and name in written  # most FROM lines name none: no pattern is compiled for them
            and re.search(rf"\$\{{?{name}\b", written)
        ):
            notes.append(f"{name} is set by the build platform, read as {value or 'empty'}")
    return tuple(notes)


def _stages(
    raw_stages: list[tuple[Instruction, list[Instruction]]],
    global_values: dict[str, str | None],
) -> tuple[list[Stage], dict[str, int]]:
    """The stages; a FROM whose resolved reference is an earlier stage's name (as BuildKit
    matches it: exactly, names being lower-case) is built on that stage and starts with the
    variables in force at its end."""
    stages: list[Stage] = []
    names: dict[str, int] = {}
    for index, (from_instruction, body) in enumerate(raw_stages):
        value = from_instruction.value
        name = value[2].lower() if len(value) >= 3 and value[1].upper() == "AS" else ""
        missing: list[str] = []
        resolved = from_instruction.resolved(0, global_values, missing)
        parent = names.get(resolved)
        instructions = (from_instruction, *body)
        start = stages[parent].scopes[-1] if parent is not None else {}
        stages.append(
            Stage(
                index=index,
                name=name,
                base=value[0] if value else "",
                base_resolved=resolved,
                parent=parent,
                platform=from_instruction.flag("platform") or "",
                from_line=from_instruction.line,
                instructions=instructions,
                notes=_from_notes(from_instruction, missing, global_values),
                scopes=_scopes(instructions, start, global_values),
            )
        )
        if name:
            names[name] = index
    return stages, names


def _invalid(instructions: list[Instruction]) -> list[tuple[int, str]]:
    """(line, BuildKit's message) for each known instruction BuildKit rejects; of those before
    the first FROM that are not ARG, the first (BuildKit stops there)."""
    out: list[tuple[int, str]] = []
    outside = True  # before the first FROM, and no instruction reported there yet
    for instruction in instructions:
        message = meaning_error(instruction)
        outside = outside and instruction.cmd != "FROM"
        if outside and instruction.cmd != "ARG":
            message = message or "no build stage in current context"
            outside = False
        if message is not None:
            out.append((instruction.line, message))
    return out


def parse_dockerfile(text: str, path: str, target: str = "") -> DockerfileModel:
    try:
        commands = buildkit.parse_string(text)
    except buildkit.GoParseError as exc:
        message = str(exc)
        return DockerfileModel(
            path, text, (), (), 0, error=(_error_line(text, message), shown(message, 2 * EXCERPT))
        )
    escape = escape_token(text)
    lines = text.removeprefix(BOM).split("\n")
    every = [_instruction(command, escape, lines) for command in commands]
    unknown = [i for i in every if i.cmd not in KNOWN_INSTRUCTIONS]
    known = [i for i in every if i.cmd in KNOWN_INSTRUCTIONS]
    preamble: list[Instruction] = []
    raw_stages: list[tuple[Instruction, list[Instruction]]] = []
    for instruction in known:
        if instruction.cmd == "FROM":
            raw_stages.append((instruction, []))
        elif raw_stages:
            raw_stages[-1][1].append(instruction)
        else:
            preamble.append(instruction)
    last = raw_stages[-1][0].value if raw_stages else ()
    default_target = last[2].lower() if len(last) >= 3 and last[1].upper() == "AS" else ""
    global_values = _global_scope(preamble, target or default_target or "default")
    declared = dict.fromkeys(n for i in preamble if i.cmd == "ARG" for n, _ in _arg_defaults(i))
    global_args = [(name, global_values.get(name)) for name in declared]
    stages, names = _stages(raw_stages, global_values)
    final_index = len(stages) - 1
    if target and target.lower() in names:
        final_index = names[target.lower()]
    error = None if stages else (1, "dockerfile contains no stages to build")
    return DockerfileModel(
        path,
        text,
        tuple(stages),
        tuple(global_args),
        max(final_index, 0),
        error,
        tuple(unknown),
        tuple(preamble),
        tuple(_invalid(known)),
    )
