"""One measurement in a fresh process: parse + de-duplicate (+ SARIF), wall time and peak RSS.

python -m bench._measure_merge TRIVY GRYPE OUT.sarif
"""

from __future__ import annotations

import json
import resource
import sys
import time
from pathlib import Path


def _peak_mb() -> float:
    """This process's own peak RSS. Not ru_maxrss: Linux carries the parent's peak across
    fork and exec into it, so a child of a large process would report the parent's size."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    trivy, grype, out = map(Path, sys.argv[1:4])
    from hardening.model import Report
    from hardening.report import sarif
    from hardening.report.formats import RenderInput
    from hardening.scanners.load import load_report
    from hardening.scanners.merge import merge_findings

    started = time.perf_counter()
    findings = load_report(trivy).findings + load_report(grype).findings
    merged = merge_findings(findings)
    parsed = time.perf_counter()
    report = Report(findings=tuple(merged), category="bench/")
    out.write_bytes(sarif.render(RenderInput(report)))
    done = time.perf_counter()
    rss_mb = _peak_mb()
    print(json.dumps({"parse_merge": parsed - started, "sarif": done - parsed, "total": done - started,
                      "rss_mb": rss_mb, "in": len(findings), "out": len(merged)}))  # fmt: skip


if __name__ == "__main__":
    main()
