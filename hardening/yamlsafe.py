"""Every YAML file the product reads goes through here: bounded before it is trusted.

A YAML alias stands for a whole subtree, so a few hundred bytes of nested anchors and
aliases ("billion laughs") stand for billions of values once anything walks the tree. The
document is composed first (aliases stay shared, so this is cheap), its size with every alias
written out is counted, and only a document within the bounds is turned into Python values:

- at most :data:`MAX_BYTES` on disk (parsing is the slow part: seconds per MiB);
- at most :data:`MAX_NODES` keys, values and items, and :data:`MAX_TEXT` characters of
  scalar text, with every alias expanded;
- at most :data:`MAX_DEPTH` levels of nesting, and no alias inside its own anchor.

Anything refused, unreadable or invalid raises :class:`YamlRefused` with the 1-based line
(0 when no line applies), a reason and a fix; each caller turns it into its own kind of error.
"""

from __future__ import annotations

from pathlib import Path

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing (lint starts fast)
if TYPE_CHECKING:
    from typing import Any

MAX_BYTES = 1024 * 1024
MAX_NODES = 200_000
MAX_TEXT = 4 * 1024 * 1024
MAX_DEPTH = 100


class YamlRefused(Exception):
    """A YAML file that is not read: where, why and how to fix it."""

    def __init__(self, line: int, reason: str, fix: str) -> None:
        super().__init__(f"line {line}: {reason}" if line else reason)
        self.line = line
        self.reason = reason
        self.fix = fix


def read_text(path: Path) -> str:
    """The file's text: refused when larger than MAX_BYTES or not UTF-8."""
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_BYTES + 1)
    except OSError as exc:
        raise YamlRefused(0, f"cannot be read ({exc.strerror or exc})", "check the file") from None
    if len(data) > MAX_BYTES:
        raise _too_large()
    return decode(data)


def decode(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise YamlRefused(
            line, f"not UTF-8 text (byte 0x{data[exc.start]:02x})", "save the file as UTF-8"
        ) from None


def load_yaml_file(path: Path, typ: str = "rt") -> Any:
    return load_yaml(read_text(path), typ)


def load_yaml(text: str, typ: str = "rt") -> Any:
    """Parse one YAML document within the bounds; ``typ`` is ruamel's ("rt" or "safe")."""
    from ruamel.yaml import YAML

    if len(text) > MAX_BYTES or len(text.encode("utf-8", "replace")) > MAX_BYTES:
        raise _too_large()
    yaml = YAML(typ=typ, pure=True)
    yaml.max_depth = MAX_DEPTH
    try:
        node = yaml.compose(text)
    except RecursionError:
        raise YamlRefused(0, "refused: nested too deeply", "flatten the document") from None
    except Exception as exc:
        raise _syntax(exc, text) from None
    if node is None:
        return None
    check_expansion(node)
    try:
        return yaml.constructor.construct_document(node)
    except RecursionError:
        raise YamlRefused(0, "refused: nested too deeply", "flatten the document") from None
    except Exception as exc:
        raise _unreadable_value(exc, node, typ) from None


def _too_large() -> YamlRefused:
    return YamlRefused(
        0,
        f"refused: larger than {MAX_BYTES // 1024} KiB",
        "keep YAML files under 1 MiB; split or trim the file",
    )


def _syntax(exc: Exception, text: str) -> YamlRefused:
    from ruamel.yaml.composer import MaxDepthExceededError

    if isinstance(exc, MaxDepthExceededError):
        line = exc.problem_mark.line + 1 if exc.problem_mark is not None else 0
        return YamlRefused(
            line, f"refused: nested more than {MAX_DEPTH} levels deep", "flatten the document"
        )
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    line = mark.line + 1 if mark is not None else 0
    position = getattr(exc, "position", None)  # a ReaderError: a character YAML forbids
    if not line and isinstance(position, int):
        line = text.count("\n", 0, position) + 1
    lines = str(exc).strip().splitlines()
    problem = getattr(exc, "problem", None) or (lines[0] if lines else type(exc).__name__)
    return YamlRefused(line, f"not valid YAML ({problem})", "fix the YAML syntax")


def _children(node: Any) -> list[Any]:
    value = node.value
    if not isinstance(value, list):
        return []  # a scalar
    if value and isinstance(value[0], tuple):
        return [part for pair in value for part in pair]  # a mapping: keys and values
    return list(value)


def check_expansion(root: Any) -> None:
    """Refuse a node graph whose tree, with every alias written out, is over the bounds.

    Aliased nodes are shared, so each distinct node is weighed once (an iterative walk;
    a node met again on the path it hangs from is an alias inside its own anchor).
    """
    weights: dict[int, tuple[int, int]] = {}
    on_path: set[int] = set()
    stack: list[tuple[Any, bool]] = [(root, False)]
    while stack:
        node, leaving = stack.pop()
        key = id(node)
        if leaving:
            nodes, chars = 1, len(node.value) if isinstance(node.value, str) else 0
            for child in _children(node):
                child_nodes, child_chars = weights[id(child)]
                nodes, chars = nodes + child_nodes, chars + child_chars
            weights[key] = (min(nodes, MAX_NODES + 1), min(chars, MAX_TEXT + 1))
            on_path.discard(key)
        elif key in on_path:
            raise YamlRefused(
                _line(node), "refused: an alias refers to its own anchor", "remove the loop"
            )
        elif key not in weights:
            on_path.add(key)
            stack.append((node, True))
            stack.extend((child, False) for child in reversed(_children(node)))
    if not _over(weights[id(root)]):
        return
    node = root  # point at the deepest node that is over the bounds on its own
    while (child := next((c for c in _children(node) if _over(weights[id(c)])), None)) is not None:
        node = child
    raise YamlRefused(
        _line(node),
        f"refused: with its aliases expanded the document holds more than {MAX_NODES:,} values "
        f"or {MAX_TEXT // (1024 * 1024)} MiB of text",
        "write the repeated parts out, or use fewer nested aliases",
    )


def _over(weight: tuple[int, int]) -> bool:
    return weight[0] > MAX_NODES or weight[1] > MAX_TEXT


def _line(node: Any) -> int:
    mark = getattr(node, "start_mark", None)
    return int(mark.line) + 1 if mark is not None else 0


def _unreadable_value(exc: Exception, root: Any, typ: str) -> YamlRefused:
    """Name the line of the first value that cannot be turned into Python (an impossible
    date such as 2027-02-30, an integer of thousands of digits)."""
    from ruamel.yaml import YAML
    from ruamel.yaml.error import MarkedYAMLError

    if isinstance(exc, MarkedYAMLError):
        return _syntax(exc, "")
    seen: set[int] = set()
    pending = [root]
    while pending:
        node = pending.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node.value, str):
            try:
                YAML(typ=typ, pure=True).constructor.construct_object(node)
            except Exception as inner:
                shown = node.value if len(node.value) <= 40 else node.value[:40] + "..."
                if str(node.tag).endswith(":timestamp"):
                    return YamlRefused(
                        _line(node), f"{shown!r} is not a real date", "write it as YYYY-MM-DD"
                    )
                return YamlRefused(
                    _line(node), f"{shown!r} cannot be read ({inner})", "quote it or fix it"
                )
        pending.extend(reversed(_children(node)))
    return YamlRefused(_line(root), f"a value cannot be read ({exc})", "fix the value")
