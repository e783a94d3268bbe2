"""Small judgements several rules share: users, image references, secret-looking names."""

from __future__ import annotations

import re

from hardening.targets.dockerfile import DockerfileModel, Instruction, Stage

SECRET_NAME = re.compile(r"PASSWORD|PASSWD|SECRET|TOKEN|API_?KEY|PRIVATE_?KEY", re.IGNORECASE)
# Names that mention a secret but hold something else: a path to it, a public key, a setting.
NOT_SECRET_NAME = re.compile(
    r"(_FILE|_PATH|_DIR|_URL|_URI|_ENDPOINT|_LENGTH|_SIZE|_TTL|_TIMEOUT|_EXPIRY|_NAME|_HEADER|_TYPE)$"
    r"|^GPG_KEYS?$|_GPG_KEY$|^NODE_AUTH_TOKEN_FILE$",
    re.IGNORECASE,
)
ROOT_USERS = ("root", "0")
# Bases that are minimal: no package manager or a small one, few packages.
MINIMAL_BASES = re.compile(
    r"(^scratch$|distroless|chainguard|cgr\.dev/|wolfi|alpine|busybox|-slim|slim-|:slim|"
    r"ubi-?micro|ubi-?minimal|ubi\d*/ubi-micro|ubi\d*/ubi-minimal|/static(:|$)|-minimal)",
    re.IGNORECASE,
)
# Bases known to run as a non-root user by default.
NONROOT_BASES = re.compile(r"(distroless.*:(\S*-)?nonroot|cgr\.dev/chainguard/)", re.IGNORECASE)


def is_secret_name(name: str) -> bool:
    return bool(SECRET_NAME.search(name)) and not NOT_SECRET_NAME.search(name)


def is_literal(value: str | None) -> bool:
    return bool(value) and not str(value).startswith("$")


def user_part(value: str) -> str:
    return value.split(":", 1)[0].strip()


def stage_args(model: DockerfileModel, stage: Stage) -> dict[str, str | None]:
    """ARG defaults visible in a stage: the global ones, then the stage's own."""
    from hardening.targets.dockerfile import pairs

    values: dict[str, str | None] = dict(model.global_args)
    for instruction in stage.instructions:
        if instruction.cmd == "ARG":
            for name, value in pairs(instruction):
                values[name] = value if value is not None else values.get(name)
    return values


def last_user(model: DockerfileModel) -> tuple[Instruction, str] | None:
    """The USER in force in the final stage (through its parent stages), with ARGs resolved."""
    for stage in reversed(model.chain()):
        users = [i for i in stage.instructions if i.cmd == "USER"]
        if users:
            instruction = users[-1]
            return instruction, instruction.resolved(0, stage_args(model, stage))
    return None


def split_reference(ref: str) -> tuple[str, str, str]:
    """(name, tag, digest) of an image reference."""
    digest = ""
    if "@" in ref:
        ref, digest = ref.split("@", 1)
    name, tag = ref, ""
    last = ref.rsplit("/", 1)[-1]
    if ":" in last:
        name, tag = ref.rsplit(":", 1)
    return name, tag, digest


def external_stages(model: DockerfileModel) -> list[Stage]:
    """Stages FROM an image (not scratch, not another stage, not a FROM that names none)."""
    return [s for s in model.stages if s.parent is None and s.base and not s.is_scratch]
