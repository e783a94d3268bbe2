"""Downloading the KEV catalog and the EPSS scores into the run's cache, at most once a day.

The cache is the folder the workflow persists (the action's ``db-cache-dir``): each file is
kept under its published name with a small ``.json`` beside it saying where it came from and
when. A copy fetched less than a day ago from the same URL is used without asking again; an
older one is refreshed, and when its source cannot be reached the older copy is still used,
with a note saying so. Nothing is cached that does not read as what it claims to be (a
captive portal's page is not a catalog). Writes are atomic, so concurrent scans sharing a
cache never read half a file.
"""

from __future__ import annotations

import datetime
import json
import os
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from hardening import __version__

REFRESH_S = 86400.0  # download at most once a day
MAX_DOWNLOAD = 64 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Source:
    name: str  # "the KEV catalog", for the notes
    url: str  # "" or "none": off
    filename: str  # its name in the cache

    @property
    def off(self) -> bool:
        return self.url.strip().lower() in ("", "none", "off")


@dataclass(frozen=True, slots=True)
class Fetched:
    data: bytes | None  # None: no copy at all
    fetched: datetime.datetime | None = None  # when the copy held was downloaded
    problem: str = ""  # why the source could not be had fresh ("" when it was)


class _Unusable(Exception):
    pass


def default_cache() -> Path:
    """Where the CLI keeps the files when no --db-cache-dir is given."""
    root = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(root) / "docker-hardening" / "exploit-data"


def _download(url: str, timeout_s: float) -> bytes:
    if url.split(":", 1)[0].lower() not in ("https", "http", "file"):
        raise _Unusable("only https, http and file URLs are read")
    headers = {"User-Agent": f"docker-hardening/{__version__}"}
    request = urllib.request.Request(url, headers=headers)  # noqa: S310 (schemes checked above)
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as answer:  # noqa: S310
            data: bytes = answer.read(MAX_DOWNLOAD + 1)
    except urllib.error.HTTPError as exc:
        raise _Unusable(f"HTTP {exc.code} {exc.reason}") from None
    except urllib.error.URLError as exc:
        raise _Unusable(str(exc.reason)) from None
    except TimeoutError:
        raise _Unusable(f"no answer within {timeout_s:.0f}s") from None
    except (OSError, ValueError) as exc:
        raise _Unusable(f"{type(exc).__name__}: {exc}") from None
    if len(data) > MAX_DOWNLOAD:
        raise _Unusable(f"larger than {MAX_DOWNLOAD // (1024 * 1024)} MB")
    return data


def _meta_path(cache: Path, source: Source) -> Path:
    return cache / f"{source.filename}.json"


def _cached(cache: Path, source: Source) -> tuple[bytes | None, datetime.datetime | None]:
    """The copy held for this URL and when it was fetched; (None, None) when there is none."""
    try:
        meta = json.loads(_meta_path(cache, source).read_text())
        fetched = datetime.datetime.fromisoformat(str(meta["fetched"]))
        if meta.get("url") != source.url or fetched.tzinfo is None:
            return None, None
        return (cache / source.filename).read_bytes(), fetched
    except (OSError, ValueError, KeyError, TypeError):
        return None, None


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _store(cache: Path, source: Source, data: bytes, now: datetime.datetime) -> None:
    try:
        _write_atomic(cache / source.filename, data)
        meta = {"url": source.url, "fetched": now.isoformat()}
        _write_atomic(_meta_path(cache, source), json.dumps(meta).encode())
    except OSError:
        pass  # an unwritable cache costs a download next time, never the run


def fetch(
    source: Source,
    cache: Path,
    now: datetime.datetime,
    check: Callable[[bytes], object],
    timeout_s: float = 20.0,
) -> Fetched:
    """The file: the cached copy when fetched less than a day ago, else downloaded (and
    checked with ``check``, which raises ValueError on what is not the file), else the cached
    copy however old, with the problem said."""
    data, fetched = _cached(cache, source)
    if data is not None and fetched is not None:
        if 0 <= (now - fetched).total_seconds() < REFRESH_S:
            return Fetched(data, fetched)
    try:
        fresh = _download(source.url, timeout_s)
        try:
            check(fresh)
        except ValueError as exc:
            raise _Unusable(f"the answer is not usable: {exc}") from None
    except _Unusable as exc:
        problem = f"{source.name} could not be had from {source.url} ({exc})"
        if data is not None and fetched is not None:
            return Fetched(data, fetched, f"{problem}; using the copy fetched {fetched.date()}")
        return Fetched(None, None, f"{problem}; no copy in the cache")
    _store(cache, source, fresh, now)
    return Fetched(fresh, now)
