"""Reading compose values the way compose does: list or map forms, short or long syntax."""

from __future__ import annotations

from typing import Any


def as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if hasattr(value, "items"):
        return [f"{k}={v}" if v is not None else str(k) for k, v in value.items()]
    return list(value)


def is_true(value: Any) -> bool:
    return value is True or str(value).lower() in ("true", "yes", "on", "1")


def env_items(value: Any) -> list[tuple[int, str, str | None]]:
    """(index, name, value) for environment in list or map form."""
    out: list[tuple[int, str, str | None]] = []
    if value is None:
        return out
    if hasattr(value, "items"):
        for index, (name, item) in enumerate(value.items()):
            out.append((index, str(name), None if item is None else str(item)))
    else:
        for index, item in enumerate(value):
            name, sep, raw = str(item).partition("=")
            out.append((index, name, raw if sep else None))
    return out


def volume_source(volume: Any) -> tuple[str, bool]:
    """(source, read_only) of a volume in short (`src:dst:ro`) or long syntax."""
    if hasattr(volume, "get"):
        return str(volume.get("source", "")), bool(volume.get("read_only"))
    parts = str(volume).split(":")
    return parts[0], len(parts) > 2 and "ro" in parts[2].split(",")
