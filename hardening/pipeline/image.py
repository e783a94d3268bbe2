"""The scanned image, opened once for every stage: its metadata from the engine, one archive
made only on demand, and its layers' facts from the persisted cache (``adapters/image_source``)."""

from __future__ import annotations

import contextlib
from concurrent.futures import Future, InvalidStateError
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from hardening.adapters.image_source import (
    ImageSource,
    LayerCache,
    cache_folder,
    config_bytes,
    engine_image,
    keep_history,
)
from hardening.pipeline.context import ScanContext
from hardening.targets.image import ImageFacts, facts_from_layers, read_layer_records

if TYPE_CHECKING:
    from hardening.supply.sbom import SbomResult


def open_image(ctx: ScanContext, reference: str) -> str:
    """Set ``ctx.image`` and ``ctx.source``; what happened, in a few words."""
    from hardening.adapters import docker_engine

    folder = cache_folder(ctx.request.db_cache_dir)
    built = bool(ctx.built_tag)
    image, key = engine_image(ctx.client, reference, folder, built)

    def export() -> Path:
        archive = docker_engine.export_image(ctx.client, reference, ctx.workdir / "image.tar")
        keep_history(folder, key, config_bytes(archive))
        return archive

    if image is None:  # the engine's history is ambiguous: the archive says it exactly
        early = ImageSource(export=export)
        image = docker_engine.image_info(reference, early.archive(), ctx.client, built=built)
        ctx.source = ImageSource(image.image_id, archive=early.archive())
        detail = f"{early.archive().stat().st_size // 1024} KiB archive (its history needed it)"
    else:
        cache = LayerCache(folder)
        missing = [layer.diff_id for layer in image.layers if not cache.has(layer.diff_id)]
        ctx.source = ImageSource(image.image_id, export=export, archive_wanted=bool(missing))
        detail = (
            f"read from the engine; {len(missing)} of {len(image.layers)} layer(s) not seen "
            "before (one archive, on demand)"
            if missing
            else f"read from the engine; all {len(image.layers)} layer(s) seen before: no export"
        )
    ctx.archive = ctx.source.archive() if ctx.source.exported else None
    ctx.image = replace(image, reference=image.image_id or reference) if built else image
    return detail


def image_facts(ctx: ScanContext) -> ImageFacts:
    """The image's facts: each layer's from the cache, the others read from the archive
    (exported now if nobody has yet) and kept for the next run."""
    assert ctx.image is not None and ctx.source is not None
    cache = LayerCache(cache_folder(ctx.request.db_cache_dir))
    order = [layer.diff_id for layer in ctx.image.layers]
    records = {d: r for d in order if (r := cache.get(d)) is not None}
    missing = {d for d in order if d not in records}
    if missing or not order:
        archive = ctx.source.archive()
        for record in read_layer_records(archive, missing or None):
            cache.put(record)
            records[record.diff_id] = record
        if not order:  # no layer list from the engine: take the archive's own order
            return facts_from_layers(ctx.image, list(records.values()))
    unread = [d for d in order if d not in records]
    if unread:
        raise ValueError(f"the archive has no layer {unread[0]}")
    return facts_from_layers(ctx.image, [records[d] for d in order])


def hand_over(handoff: Future[Path | None], value: Path | None) -> None:
    """Give the waiting stage its value; only the first one given counts."""
    with contextlib.suppress(InvalidStateError):
        handoff.set_result(value)


def make_sbom(ctx: ScanContext, target: Path) -> SbomResult:
    """From the package list a scanner made (``trivy convert``: no second cataloguing); else
    with Syft from the run's archive when it is made anyway, or from the engine."""
    from hardening.supply.sbom import generate_sbom, sbom_from_report

    fmt = ctx.request.sbom_format
    listed = ctx.package_list.result()  # set by the scanners stage, as soon as Trivy is done
    if listed is not None:
        made = sbom_from_report(listed, target, fmt)
        if not made.error:
            return made
    assert ctx.source is not None
    if ctx.source.archive_wanted or not ctx.source.engine_id:
        return generate_sbom(ctx.source.archive(), target, fmt)
    return generate_sbom(None, target, fmt, engine_id=ctx.source.engine_id)
