"""The hardening checklist, items C01-C18, that rules, probes and the report all refer to."""

from __future__ import annotations

CHECKLIST: dict[str, str] = {
    "C01": "Minimal base image",
    "C02": "Multi-stage build, no build tools in the final image",
    "C03": "Non-root user with a dedicated uid",
    "C04": "Read-only root filesystem",
    "C05": "Capabilities dropped, only what is needed added back",
    "C06": "No privilege escalation (no-new-privileges, no setuid/setcap)",
    "C07": "Seccomp and AppArmor not disabled",
    "C08": "Base image pinned by digest, pins kept fresh",
    "C09": "Language dependencies pinned and verified",
    "C10": "No secrets in the image or its history",
    "C11": "Minimal network exposure",
    "C12": ".dockerignore excludes secrets and clutter",
    "C13": "HEALTHCHECK defined",
    "C14": "Resource limits (memory, CPU, pids)",
    "C15": "Vulnerabilities scanned with Trivy and Grype",
    "C16": "Rebuilt often: fresh base, OS not end-of-life",
    "C17": "SBOM produced; signatures verified where configured",
    "C18": "No unverified downloads",
}
