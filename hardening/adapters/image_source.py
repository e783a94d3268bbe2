"""Where a scan reads its image: the engine, and a docker-archive only for whoever needs one.

A repeat scan should not pay for what it has seen before. Trivy reads the image from the engine
and keeps each layer's analysis in its own cache (by diff id), so it never exports a layer it
knows; the image checks keep each layer's facts by diff id in the persisted cache
(``image-facts/``); the SBOM comes from Trivy's own package list. One ``docker save`` archive
is made only when a consumer asks for it (a layer whose facts are not cached, a scanner that
reads archives), and then once for all of them.

The image's config (its history above all, which places findings on Dockerfile lines) comes
from the engine: exactly from the cache when an earlier run exported this image (the config is
kept under its digest, which is the image id, and checked against it), else from the engine's
inspect and history answers when they are unambiguous (every layer has a size, so the empty
history entries are known); otherwise the archive is made at once and read.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import os
import tempfile
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from hardening.model import ImageInfo
from hardening.targets.image import LayerRecord

CACHE_FOLDER = "image-facts"


class ImageSource:
    """The image for every consumer of one run: its engine id and an archive made on demand."""

    def __init__(
        self,
        engine_id: str = "",
        *,
        archive: Path | None = None,
        export: Callable[[], Path] | None = None,
        archive_wanted: bool = False,
    ) -> None:
        self.engine_id = engine_id  # "" when the image is only an archive (--image-archive)
        self._archive = archive
        self._export = export
        self._lock = threading.Lock()
        self._error: BaseException | None = None
        # Someone in this run needs the archive anyway: the scanners that read archives read
        # that one rather than export the image again themselves.
        self.archive_wanted = archive_wanted or archive is not None

    @property
    def exported(self) -> bool:
        return self._archive is not None

    def archive(self) -> Path:
        """The docker-archive, exported once on first demand; every caller gets the same one,
        or the same error."""
        with self._lock:
            if self._archive is not None:
                return self._archive
            if self._error is not None:
                raise self._error
            if self._export is None:
                raise RuntimeError("no image to export")
            try:
                self._archive = self._export()
            except BaseException as exc:
                self._error = exc
                raise
            return self._archive


def cache_folder(db_cache_dir: Path | None) -> Path | None:
    return db_cache_dir / CACHE_FOLDER if db_cache_dir is not None else None


def _write_atomic(path: Path, data: bytes) -> None:
    """Concurrent runs may write the same entry: each writes a file of its own, then renames."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.replace(temporary, path)
    except OSError:
        Path(temporary).unlink(missing_ok=True)


def _hex(digest: str) -> str:
    algorithm, _, value = digest.partition(":")
    return value if algorithm == "sha256" and value.isalnum() and len(value) == 64 else ""


class LayerCache:
    """Each layer's facts by its diff id, under the persisted cache folder (none: no cache)."""

    def __init__(self, folder: Path | None) -> None:
        self.folder = folder / "layers" if folder is not None else None

    def _path(self, diff_id: str) -> Path | None:
        name = _hex(diff_id)
        return self.folder / f"v1-{name}.json" if self.folder is not None and name else None

    def has(self, diff_id: str) -> bool:
        path = self._path(diff_id)
        return path is not None and path.is_file()

    def get(self, diff_id: str) -> LayerRecord | None:
        path = self._path(diff_id)
        if path is None:
            return None
        try:
            record = LayerRecord.from_json(json.loads(path.read_bytes()))
        except (OSError, ValueError, TypeError):
            return None
        return record if record is not None and record.diff_id == diff_id else None

    def put(self, record: LayerRecord) -> None:
        path = self._path(record.diff_id)
        if path is not None:
            _write_atomic(path, json.dumps(record.to_json(), separators=(",", ":")).encode())


def history_key(diff_ids: Sequence[str], entries: Sequence[Mapping[str, Any]]) -> str:
    """What identifies an image's history as the engine shows it: its layers and its history
    answer. The run's own label makes every build's image id new; this stays the same."""
    shown = [
        [e.get("Created"), e.get("CreatedBy"), e.get("Comment"), e.get("Size")] for e in entries
    ]
    text = json.dumps([list(diff_ids), shown], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def cached_history(folder: Path | None, key: str) -> list[dict[str, Any]] | None:
    """The config's history as an earlier export of an image with this history held it."""
    if folder is None:
        return None
    try:
        data = json.loads((folder / "history" / f"{key}.json").read_bytes())
    except (OSError, ValueError):
        return None
    ok = isinstance(data, list) and all(isinstance(entry, dict) for entry in data)
    return data if ok else None


def keep_history(folder: Path | None, key: str, archive_config: bytes) -> None:
    """Keep the exact history of an exported image for the next run that sees the same one."""
    if folder is None or not archive_config:
        return
    try:
        history = json.loads(archive_config).get("history") or []
    except (ValueError, AttributeError):
        return
    _write_atomic(folder / "history" / f"{key}.json", json.dumps(history).encode())


def history_from_engine(
    entries: Sequence[Mapping[str, Any]], layer_count: int
) -> list[dict[str, Any]] | None:
    """The config's history from the engine's history answer (newest first), or None when it
    is ambiguous: an entry with no size may be an empty layer or an empty history entry, so
    only when the entries with a size are exactly the layers is it known which are which."""
    items = list(reversed(entries))
    sized = [int(item.get("Size") or 0) > 0 for item in items]
    if sum(sized) != layer_count:
        return None
    history = []
    for item, has_layer in zip(items, sized, strict=True):
        created = datetime.datetime.fromtimestamp(int(item.get("Created") or 0), datetime.UTC)
        entry: dict[str, Any] = {
            "created": created.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "created_by": str(item.get("CreatedBy") or ""),
        }
        if item.get("Comment"):
            entry["comment"] = str(item["Comment"])
        if not has_layer:
            entry["empty_layer"] = True
        history.append(entry)
    return history


def config_from_engine(attrs: Mapping[str, Any], history: list[dict[str, Any]]) -> dict[str, Any]:
    """An image config as the archive would hold it, from the engine's inspect answer."""
    container = {
        k: v for k, v in (attrs.get("Config") or {}).items() if v not in (None, "", [], {}, False)
    }
    return {
        "architecture": attrs.get("Architecture", ""),
        "os": attrs.get("Os", ""),
        "config": container,
        "history": history,
        "rootfs": {"type": "layers", "diff_ids": list((attrs.get("RootFS") or {}).get("Layers") or [])},
    }  # fmt: skip


def config_bytes(archive: Path) -> bytes:
    """The image config exactly as the archive holds it (its sha256 is the image id)."""
    import tarfile

    with tarfile.open(archive) as tar:
        manifest = tar.extractfile("manifest.json")
        if manifest is None:
            return b""
        member = tar.extractfile(json.load(manifest)[0]["Config"])
        return member.read() if member is not None else b""


def engine_image(
    client: Any, reference: str, folder: Path | None, built: bool = False
) -> tuple[ImageInfo | None, str]:
    """The image's metadata from the engine alone (no export), and the key of its history;
    None when its history cannot be known exactly without an export."""
    from hardening.adapters.docker_engine import layers_from_config, local_image

    image = local_image(client, reference)
    attrs = image.attrs
    diff_ids = list((attrs.get("RootFS") or {}).get("Layers") or [])
    entries = image.history()
    key = history_key(diff_ids, entries)
    history = cached_history(folder, key) or history_from_engine(entries, len(diff_ids))
    if history is None:
        return None, key
    config = config_from_engine(attrs, history)
    return ImageInfo(
        reference=reference, image_id=str(attrs.get("Id", "")),
        repo_digests=tuple(attrs.get("RepoDigests") or ()), size=int(attrs.get("Size") or 0),
        os=str(config["os"]), architecture=str(config["architecture"]), config=config["config"],
        layers=layers_from_config(config, diff_ids), history=tuple(history), built=built,
    ), key  # fmt: skip
