"""Validate a SARIF file the way GitHub and the SARIF ecosystem will read it:

1. the official SARIF 2.1.0 schema (draft-04);
2. Microsoft's SARIF Multitool ``validate --rule-kind "Gh;Sarif"`` (the spec's rules and
   GitHub's ingestion rules), installed from npm into a cache folder on first use;
3. ``sarif summary`` from sarif-tools reads it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from functools import cache
from pathlib import Path

import jsonschema

from tests.conftest import shared_dir
from tests.support.engine import CACHE_DIR

MULTITOOL_VERSION = "5.7.0"
NPM_PREFIX = CACHE_DIR / "npm"


@cache
def _schema_validator() -> jsonschema.Draft4Validator:
    schema = json.loads((shared_dir() / "schemas" / "sarif-schema-2.1.0.json").read_text())
    return jsonschema.Draft4Validator(schema)


def multitool() -> Path:
    binary = (
        NPM_PREFIX / "node_modules" / "@microsoft" / "sarif-multitool-linux" / "Sarif.Multitool"
    )
    if not binary.exists():
        npm = shutil.which("npm")
        if npm is None:
            raise RuntimeError("npm is needed to install the SARIF Multitool (apt-get install npm)")
        NPM_PREFIX.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [npm, "install", "--no-audit", "--no-fund", "--prefix", str(NPM_PREFIX),
             f"@microsoft/sarif-multitool-linux@{MULTITOOL_VERSION}"],
            check=True, capture_output=True, timeout=600,
        )  # fmt: skip
    binary.chmod(0o755)
    return binary


def schema_errors(document: dict[str, object]) -> list[str]:
    return [
        f"schema: {e.message} at {list(e.absolute_path)}"
        for e in _schema_validator().iter_errors(document)
    ]


def multitool_errors(path: Path) -> list[str]:
    out = path.with_suffix(".validation.sarif")
    out.unlink(missing_ok=True)
    env = dict(os.environ, DOTNET_SYSTEM_GLOBALIZATION_INVARIANT="1")
    result = subprocess.run(
        [str(multitool()), "validate", "--rule-kind", "Gh;Sarif", "--output", str(out), str(path)],
        capture_output=True, text=True, env=env, timeout=300,
    )  # fmt: skip
    errors: list[str] = []
    if out.exists():
        log = json.loads(out.read_text(encoding="utf-8-sig"))
        for run in log.get("runs", []):
            for result_ in run.get("results", []):
                if result_.get("level", "warning") == "error":
                    errors.append(
                        f"multitool {result_.get('ruleId')}: {result_.get('message', {}).get('text', '')[:300]}"
                    )
        out.unlink()
    elif result.returncode != 0:
        errors.append(f"multitool failed: {result.stdout[-500:]} {result.stderr[-500:]}")
    return errors


def sarif_tools_errors(path: Path) -> list[str]:
    result = subprocess.run(
        [str(Path(sys.executable).parent / "sarif"), "summary", str(path)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    return [] if result.returncode == 0 else [f"sarif summary: {result.stderr[-500:]}"]


def validate_sarif(path: Path) -> list[str]:
    document = json.loads(path.read_text(encoding="utf-8"))
    return schema_errors(document) + multitool_errors(path) + sarif_tools_errors(path)
