"""The Docker engine: connect, build with BuildKit, export the image once, read its metadata.

Build goes through the docker CLI because BuildKit (secret mounts, multi-stage targets) is only
reachable there: ``docker buildx build --load`` where buildx exists, else a classic client
(< 23) with ``DOCKER_BUILDKIT=1``, else the Engine API's legacy builder with a warning that
names what will not work. Everything else uses the Engine API through the docker SDK.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import re
import shutil
import subprocess
import tarfile
import tempfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hardening import processes
from hardening.errors import ToolError
from hardening.model import ImageInfo, LayerInfo
from hardening.request import ScanRequest

BUILD_TIMEOUT_S = float(os.environ.get("HARDENING_BUILD_TIMEOUT", "1800"))
LOG_TAIL_LINES = 25

NO_ENGINE_FIX = (
    "start Docker (or set DOCKER_HOST to an engine that answers); `hardening lint` needs no engine"
)


def connect() -> Any:
    """A docker SDK client for an engine that answers, or a ToolError saying how to get one."""
    import docker  # heavy import, kept out of the lint path
    from docker.errors import DockerException

    try:
        client = docker.from_env(timeout=120)
        client.ping()
    except DockerException as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ToolError(f"no Docker engine answers ({reason[:200]})", NO_ENGINE_FIX) from None
    return client


@dataclass(frozen=True, slots=True)
class BuildClient:
    """How this machine can build: ``mode`` is buildx, buildkit or legacy."""

    mode: str
    executable: str = ""

    @property
    def supports_buildkit(self) -> bool:
        return self.mode in ("buildx", "buildkit")


def _docker_executables() -> list[str]:
    """Every docker client on PATH, in PATH order, plus Debian's usual location."""
    found: list[str] = []
    for folder in [*os.environ.get("PATH", "").split(os.pathsep), "/usr/bin"]:
        candidate = Path(folder) / "docker"
        if candidate.is_file() and os.access(candidate, os.X_OK):
            real = str(candidate.resolve())
            if real not in {str(Path(f).resolve()) for f in found}:
                found.append(str(candidate))
    return found


def _client_major_version(executable: str) -> int:
    try:
        out = subprocess.run(
            [executable, "version", "--format", "{{.Client.Version}}"],
            capture_output=True,
            text=True,
            timeout=20,
        ).stdout
    except (OSError, subprocess.TimeoutExpired):
        return 0
    match = re.match(r"(\d+)\.", out.strip())
    return int(match.group(1)) if match else 0


def _has_buildx(executable: str) -> bool:
    try:
        result = subprocess.run(
            [executable, "buildx", "version"], capture_output=True, text=True, timeout=20
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return result.returncode == 0


def find_build_client() -> BuildClient:
    """The best docker client on PATH; asked once per process for the same clients (the
    same files, unchanged), since it takes a few docker processes to find out."""
    executables = _docker_executables()
    stamps = []
    for executable in executables:
        try:
            stat = os.stat(executable)
        except OSError:
            return _choose_client(tuple(executables))
        stamps.append((executable, stat.st_ino, stat.st_mtime_ns))
    return _cached_client(tuple(stamps))


@functools.lru_cache(maxsize=8)
def _cached_client(stamps: tuple[tuple[str, int, int], ...]) -> BuildClient:
    return _choose_client(tuple(path for path, _ino, _mtime in stamps))


def _choose_client(executables: tuple[str, ...]) -> BuildClient:
    for executable in executables:
        if _has_buildx(executable):
            return BuildClient("buildx", executable)
    # Clients before 23.0 carry BuildKit inside; newer ones need the buildx plugin.
    for executable in executables:
        major = _client_major_version(executable)
        if 0 < major < 23:
            return BuildClient("buildkit", executable)
    return BuildClient("legacy")


def legacy_builder_warning() -> str:
    return (
        "no BuildKit-capable docker client found (no buildx plugin and no client older than 23): "
        "building with the Engine API's legacy builder, which cannot build RUN --mount "
        "(secrets, caches), build secrets or --platform; install docker buildx to fix this"
    )


@dataclass(frozen=True, slots=True)
class BuildOutcome:
    image_id: str
    tag: str
    log_tail: str
    duration_s: float
    mode: str
    warnings: tuple[str, ...] = ()


def _tail(text: str, lines: int = LOG_TAIL_LINES) -> str:
    return "\n".join(text.rstrip().splitlines()[-lines:])


@contextlib.contextmanager
def _secret_files(request: ScanRequest, workdir: Path | None) -> Iterator[list[str]]:
    """``--secret`` arguments; env secrets go through a private temp file so no client
    version quirk can put their value on a command line."""
    args: list[str] = []
    with tempfile.TemporaryDirectory(prefix="dh-secrets-", dir=workdir) as tmp:
        for secret in request.build_secrets:
            if secret.src:
                args += ["--secret", f"id={secret.id},src={secret.src}"]
            else:
                path = Path(tmp) / secret.id
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(fd, "w") as handle:
                    handle.write(os.environ.get(secret.env, ""))
                args += ["--secret", f"id={secret.id},src={path}"]
        yield args


def build(
    request: ScanRequest,
    tag: str,
    client: Any | None = None,
    labels: Mapping[str, str] | None = None,
    workdir: Path | None = None,
) -> BuildOutcome:
    """Build ``request``'s Dockerfile and tag it ``tag``; raise ToolError naming the failing
    instruction, with the log tail as its details."""
    assert request.context is not None and request.dockerfile is not None
    builder = find_build_client()
    started = time.monotonic()
    if not builder.supports_buildkit:
        return _legacy_build(request, tag, client, started)
    with (
        tempfile.TemporaryDirectory(prefix="dh-build-", dir=workdir) as tmp,
        _secret_files(request, workdir) as secret_args,
    ):
        iidfile = Path(tmp) / "iid"
        cmd = _build_command(builder, request, tag, iidfile, labels or {}) + secret_args
        cmd.append(str(request.context))
        env = dict(os.environ, DOCKER_BUILDKIT="1", BUILDKIT_PROGRESS="plain")
        try:
            code, out, err = processes.run(cmd, env=env, timeout=BUILD_TIMEOUT_S, stdout=True)
        except subprocess.TimeoutExpired:
            raise ToolError(
                f"docker build did not finish within {BUILD_TIMEOUT_S:.0f}s",
                "raise HARDENING_BUILD_TIMEOUT or make the build faster",
            ) from None
        log = out + err
        if code != 0:
            raise build_failure(log, code, request)
        image_id = iidfile.read_text().strip() if iidfile.exists() else ""
    return BuildOutcome(
        image_id=image_id,
        tag=tag,
        log_tail=_tail(log),
        duration_s=time.monotonic() - started,
        mode=builder.mode,
    )


def _build_command(
    builder: BuildClient,
    request: ScanRequest,
    tag: str,
    iidfile: Path,
    labels: Mapping[str, str],
) -> list[str]:
    cmd = [builder.executable]
    cmd += ["buildx", "build", "--load"] if builder.mode == "buildx" else ["build"]
    cmd += ["--progress", "plain", "-f", str(request.dockerfile), "-t", tag]
    cmd += ["--iidfile", str(iidfile)]
    for extra_tag in request.tags:
        cmd += ["-t", extra_tag]
    for key, value in labels.items():
        cmd += ["--label", f"{key}={value}"]
    if request.target:
        cmd += ["--target", request.target]
    if request.platform:
        cmd += ["--platform", request.platform]
    for key, value in request.build_args:
        cmd += ["--build-arg", f"{key}={value}"]
    return cmd


# BuildKit's plain progress: " > [builder 2/3] RUN make:" names the failing step, and
# "#6 ERROR: ..." or the last line says why.
_FAILED_STEP = re.compile(r"^ > \[(?:(?P<stage>[^\]\s]+) )?\d+/\d+\] (?P<cmd>[A-Z]+)(?P<args>.*):$")
_STEP_ERROR = re.compile(r"^#\d+ ERROR: (?P<why>.+)$")
_EXIT_CODE = re.compile(r"exit code: (\d+)")


def build_failure(log: str, code: int, request: ScanRequest) -> ToolError:
    """One line naming the failing instruction and its Dockerfile line; the tail as details."""
    lines = [line.rstrip() for line in log.splitlines()]
    step = next((m for line in reversed(lines) if (m := _FAILED_STEP.match(line))), None)
    why = next((m.group("why") for line in reversed(lines) if (m := _STEP_ERROR.match(line))), "")
    last = next((line for line in reversed(lines) if line.strip()), "")
    reason = why or last or f"docker {processes.describe_exit(code)}"
    exit_code = _EXIT_CODE.search(reason)
    if step is not None and exit_code:
        reason = f"the command {processes.describe_exit(int(exit_code.group(1)))}"
    where = ""
    if step is not None:
        line = _failing_line(
            request, step.group("stage") or "", step.group("cmd"), step.group("args")
        )
        path = request.dockerfile_relpath or "Dockerfile"
        where = (
            f" at {path}:{line} ({step.group('cmd')})"
            if line
            else f" at its {step.group('cmd')} step"
        )
    return ToolError(
        f"docker build failed{where}: {reason[:300]}",
        "fix the Dockerfile or the build context, then run the scan again",
        details=_tail(log),
    )


def _failing_line(request: ScanRequest, stage: str, cmd: str, args: str) -> int:
    """The line of the instruction BuildKit named: the one in that stage with that keyword
    whose text, with its variables as wildcards, matches what BuildKit printed."""
    from hardening.targets.dockerfile import parse_dockerfile

    if request.dockerfile is None or not request.dockerfile.is_file():
        return 0
    model = parse_dockerfile(request.dockerfile.read_text(errors="replace"), "", "")
    stages = list(model.stages)
    if stage and not stage.startswith("stage-"):
        stages = [s for s in model.stages if (s.name or "").lower() == stage.lower()] or stages
    elif stage:
        index = int(stage.removeprefix("stage-") or 0)
        stages = list(model.stages[index : index + 1]) or stages
    candidates = [i for s in stages for i in s.instructions if i.cmd == cmd]
    text = " ".join(args.split())
    for instruction in candidates:
        literal = " ".join(" ".join(instruction.raw or instruction.value).split())
        pattern = re.escape(literal)
        pattern = re.sub(r"\\\$(?:\\\{[^}]*\\\}|[A-Za-z_][A-Za-z0-9_]*)", ".*", pattern)
        if re.fullmatch(pattern, text) or literal == text:
            return instruction.line
    return candidates[-1].line if len(candidates) == 1 else 0


def _legacy_build(request: ScanRequest, tag: str, client: Any, started: float) -> BuildOutcome:
    from docker.errors import BuildError

    assert request.context is not None and request.dockerfile is not None
    warnings = [legacy_builder_warning()]
    if request.build_secrets:
        raise ToolError(
            "build secrets need BuildKit, and no BuildKit-capable docker client was found",
            "install the docker buildx plugin",
        )
    client = client or connect()
    lines: list[str] = []
    try:
        image, stream = client.images.build(
            path=str(request.context),
            dockerfile=str(request.dockerfile.resolve()),
            tag=tag,
            target=request.target or None,
            buildargs=dict(request.build_args) or None,
            rm=True,
        )
        for chunk in stream:
            if "stream" in chunk:
                lines.append(str(chunk["stream"]))
    except BuildError as exc:
        for chunk in exc.build_log:
            if isinstance(chunk, dict) and "stream" in chunk:
                lines.append(str(chunk["stream"]))
        raise ToolError(
            f"docker build failed: {exc.msg}; last lines of the log:\n" + _tail("".join(lines)),
            "fix the Dockerfile or the build context, then run the scan again",
        ) from None
    return BuildOutcome(
        image_id=str(image.id),
        tag=tag,
        log_tail=_tail("".join(lines)),
        duration_s=time.monotonic() - started,
        mode="legacy",
        warnings=tuple(warnings),
    )


def local_image(client: Any, reference: str) -> Any:
    """The engine's image, or the one-line error saying it has no such image."""
    from docker.errors import ImageNotFound

    try:
        return client.images.get(reference)
    except ImageNotFound:
        raise ToolError(
            f"image {reference} is not in the local engine",
            "build or pull it first, or pass --image with a reference the engine has",
        ) from None


def export_image(client: Any, reference: str, archive: Path) -> Path:
    """Write the image to a docker-archive once; both scanners and the image checks read it."""
    from docker.errors import DockerException

    image = local_image(client, reference)
    try:
        with archive.open("wb") as out:
            for chunk in image.save(chunk_size=1024 * 1024, named=True):
                out.write(chunk)
    except DockerException as exc:
        raise ToolError(
            f"exporting {reference} failed: {exc}", "check the engine's disk space"
        ) from None
    return archive


def load_archive(client: Any, archive: Path) -> str:
    """Load a docker-archive into the engine (for the probes) and return its image id."""
    with archive.open("rb") as stream:
        images = client.images.load(stream.read())
    if not images:
        raise ToolError(f"{archive} holds no image", "pass an archive written by `docker save`")
    return str(images[0].id)


def read_archive_metadata(archive: Path) -> tuple[dict[str, Any], list[str], list[str]]:
    """The image config, its layer diff ids and its repo tags, from a docker-archive."""
    try:
        with tarfile.open(archive) as tar:
            manifest = json.load(_member(tar, "manifest.json"))
            entry = manifest[0]
            config = json.load(_member(tar, entry["Config"]))
            return (
                config,
                list(config.get("rootfs", {}).get("diff_ids", [])),
                entry.get("RepoTags") or [],
            )
    except (tarfile.TarError, KeyError, IndexError, ValueError, OSError) as exc:
        raise ToolError(
            f"{archive} is not a readable docker-archive ({exc})",
            "pass a file written by `docker save IMAGE -o FILE`",
        ) from None


def _member(tar: tarfile.TarFile, name: str) -> Any:
    handle = tar.extractfile(name)
    if handle is None:
        raise KeyError(name)
    return handle


def layers_from_config(config: dict[str, Any], diff_ids: list[str]) -> tuple[LayerInfo, ...]:
    """Pair each layer with the history entry that made it (empty layers have no diff id)."""
    layers: list[LayerInfo] = []
    remaining = iter(diff_ids)
    for entry in config.get("history", []):
        if entry.get("empty_layer"):
            continue
        diff_id = next(remaining, None)
        if diff_id is None:
            break
        layers.append(
            LayerInfo(
                diff_id=diff_id,
                created_by=str(entry.get("created_by", "")),
                created=str(entry.get("created", "")),
            )
        )
    layers += [LayerInfo(diff_id=d) for d in remaining]
    return tuple(layers)


def image_info(
    reference: str, archive: Path, client: Any | None = None, built: bool = False
) -> ImageInfo:
    config, diff_ids, repo_tags = read_archive_metadata(archive)
    image_id = ""
    repo_digests: tuple[str, ...] = ()
    size = archive.stat().st_size
    if client is not None:
        from docker.errors import DockerException

        try:
            attrs = client.images.get(reference).attrs
            image_id = str(attrs.get("Id", ""))
            repo_digests = tuple(attrs.get("RepoDigests") or ())
            size = int(attrs.get("Size") or size)
        except DockerException:
            pass
    return ImageInfo(
        reference=reference or (repo_tags[0] if repo_tags else ""),
        image_id=image_id,
        repo_digests=repo_digests,
        size=size,
        os=str(config.get("os", "")),
        architecture=str(config.get("architecture", "")),
        config=dict(config.get("config") or {}),
        layers=layers_from_config(config, diff_ids),
        history=tuple(config.get("history", [])),
        archive=str(archive),
        built=built,
    )


def remove_image(client: Any, reference: str) -> None:
    from docker.errors import DockerException

    with contextlib.suppress(DockerException):
        client.images.remove(reference, force=True, noprune=False)


def docker_cli() -> str:
    return shutil.which("docker") or "docker"


def remove_dangling_images(client: Any, labels: Mapping[str, str]) -> int:
    """Remove untagged images that carry ``labels``: what a build cut short leaves behind.
    Tagged ones (the user's own ``-t`` tags of the same build) stay."""
    from docker.errors import DockerException

    filters = {"label": [f"{key}={value}" for key, value in labels.items()], "dangling": True}
    removed = 0
    with contextlib.suppress(DockerException):
        for image in client.images.list(filters=filters):
            with contextlib.suppress(DockerException):
                client.images.remove(image.id, force=True)
                removed += 1
    return removed


def remove_labelled_containers(client: Any, labels: Mapping[str, str]) -> int:
    """Remove every container (running or not) that carries all of ``labels``."""
    from docker.errors import DockerException

    filters = {"label": [f"{key}={value}" for key, value in labels.items()]}
    removed = 0
    with contextlib.suppress(DockerException):
        for container in client.containers.list(all=True, filters=filters):
            with contextlib.suppress(DockerException):
                container.remove(force=True)
                removed += 1
    return removed
