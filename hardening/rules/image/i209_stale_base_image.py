import datetime
from collections.abc import Iterator

from hardening.model import Finding, Severity
from hardening.rules.base import LintContext, doc, rule
from hardening.rules.image._locate import from_line

MAX_AGE_DAYS = 90

DOC = doc(
    "DH-I209",
    "stale-base-image",
    "The base image is old",
    Severity.MEDIUM,
    ("C16",),
    "An image built a minute ago on a base made two years ago carries two years of unpatched "
    "packages. The age that matters is the base layers', read from the image history.",
    "Rebuild on a current base (pull the tag again, or let Renovate/Dependabot update the pinned "
    "digest), and rebuild on a schedule.",
    target="image",
    owasp="A06",
    bad="FROM python:3.9-slim   # base layers from 2023",
    good="FROM python:3.12-slim@sha256:<current digest>",
)


def _created(entry: dict[str, object]) -> datetime.datetime | None:
    text = str(entry.get("created", ""))
    if not text:
        return None
    try:
        return datetime.datetime.fromisoformat(
            text.replace("Z", "+00:00")[:32].split(".")[0] + "+00:00"
            if "." in text
            else text.replace("Z", "+00:00")
        )
    except ValueError:
        return None


def base_entries(ctx: LintContext) -> list[dict[str, object]]:
    """History entries of the base image: all but those the final stage's instructions made."""
    image = ctx.image
    assert image is not None
    history = list(image.history)
    model = ctx.dockerfile
    if model is None or model.final is None:
        return []
    own = sum(len(stage.instructions) - 1 for stage in model.chain())
    return history[: max(0, len(history) - own)]


@rule(DOC)
def check(ctx: LintContext) -> Iterator[Finding]:
    dates = [d for d in (_created(e) for e in base_entries(ctx)) if d is not None]
    if not dates:
        return
    newest = max(dates)
    now = datetime.datetime.now(datetime.UTC)
    if newest.tzinfo is None:
        newest = newest.replace(tzinfo=datetime.UTC)
    age = (now - newest).days
    if age > MAX_AGE_DAYS:
        yield ctx.finding(
            DOC,
            f"the base image's newest layer is {age} days old (built {newest.date()})",
            line=from_line(ctx),
        )
    else:
        ctx.evidence["C16"] = f"base image layers are {age} days old"
