"""A compose file read once with ruamel.yaml, keeping the line of every key."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from hardening.targets import COMPOSE_NAMES as COMPOSE_NAMES
from hardening.targets import find_compose as find_compose


@dataclass(frozen=True, slots=True)
class Service:
    """One service of a compose file, with the lines of its keys."""

    name: str
    line: int
    data: Any  # ruamel CommentedMap

    def get(self, key: str, default: Any = None) -> Any:
        return self.data.get(key, default) if hasattr(self.data, "get") else default

    def key_line(self, key: str) -> int:
        """1-based line of ``key`` in this service, or the service's own line."""
        try:
            return int(self.data.lc.key(key)[0]) + 1
        except (AttributeError, KeyError, TypeError):
            return self.line

    def item_line(self, key: str, index: int) -> int:
        """1-based line of the index-th item of a list under ``key``."""
        try:
            return int(self.data[key].lc.item(index)[0]) + 1
        except (AttributeError, KeyError, TypeError, IndexError):
            return self.key_line(key)

    def nested(self, *keys: str) -> Any:
        node: Any = self.data
        for key in keys:
            if not hasattr(node, "get"):
                return None
            node = node.get(key)
        return node


@dataclass(frozen=True, slots=True)
class ComposeModel:
    """A compose file's services, or why it could not be read."""

    path: str
    services: tuple[Service, ...]
    error: tuple[int, str] | None = None

    def __iter__(self) -> Iterator[Service]:
        return iter(self.services)


def parse_compose(text: str, path: str) -> ComposeModel:
    """The services of a compose file; one that is invalid, or refused by the YAML bounds
    (too large, an alias bomb), has no services and says why in ``error``."""
    from hardening.yamlsafe import YamlRefused, load_yaml

    try:
        document = load_yaml(text)
    except YamlRefused as exc:
        return ComposeModel(path, (), (exc.line or 1, f"{exc.reason}; {exc.fix}"))
    services_node: Any = document.get("services") if hasattr(document, "get") else None
    if not hasattr(services_node, "items"):
        return ComposeModel(path, ())
    services = []
    for name, data in services_node.items():
        try:
            line = int(services_node.lc.key(name)[0]) + 1
        except (AttributeError, KeyError):
            line = 1
        services.append(Service(str(name), line, data if data is not None else {}))
    return ComposeModel(path, tuple(services))

