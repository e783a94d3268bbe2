"""Each rule's fixture: inputs on which it must fire ("bad") and inputs on which it must stay
silent ("good"), by rule id.

Dockerfile and compose rules need no entry: their own documented before/after examples are
their fixtures (a Dockerfile fragment gets a pinned FROM line, a compose fragment a service
around it). Rules that read other facts (the built image, the build context, resolved digest
pins, what running the image showed) have a hand-made case in the module of their target here;
so does a Dockerfile rule whose examples need more than the Dockerfile. A rule with neither
fails ``tests/rules/test_examples.py``.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from hardening.model import Finding, SignatureCheck
from hardening.probes import ProbeOptions, ProbeResult
from hardening.rules import check_pins, check_runtime, check_signatures
from hardening.rules.base import Rule
from hardening.supply.pins import Pin
from hardening.targets.dockerfile import parse_dockerfile
from hardening.targets.image import ImageFacts
from tests.rules.helpers import lint_texts

PINNED_FROM = "FROM debian:12-slim@sha256:" + "a" * 64


@dataclass(frozen=True)
class Inputs:
    dockerfile: str | None = None
    compose: str | None = None
    dockerignore: str | None = None
    image: ImageFacts | None = None
    pins: tuple[Pin, ...] | None = None
    runtime: ProbeResult | None = None
    signatures: tuple[SignatureCheck, ...] | None = None


class Case(NamedTuple):
    bad: Inputs
    good: Inputs


def run(inputs: Inputs, tmp: Path) -> list[Finding]:
    """Every finding the rules make on ``inputs``, through the same entry points as a scan."""
    if inputs.signatures is not None:
        return check_signatures(parse_dockerfile(PINNED_FROM + "\n", "Dockerfile"), inputs.signatures)
    if inputs.runtime is not None:
        return check_runtime(inputs.runtime, ProbeOptions())
    if inputs.pins is not None:
        model = parse_dockerfile(inputs.dockerfile or PINNED_FROM + "\n", "Dockerfile")
        return check_pins(model, inputs.pins)
    return lint_texts(
        tmp, inputs.dockerfile, compose=inputs.compose, dockerignore=inputs.dockerignore,
        image=inputs.image,
    )  # fmt: skip


def dockerfile_text(snippet: str) -> str:
    """A documented Dockerfile example as a whole Dockerfile (a pinned FROM when it has none)."""
    if any(line.strip().upper().startswith("FROM ") for line in snippet.splitlines()):
        return snippet + "\n"
    return f"{PINNED_FROM}\n{snippet}\n"


def compose_text(snippet: str) -> str:
    """A documented compose example as a whole compose file (one service around a fragment)."""
    if snippet.lstrip().startswith("services:"):
        return snippet + "\n"
    body = textwrap.indent(textwrap.dedent(snippet), "    ")
    return f"services:\n  web:\n    image: web\n{body}\n"


def from_examples(item: Rule) -> Case | None:
    doc = item.doc
    if not (doc.example_bad and doc.example_good):
        return None
    if item.needs == "dockerfile":
        return Case(
            Inputs(dockerfile=dockerfile_text(doc.example_bad)),
            Inputs(dockerfile=dockerfile_text(doc.example_good)),
        )
    if item.needs == "compose":
        return Case(
            Inputs(compose=compose_text(doc.example_bad)),
            Inputs(compose=compose_text(doc.example_good)),
        )
    return None


def case_for(item: Rule) -> Case | None:
    from tests.rules.cases import context, dockerfile, image, runtime, signatures

    for module in (dockerfile, context, image, runtime, signatures):
        if item.doc.id in module.CASES:
            return module.CASES[item.doc.id]
    return from_examples(item)
