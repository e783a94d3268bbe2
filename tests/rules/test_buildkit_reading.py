"""The Dockerfile model reads files the way BuildKit does, and every rule reads that one model:
ARG defaults that reference ARGs, partly unresolvable references, stages named through ARGs,
downloads run by a shell, package installs, and the quoting and forms of every instruction.
The examples are shaped after real public Dockerfiles (tests/corpus/ has the files)."""

from __future__ import annotations

from pathlib import Path

import pytest

from hardening.model import Finding
from hardening.rules import LintInputs, lint
from hardening.targets.dockerfile import parse_dockerfile
from tests.rules.helpers import fires, lines, lint_texts

PINNED = "debian:12-slim@sha256:" + "a" * 64


def _messages(findings: list[Finding], rule: str) -> list[str]:
    return [f.message for f in findings if f.rule_id == rule]


# 1. ARG defaults that reference other ARGs, with BuildKit's scoping


def test_arg_defaults_referencing_args_resolve_in_order(tmp_path: Path) -> None:
    text = (
        "ARG REGISTRY=quay.io\nARG OWNER=jupyter\nARG BASE_IMAGE=$REGISTRY/$OWNER/base-notebook\n"
        "FROM $BASE_IMAGE\nUSER root\nRUN apt-get update\nUSER ${NB_UID}\n"
    )
    model = parse_dockerfile(text, "Dockerfile")
    assert model.stages[0].base_resolved == "quay.io/jupyter/base-notebook"
    assert dict(model.global_args)["BASE_IMAGE"] == "quay.io/jupyter/base-notebook"
    findings = lint_texts(tmp_path, text)
    assert lines(findings, "DH-D106") == [4] and lines(findings, "DH-D107") == [4]
    assert _messages(findings, "DH-D106") == [
        "FROM quay.io/jupyter/base-notebook uses no tag (so `latest`)"
    ]


def test_a_latest_default_reached_through_args_is_reported(tmp_path: Path) -> None:
    text = (
        "ARG GO_IMAGE=golang:latest\nARG DISTRO=ubuntu\nARG SUITE=noble\n"
        "ARG BUILD_IMAGE=${DISTRO}:${SUITE}\nFROM ${GO_IMAGE} AS golang\nFROM ${BUILD_IMAGE}\n"
        "COPY --from=golang /usr/local/go /usr/local/go\n"
    )
    findings = lint_texts(tmp_path, text)
    assert lines(findings, "DH-D106") == [5]
    assert lines(findings, "DH-D107") == [5, 6]
    assert _messages(findings, "DH-D107")[1] == "FROM ubuntu:noble is not pinned by digest"


def test_buildkit_word_modifiers_are_applied() -> None:
    text = (
        'ARG VERSION=v3.20.1\nARG IMAGE\nARG EMPTY=""\n'
        "FROM alpine:${VERSION#v} AS a\nFROM ${IMAGE:-debian}:${EMPTY:-12}-slim AS b\n"
        "FROM busybox:${VERSION%.*}${EMPTY:+-never} AS c\n"
    )
    model = parse_dockerfile(text, "Dockerfile")
    assert [s.base_resolved for s in model.stages] == [
        "alpine:3.20.1",
        "debian:12-slim",
        "busybox:v3.20",
    ]


def test_global_args_reach_a_stage_only_when_declared_again() -> None:
    text = (
        f'ARG RUN_AS=0\nARG NB_UID="1000"\nFROM {PINNED} AS base\nARG APP_UID=10001\n'
        f"FROM base\nUSER ${{RUN_AS}}\nARG RUN_AS\nENV NB_UID=${{NB_UID}} HOME=/home/$APP_UID\n"
        "USER ${RUN_AS}\n"
    )
    model = parse_dockerfile(text, "Dockerfile")
    final = model.stages[1]
    first_user, _, _, last_user = final.instructions[1:]
    assert "RUN_AS" not in final.values_at(first_user)  # not declared in the stage yet
    assert final.values_at(last_user)["RUN_AS"] == "0"  # ARG RUN_AS brings the global one in
    assert final.values_at(last_user)["HOME"] == "/home/10001"  # the parent stage's ARG
    # the global NB_UID was not brought in: the value comes from outside the file
    assert final.values_at(last_user)["NB_UID"] == "${NB_UID}"
    assert first_user.resolved(0, final.values_at(first_user)) == "${RUN_AS}"


def test_user_resolves_with_the_values_in_force_at_it(tmp_path: Path) -> None:
    text = (
        f'FROM {PINNED}\nARG NB_USER="www-data"\nARG NB_UID="33"\n'
        "ENV NB_UID=${NB_UID} HOME=/home/${NB_USER}\nUSER root\nRUN true\nUSER ${NB_UID}\n"
    )
    findings = lint_texts(tmp_path, text)
    assert _messages(findings, "DH-D103") == ["USER 33: uid 33 is below the minimum of 1000"]
    assert not fires(findings, "DH-D101") and not fires(findings, "DH-D102")


# 2. Partly unresolvable references


def test_a_variable_inside_the_tag_still_leaves_the_image_unpinned(tmp_path: Path) -> None:
    undeclared = lint_texts(tmp_path / "a", "FROM image:latest-${ARCH}\nRUN make\n")
    assert _messages(undeclared, "DH-D107") == [
        "FROM image:latest-${ARCH} is not pinned by digest "
        "(ARCH is not declared before the first FROM)"
    ]
    declared = lint_texts(tmp_path / "b", "ARG ARCH\nFROM image:latest-${ARCH}\nRUN make\n")
    assert _messages(declared, "DH-D107") == [
        "FROM image:latest-${ARCH} is not pinned by digest (ARCH has no default)"
    ]
    assert not fires(declared, "DH-D106")  # the tag is not known to be latest


def test_platform_args_are_read_for_the_assumed_platform(tmp_path: Path) -> None:
    findings = lint_texts(tmp_path, "FROM quay.io/prometheus/busybox-${TARGETOS}:glibc\n")
    assert _messages(findings, "DH-D107") == [
        "FROM quay.io/prometheus/busybox-linux:glibc is not pinned by digest "
        "(TARGETOS is set by the build platform, read as linux)"
    ]


def test_what_the_file_cannot_tell_stays_silent_and_what_it_can_is_said(tmp_path: Path) -> None:
    unknown = lint_texts(tmp_path / "a", "ARG base\nFROM ${base}\nUSER gitpod\nRUN make\n")
    for rule in ("DH-D104", "DH-D106", "DH-D107"):
        assert not fires(unknown, rule), rule
    registry = lint_texts(tmp_path / "b", "ARG REGISTRY\nFROM ${REGISTRY}/python\n")
    assert _messages(registry, "DH-D106") == [
        "FROM ${REGISTRY}/python uses no tag (so `latest`) (REGISTRY has no default)"
    ]
    slim = lint_texts(tmp_path / "c", "ARG PY\nFROM python:${PY}-slim\nRUN make\n")
    assert not fires(slim, "DH-D104") and lines(slim, "DH-D107") == [2]
    digest = lint_texts(tmp_path / "d", "ARG DIGEST\nFROM python:3.12@${DIGEST}\n")
    assert not fires(digest, "DH-D107") and not fires(digest, "DH-D106")


# 3. Stages named through ARGs


KIMAI_SHAPED = """\
ARG BASE="fpm"
FROM composer:2.8 AS composer
FROM php:8.3-fpm-alpine AS fpm-base
RUN apk add --no-cache fcgi
USER www-data
FROM php:8.3-apache-bookworm AS apache-base
FROM ${BASE}-base AS php-base
COPY --from=composer /usr/bin/composer /usr/bin/composer
FROM php-base AS prod
COPY . /opt/app
"""


def test_a_stage_named_through_an_arg_is_followed_to_its_image(tmp_path: Path) -> None:
    model = parse_dockerfile(KIMAI_SHAPED, "Dockerfile")
    assert [s.name for s in model.chain()] == ["fpm-base", "php-base", "prod"]
    root = model.root_base()
    assert root is not None and root.base_resolved == "php:8.3-fpm-alpine"
    findings = lint_texts(tmp_path, KIMAI_SHAPED)
    assert lines(findings, "DH-D107") == [2, 3, 6]  # never the stage references
    assert not fires(findings, "DH-D104")  # alpine
    assert not fires(findings, "DH-D102") and not fires(findings, "DH-D101")  # USER www-data


def test_the_other_base_is_judged_when_the_arg_says_so(tmp_path: Path) -> None:
    text = KIMAI_SHAPED.replace('ARG BASE="fpm"', "ARG BASE=apache")
    findings = lint_texts(tmp_path, text)
    assert _messages(findings, "DH-D104") == [
        "the final image is based on php:8.3-apache-bookworm, a full OS image"
    ]
    assert lines(findings, "DH-D102") == [9]


def test_a_stage_named_through_a_platform_arg_is_followed(tmp_path: Path) -> None:
    text = (
        f"FROM {PINNED} AS build\nRUN make\nFROM scratch AS binaries-unix\n"
        "COPY --from=build /out/tool /tool\nFROM binaries-unix AS binaries-linux\n"
        "FROM binaries-unix AS binaries-darwin\nFROM scratch AS binaries-windows\n"
        "FROM binaries-$TARGETOS AS binaries\nFROM binaries\n"
    )
    model = parse_dockerfile(text, "Dockerfile")
    assert model.stages[5].parent == 2 and model.root_base() == model.stages[1]
    findings = lint_texts(tmp_path, text)
    assert _messages(findings, "DH-D102") == [
        "the final stage is FROM scratch with no USER: the process runs as uid 0"
    ]
    assert lines(findings, "DH-D107") == []


def test_stage_names_match_as_buildkit_matches_them() -> None:
    text = f"FROM later AS first\nFROM {PINNED} AS later\nFROM later\n"
    model = parse_dockerfile(text, "Dockerfile")
    assert model.stages[0].parent is None  # only earlier stages can be a base
    assert model.stages[2].parent == 1


# 4. Downloads run by a shell


RUNS_DOWNLOAD = [
    'sh -c "$(curl -fsSL https://raw.githubusercontent.com/ohmyzsh/ohmyzsh/master/tools/install.sh)"'
    ' "" --unattended',
    'mkdir ~/.cache && /bin/bash -c "$(curl -fsSL https://raw.githubusercontent.com/Homebrew/install/HEAD/install.sh)"',
    'bash -c "$(wget -O - https://apt.llvm.org/llvm.sh)"',
    "bash <(curl --fail -L https://nixos.org/nix/install) --no-daemon",
    "curl -fsSL https://deb.nodesource.com/setup_20.x | sudo -E bash -",
    "curl -LsSf https://astral.sh/uv/install.sh | env UV_INSTALL_DIR=/opt/uv sh",
    "curl -fsSL https://raw.githubusercontent.com/nvm-sh/nvm/v0.39.3/install.sh | PROFILE=/dev/null bash",
    "curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --no-modify-path",
    "curl -fsSL https://get.rvm.io | bash -s stable",
    "curl -fsSL https://dot.net/v1/dotnet-install.sh | bash /dev/stdin --version 8.0",
    "wget -qO- https://get.docker.com | sudo -u builder sh",
    'su node -c "curl -fsSL https://bun.sh/install | bash"',
    "curl https://example.com/install.sh \\\n    | bash",
]
DOES_NOT = [
    "curl -fsSL https://rvm.io/mpapis.asc | gpg --import -",
    "wget --quiet -O - https://www.postgresql.org/media/keys/ACCC4CF8.asc | sudo apt-key add -",
    "wget -O- https://github.com/koalaman/shellcheck/releases/download/v0.7.0/x.tar.xz | tar xJvf -",
    "curl -fsSLo install.sh https://example.com/install.sh && sha256sum -c sums && sh install.sh",
    "curl -s https://example.com/list | tee /etc/apt/sources.list.d/x.list",
    "echo 'curl -fsSL https://example.com/install.sh | sh' >> /home/app/README",
    'sh -c "echo $(curl -fsSL https://example.com/version)"',
]


@pytest.mark.parametrize("script", RUNS_DOWNLOAD, ids=lambda s: s[:40])
def test_a_download_run_by_a_shell_is_reported(tmp_path: Path, script: str) -> None:
    findings = lint_texts(tmp_path, f"FROM {PINNED}\nRUN {script}\n")
    assert lines(findings, "DH-D113") == [2]


@pytest.mark.parametrize("script", DOES_NOT, ids=lambda s: s[:40])
def test_a_download_not_run_by_a_shell_is_not(tmp_path: Path, script: str) -> None:
    assert not fires(lint_texts(tmp_path, f"FROM {PINNED}\nRUN {script}\n"), "DH-D113")


# 5. Package installs


@pytest.mark.parametrize(
    ("script", "tool"),
    [
        ("npm install", "npm"),
        ('npm install --prefix "$HOME/.nvm/"', "npm"),
        ("npm install --omit dev > /dev/null 2>&1", "npm"),
        ("yarn install --production", "yarn"),
        ("yarn", "yarn"),
        ("pnpm install", "pnpm"),
        ("npm install -g pnpm", None),
        ("npm install --global ./dist/cli-1.0.0.tgz", None),
        ("npm install ./vendor/tool.tgz", None),
        ('su node -c "umask 0002 && npm install -g eslint"', None),
        ("sudo -u node npm install --global elm@latest-0.19.1", None),
        ("npm ci --omit=dev", None),
        ("yarn global add serve", None),
        ("yarn add left-pad", None),
        ("yarn install --frozen-lockfile", None),
        ("yarn install --immutable", None),
        ("pnpm add -g pnpm@9", None),
        ("pnpm install --frozen-lockfile", None),
    ],
)
def test_only_the_projects_own_dependencies_count(
    tmp_path: Path, script: str, tool: str | None
) -> None:
    findings = lint_texts(tmp_path, f"FROM {PINNED}\nRUN {script}\n")
    keys = [f.property("key") for f in findings if f.rule_id == "DH-D116"]
    assert keys == ([tool] if tool else [])


@pytest.mark.parametrize(
    ("script", "reported"),
    [
        ("pip install --no-cache /wheels/*", False),
        ("python3 -m pip install `find dist/ -name \\*.whl`", False),
        ("python3 -m pip install /app/*.whl", False),
        ("pip install --no-deps dist/app-1.0-py3-none-any.whl", False),
        ("pip install .", False),
        ("pip install -e '.[dev]'", False),
        ("pip install --no-index --find-links=/wheels -r requirements.txt", False),
        ("pip install --require-hashes -r requirements.txt", False),
        ("pip install --upgrade pip", True),
        ("pip install -r requirements.txt", True),
        ("pip install ./app -r requirements.txt", True),
        ("pip install git+https://github.com/org/repo.git", True),
        ("pip3 install --find-links=/wheels app", True),
    ],
)
def test_local_wheels_and_paths_are_not_unhashed_downloads(
    tmp_path: Path, script: str, reported: bool
) -> None:
    findings = lint_texts(tmp_path, f"FROM {PINNED}\nRUN {script}\n")
    assert fires(findings, "DH-D115") is reported


# 6. Quoting and forms


def test_json_form_sources_and_arg_urls_are_read_as_buildkit_reads_them(tmp_path: Path) -> None:
    text = (
        "FROM alpine:3.20 AS installer\nARG PS_VERSION=7.4.5\n"
        "ARG PS_PACKAGE=powershell-${PS_VERSION}-linux-musl-x64.tar.gz\n"
        "ARG PS_PACKAGE_URL=https://github.com/PowerShell/PowerShell/releases/download/"
        "v${PS_VERSION}/${PS_PACKAGE}\n"
        "ADD ${PS_PACKAGE_URL} /tmp/linux.tar.gz\n"
        'ADD ["${PS_PACKAGE_URL}", "/tmp/again.tar.gz"]\nARG SRC=.\nCOPY ["$SRC", "/src"]\n'
        'RUN ["/bin/sh", "-c", "curl -fsSL https://example.com/i.sh | sh"]\n'
    )
    findings = lint_texts(tmp_path, text)
    assert lines(findings, "DH-D112") == [5, 6]
    assert lines(findings, "DH-D113") == [9]  # the exec form's argument list, as BuildKit runs it
    assert _messages(findings, "DH-D112")[0].startswith(
        "ADD https://github.com/PowerShell/PowerShell/releases/download/v7.4.5/powershell-7.4.5-"
    )
    assert lines(findings, "DH-D111") == [8]


WINDOWS = (
    "# escape=`\nFROM mcr.microsoft.com/windows/servercore:ltsc2022\n"
    'ENV ProgramFiles="C:\\Program Files" `\n    PSCORE="C:\\Program Files\\pwsh.exe"\n'
    "RUN apt-get update && `\n    apt-get install -y curl\n"
)


def test_a_backtick_escape_directive_is_honoured(tmp_path: Path) -> None:
    model = parse_dockerfile(WINDOWS, "Dockerfile")
    env, run = model.stages[0].instructions[1:]
    assert env.value == (
        "ProgramFiles",
        "C:\\Program Files",
        "PSCORE",
        "C:\\Program Files\\pwsh.exe",
    )
    assert run.line == 5 and run.end_line == 6
    findings = lint_texts(tmp_path, WINDOWS)
    assert lines(findings, "DH-D117") == [5] and lines(findings, "DH-D118") == [5]


def test_a_byte_order_mark_and_crlf_line_endings_change_nothing(tmp_path: Path) -> None:
    marked = "\ufeff" + WINDOWS.replace("\n", "\r\n")
    model = parse_dockerfile(marked, "Dockerfile")
    assert model.error is None and model.invalid == ()
    run = model.stages[0].instructions[2]
    assert run.escape == "`" and (run.line, run.end_line) == (5, 6)
    assert "\r" not in run.script
    folder = tmp_path / "bytes"
    folder.mkdir()
    (folder / "Dockerfile").write_bytes(marked.encode("utf-8"))
    plain = lint_texts(tmp_path / "plain", WINDOWS)
    assert _seen(_lint_file(folder)) == _seen(plain) != set()


def _seen(findings: list[Finding]) -> set[tuple[str, int, str]]:
    return {(f.rule_id, f.location.line, f.message) for f in findings}


def _lint_file(folder: Path) -> list[Finding]:
    path = folder / "Dockerfile"
    return list(lint(LintInputs(workspace=folder, dockerfile=path, context=folder)).findings)


def test_comments_and_blank_lines_inside_continuations_are_dropped(tmp_path: Path) -> None:
    text = (
        f"FROM {PINNED}\nRUN apt-get update && \\\n    # Common useful utilities\n\n"
        "    apt-get install -y curl && \\\n    # sudo is only mentioned here\n"
        "    rm -rf /var/lib/apt/lists/*\n"
    )
    findings = lint_texts(tmp_path, text)
    assert lines(findings, "DH-D117") == [2]
    assert not fires(findings, "DH-D118") and not fires(findings, "DH-D120")


def test_heredocs_are_read_as_buildkit_hands_them_to_the_shell(tmp_path: Path) -> None:
    text = (
        f"FROM {PINNED}\n"
        "RUN <<EOF\napt-get update\napt-get install -y curl\nEOF\n"  # 2: the script itself
        "RUN <<EOF bash\ncurl -fsSL https://example.com/i.sh | sh\nEOF\n"  # 6: fed to bash
        "RUN cat <<EOF > /install.sh\ncurl -fsSL https://example.com/i.sh | sh\nEOF\n"  # 9: data
        "RUN <<EOF\n#!/usr/bin/env python3\nimport os\nos.system('sudo reboot')\nEOF\n"  # 12
        "COPY <<EOF /home/app/.bashrc.d/direnv\nsource <(curl -s https://example.com/env)\nEOF\n"
        "RUN <<-EOT\n\tset -e\n\tcat <<'eot' > main.go\n\tpackage main\n\teot\n\tsudo true\n\tEOT\n"
    )
    findings = lint_texts(tmp_path, text)
    assert lines(findings, "DH-D117") == [2] and lines(findings, "DH-D118") == [2]
    assert lines(findings, "DH-D113") == [6]
    assert lines(findings, "DH-D120") == [20]


ONBUILD = f"""\
FROM {PINNED}
RUN mkdir -p /usr/src/app
WORKDIR /usr/src/app
ONBUILD ARG NODE_ENV
ONBUILD ENV NODE_ENV $NODE_ENV
ONBUILD COPY package.json /usr/src/app/
ONBUILD RUN --mount=type=cache,target=/root/.npm npm install && npm cache clean --force
ONBUILD COPY . /usr/src/app
ONBUILD RUN <<EOF
curl -fsSL https://example.com/setup.sh | bash
EOF
ONBUILD USER root
ONBUILD HEALTHCHECK CMD curl -f http://localhost/ || exit 1
ONBUILD ADD https://example.com/tool.tgz /opt/
"""


def test_onbuild_triggers_are_parsed_as_child_images_parse_them() -> None:
    model = parse_dockerfile(ONBUILD, "Dockerfile")
    triggers = [i.trigger for i in model.instructions("ONBUILD")]
    assert all(t is not None and t.onbuild for t in triggers)
    run = triggers[3]
    assert run is not None and run.cmd == "RUN" and run.line == 7
    assert run.flags == ("--mount=type=cache,target=/root/.npm",)
    heredoc = triggers[5]
    assert heredoc is not None and heredoc.line == 9 and heredoc.end_line == 11
    assert "curl -fsSL" in heredoc.script
    assert model.instructions("RUN") == [model.stages[0].instructions[1]]  # its own only


def test_onbuild_triggers_are_reported_as_what_they_do_in_child_images(tmp_path: Path) -> None:
    findings = lint_texts(tmp_path, ONBUILD)
    prefix = "ONBUILD: in child images, "
    for rule, line in (("DH-D116", 7), ("DH-D111", 8), ("DH-D113", 9), ("DH-D112", 14)):
        reported = [f for f in findings if f.rule_id == rule]
        assert [f.location.line for f in reported] == [line], rule
        assert reported[0].message.startswith(prefix), reported[0].message
    assert not fires(findings, "DH-D101")  # ONBUILD USER root is the child's user
    assert lines(findings, "DH-D119") == [1]  # ONBUILD HEALTHCHECK is the child's check
