"""The traps that make other linters wrong, as test cases."""

from __future__ import annotations

from pathlib import Path

from hardening.model import Severity
from tests.rules.helpers import fires, image_facts, lines, lint_texts

PINNED = "debian:12-slim@sha256:" + "a" * 64


def test_user_in_builder_stage_but_not_final(tmp_path: Path) -> None:
    findings = lint_texts(
        tmp_path,
        f"FROM {PINNED} AS build\nUSER 10001\nRUN make\nFROM {PINNED}\nCOPY --from=build /a /a\n",
    )
    assert lines(findings, "DH-D102") == [4]
    assert not fires(findings, "DH-D101")


def test_user_inherited_from_parent_stage_counts(tmp_path: Path) -> None:
    findings = lint_texts(tmp_path, f'FROM {PINNED} AS base\nUSER 10001\nFROM base\nCMD ["x"]\n')
    assert not fires(findings, "DH-D102") and not fires(findings, "DH-D101")


def test_user_0_and_0_0_are_root(tmp_path: Path) -> None:
    for index, user in enumerate(("0", "0:0", "root:root", "root")):
        findings = lint_texts(tmp_path / str(index), f"FROM {PINNED}\nUSER {user}\n")
        assert lines(findings, "DH-D101") == [2], user


def test_user_from_an_arg_is_resolved(tmp_path: Path) -> None:
    findings = lint_texts(tmp_path, f"ARG RUN_AS=0\nFROM {PINNED}\nARG RUN_AS\nUSER ${{RUN_AS}}\n")
    assert lines(findings, "DH-D101") == [4]


def test_numeric_uid_without_passwd_entry_is_not_root(tmp_path: Path) -> None:
    findings = lint_texts(tmp_path, f"FROM {PINNED}\nUSER 12345:12345\n")
    assert (
        not fires(findings, "DH-D101")
        and not fires(findings, "DH-D102")
        and not fires(findings, "DH-D103")
    )


def test_distroless_nonroot_without_user_is_low_confidence_from_the_text(tmp_path: Path) -> None:
    text = "FROM gcr.io/distroless/static-debian12:nonroot\nCOPY app /app\n"
    finding = next(f for f in lint_texts(tmp_path, text) if f.rule_id == "DH-D102")
    assert finding.confidence == "low" and finding.severity is Severity.LOW


def test_image_evidence_outranks_the_dockerfile(tmp_path: Path) -> None:
    text = "FROM gcr.io/distroless/static-debian12:nonroot\nCOPY app /app\n"
    nonroot = image_facts({"User": "65532"})
    findings = lint_texts(tmp_path / "a", text, image=nonroot)
    assert not fires(findings, "DH-D102") and not fires(findings, "DH-I201")
    root = image_facts({"User": ""})
    findings = lint_texts(tmp_path / "b", text, image=root)
    assert lines(findings, "DH-I201") == [1]


def test_a_secret_file_the_image_holds_is_reported_once(tmp_path: Path) -> None:
    from dataclasses import replace

    from hardening.targets.image import FileFact

    text = f"FROM {PINNED}\nCOPY deploy.pem /app/deploy.pem\nCOPY .npmrc /root/.npmrc\n"
    assert lines(lint_texts(tmp_path / "text", text), "DH-D109") == [2, 3]
    layer = "sha256:" + "c" * 64
    held = (FileFact("/app/deploy.pem", layer, 0o600),)
    read = replace(image_facts({"User": "10001"}), layers_read=True, secret_files=held)
    findings = lint_texts(tmp_path / "image", text, image=read)
    assert lines(findings, "DH-D109") == [3]  # .npmrc: the image's layers do not hold it
    reported = [f.location.image_path for f in findings if f.rule_id == "DH-I204"]
    assert reported == ["/app/deploy.pem"]
    unread = replace(read, layers_read=False)  # without the layers' evidence, the text says it
    assert lines(lint_texts(tmp_path / "unread", text, image=unread), "DH-D109") == [2, 3]


def test_gpg_key_and_file_variables_are_not_secrets(tmp_path: Path) -> None:
    text = (
        f"FROM {PINNED}\nENV GPG_KEY=A035C8C19219BA821ECEA86B64E628F8D684696D\n"
        "ENV POSTGRES_PASSWORD_FILE=/run/secrets/db\nENV API_TOKEN_URL=https://auth.example.com\n"
        "ARG NPM_TOKEN\nENV DB_PASSWORD=$DB_PASSWORD\nENV APP_SECRET=real-value-123\n"
    )
    findings = lint_texts(tmp_path, text)
    assert lines(findings, "DH-D108") == [7]
    message = next(f.message for f in findings if f.rule_id == "DH-D108")
    assert "real-value-123" not in message


def test_arg_referenced_in_run_is_flagged_not_printed(tmp_path: Path) -> None:
    text = f'FROM {PINNED}\nARG NPM_TOKEN\nRUN echo "//r/:_authToken=${{NPM_TOKEN}}" > .npmrc && npm ci\n'
    findings = lint_texts(tmp_path, text)
    assert lines(findings, "DH-D110") == [3]
    assert not fires(findings, "DH-D108")


def test_read_only_docker_socket_is_still_full_control(tmp_path: Path) -> None:
    compose = "services:\n  ui:\n    image: ui\n    volumes:\n      - /var/run/docker.sock:/var/run/docker.sock:ro\n"
    findings = lint_texts(tmp_path, compose=compose)
    hit = next(f for f in findings if f.rule_id == "DH-C302")
    assert hit.location.line == 5 and "read-only does not limit" in hit.message


def test_no_new_privileges_false_is_not_hardening(tmp_path: Path) -> None:
    compose = (
        "services:\n  app:\n    image: app\n    security_opt:\n      - no-new-privileges:false\n"
    )
    findings = lint_texts(tmp_path, compose=compose)
    hit = next(f for f in findings if f.rule_id == "DH-C307")
    assert "no-new-privileges:false" in hit.message and hit.location.line == 4


def test_dockerfile_that_does_not_parse_is_a_finding(tmp_path: Path) -> None:
    findings = lint_texts(tmp_path, "FROM debian:12\nRUNN apt-get update\n")
    assert lines(findings, "DH-D100") == [2]
    assert lint_texts(tmp_path / "empty", "# only a comment\n")[0].rule_id == "DH-D100"


def test_heredoc_and_continuations_keep_the_instruction_line(tmp_path: Path) -> None:
    text = f"FROM {PINNED}\nRUN <<EOF\napt-get update\napt-get install -y curl\nEOF\nRUN apt-get update && \\\n    apt-get install -y wget\n"
    findings = lint_texts(tmp_path, text)
    assert lines(findings, "DH-D117") == [2, 6]
    assert lines(findings, "DH-D118") == [2, 6]


def test_dockerignore_excluding_secrets_silences_whole_context_copy(tmp_path: Path) -> None:
    text = f"FROM {PINNED}\nCOPY . /app\n"
    assert lines(lint_texts(tmp_path / "a", text), "DH-D111") == [2]
    assert lines(lint_texts(tmp_path / "b", text, dockerignore=".git\n.env\n"), "DH-D111") == []
    partial = lint_texts(tmp_path / "c", text, dockerignore="node_modules\n")
    assert "does not exclude .git, .env" in next(
        f.message for f in partial if f.rule_id == "DH-D111"
    )


def test_inline_suppression_on_the_right_line_only(tmp_path: Path) -> None:
    right = f"FROM {PINNED}\n# docker-hardening-ignore DH-D101 the migration job needs root for one release\nUSER root\n"
    findings = lint_texts(tmp_path / "a", right)
    hit = next(f for f in findings if f.rule_id == "DH-D101")
    assert hit.suppressed and "migration job" in hit.suppression.justification  # type: ignore[union-attr]
    wrong = f"# docker-hardening-ignore DH-D101 misplaced\nFROM {PINNED}\nUSER root\n"
    assert not next(
        f for f in lint_texts(tmp_path / "b", wrong) if f.rule_id == "DH-D101"
    ).suppressed


def test_inline_suppression_without_reason_does_not_suppress(tmp_path: Path) -> None:
    from hardening.rules import LintInputs, lint

    (tmp_path / "Dockerfile").write_text(
        f"FROM {PINNED}\n# docker-hardening-ignore DH-D101\nUSER root\n"
    )
    outcome = lint(LintInputs(workspace=tmp_path, dockerfile=tmp_path / "Dockerfile"))
    assert not next(f for f in outcome.findings if f.rule_id == "DH-D101").suppressed
    assert any("needs a reason" in n.message for n in outcome.notifications)


def test_target_stage_is_the_final_stage(tmp_path: Path) -> None:
    text = f"FROM {PINNED} AS debug\nUSER root\nFROM {PINNED} AS prod\nUSER 10001\n"
    assert not fires(lint_texts(tmp_path / "a", text), "DH-D101")
    assert lines(lint_texts(tmp_path / "b", text, target="debug"), "DH-D101") == [2]


def test_arg_in_from_is_expanded_for_pinning(tmp_path: Path) -> None:
    findings = lint_texts(tmp_path, "ARG BASE=python\nFROM ${BASE}\nUSER 10001\n")
    assert lines(findings, "DH-D106") == [2]
    unresolved = lint_texts(tmp_path / "b", "ARG BASE\nFROM ${BASE}\nUSER 10001\n")
    assert not fires(unresolved, "DH-D106") and not fires(unresolved, "DH-D107")


def test_secret_in_history_from_build_args(tmp_path: Path) -> None:
    facts = image_facts(
        {"User": "10001"},
        [{"created_by": "RUN |1 NPM_TOKEN=npm_abcdefghijklmnop /bin/sh -c npm ci # buildkit"}],
    )
    findings = lint_texts(
        tmp_path, f"FROM {PINNED}\nARG NPM_TOKEN\nRUN npm ci\nUSER 10001\n", image=facts
    )
    hit = next(f for f in findings if f.rule_id == "DH-I203")
    assert hit.location.line == 2 and "npm_abcdefghijklmnop" not in hit.message
