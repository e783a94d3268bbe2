"""A better base image for the final stage, measured in this run.

The final stage's base (ARGs substituted, stage aliases followed: the Dockerfile model's
``root_base``) is the current base. Its registry lists the tags (``/v2/<name>/tags/list``,
with the registry client's token flow); ``candidates.list_candidates`` picks newer tags of the
same line, smaller variants and minimal alternatives, each resolved to its digest, at most
``max_candidates`` of them. The current base and every candidate are pulled and scanned with
the run's own scanners and database (``measure``), within one time limit. Candidates are
ranked by fewer fixable critical, then fewer fixable high, then fewer critical and high in
all, then the same major version, then a smaller size; the first is recommended only when it
measured better than the current base. Informational: its finding is negligible, so no gate
ever counts it. Nothing here raises for a registry or engine problem: the recommendation says
in one line why nothing was recommended.
"""

from __future__ import annotations

import datetime
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from hardening.errors import HardeningError
from hardening.model import (
    BASE_RECOMMENDATION_RULE,
    BaseCandidate,
    BaseRecommendation,
    Finding,
    ImageMeasure,
    Kind,
    Location,
    Severity,
)
from hardening.request import ScanRequest
from hardening.supply import measure
from hardening.supply.candidates import Candidate, list_candidates, name_of, parse_tag, tag_of
from hardening.supply.registry import Registry, parse_reference
from hardening.targets.dockerfile import DockerfileModel, expand

MB = 1_000_000
PULL_WORKERS = 2


@dataclass(frozen=True, slots=True)
class Target:
    """The base image to improve on: where it is written, or why there is none."""

    base: str  # as the final stage names it, ARGs substituted
    path: str = ""  # the Dockerfile ("" for an image given by reference)
    line: int = 0  # the FROM line
    platform: str = ""
    alias: str = ""  # the stage's AS name
    runs: int = 0  # RUN instructions on top of it (they need a shell)
    problem: str = ""


@dataclass(frozen=True, slots=True)
class Options:
    max_candidates: int = 4
    timeout_s: float = 300.0
    alternatives: Mapping[str, Sequence[str]] = field(default_factory=dict)
    mirrors: Mapping[str, str] = field(default_factory=dict)


def target_from_dockerfile(
    model: DockerfileModel, build_args: Sequence[tuple[str, str]] = ()
) -> Target:
    """The image the final stage is built on, after its ARGs and stage aliases."""
    root = model.root_base(model.final_index) if model.stages and not model.error else None
    if root is None:
        return Target(
            "", model.path, problem=f"{model.path or 'the Dockerfile'} has no stage to read"
        )
    base = root.base_resolved
    declared = {name for name, _ in model.global_args}
    given = {k: v for k, v in build_args if k in declared}
    if given and "$" in root.base:  # a build argument that names the base beats its default
        base = expand(root.base, {**dict(model.global_args), **given})
    runs = sum(1 for stage in model.chain() for i in stage.instructions if i.cmd == "RUN")
    platform = "" if "$" in root.platform else root.platform
    target = Target(base, model.path, root.from_line, platform, root.name, runs)
    if "$" in base:
        why = "; ".join(root.notes) or f"{root.base} has no default value"
        return replace(target, problem=f"the base image cannot be resolved ({why})")
    if root.is_scratch or base.lower() == "scratch":
        return replace(target, problem="the final stage is built FROM scratch")
    return target


def _from_line(target: Target, reference: str, digest: str) -> str:
    platform = f"--platform={target.platform} " if target.platform else ""
    alias = f" AS {target.alias}" if target.alias else ""
    return f"FROM {platform}{reference}@{digest}{alias}"


def _listed(
    target: Target, options: Options, registry: Registry, deadline: measure.Deadline
) -> tuple[str, list[tuple[Candidate, str]], list[tuple[str, str]], str]:
    """(the current digest, the candidates with their digests, those left out and why, or
    why nothing can be recommended)."""
    ref = parse_reference(target.base)
    current = ref.digest
    if not current:
        answer = registry.resolve(ref)
        if answer.error:
            return "", [], [], f"{target.base} could not be resolved: {answer.error}"
        current = answer.digest
    tags, problem = registry.tags(ref)
    if not tags:
        why = problem or f"{ref.repository} in {ref.registry} lists no tags"
        return current, [], [], f"no candidates could be listed: {why}"
    chosen: list[tuple[Candidate, str]] = []
    left_out: list[tuple[str, str]] = []
    seen = {current: target.base}
    for candidate in list_candidates(target.base, tags, options.alternatives, options.mirrors):
        if len(chosen) >= options.max_candidates or deadline.left() <= 0:
            break
        answer = registry.resolve(parse_reference(candidate.reference))
        if answer.error:
            left_out.append((candidate.reference, answer.error))
        elif answer.digest in seen:
            left_out.append((candidate.reference, f"the same image as {seen[answer.digest]}"))
        else:
            seen[answer.digest] = candidate.reference
            chosen.append((candidate, answer.digest))
    return current, chosen, left_out, ""


def _one(
    request: ScanRequest, reference: str, digest: str, future: Future[measure.Prepared],
    folder: Path, deadline: measure.Deadline, today: datetime.date,
) -> tuple[ImageMeasure, tuple[str, ...]]:  # fmt: skip
    try:
        prepared = future.result(timeout=max(0.0, deadline.left()))
    except FutureTimeout:
        return ImageMeasure(reference, digest, problem=deadline.out_of_time()), ()
    except HardeningError as exc:
        return ImageMeasure(reference, digest, problem=exc.message), ()
    except Exception as exc:
        return ImageMeasure(reference, digest, problem=f"{type(exc).__name__}: {exc}"), ()
    try:
        vulns, ran, problem = measure.scan(request, prepared, folder / "scan", deadline)
    finally:
        prepared.archive.unlink(missing_ok=True)
    if problem:
        return ImageMeasure(reference, digest, problem=problem), ()
    return measure.measured(reference, digest, prepared, vulns, today), ran


def measure_all(
    items: Sequence[tuple[str, str]], request: ScanRequest, client: Any, workdir: Path,
    platform: str, deadline: measure.Deadline,
) -> tuple[list[ImageMeasure], tuple[str, ...]]:  # fmt: skip
    """Each (reference, digest) measured: pulls and exports side by side, scans one after
    another; (the measures in order, the scanners that ran on the first)."""
    today = datetime.date.today()
    if request.db_cache_dir is None:  # one database for every image, fetched once
        request = replace(request, db_cache_dir=workdir / "cache")
    pool = ThreadPoolExecutor(max_workers=PULL_WORKERS, thread_name_prefix="recommend")
    futures = [
        pool.submit(measure.prepare, client, f"{name_of(ref)}@{digest}", workdir / f"image-{n}",
                    platform, deadline)
        for n, (ref, digest) in enumerate(items)
    ]  # fmt: skip
    out: list[ImageMeasure] = []
    scanners: tuple[str, ...] = ()
    try:
        for n, ((ref, digest), future) in enumerate(zip(items, futures, strict=True)):
            one, ran = _one(request, ref, digest, future, workdir / f"image-{n}", deadline, today)
            out.append(one)
            scanners = scanners or ran
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        for future in futures:
            if future.done() and not future.cancelled() and future.exception() is None:
                prepared = future.result()
                prepared.archive.unlink(missing_ok=True)
                if prepared.pulled:
                    measure.remove(client, prepared.pulled)
    return out, scanners


def rank_key(item: ImageMeasure, current: ImageMeasure) -> tuple[int, int, int, int, int]:
    """Fewer fixable critical, fewer fixable high, fewer critical and high, the same major
    version, a smaller size."""
    major = parse_tag(tag_of(current.reference)).major
    same = major is not None and parse_tag(tag_of(item.reference)).major == major
    return (
        item.fixable_critical,
        item.fixable_high,
        item.critical_high,
        0 if same else 1,
        item.size,
    )


def recommend(
    target: Target, options: Options, request: ScanRequest, client: Any, workdir: Path,
    registry: Registry | None = None,
) -> BaseRecommendation:  # fmt: skip
    """Measure the current base and its candidates; the best first."""
    started = time.monotonic()
    result = _recommend(target, options, request, client, workdir, registry or Registry())
    return replace(result, duration_s=time.monotonic() - started)


def _recommend(
    target: Target, options: Options, request: ScanRequest, client: Any, workdir: Path,
    registry: Registry,
) -> BaseRecommendation:  # fmt: skip
    empty = BaseRecommendation(target.base, target.path, target.line)
    if target.problem:
        return replace(empty, note=f"{target.problem}; nothing to recommend")
    deadline = measure.Deadline(options.timeout_s)
    current_digest, chosen, left_out, problem = _listed(target, options, registry, deadline)
    if problem or not chosen:
        none = f"no newer tag, smaller variant or alternative of {target.base} was found"
        problem = problem or (deadline.out_of_time() if deadline.left() <= 0 else none)
        return replace(empty, note=f"{problem}; nothing recommended", unmeasured=tuple(left_out))
    items = [(name_of(target.base) + _tag_part(target.base), current_digest)]
    items += [(c.reference, digest) for c, digest in chosen]
    measures, scanners = measure_all(items, request, client, workdir, target.platform, deadline)
    current, rest = measures[0], measures[1:]
    if current.problem:
        note = f"the current base {target.base} could not be measured ({current.problem}); nothing recommended"
        return replace(empty, current=current, note=note, unmeasured=tuple(left_out))
    whys = {c.reference: c.why for c, _ in chosen}
    measured_ok = sorted((m for m in rest if not m.problem), key=lambda m: rank_key(m, current))
    left_out += [(m.reference, m.problem) for m in rest if m.problem]
    candidates = tuple(
        BaseCandidate(m, whys.get(m.reference, ""), _from_line(target, m.reference, m.digest),
                      changes(current, m), notes(current, m, target))
        for m in measured_ok
    )  # fmt: skip
    better = bool(measured_ok) and rank_key(measured_ok[0], current) < rank_key(current, current)
    note = "" if better else _no_better(measured_ok)
    return BaseRecommendation(
        target.base, target.path, target.line, current, candidates, tuple(left_out), better,
        note, scanners,
    )  # fmt: skip


def _tag_part(base: str) -> str:
    tag = tag_of(base)
    return f":{tag}" if tag else ""


def _no_better(measured: Sequence[ImageMeasure]) -> str:
    if not measured:
        return "no candidate could be measured; nothing recommended"
    return "no candidate measured better than the current base; nothing recommended"


def _size(delta: int) -> str:
    value = delta / MB
    return f"{value:+.0f} MB" if abs(value) >= 10 else f"{value:+.1f} MB"


def changes(current: ImageMeasure, new: ImageMeasure) -> tuple[str, ...]:
    """What moving to ``new`` changes: "-1 critical", "-12 high", "-240 packages",
    "-700 MB", "no shell", "no package manager", "runs as nonroot"."""
    out = [
        f"{b - a:+d} {label}"
        for label, a, b in (
            ("critical", current.count(Severity.CRITICAL), new.count(Severity.CRITICAL)),
            ("high", current.count(Severity.HIGH), new.count(Severity.HIGH)),
            (
                "fixable critical or high",
                current.fixable_critical + current.fixable_high,
                new.fixable_critical + new.fixable_high,
            ),
        )  # fmt: skip
        if a != b
    ]
    if (
        current.packages is not None
        and new.packages is not None
        and new.packages != current.packages
    ):
        out.append(f"{new.packages - current.packages:+d} packages")
    if new.size != current.size:
        out.append(_size(new.size - current.size))
    if current.shells and not new.shells:
        out.append("no shell")
    if current.package_managers and not new.package_managers:
        out.append("no package manager")
    if _root(current.user) and not _root(new.user):
        out.append(f"runs as {new.user}")
    return tuple(out)


def _root(user: str) -> bool:
    return user.split(":", 1)[0].strip() in ("", "root", "0")


def _family(item: ImageMeasure) -> str:
    return item.os_id.split(" ", 1)[0].lower()


def notes(current: ImageMeasure, new: ImageMeasure, target: Target) -> tuple[str, ...]:
    """The compatibility notes that matter for moving to ``new``."""
    out = []
    if _family(new) == "alpine" and _family(current) != "alpine":
        out.append(
            "Alpine uses musl libc, not glibc: glibc binaries and manylinux wheels may not run"
        )
    elif _family(new) and _family(current) and _family(new) != _family(current):
        out.append(
            f"another distribution ({current.os} to {new.os}): package names and paths differ"
        )
    if current.shells and not new.shells:
        runs = f"the {target.runs} RUN instruction(s) on it and " if target.runs else ""
        out.append(
            f"no shell: {runs}shell-form CMD, ENTRYPOINT and HEALTHCHECK need a multi-stage build"
        )
    if current.package_managers and not new.package_managers:
        out.append("no package manager: install packages in a build stage and copy them over")
    old_major = parse_tag(tag_of(current.reference)).major
    new_major = parse_tag(tag_of(new.reference)).major
    if old_major is not None and new_major is not None and old_major != new_major:
        out.append(f"a major version change ({old_major} to {new_major})")
    if _root(current.user) and not _root(new.user):
        out.append(f"runs as {new.user} by default: what it writes needs that user's permissions")
    if new.eol_passed:
        out.append(f"its OS reached its end of life on {new.eol}")
    return tuple(out)


def summary(rec: BaseRecommendation) -> str:
    """One line: what is recommended, or why nothing is."""
    best = rec.best
    if best is None:
        return rec.note or "nothing recommended"
    said = ", ".join(best.changes) or "the same figures"
    return f"{best.measure.reference} instead of {rec.base}: {said}"


def recommendation_finding(rec: BaseRecommendation) -> Finding | None:
    """The best candidate as an informational finding on the FROM line: its replacement line
    becomes a SARIF fix and a check-run suggestion. Negligible, so no gate counts it."""
    best = rec.best
    if best is None or not rec.path or not rec.line:
        return None
    return Finding(
        rule_id=BASE_RECOMMENDATION_RULE, kind=Kind.MISCONFIGURATION, severity=Severity.NEGLIGIBLE,
        title="A base image that measured better is available",
        message=f"Measured in this run: {summary(rec)}."
        + (f" Note: {'; '.join(best.notes)}." if best.notes else ""),
        location=Location(path=rec.path, line=rec.line, end_line=rec.line),
        tools=("docker-hardening",), checklist=("C01",),
        fix=f"Replace line {rec.line} with: {best.from_line}",
        properties=(("replacement", best.from_line), ("digest", best.measure.digest),
                    ("key", f"base-recommendation:{rec.base}"), ("informational", "true")),
    )  # fmt: skip
