"""Where an image finding points in the Dockerfile, when there is one."""

from __future__ import annotations

from hardening.rules.base import LintContext
from hardening.rules.common import last_user


def user_line(ctx: LintContext) -> int:
    model = ctx.dockerfile
    if model is None:
        return 0
    found = last_user(model)
    if found is not None:
        return found[0].line
    return from_line(ctx)


def from_line(ctx: LintContext) -> int:
    model = ctx.dockerfile
    if model is None or model.final is None:
        return 0
    return model.final.from_line
