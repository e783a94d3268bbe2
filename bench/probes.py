"""The whole probe set on a small image, broken down, with the trial's grace period apart."""

from __future__ import annotations

import statistics

from bench.common import Row

GRACE = 2.0


def run(runs: int = 5) -> list[Row]:
    from hardening.adapters.docker_engine import connect
    from hardening.probes import ProbeOptions, probe_image
    from tests.support.engine import BUSYBOX_IMAGE, ensure_busybox_image

    client = connect()
    ensure_busybox_image(client)
    image = "docker-hardening.bench/sleeper:latest"
    import tempfile
    from pathlib import Path

    from tests.support.engine import build_image

    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "Dockerfile").write_text(
            f'FROM {BUSYBOX_IMAGE}\nUSER 10001\nCMD ["sleep", "3600"]\n'
        )
        build_image(Path(tmp), image)
    options = ProbeOptions(grace_s=GRACE, helper_image=BUSYBOX_IMAGE)
    probe_image(client, image, options)
    samples = [probe_image(client, image, options).durations for _ in range(runs)]
    client.images.remove(image, force=True)
    rows = []
    for key in ("inspect", "run"):
        values = [s.get(key, 0.0) for s in samples]
        rows.append(Row("probes", f"probe stage: {key}", "s", statistics.median(values), min(values), max(values), "", None,
                        f"includes the {GRACE:.0f} s grace period (both containers wait it at once)" if key == "run" else ""))  # fmt: skip
    totals = [sum(s.values()) - GRACE for s in samples]
    rows.append(Row("probes", "all probes, excluding the grace period", "s", statistics.median(totals),
                    min(totals), max(totals), "< 5 s", statistics.median(totals) < 5))  # fmt: skip
    return rows
