"""What the built image itself says: its config, its history, and the files in its layers.

The layers are read from the docker-archive the scanners read (no second export), in order,
honouring whiteouts, so a file deleted in a later layer is gone from the final filesystem but
still counted as "in the history" (it can be pulled from the earlier layer).
"""

from __future__ import annotations

import datetime
import json
import posixpath
import re
import tarfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hardening.model import ImageInfo

SHELLS = frozenset(
    "bin/sh bin/bash bin/ash bin/dash bin/zsh usr/bin/sh usr/bin/bash usr/bin/dash usr/bin/zsh".split()
)
PACKAGE_MANAGERS = {
    "usr/bin/apt-get": "apt", "usr/bin/apt": "apt", "usr/bin/dpkg": "dpkg", "sbin/apk": "apk",
    "usr/bin/yum": "yum", "usr/bin/dnf": "dnf", "usr/bin/microdnf": "microdnf",
    "usr/bin/rpm": "rpm", "bin/rpm": "rpm", "usr/bin/zypper": "zypper",
}  # fmt: skip
BUILD_TOOLS = {
    "usr/bin/gcc": "gcc", "usr/bin/g++": "g++", "usr/bin/cc": "cc", "usr/bin/make": "make",
    "usr/bin/clang": "clang", "usr/local/go/bin/go": "go", "usr/bin/go": "go",
    "usr/bin/rustc": "rustc", "usr/local/cargo/bin/rustc": "rustc", "usr/bin/javac": "javac",
    "usr/bin/as": "as (binutils)", "usr/bin/cmake": "cmake",
}  # fmt: skip
SECRET_NAMES = frozenset(
    "id_rsa id_dsa id_ecdsa id_ed25519 .env .npmrc .pypirc .git-credentials .netrc .dockercfg "
    ".pgpass credentials.json service-account.json secrets.yml secrets.yaml".split()
)
SECRET_PATH_SUFFIXES = (".aws/credentials", ".docker/config.json", ".kube/config", ".ssh/id_rsa")
PRIVATE_KEY_SUFFIXES = (".pem", ".key", ".p12", ".pfx")
# Public certificate stores carry many .pem files that are not secrets.
PUBLIC_KEY_FOLDERS = ("etc/ssl/", "usr/share/ca-certificates/", "etc/pki/", "usr/lib/ssl/",
                      "usr/local/share/ca-certificates/", "usr/share/doc/", "usr/lib/python")  # fmt: skip
PRIVATE_KEY_MARK = re.compile(rb"-----BEGIN [A-Z ]*PRIVATE KEY-----")

# End of security support of OS releases (standard support; Debian including its LTS).
# As of 2026-11-01. Sources: the Debian, Ubuntu and Alpine release pages.
EOL_AS_OF = datetime.date(2026, 11, 1)
EOL: dict[str, dict[str, datetime.date]] = {
    "debian": {
        "8": datetime.date(2020, 6, 30), "9": datetime.date(2022, 6, 30),
        "10": datetime.date(2024, 6, 30), "11": datetime.date(2026, 8, 31),
        "12": datetime.date(2028, 6, 30), "13": datetime.date(2030, 6, 30),
    },
    "ubuntu": {
        "14.04": datetime.date(2019, 4, 30), "16.04": datetime.date(2021, 4, 30),
        "18.04": datetime.date(2023, 5, 31), "20.04": datetime.date(2025, 5, 31),
        "22.04": datetime.date(2027, 6, 1), "23.04": datetime.date(2024, 1, 25),
        "23.10": datetime.date(2024, 7, 11), "24.04": datetime.date(2029, 5, 31),
        "24.10": datetime.date(2025, 7, 10), "25.04": datetime.date(2026, 1, 15),
        "25.10": datetime.date(2026, 7, 9),
    },
    "alpine": {
        "3.10": datetime.date(2021, 5, 1), "3.11": datetime.date(2021, 11, 1),
        "3.12": datetime.date(2022, 5, 1), "3.13": datetime.date(2022, 11, 1),
        "3.14": datetime.date(2023, 5, 1), "3.15": datetime.date(2023, 11, 1),
        "3.16": datetime.date(2024, 5, 23), "3.17": datetime.date(2024, 11, 22),
        "3.18": datetime.date(2025, 5, 9), "3.19": datetime.date(2025, 11, 1),
        "3.20": datetime.date(2026, 4, 1), "3.21": datetime.date(2026, 11, 1),
        "3.22": datetime.date(2027, 5, 1), "3.23": datetime.date(2027, 11, 1),
    },
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class FileFact:
    path: str  # absolute, as in the image
    layer: str  # diff id of the layer it is in
    mode: int = 0
    deleted: bool = False  # removed by a later layer (still in the history)


@dataclass(frozen=True, slots=True)
class OsRelease:
    id: str
    version_id: str
    pretty_name: str

    def eol(self) -> datetime.date | None:
        table = EOL.get(self.id, {})
        version = self.version_id
        if self.id == "alpine":
            version = ".".join(version.split(".")[:2])
        elif self.id == "debian":
            version = version.split(".")[0]
        return table.get(version)


@dataclass(frozen=True, slots=True)
class ImageFacts:
    reference: str
    user: str
    env: tuple[tuple[str, str], ...]
    exposed_ports: tuple[str, ...]
    healthcheck: tuple[str, ...] | None  # the test command, None when not set
    entrypoint: tuple[str, ...]
    cmd: tuple[str, ...]
    labels: tuple[tuple[str, str], ...]
    history: tuple[dict[str, Any], ...]
    layers_read: bool = False
    os_release: OsRelease | None = None
    setuid: tuple[FileFact, ...] = ()
    file_capabilities: tuple[FileFact, ...] = ()
    world_writable: tuple[FileFact, ...] = ()
    shells: tuple[str, ...] = ()
    package_managers: tuple[str, ...] = ()
    build_tools: tuple[str, ...] = ()
    secret_files: tuple[FileFact, ...] = ()
    files: frozenset[str] = field(default_factory=frozenset)

    @property
    def runs_as_root(self) -> bool:
        user = self.user.split(":", 1)[0].strip()
        return user in ("", "root", "0")


def _manifest_layers(tar: tarfile.TarFile) -> list[tuple[str, str]]:
    """(member path, diff id) of each layer, in order."""
    handle = tar.extractfile("manifest.json")
    if handle is None:
        return []
    manifest = json.load(handle)[0]
    config_handle = tar.extractfile(manifest["Config"])
    diff_ids: list[str] = []
    if config_handle is not None:
        diff_ids = list(json.load(config_handle).get("rootfs", {}).get("diff_ids", []))
    layers = list(manifest.get("Layers", []))
    return [(path, diff_ids[i] if i < len(diff_ids) else path) for i, path in enumerate(layers)]


def _read_layers(archive: Path) -> dict[str, Any]:
    present: dict[str, tuple[tarfile.TarInfo, str]] = {}
    secrets_seen: dict[str, FileFact] = {}
    os_release: bytes = b""
    with tarfile.open(archive) as outer:
        for member_path, diff_id in _manifest_layers(outer):
            handle = outer.extractfile(member_path)
            if handle is None:
                continue
            with tarfile.open(fileobj=handle, mode="r:*") as layer:
                for info in layer:
                    path = (
                        posixpath.normpath(info.name.lstrip("./"))
                        if info.name not in (".", "./")
                        else ""
                    )
                    if not path or path == ".":
                        continue
                    folder, base = posixpath.split(path)
                    if base == ".wh..wh..opq":
                        prefix = folder + "/"
                        for key in [k for k in present if k.startswith(prefix)]:
                            del present[key]
                        continue
                    if base.startswith(".wh."):
                        gone = posixpath.join(folder, base[4:])
                        present.pop(gone, None)
                        for key in [k for k in present if k.startswith(gone + "/")]:
                            del present[key]
                        continue
                    present[path] = (info, diff_id)
                    if info.isfile() and _secret_candidate(path):
                        is_secret = True
                        if path.endswith(PRIVATE_KEY_SUFFIXES) and info.size < 64 * 1024:
                            content = layer.extractfile(info)
                            is_secret = bool(content and PRIVATE_KEY_MARK.search(content.read()))
                        if is_secret:
                            secrets_seen[path] = FileFact("/" + path, diff_id, info.mode)
                    if path in ("etc/os-release", "usr/lib/os-release") and info.isfile():
                        content = layer.extractfile(info)
                        if content is not None:
                            os_release = content.read(8192)
    return {"present": present, "secrets": secrets_seen, "os_release": os_release}


def _secret_candidate(path: str) -> bool:
    base = posixpath.basename(path)
    if base in SECRET_NAMES or path.endswith(SECRET_PATH_SUFFIXES):
        return not path.startswith(("usr/share/", "usr/lib/python", "usr/local/lib/python"))
    return path.endswith(PRIVATE_KEY_SUFFIXES) and not path.startswith(PUBLIC_KEY_FOLDERS)


def _parse_os_release(data: bytes) -> OsRelease | None:
    values: dict[str, str] = {}
    for line in data.decode(errors="replace").splitlines():
        key, sep, value = line.partition("=")
        if sep:
            values[key.strip()] = value.strip().strip('"')
    if "ID" not in values:
        return None
    return OsRelease(values["ID"], values.get("VERSION_ID", ""), values.get("PRETTY_NAME", ""))


def read_image_facts(image: ImageInfo, archive: Path | None) -> ImageFacts:
    config = dict(image.config or {})
    env = []
    for item in config.get("Env") or []:
        name, _, value = str(item).partition("=")
        env.append((name, value))
    health = config.get("Healthcheck") or None
    healthcheck = tuple(health.get("Test") or ()) if isinstance(health, dict) else None
    if healthcheck and healthcheck[0] == "NONE":
        healthcheck = None
    facts = ImageFacts(
        reference=image.reference,
        user=str(config.get("User") or ""),
        env=tuple(env),
        exposed_ports=tuple(sorted((config.get("ExposedPorts") or {}).keys())),
        healthcheck=healthcheck,
        entrypoint=tuple(config.get("Entrypoint") or ()),
        cmd=tuple(config.get("Cmd") or ()),
        labels=tuple(sorted((config.get("Labels") or {}).items())),
        history=tuple(dict(h) for h in image.history),
    )
    if archive is None or not archive.is_file():
        return facts
    layers = _read_layers(archive)
    present: dict[str, tuple[tarfile.TarInfo, str]] = layers["present"]
    setuid, caps, writable = [], [], []
    for path, (info, diff_id) in present.items():
        if info.isfile() and info.mode & 0o6000:
            setuid.append(FileFact("/" + path, diff_id, info.mode))
        if "SCHILY.xattr.security.capability" in info.pax_headers:
            caps.append(FileFact("/" + path, diff_id, info.mode))
        if info.isdir() and info.mode & 0o002 and not info.mode & 0o1000:
            writable.append(FileFact("/" + path, diff_id, info.mode))
    secrets = [
        fact
        if fact.path.lstrip("/") in present
        else FileFact(fact.path, fact.layer, fact.mode, True)
        for fact in layers["secrets"].values()
    ]
    return ImageFacts(
        **{
            **{f: getattr(facts, f) for f in facts.__slots__},
            "layers_read": True,
            "os_release": _parse_os_release(layers["os_release"]),
            "setuid": tuple(sorted(setuid, key=lambda f: f.path)),
            "file_capabilities": tuple(sorted(caps, key=lambda f: f.path)),
            "world_writable": tuple(sorted(writable, key=lambda f: f.path)),
            "shells": tuple(sorted("/" + p for p in SHELLS if p in present)),
            "package_managers": tuple(
                sorted({n for p, n in PACKAGE_MANAGERS.items() if p in present})
            ),
            "build_tools": tuple(sorted({n for p, n in BUILD_TOOLS.items() if p in present})),
            "secret_files": tuple(sorted(secrets, key=lambda f: f.path)),
            "files": frozenset(present),
        }
    )
