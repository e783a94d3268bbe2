"""Dockerfile rules whose documented examples need more than the Dockerfile."""

from __future__ import annotations

from hardening.supply.pins import Pin
from tests.rules.cases import PINNED_FROM, Case, Inputs

OLD = "sha256:" + "1" * 64
NEW = "sha256:" + "2" * 64
PINNED_OLD = f"FROM debian:12-slim@{OLD}"

CASES: dict[str, Case] = {
    # The whole context is copied: only a .dockerignore makes that acceptable.
    "DH-D111": Case(
        Inputs(dockerfile=f"{PINNED_FROM}\nCOPY . /app\n"),
        Inputs(dockerfile=f"{PINNED_FROM}\nCOPY . /app\n", dockerignore=".git\n.env\n*.pem\n"),
    ),
    # A pin is stale when the registry says its tag now points at another digest.
    "DH-D123": Case(
        Inputs(
            dockerfile=PINNED_OLD + "\n",
            pins=(Pin(1, PINNED_OLD, digest=OLD, current=NEW, age_days=200),),
        ),
        Inputs(
            dockerfile=PINNED_OLD + "\n",
            pins=(Pin(1, PINNED_OLD, digest=OLD, current=OLD, age_days=3),),
        ),
    ),
}
