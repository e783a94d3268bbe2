"""What the built image itself says: its config, its history, and the files in its layers.

Each layer is read once into a :class:`LayerRecord` (what it adds and removes), kept by its diff
id in the persisted cache, so a layer seen before is never read (nor exported) again. The
records are combined in order, honouring whiteouts, so a file deleted in a later layer is gone
from the final filesystem but still counted as "in the history" (it can be pulled from the
earlier layer).
"""

from __future__ import annotations

import datetime
import json
import posixpath
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import tarfile  # read only when layers are read: `hardening lint` never is

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


# One layer's facts, read once and kept by its diff id (the persisted cache): what it adds and
# removes in its tar's order, so that combining the layers gives what reading them all gives.
FACTS_VERSION = 1
CAPABILITY = "SCHILY.xattr.security.capability"


@dataclass(frozen=True, slots=True)
class LayerRecord:
    """Each op is (what, path, mode): what is "f" (file), "d" (folder) or "o" (anything else),
    then "c" when it carries file capabilities and "s" when it is a secret file; or "O" (an
    opaque whiteout of the folder ``path``) or "W" (a whiteout of ``path``)."""

    diff_id: str
    ops: tuple[tuple[str, str, int], ...]
    os_release: str | None = None  # the layer's os-release text, when it has one

    def to_json(self) -> dict[str, Any]:
        return {"version": FACTS_VERSION, "diff_id": self.diff_id,
                "ops": [list(op) for op in self.ops], "os_release": self.os_release}  # fmt: skip

    @classmethod
    def from_json(cls, data: Any) -> LayerRecord | None:
        """None when it is not a record of this version (then the layer is read again)."""
        if not isinstance(data, dict) or data.get("version") != FACTS_VERSION:
            return None
        ops, os_release = data.get("ops"), data.get("os_release")
        if not isinstance(ops, list) or not isinstance(os_release, str | None):
            return None
        if not all(isinstance(o, list) and len(o) == 3 for o in ops):
            return None
        typed = tuple((str(what), str(path), int(mode)) for what, path, mode in ops)
        return cls(str(data.get("diff_id", "")), typed, os_release)


def _op(info: tarfile.TarInfo, path: str, layer: tarfile.TarFile) -> tuple[str, str, int]:
    what = "f" if info.isfile() else "d" if info.isdir() else "o"
    if CAPABILITY in info.pax_headers:
        what += "c"
    if info.isfile() and _secret_candidate(path):
        is_secret = True
        if path.endswith(PRIVATE_KEY_SUFFIXES) and info.size < 64 * 1024:
            content = layer.extractfile(info)
            is_secret = bool(content and PRIVATE_KEY_MARK.search(content.read()))
        if is_secret:
            what += "s"
    return what, path, info.mode


def read_layer(layer: tarfile.TarFile, diff_id: str) -> LayerRecord:
    ops: list[tuple[str, str, int]] = []
    os_release: str | None = None
    for info in layer:
        name = info.name
        path = posixpath.normpath(name.lstrip("./")) if name not in (".", "./") else ""
        if not path or path == ".":
            continue
        folder, base = posixpath.split(path)
        if base == ".wh..wh..opq":
            ops.append(("O", folder, 0))
        elif base.startswith(".wh."):
            ops.append(("W", posixpath.join(folder, base[4:]), 0))
        else:
            ops.append(_op(info, path, layer))
            if path in ("etc/os-release", "usr/lib/os-release") and info.isfile():
                content = layer.extractfile(info)
                if content is not None:
                    os_release = content.read(8192).decode(errors="replace")
    return LayerRecord(diff_id, tuple(ops), os_release)


def read_layer_records(archive: Path, wanted: set[str] | None = None) -> list[LayerRecord]:
    """The records of the archive's layers (only the ``wanted`` diff ids, when given), in order."""
    import tarfile

    records = []
    with tarfile.open(archive) as outer:
        for member_path, diff_id in _manifest_layers(outer):
            if wanted is not None and diff_id not in wanted:
                continue
            handle = outer.extractfile(member_path)
            if handle is None:
                continue
            with tarfile.open(fileobj=handle, mode="r:*") as layer:
                records.append(read_layer(layer, diff_id))
    return records


def _remove(present: dict[str, tuple[str, int, str]], prefix: str) -> None:
    for key in [k for k in present if k.startswith(prefix)]:
        del present[key]


def combine_layers(records: list[LayerRecord]) -> dict[str, Any]:
    """The image's files as the layers leave them, in order, honouring whiteouts."""
    present: dict[str, tuple[str, int, str]] = {}  # path -> (what, mode, diff id)
    secrets_seen: dict[str, FileFact] = {}
    os_release = ""
    for record in records:
        diff_id = record.diff_id
        for what, path, mode in record.ops:
            if what == "O":
                _remove(present, path + "/")
            elif what == "W":
                present.pop(path, None)
                _remove(present, path + "/")
            else:
                present[path] = (what, mode, diff_id)
                if "s" in what:
                    secrets_seen[path] = FileFact("/" + path, diff_id, mode)
        if record.os_release is not None:
            os_release = record.os_release
    return {"present": present, "secrets": secrets_seen, "os_release": os_release}


def _secret_candidate(path: str) -> bool:
    base = posixpath.basename(path)
    if base in SECRET_NAMES or path.endswith(SECRET_PATH_SUFFIXES):
        return not path.startswith(("usr/share/", "usr/lib/python", "usr/local/lib/python"))
    return path.endswith(PRIVATE_KEY_SUFFIXES) and not path.startswith(PUBLIC_KEY_FOLDERS)


def _parse_os_release(data: str) -> OsRelease | None:
    values: dict[str, str] = {}
    for line in data.splitlines():
        key, sep, value = line.partition("=")
        if sep:
            values[key.strip()] = value.strip().strip('"')
    if "ID" not in values:
        return None
    return OsRelease(values["ID"], values.get("VERSION_ID", ""), values.get("PRETTY_NAME", ""))


def config_facts(image: ImageInfo) -> ImageFacts:
    """What the image's config and history say, without its layers."""
    config = dict(image.config or {})
    env = []
    for item in config.get("Env") or []:
        name, _, value = str(item).partition("=")
        env.append((name, value))
    health = config.get("Healthcheck") or None
    healthcheck = tuple(health.get("Test") or ()) if isinstance(health, dict) else None
    if healthcheck and healthcheck[0] == "NONE":
        healthcheck = None
    return ImageFacts(
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


def read_image_facts(image: ImageInfo, archive: Path | None) -> ImageFacts:
    if archive is None or not archive.is_file():
        return config_facts(image)
    return facts_from_layers(image, read_layer_records(archive))


def facts_from_layers(image: ImageInfo, records: list[LayerRecord]) -> ImageFacts:
    """The config's facts and the layers' (the records of every layer, in the image's order)."""
    facts = config_facts(image)
    layers = combine_layers(records)
    present: dict[str, tuple[str, int, str]] = layers["present"]
    setuid, caps, writable = [], [], []
    for path, (what, mode, diff_id) in present.items():
        if what[0] == "f" and mode & 0o6000:
            setuid.append(FileFact("/" + path, diff_id, mode))
        if "c" in what:
            caps.append(FileFact("/" + path, diff_id, mode))
        if what[0] == "d" and mode & 0o002 and not mode & 0o1000:
            writable.append(FileFact("/" + path, diff_id, mode))
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
