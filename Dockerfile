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
# Trivy and Grype at pinned versions, each archive checked against the checksums file that
# its project publishes with the release (no `latest`, no `curl | sh`).
ARG TRIVY_VERSION=0.58.2
ARG GRYPE_VERSION=0.86.1
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /downloads
RUN base="https://github.com/aquasecurity/trivy/releases/download/v${TRIVY_VERSION}" \
 && curl -fsSLO "${base}/trivy_${TRIVY_VERSION}_Linux-64bit.tar.gz" \
 && curl -fsSLO "${base}/trivy_${TRIVY_VERSION}_checksums.txt" \
 && grep " trivy_${TRIVY_VERSION}_Linux-64bit.tar.gz\$" "trivy_${TRIVY_VERSION}_checksums.txt" | sha256sum -c - \
 && tar -xzf "trivy_${TRIVY_VERSION}_Linux-64bit.tar.gz" trivy \
 && install -m 0755 trivy /usr/local/bin/trivy
RUN base="https://github.com/anchore/grype/releases/download/v${GRYPE_VERSION}" \
 && curl -fsSLO "${base}/grype_${GRYPE_VERSION}_linux_amd64.tar.gz" \
 && curl -fsSLO "${base}/grype_${GRYPE_VERSION}_checksums.txt" \
 && grep " grype_${GRYPE_VERSION}_linux_amd64.tar.gz\$" "grype_${GRYPE_VERSION}_checksums.txt" | sha256sum -c - \
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
