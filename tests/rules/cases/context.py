"""Build-context rules: the Dockerfile with and without a .dockerignore next to it."""

from __future__ import annotations

from tests.rules.cases import PINNED_FROM, Case, Inputs

COPIES = f"{PINNED_FROM}\nCOPY app.py /app/\n"

CASES: dict[str, Case] = {
    "DH-X501": Case(
        Inputs(dockerfile=COPIES),
        Inputs(dockerfile=COPIES, dockerignore=".git\n.env\n*.pem\n*.key\nnode_modules\n"),
    ),
}
