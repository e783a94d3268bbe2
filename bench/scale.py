"""Synthetic Trivy and Grype reports of N findings, scaled from the real recorded nginx pair by
renaming packages (each copy renames the same package the same way in both reports, so
de-duplication still meets real pairs)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

SHARED = Path(__file__).resolve().parents[2] / "shared"
FIXTURES = (SHARED if SHARED.exists() else Path("/work/shared")) / "fixtures" / "scanners"


def scaled_reports(total: int) -> tuple[dict[str, Any], dict[str, Any]]:
    trivy = json.loads((FIXTURES / "trivy-nginx-latest-msusel-2023.json").read_text())
    grype = json.loads((FIXTURES / "grype-nginx-latest-msusel-v0.62.3.json").read_text())
    base_vulns = trivy["Results"][0]["Vulnerabilities"]
    base_matches = grype["matches"]
    per_copy = len(base_vulns) + len(base_matches)
    copies = max(1, total // per_copy)
    vulns, matches = [], []
    for k in range(copies):
        for v in base_vulns:
            item = dict(v)
            item["PkgName"] = f"{v['PkgName']}-{k}"
            vulns.append(item)
        for m in base_matches:
            item = copy.copy(m)
            artifact = dict(m["artifact"])
            artifact["name"] = f"{artifact['name']}-{k}"
            artifact["purl"] = ""
            item["artifact"] = artifact
            matches.append(item)
    trivy["Results"][0]["Vulnerabilities"] = vulns
    grype["matches"] = matches
    return trivy, grype


def write_scaled(total: int, folder: Path) -> tuple[Path, Path]:
    trivy, grype = scaled_reports(total)
    folder.mkdir(parents=True, exist_ok=True)
    t, g = folder / f"trivy-{total}.json", folder / f"grype-{total}.json"
    t.write_text(json.dumps(trivy))
    g.write_text(json.dumps(grype))
    return t, g
