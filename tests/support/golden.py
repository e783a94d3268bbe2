"""Golden files for what users read. ``UPDATE_GOLDEN=1`` rewrites them; review the diff."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

GOLDEN = Path(__file__).resolve().parents[1] / "golden"


def normalize_sarif(document: dict[str, Any]) -> dict[str, Any]:
    text = json.dumps(document, indent=1, sort_keys=True)
    text = re.sub(r'"endTimeUtc": "[^"]+"', '"endTimeUtc": "<time>"', text)
    text = re.sub(r'"(semanticVersion|version)": "\d+\.\d+\.\d+"', r'"\1": "<version>"', text)
    return json.loads(text)


def check(name: str, actual: str) -> None:
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN") == "1" or not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(actual)
        if os.environ.get("UPDATE_GOLDEN") != "1":
            raise AssertionError(f"{name} did not exist and was written; review it and run again")
    assert path.read_text() == actual, f"{name} changed; review, then rerun with UPDATE_GOLDEN=1"


def scanner_runs() -> tuple[object, object]:
    """The tool runs a real scan records for Trivy and Grype (as the scanner registry names them)."""
    from hardening.model import RunStatus, ToolRun

    return (
        ToolRun("trivy", RunStatus.OK, "0.58.2", scanner=True, display_name="Trivy",
                vendor="Aqua Security", information_uri="https://github.com/aquasecurity/trivy"),
        ToolRun("grype", RunStatus.OK, "0.86.1", scanner=True, display_name="Grype",
                vendor="Anchore", information_uri="https://github.com/anchore/grype"),
    )  # fmt: skip
