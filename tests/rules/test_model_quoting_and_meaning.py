"""The Dockerfile model reads arguments as BuildKit does: quotes removed once for every rule,
and instructions that parse but mean nothing to BuildKit reported with BuildKit's own words."""

from __future__ import annotations

import os
import random
import re
import subprocess
from pathlib import Path

import docker
import pytest

from hardening.model import Finding
from hardening.targets.dockerfile import parse_dockerfile, resolve, unquote
from tests.rules.helpers import fires, lines, lint_texts
from tests.support.engine import legacy_docker_cli

PINNED = "debian:12-slim@sha256:" + "a" * 64

# (Dockerfile, line, BuildKit's message): each parses, and BuildKit's instruction parser
# (frontend/dockerfile/instructions/parse.go) or its word processing rejects it.
MEANING_ERRORS = [
    ("FROM\n", 1, "FROM requires either one or three arguments"),
    (f"FROM {PINNED}\nRUN true\nUSER\n", 3, "USER requires exactly one argument"),
    (f"FROM {PINNED} extra\n", 1, "FROM requires either one or three arguments"),
    (
        f"FROM {PINNED} AS 1st\n",
        1,
        'invalid name for build stage: "1st", name can\'t start with a number or contain symbols',
    ),
    (
        f"FROM {PINNED}\nCOPY app\n",
        2,
        "COPY requires at least two arguments, but only one was provided. Destination could not "
        "be determined",
    ),
    (f"FROM {PINNED}\nEXPOSE\n", 2, "EXPOSE requires at least one argument"),
    (f"FROM {PINNED}\nWORKDIR\n", 2, "WORKDIR requires exactly one argument"),
    (f"FROM {PINNED}\nENV\n", 2, "ENV requires at least one argument"),
    (f"FROM {PINNED}\nENV =value\n", 2, "ENV names can not be blank"),
    (f"FROM {PINNED}\nARG =value\n", 2, "ARG names can not be blank"),
    (f"FROM {PINNED}\nHEALTHCHECK NONE extra\n", 2, "HEALTHCHECK NONE takes no arguments"),
    (f"FROM {PINNED}\nHEALTHCHECK CMD\n", 2, "Missing command after HEALTHCHECK CMD"),
    (f"FROM {PINNED}\nHEALTHCHECK PING x\n", 2, 'Unknown type "PING" in HEALTHCHECK (try CMD)'),
    (f"FROM {PINNED}\nHEALTHCHECK --interval=5 CMD x\n", 2, 'time: missing unit in duration "5"'),
    (
        f"FROM {PINNED}\nHEALTHCHECK --timeout=10us CMD x\n",
        2,
        'Interval "timeout" cannot be less than 1ms',
    ),
    (f"FROM {PINNED}\nHEALTHCHECK --retries=-1 CMD x\n", 2, "--retries cannot be negative (-1)"),
    (f"FROM {PINNED}\nHEALTHCHECK --every=5s CMD x\n", 2, "unknown flag: --every"),
    (f"FROM {PINNED}\nCOPY --chown a /a\n", 2, "missing a value on flag: --chown"),
    (f"FROM {PINNED}\nCMD --help\n", 2, "unknown flag: --help"),  # a flag, not an argument
    (f"FROM {PINNED}\nSHELL /bin/bash -c\n", 2, "SHELL requires the arguments to be in JSON form"),
    (f"FROM {PINNED}\nONBUILD FROM x\n", 2, "FROM isn't allowed as an ONBUILD trigger"),
    (f'FROM {PINNED}\nVOLUME [""]\n', 2, "VOLUME specified can not be an empty string"),
    ("ARG V=1\nRUN true\nFROM scratch\n", 2, "no build stage in current context"),
    (
        f'FROM {PINNED}\nCOPY "my app" /app\n',
        2,
        'failed to process "\\"my": unexpected end of statement while looking for matching '
        "double-quote",
    ),
]
# Messages current BuildKit words differently from the older one in Debian's Docker engine
# ("Unknown flag: every", "Missing a value on flag: chown", "--retries must be at least 1").
NEWER_WORDING = ("unknown flag", "missing a value", "--retries")


def _d100(findings: list[Finding]) -> list[tuple[int, str]]:
    return [(f.location.line, f.message) for f in findings if f.rule_id == "DH-D100"]


@pytest.mark.parametrize(("text", "line", "message"), MEANING_ERRORS, ids=lambda v: repr(v)[:40])
def test_meaning_errors_are_reported_with_buildkit_message_and_line(
    tmp_path: Path, text: str, line: int, message: str
) -> None:
    reported = _d100(lint_texts(tmp_path, text))
    assert len(reported) == 1, reported
    assert reported[0][0] == line
    assert reported[0][1].endswith(f": {message}"), reported[0][1]


def test_every_meaningless_instruction_is_reported_not_only_the_first(tmp_path: Path) -> None:
    text = f"FROM {PINNED}\nUSER\nWORKDIR\nRUN true\nEXPOSE\n"
    assert lines(lint_texts(tmp_path, text), "DH-D100") == [2, 3, 5]


def test_a_bare_from_does_not_become_an_image_to_judge(tmp_path: Path) -> None:
    findings = lint_texts(tmp_path, "FROM\nRUN apt-get update\n")
    for rule in ("DH-D104", "DH-D106", "DH-D107"):
        assert not fires(findings, rule), rule


def test_valid_instructions_of_every_kind_are_not_reported(tmp_path: Path) -> None:
    text = (
        "# syntax=docker/dockerfile:1\nARG BASE=debian:12-slim\n"
        f"FROM --platform=$BUILDPLATFORM {PINNED} AS build\n"
        'SHELL ["/bin/bash", "-o", "pipefail", "-c"]\n'
        "RUN --mount=type=cache,target=/root/.cache make\n"
        'ENV A=1 B="two words"\nENV LEGACY value with spaces\nLABEL org.opencontainers.x=y\n'
        'ARG NAME\nARG OTHER="x"\nWORKDIR /src\nUSER 10001:10001\nSTOPSIGNAL SIGTERM\n'
        "FROM build AS final\n"
        "COPY --from=build --chown=10001:10001 --chmod=0755 --link --exclude=*.md /src /app\n"
        "ADD --checksum=sha256:" + "b" * 64 + " https://example.com/a.tgz /a.tgz\n"
        "COPY <<EOF /etc/app.conf\nkey=value\nEOF\n"
        'EXPOSE 8080/tcp 8443\nVOLUME ["/data"]\nONBUILD RUN echo hi\nMAINTAINER someone\n'
        "HEALTHCHECK --interval=30s --timeout=3s --start-period=1m30s --start-interval=500ms "
        '--retries=3 CMD ["/app", "health"]\n'
        'HEALTHCHECK none\nENTRYPOINT ["/app"]\nCMD ["--help"]\n'
    )
    assert not fires(lint_texts(tmp_path, text), "DH-D100")


def test_syntax_error_points_at_its_own_line(tmp_path: Path) -> None:
    text = f"FROM {PINNED}\nRUN true\n\nENV A=1 \\\n    B\nRUN true\n"
    reported = _d100(lint_texts(tmp_path, text))
    assert reported == [
        (
            4,
            'BuildKit cannot parse this Dockerfile: Syntax error - can\'t find = in "B". '
            "Must be of the form: name=value",
        )
    ]


def test_binary_garbage_is_shown_escaped_and_short(tmp_path: Path) -> None:
    garbage = b"\x7fELF\x02\x01\x01\x00\x00\x1b[31m" + bytes(range(128, 256)) * 3 + b"\n"
    noise = bytes(random.Random(5).randrange(256) for _ in range(4000))
    for index, data in enumerate((garbage, b"FROM debian:12\nENV A=1 " + garbage, noise)):
        text = data.decode("utf-8", errors="replace")
        reported = _d100(lint_texts(tmp_path / str(index), text))
        assert reported, index
        for _, message in reported:
            assert message.isprintable() and "\ufffd" not in message, message
            assert "\x1b" not in message and "\x00" not in message
            assert len(message) <= 220, message
    first = _d100(lint_texts(tmp_path / "0", garbage.decode("utf-8", errors="replace")))
    assert any("\\x7fELF\\x02\\x01\\x01" in message for _, message in first), first


def test_add_of_a_quoted_url_needs_a_checksum(tmp_path: Path) -> None:
    text = (
        f'FROM {PINNED}\nADD "https://example.com/x.tar.gz" /x\n'
        'ADD ["https://example.com/y.tar.gz", "/y"]\n'
        "ADD 'https://example.com/z.tar.gz' /z\n"
    )
    findings = lint_texts(tmp_path, text)
    assert lines(findings, "DH-D112") == [2, 3, 4]
    message = next(f.message for f in findings if f.rule_id == "DH-D112")
    assert message.startswith("ADD https://example.com/x.tar.gz ")


def test_quoted_whole_context_copy_is_seen(tmp_path: Path) -> None:
    text = f'FROM {PINNED}\nCOPY "." "/app"\nCOPY [".", "/srv"]\nCOPY \'./\' /opt\n'
    assert lines(lint_texts(tmp_path, text), "DH-D111") == [2, 3, 4]


def test_quoted_secret_file_copy_is_seen(tmp_path: Path) -> None:
    text = (
        f'FROM {PINNED}\nCOPY "id_rsa" /root/.ssh/\nCOPY ["certs/server.key", "/k"]\n'
        "ADD 'config/.env' /app/\nCOPY \"notes.txt\" /app/\n"
    )
    findings = lint_texts(tmp_path, text)
    assert lines(findings, "DH-D109") == [2, 3, 4]
    assert {f.message.split(" puts")[0] for f in findings if f.rule_id == "DH-D109"} == {
        "COPY id_rsa",
        "COPY certs/server.key",
        "ADD config/.env",
    }


def test_quoted_user_and_port_are_read_unquoted(tmp_path: Path) -> None:
    findings = lint_texts(tmp_path, f'FROM {PINNED}\nEXPOSE "22"\nUSER "0"\n')
    assert lines(findings, "DH-D121") == [2]
    assert lines(findings, "DH-D101") == [3]


def test_model_unquotes_once_and_keeps_the_raw_text() -> None:
    text = (
        f'ARG BASE="{PINNED}"\nFROM "$BASE" AS build\n'
        'COPY ["a b", "c"]\nENV GREETING="hello world" Q=\'it"s\'\n'
        "ARG TOKEN=\"'x'\"\nRUN echo \"$GREETING\" 'a  b'\nUSER '$NOT_EXPANDED'\n"
    )
    model = parse_dockerfile(text, "Dockerfile")
    assert model.error is None and model.invalid == ()
    stage = model.stages[0]
    assert stage.base == "$BASE" and stage.base_resolved == PINNED
    copy, env, arg, run, user = stage.instructions[1:]
    assert copy.value == ("a b", "c") and copy.json
    assert env.value == ("GREETING", "hello world", "Q", 'it"s')
    assert env.raw == ("GREETING", '"hello world"', "Q", "'it\"s'")
    assert arg.value == ("TOKEN='x'",)  # unquoted once: the inner quotes are the value
    assert run.value == run.raw == ("echo \"$GREETING\" 'a  b'",)
    assert user.value == ("$NOT_EXPANDED",)
    assert user.resolved(0, {"NOT_EXPANDED": "0"}) == "$NOT_EXPANDED"


def test_word_processing_matches_buildkit() -> None:
    assert unquote("\"a b\"c'd'") == "a bcd"
    assert unquote("a\\ b") == "a b"
    assert unquote('"x\\"y"') == 'x"y'
    assert unquote('"C:\\dir"') == "C:\\dir"  # in double quotes only \\ \" and \$ are escapes
    assert unquote("C:\\dir", escape="`") == "C:\\dir"
    values: dict[str, str | None] = {"V": "1"}
    assert resolve("\"$V\"-'$V'-\\$V-${V}", values) == "1-$V-$V-1"


def test_escape_directive_changes_quote_removal() -> None:
    body = f'FROM {PINNED}\nCOPY C:\\src\\app.exe "C:\\app\\"\n'
    backtick = parse_dockerfile("# escape=`\n" + body, "Dockerfile")
    assert backtick.invalid == ()
    assert backtick.stages[0].instructions[1].value == ("C:\\src\\app.exe", "C:\\app\\")
    backslash = parse_dockerfile(body, "Dockerfile")  # \" escapes the quote: it never closes
    assert backslash.stages[0].instructions[1].value[0] == "C:srcapp.exe"
    assert "looking for matching double-quote" in backslash.invalid[0][1]


def test_healthcheck_none_is_read_case_insensitively(tmp_path: Path) -> None:
    findings = lint_texts(tmp_path, f"FROM {PINNED}\nHEALTHCHECK none\n")
    assert lines(findings, "DH-D119") == [1]


@pytest.mark.docker
def test_real_buildkit_rejects_them_with_the_same_message(
    docker_client: docker.DockerClient, tmp_path: Path
) -> None:
    env = dict(os.environ, DOCKER_BUILDKIT="1")
    for index, (text, line, message) in enumerate(MEANING_ERRORS):
        if message.startswith(NEWER_WORDING):
            continue
        context = tmp_path / str(index)
        context.mkdir()
        (context / "Dockerfile").write_text(text.replace(PINNED, "scratch"))
        result = subprocess.run(
            [legacy_docker_cli(), "build", "-q", str(context)],
            capture_output=True, text=True, env=env, timeout=120,
        )  # fmt: skip
        output = result.stdout + result.stderr
        assert result.returncode != 0, (text, output)
        assert message in output, (text, output[-500:])
        said = re.search(r"line (\d+)", output)
        assert said is None or int(said.group(1)) == line, (text, output[-500:])
