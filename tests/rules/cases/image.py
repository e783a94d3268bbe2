"""Image rules: image facts made by hand (config, history, what the layers hold)."""

from __future__ import annotations

import datetime
from dataclasses import replace

from hardening.targets.image import FileFact, ImageFacts, OsRelease
from tests.rules.cases import PINNED_FROM, Case, Inputs
from tests.rules.helpers import image_facts

LAYER = "sha256:" + "c" * 64
# A clean image: non-root, a healthcheck, layers read and nothing risky in them.
CLEAN = replace(
    image_facts({"User": "10001", "Healthcheck": {"Test": ["CMD", "/app", "healthcheck"]}}),
    layers_read=True,
)
# Its Dockerfile: the final stage's own instructions made the last history entry.
DOCKERFILE = f"{PINNED_FROM}\nUSER 10001\n"


def _created(days_ago: int) -> str:
    when = datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=days_ago)
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def _history(base_days_ago: int) -> tuple[dict[str, object], ...]:
    return (
        {"created": _created(base_days_ago), "created_by": "/bin/sh -c #(nop) ADD file:rootfs"},
        {"created": _created(0), "created_by": "USER 10001"},
    )


def _case(bad: ImageFacts, good: ImageFacts = CLEAN, dockerfile: str | None = None) -> Case:
    return Case(Inputs(dockerfile=dockerfile, image=bad), Inputs(dockerfile=dockerfile, image=good))


def _file(path: str, mode: int = 0o644) -> FileFact:
    return FileFact(path, LAYER, mode)


CASES: dict[str, Case] = {
    "DH-I201": _case(replace(CLEAN, user=""), replace(CLEAN, user="10001:10001")),
    # Inherited from the base image: the Dockerfile does not set it.
    "DH-I202": _case(
        replace(CLEAN, env=(("API_TOKEN", "abc123"),)),
        replace(CLEAN, env=(("API_TOKEN_FILE", "/run/secrets/api_token"),)),
    ),
    "DH-I203": _case(
        replace(CLEAN, history=({"created_by": "RUN |1 NPM_TOKEN=abc123 /bin/sh -c npm ci"},)),
        replace(
            CLEAN,
            history=({"created_by": "RUN /bin/sh -c npm ci # buildkit: --mount=type=secret"},),
        ),
    ),
    "DH-I204": _case(replace(CLEAN, secret_files=(_file("/app/.env"),))),
    "DH-I205": _case(replace(CLEAN, setuid=(_file("/usr/bin/passwd", 0o104755),))),
    "DH-I206": _case(replace(CLEAN, file_capabilities=(_file("/app/server", 0o755),))),
    "DH-I207": _case(
        replace(CLEAN, shells=("bin/sh",), package_managers=("apt",)),
    ),
    "DH-I208": _case(replace(CLEAN, build_tools=("gcc", "make"))),
    "DH-I209": _case(
        replace(CLEAN, history=_history(base_days_ago=400)),
        replace(CLEAN, history=_history(base_days_ago=10)),
        dockerfile=DOCKERFILE,
    ),
    "DH-I210": _case(
        replace(CLEAN, os_release=OsRelease("debian", "10", "Debian GNU/Linux 10 (buster)")),
        replace(CLEAN, os_release=OsRelease("debian", "13", "Debian GNU/Linux 13 (trixie)")),
    ),
    "DH-I211": _case(replace(CLEAN, healthcheck=None)),
    "DH-I212": _case(replace(CLEAN, world_writable=(_file("/app/data", 0o40777),))),
}
