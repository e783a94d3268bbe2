"""The ``base recommendation`` stage (opt-in: recommend-base): after the scanners, measure the
final stage's base image and its candidates with the run's own scanners and database files,
and put the best one in the report and, as an informational finding, on the FROM line.

It never changes the verdict: its finding is negligible (no gate counts it), the stage is a
soft one (its failure is reported, never an incomplete run), and whatever goes wrong becomes a
one-line note.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from hardening.model import BaseRecommendation
from hardening.pipeline.context import ScanContext
from hardening.pipeline.recorder import StageInfo

if TYPE_CHECKING:
    from hardening.policy.recommend import RecommendPolicy
    from hardening.supply.recommend import Options

STAGE = "base recommendation"


def options_for(policy: RecommendPolicy) -> Options:
    """The shipped alternatives, replaced per image name by the policy file's."""
    from hardening.supply.candidates import load_alternatives
    from hardening.supply.recommend import Options

    mapping = {**load_alternatives(), **dict(policy.alternatives)}
    return Options(policy.max_candidates, policy.timeout_s, mapping, dict(policy.mirrors))


def recommend_stage(ctx: ScanContext, info: StageInfo) -> None:
    from hardening.supply import recommend

    request = ctx.request
    if ctx.client is None:
        info.skip("no engine to pull the candidates with")
        return
    if ctx.dockerfile is not None:
        target = recommend.target_from_dockerfile(ctx.dockerfile, request.build_args)
    elif request.image:
        target = recommend.Target(request.image)
    else:
        info.skip("no Dockerfile and no image reference to start from")
        return
    # The run's own database files: the scanners' cache of this run (or db-cache-dir).
    scanning = replace(request, db_cache_dir=request.db_cache_dir or ctx.workdir / "cache")
    folder = ctx.workdir / "recommend"
    folder.mkdir(exist_ok=True)
    options = options_for(request.config.recommend)
    try:
        result = recommend.recommend(target, options, scanning, ctx.client, folder)
    except Exception as exc:  # a bug here must never cost the scan its report
        result = BaseRecommendation(target.base, target.path, target.line,
                                    note=f"could not be made ({type(exc).__name__}: {exc})")  # fmt: skip
    ctx.extras["base-recommendation"] = result
    finding = recommend.recommendation_finding(result)
    if finding is not None:
        ctx.findings.append(finding)
    info.detail = recommend.summary(result)
    if not result.recommended:
        ctx.rec.notify("note", STAGE, recommend.summary(result))
