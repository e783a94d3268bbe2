"""What the checks read, each parsed by its module: the Dockerfile, the build context's
.dockerignore, the compose file and the image's layers. Finding a build context's compose file
needs none of them (a lint of a Dockerfile without one never loads the compose model)."""

from __future__ import annotations

from pathlib import Path

COMPOSE_NAMES = ("compose.yaml", "compose.yml", "docker-compose.yml", "docker-compose.yaml")


def find_compose(*folders: Path) -> Path | None:
    for folder in folders:
        for name in COMPOSE_NAMES:
            candidate = folder / name
            if candidate.is_file():
                return candidate
    return None
