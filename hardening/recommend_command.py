"""``hardening recommend IMAGE_OR_DOCKERFILE``: measure a better base image and print the table.

A Dockerfile's final stage names the base (ARGs substituted, stage aliases followed); an image
reference is the base itself. The current base and its candidates are pulled and scanned with
the scanners and database a scan would use (the same flags), within ``--timeout`` seconds.
Exit codes: 0 printed (a recommendation, or the one line saying why there is none); 2 usage
error; 3 no engine.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hardening.errors import UsageError
from hardening.model import BaseRecommendation, ImageMeasure, Severity
from hardening.request import (
    ScanRequest,
    load_policy,
    parse_key_values,
    positive_seconds,
    relpath,
)


def add_parser(sub: Any, scanner_options: Callable[[argparse.ArgumentParser], None]) -> None:
    recommend = sub.add_parser(
        "recommend",
        help="measure newer, smaller and minimal base images against the current one",
        epilog="exit codes: 0 printed; 2 usage or configuration error; 3 no Docker engine",
    )
    recommend.add_argument("subject", metavar="IMAGE_OR_DOCKERFILE")
    recommend.add_argument("--json", action="store_true", help="print the measures as JSON")
    recommend.add_argument("--target", default="", help="the Dockerfile's final stage")
    recommend.add_argument("--build-arg", action="append", default=[], metavar="NAME=VALUE")
    recommend.add_argument("--platform", default="", help="pull the images for this platform")
    recommend.add_argument("--max-candidates", type=int, default=None, metavar="N",
                           help="images measured besides the current base (default 4)")  # fmt: skip
    recommend.add_argument("--timeout", default=None, metavar="SECONDS",
                           help="for the whole recommendation (default 300)")  # fmt: skip
    recommend.add_argument("--config", metavar="PATH", help="policy file (recommend-base: options)")
    recommend.add_argument("--workspace", metavar="DIR", help="repository root (default: cwd)")
    scanner_options(recommend)


def _options(args: argparse.Namespace, request: ScanRequest) -> Any:
    from hardening.pipeline.recommend import options_for

    options = options_for(request.config.recommend)
    if args.max_candidates is not None:
        if not 1 <= args.max_candidates <= 20:
            raise UsageError("--max-candidates must be from 1 to 20", "pass a number such as 4")
        options = dataclasses.replace(options, max_candidates=args.max_candidates)
    if args.timeout is not None:
        seconds = positive_seconds(
            args.timeout, "--timeout", "pass a number of seconds such as 300"
        )
        options = dataclasses.replace(options, timeout_s=seconds)
    return options


def _target(args: argparse.Namespace, workspace: Path) -> Any:
    from hardening.supply.recommend import Target, target_from_dockerfile
    from hardening.targets.dockerfile import parse_dockerfile

    path = Path(args.subject)
    if not path.is_file():
        if args.target or args.build_arg:
            raise UsageError(
                f"{args.subject} is not a file", "--target and --build-arg need a Dockerfile"
            )
        return Target(args.subject, platform=args.platform)
    text = path.read_text(encoding="utf-8", errors="replace")
    model = parse_dockerfile(text, relpath(path, workspace), args.target)
    target = target_from_dockerfile(model, parse_key_values(args.build_arg, "--build-arg"))
    return dataclasses.replace(target, platform=args.platform) if args.platform else target


def run_recommend(args: argparse.Namespace, scanner_fields: dict[str, Any]) -> int:
    from hardening.adapters import docker_engine
    from hardening.supply.recommend import recommend

    workspace = Path(args.workspace).resolve() if args.workspace else Path.cwd()
    config = load_policy(Path(args.config) if args.config else None, workspace, bool(args.config))
    request = ScanRequest(workspace=workspace, config=config, **scanner_fields)
    options = _options(args, request)
    target = _target(args, workspace)
    client = docker_engine.connect()
    with tempfile.TemporaryDirectory(prefix="docker-hardening-recommend-") as tmp:
        result = recommend(target, options, request, client, Path(tmp))
    print(json.dumps(to_json(result), indent=2) if args.json else format_text(result))
    return 0


def _measure_json(m: ImageMeasure) -> dict[str, Any]:
    data = {f.name: getattr(m, f.name) for f in dataclasses.fields(m)}
    data["counts"] = {s.value: n for s, n in m.counts}
    data["shells"], data["package_managers"] = list(m.shells), list(m.package_managers)
    return data


def to_json(rec: BaseRecommendation) -> dict[str, Any]:
    return {
        "base": rec.base, "path": rec.path, "line": rec.line,
        "current": _measure_json(rec.current) if rec.current else None,
        "candidates": [
            {**_measure_json(c.measure), "why": c.why, "from_line": c.from_line,
             "changes": list(c.changes), "notes": list(c.notes), "recommended": c is rec.best}
            for c in rec.candidates
        ],
        "unmeasured": [{"reference": r, "why": w} for r, w in rec.unmeasured],
        "recommended": rec.best.from_line if rec.best else "",
        "note": rec.note, "scanners": list(rec.scanners), "duration_s": round(rec.duration_s, 1),
    }  # fmt: skip


def _row(label: str, m: ImageMeasure, against: str) -> list[str]:
    size = f"{m.size / 1e6:.0f} MB" if m.size >= 10_000_000 else f"{m.size / 1e6:.1f} MB"
    return [
        label, f"{m.count(Severity.CRITICAL)} ({m.fixable_critical})",
        f"{m.count(Severity.HIGH)} ({m.fixable_high})",
        "?" if m.packages is None else str(m.packages), size,
        (m.os or "?") + (f" (EOL {m.eol})" if m.eol else ""),
        "yes" if m.shells else "no", ",".join(m.package_managers) or "none", m.user or "root",
        against,
    ]  # fmt: skip


def format_text(rec: BaseRecommendation) -> str:
    where = f" ({rec.path}:{rec.line})" if rec.path else ""
    if rec.current is None or rec.current.problem:
        return f"base image {rec.base or '?'}{where}: {rec.note}"
    head = ["image", "critical (fixable)", "high (fixable)", "packages", "size", "OS",
            "shell", "package manager", "user", "against the current base"]  # fmt: skip
    rows = [head, _row(f"current {rec.base}", rec.current, "")]
    for n, c in enumerate(rec.candidates, 1):
        rows.append(_row(f"{n}. {c.measure.reference}", c.measure, ", ".join(c.changes) or "same"))
    widths = [max(len(row[i]) for row in rows) for i in range(len(head))]
    lines = [f"base image {rec.base}{where}, measured with {', '.join(rec.scanners)} "
             f"in {rec.duration_s:.0f} s", ""]  # fmt: skip
    lines += [
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]
    for n, c in enumerate(rec.candidates, 1):
        mark = "recommended" if c is rec.best else f"{n}"
        lines += ["", f"{mark}: {c.from_line}  ({c.why})"]
        lines += [f"  note: {note}" for note in c.notes]
    if rec.note:
        lines += ["", rec.note]
    lines += [f"not measured: {ref}: {why}" for ref, why in rec.unmeasured]
    return "\n".join(lines)
