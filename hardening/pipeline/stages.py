"""The stages of a scan, each a short function over the one :class:`ScanContext`.

engine -> build -> export -> (scanners | sbom | checks and digest pins | runtime probes, side by
side) -> merge -> policy. A stage whose input is missing because an earlier stage failed is
skipped with that reason and no error of its own, so a failed build is one error, not four.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from hardening.errors import HardeningError
from hardening.model import Finding, RunStatus, Suppression, ToolRun
from hardening.pipeline.context import RUN_LABEL, ScanContext
from hardening.pipeline.recorder import StageInfo


def engine(ctx: ScanContext, info: StageInfo) -> None:
    request = ctx.request
    if request.image_archive and not request.probes:
        info.skip("not needed: an image archive was given and the probes are off")
        return
    from hardening.adapters import docker_engine

    ctx.client = docker_engine.connect()


def build(ctx: ScanContext, info: StageInfo) -> None:
    request = ctx.request
    if request.image or request.image_archive:
        info.skip("an existing image was given")
        return
    if ctx.client is None:
        info.skip("no engine to build with")
        return
    from hardening.adapters import docker_engine

    ctx.built_tag = ctx.temp_tag
    outcome = docker_engine.build(request, ctx.built_tag, ctx.client, ctx.labels, ctx.workdir)
    for warning in outcome.warnings:
        ctx.rec.notify("warning", "build", warning)
    ctx.rec.tool(ToolRun("docker build", RunStatus.OK, outcome.mode, duration_s=outcome.duration_s))
    info.detail = f"built with {outcome.mode} in {outcome.duration_s:.1f}s"


def export(ctx: ScanContext, info: StageInfo) -> None:
    from hardening.adapters import docker_engine

    request = ctx.request
    if request.image_archive:
        from hardening.adapters.image_source import ImageSource

        ctx.archive = request.image_archive
        ctx.source = ImageSource(archive=ctx.archive)
        ctx.image = docker_engine.image_info(ctx.built_tag or request.image, ctx.archive, None)
        if ctx.client is not None and request.probes:
            loaded = docker_engine.load_archive(ctx.client, ctx.archive)
            ctx.image = replace(ctx.image, reference=loaded, image_id=loaded)
        info.detail = f"read {ctx.archive.name}"
        return
    reference = ctx.built_tag or request.image
    if ctx.client is None or not reference or ctx.rec.failed("build"):
        info.skip("no image: " + ("the build failed" if ctx.rec.failed("build") else "no engine"))
        return
    from hardening.pipeline.image import open_image

    info.detail = open_image(ctx, reference)  # an archive only on demand (pipeline/image.py)


def _no_image(ctx: ScanContext) -> str:
    return "the build failed" if ctx.rec.failed("build") else "no image"


def scanners(ctx: ScanContext, info: StageInfo) -> None:
    if ctx.source is None:
        info.skip(f"not run: {_no_image(ctx)}")
        for name in ctx.request.scanners:
            ctx.rec.tool(ToolRun(name, RunStatus.SKIPPED, reason=f"not run: {_no_image(ctx)}"))
        return
    from functools import partial

    from hardening.pipeline.image import hand_over
    from hardening.scanners.runner import run_scanners

    listed = partial(hand_over, ctx.package_list)  # the SBOM need not wait for every scanner
    for scanned in run_scanners(ctx.request, ctx.source, ctx.workdir, listed):
        ctx.rec.tool(scanned.run)
        ctx.scanner_findings.extend(scanned.findings)
        for note in scanned.notifications:
            ctx.rec.notify(note.level, note.stage, note.message)


def sbom(ctx: ScanContext, info: StageInfo) -> None:
    request = ctx.request
    if request.sbom_format == "none":
        info.skip("SBOM is off")
        return
    if ctx.source is None:
        info.skip(f"not made: {_no_image(ctx)}")
        return
    from hardening.pipeline.image import make_sbom

    suffix = ".cdx.json" if request.sbom_format == "cyclonedx" else ".spdx.json"
    target = request.sbom_path or request.sarif_path.with_name(
        request.sarif_path.name.removesuffix(".sarif") + suffix
    )
    target.parent.mkdir(parents=True, exist_ok=True)
    made = make_sbom(ctx, target)  # from the scan's own package list where there is one
    ctx.extras["sbom"] = made.to_json()
    if made.error:
        info.status, info.detail = RunStatus.FAILED, made.error
        ctx.rec.notify("warning", "sbom", made.error)
        return
    kinds = ", ".join(f"{n} {t}" for t, n in made.by_type.items())
    info.detail = f"{made.packages} packages ({kinds}) by {made.tool}"


def checks(ctx: ScanContext, info: StageInfo) -> None:
    from hardening.rules import LintInputs, lint

    request = ctx.request
    facts, unreadable = None, ""
    if ctx.image is not None:
        from hardening.pipeline.image import image_facts

        try:
            facts = image_facts(ctx)  # each layer's facts from the cache, or read once
        except Exception as exc:  # the Dockerfile and compose checks still run
            unreadable = f"the image's layers could not be read ({type(exc).__name__}: {exc})"
    outcome = lint(
        LintInputs(
            workspace=request.workspace, dockerfile=request.dockerfile, context=request.context,
            compose_file=request.compose_file, target=request.target, image=facts,
            min_uid=request.min_uid, minimal_bases=request.config.minimal_bases,
            dockerfile_model=ctx.dockerfile, dockerfile_text=ctx.dockerfile_text,
        )
    )  # fmt: skip
    ctx.check_findings.extend(outcome.findings)
    ctx.extras["checklist"] = dict(outcome.checked)
    crashed = [n.message for n in outcome.notifications if n.level == "error"]
    for note in outcome.notifications:
        if note.level != "error":
            ctx.rec.notify(note.level, note.stage, note.message)
    if unreadable:  # the image checks did not run: an incomplete result, never a silent pass
        raise HardeningError(unreadable, "check the image archive (docker save IMAGE -o FILE)")
    if crashed:
        raise HardeningError("; ".join(crashed), "report this as a bug in docker-hardening")
    info.detail = f"{len(outcome.findings)} finding(s)"


def pins(ctx: ScanContext, info: StageInfo) -> None:
    if not ctx.request.resolve_pins or ctx.dockerfile is None:
        info.skip("off" if not ctx.request.resolve_pins else "no Dockerfile")
        return
    from hardening.rules import check_pins
    from hardening.supply.pins import apply_pins, resolve_pins

    resolved_pins = resolve_pins(ctx.dockerfile)
    ctx.check_findings[:] = apply_pins(
        ctx.check_findings, resolved_pins, ctx.request.dockerfile_relpath
    )
    ctx.check_findings.extend(check_pins(ctx.dockerfile, resolved_pins))
    resolved = sum(1 for p in resolved_pins if p.replacement or p.current)
    info.detail = f"{resolved} of {len(resolved_pins)} base image(s) resolved"
    for pin in resolved_pins:
        if pin.note:
            ctx.rec.notify("note", "digest pins", f"line {pin.line}: {pin.note}")


def signatures(ctx: ScanContext, info: StageInfo) -> None:
    """The base images' and the scanned image's signatures, where the policy file asks; a
    registry that cannot be asked makes the run incomplete (never a silent pass)."""
    request = ctx.request
    policies = request.config.signatures
    if not policies or not request.verify_signatures:
        info.skip("off (--no-signature-check)" if policies else "not configured in the policy file")
        return
    from hardening.rules import check_signatures
    from hardening.supply.signatures import Target, base_images, check_images

    targets = base_images(ctx.dockerfile) if ctx.dockerfile is not None else []
    if request.image:  # an image given by reference: its registry holds its signatures
        targets.append(Target(request.image))
    outcome = check_images(targets, policies)
    ctx.signature_checks.extend(outcome.checks)
    ctx.check_findings.extend(check_signatures(ctx.dockerfile, outcome.checks))
    for image in outcome.uncovered:
        ctx.rec.notify("note", "signatures", f"{image}: no signatures entry covers it; not checked")
    verified = sum(1 for c in outcome.checks if c.passed)
    info.detail = f"{verified} of {len(outcome.checks)} image(s) verified"
    if outcome.unreachable:
        raise HardeningError(
            "signatures could not be checked: " + "; ".join(outcome.unreachable),
            "make the registry reachable (docker login for a private one), or run with "
            "--no-signature-check",
        )


def probes(ctx: ScanContext, info: StageInfo) -> None:
    request = ctx.request
    if not request.probes:
        info.skip("probes are off")
        return
    if ctx.image is None or ctx.client is None:
        info.skip(f"not run: {_no_image(ctx)}")
        return
    from hardening.probes import ProbeOptions, probe_image
    from hardening.rules import check_runtime

    options = ProbeOptions(
        grace_s=request.trial_grace_s,
        min_uid=request.min_uid,
        allowed_capabilities=request.config.allowed_capabilities,
        run_id=ctx.labels[RUN_LABEL],  # the base commit's containers are labelled apart
    )
    result = probe_image(ctx.client, ctx.image.reference, options)
    ctx.extras["probe"] = result.to_json()
    ctx.probe_findings.extend(check_runtime(result, options))


def merge(ctx: ScanContext, info: StageInfo) -> None:
    from hardening.report.locate import locate_image_findings
    from hardening.scanners.merge import merge_findings

    merged = merge_findings([*ctx.scanner_findings, *ctx.check_findings, *ctx.probe_findings])
    located = locate_image_findings(merged, ctx.image, ctx.dockerfile)
    ctx.findings = apply_ignore_unfixed(located, ctx)
    info.detail = f"{len(ctx.findings)} finding(s)"


def exploit_data(ctx: ScanContext, info: StageInfo) -> None:
    """Mark every vulnerability from CISA's KEV catalog and FIRST's EPSS scores (downloaded
    into the cache at most once a day); a KEV or EPSS gate without fresh data makes the run
    incomplete, never silently passed."""
    from hardening.enrich import stage as exploit
    from hardening.enrich.sources import default_cache

    request, settings = ctx.request, ctx.request.settings
    gated = settings.fail_on_kev or settings.fail_on_epss is not None
    cache = request.db_cache_dir / "exploit-data" if request.db_cache_dir else default_cache()
    options = exploit.Options(
        cache, settings.kev_url, settings.epss_url, ctx.started,
        settings.fail_on_kev, settings.fail_on_epss is not None,
    )  # fmt: skip
    outcome = exploit.run(ctx.findings, options)
    ctx.findings = outcome.findings
    ctx.extras["exploit-data"] = outcome.data
    for problem in outcome.data.problems:
        ctx.rec.notify("warning" if gated else "note", "exploit data", problem)
    if outcome.skipped:
        info.skip(outcome.skipped)
    elif outcome.stale:
        raise HardeningError(
            "; ".join(outcome.stale) + ", and none could be had",
            "let the runner reach the sources, set kev-url and epss-url to a mirror, or "
            "persist db-cache-dir between runs",
        )
    else:
        kev, epss = outcome.marked
        info.detail = f"{kev} on CISA's KEV catalog, {epss} with an EPSS score"


def apply_ignore_unfixed(findings: list[Finding], ctx: ScanContext) -> list[Finding]:
    if not ctx.request.ignore_unfixed:
        return findings
    return [
        f.with_suppression(
            Suppression(
                "external", f"no fixed version is available ({f.fix_label}; ignore-unfixed)"
            )
        )
        if f.unfixed and not f.suppressed
        else f
        for f in findings
    ]


def policy(ctx: ScanContext, info: StageInfo) -> None:
    from hardening.policy import apply_policy

    request = ctx.request
    image_ref = request.image or (ctx.image.reference if ctx.image else "")
    ctx.findings, notes, extras = apply_policy(
        ctx.findings, request.config, request.workspace, image_ref
    )
    ctx.extras.update(extras)
    for note in notes:
        ctx.rec.notify(note.level, note.stage, note.message)
    suppressed = sum(1 for f in ctx.findings if f.suppressed)
    source = f"policy file {request.config.path}" if request.config.path else "no policy file"
    info.detail = f"{suppressed} suppressed; {source}"


def remove_temporary(ctx: ScanContext) -> None:
    """The temporary tag and every container this run made (by its label); user tags stay."""
    for cleanup in list(ctx.cleanups):
        cleanup()
    ctx.cleanups.clear()
    if ctx.client is None:
        return
    from hardening.adapters import docker_engine

    if ctx.built_tag and not ctx.request.keep_image:
        docker_engine.remove_image(ctx.client, ctx.built_tag)
    docker_engine.remove_labelled_containers(ctx.client, ctx.labels)
    if ctx.cancelled:
        docker_engine.remove_dangling_images(ctx.client, ctx.labels)


def workdir_prefix(run_id: str) -> str:
    return f"docker-hardening-{run_id}-"


def temp_root() -> Path:
    import tempfile

    return Path(tempfile.gettempdir())
