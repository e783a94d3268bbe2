"""Small judgements several rules share: users, image references, secret-looking names, how a
finding speaks of an ONBUILD trigger."""

from __future__ import annotations

import re
from dataclasses import dataclass

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


def last_user(model: DockerfileModel) -> tuple[Instruction, str] | None:
    """The USER in force in the final stage (through the stages it is built FROM), with the
    variables in force at it resolved as BuildKit resolves them."""
    for stage in reversed(model.chain()):
        users = [i for i in stage.instructions if i.cmd == "USER"]
        if users:
            instruction = users[-1]
            return instruction, instruction.resolved(0, stage.values_at(instruction))
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


@dataclass(frozen=True, slots=True)
class BaseReference:
    """What a FROM line's image reference says once its ARGs are resolved, when parts of it
    could not be: ``tag`` is None when the reference does not show whether it has one (a
    variable stands where a tag or digest could be), "" when it has none; ``tag_known`` is
    False when a variable is part of the tag."""

    ref: str
    tag: str | None
    digest: str | None
    tag_known: bool
    notes: tuple[str, ...]

    @property
    def pinned(self) -> bool | None:
        """Pinned by digest: True, False, or None when the file does not say."""
        if self.digest:
            return True
        return None if self.tag is None else False

    def why(self) -> str:
        """The notes as a clause for a message: " (ARCH has no default)", or ""."""
        return f" ({'; '.join(self.notes)})" if self.notes else ""


def base_reference(stage: Stage) -> BaseReference:
    """``stage``'s image reference read as far as the file allows. A variable inside the tag
    is taken as part of the tag (``image:latest-${ARCH}`` has no digest whatever ARCH is); a
    variable where the last path part ends could bring a tag and a digest, so it says
    nothing of either."""
    ref = stage.base_resolved
    name, tag, digest = split_reference(ref)
    if digest:
        return BaseReference(ref, tag, digest, "$" not in tag, stage.notes)
    last = name.rsplit("/", 1)[-1]
    if tag:
        return BaseReference(ref, tag, None, "$" not in tag, stage.notes)
    if "$" in last:
        return BaseReference(ref, None, None, False, stage.notes)
    return BaseReference(ref, "", None, True, stage.notes)


def sources(model: DockerfileModel, instruction: Instruction) -> list[str]:
    """A COPY's or ADD's sources as BuildKit reads them: quotes removed, the variables in
    force resolved (a trigger's are the child image's: kept as written), heredocs left out."""
    values = model.values_at(instruction)
    count = len(instruction.raw or instruction.value) - 1
    return [
        instruction.resolved(index, values)
        for index in range(count)
        if not instruction.value[index].startswith("<<")
    ]


def said(instruction: Instruction, message: str) -> str:
    """``message`` as a finding says it: an ONBUILD trigger's is about child images."""
    return f"ONBUILD: in child images, {message}" if instruction.onbuild else message


def external_stages(model: DockerfileModel) -> list[Stage]:
    """Stages FROM an image (not scratch, not another stage, not a FROM that names none)."""
    return [s for s in model.stages if s.parent is None and s.base and not s.is_scratch]
