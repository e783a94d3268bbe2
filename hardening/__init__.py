"""docker-hardening: build, scan, check and probe a Docker image, and report it in one place."""

__version__ = "0.1.0"
TOOL_NAME = "docker-hardening"
INFORMATION_URI = "https://github.com/docker-hardening/docker-hardening"
