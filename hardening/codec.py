"""JSON for the large documents: the scanners' reports in, SARIF out, with msgspec.

At 100,000 findings the standard library's json module and the objects it builds cost several
times the time and memory budget: reports are decoded into typed structs that hold only the
fields the parsers read (``scanners/schema.py``), and SARIF is encoded by msgspec. The output is
byte for byte what ``json.dumps(..., ensure_ascii=False, separators=(",", ":"))`` writes: the
one difference, floats below 1e-4 or from 1e16 (Python writes them with an exponent), is
closed by :func:`number`.

While such a document is built, the cyclic garbage collector is paused (:func:`paused_gc`):
findings hold no reference cycles, and its passes over millions of new objects would cost more
than the work itself.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import threading
from collections.abc import Callable, Iterator
from typing import Any

_lock = threading.Lock()
_pauses = 0
_was_enabled = False


@contextlib.contextmanager
def paused_gc() -> Iterator[None]:
    """No cyclic collection inside (threads may nest it; the last one out restores it)."""
    global _pauses, _was_enabled
    with _lock:
        if _pauses == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _pauses += 1
    try:
        yield
    finally:
        with _lock:
            _pauses -= 1
            if _pauses == 0 and _was_enabled:
                # What was made meanwhile goes straight to the oldest generation (freeze, then
                # unfreeze: no traversal), so re-enabling does not start a young collection
                # over millions of objects; a later full collection still sees them.
                gc.freeze()
                gc.unfreeze()
                gc.enable()


class NotJson(ValueError):
    """The bytes are not JSON."""


class WrongShape(ValueError):
    """JSON, but not of the shape asked for."""


class _PythonFloat(float):
    """A float that is written as Python writes it (msgspec would write 4.3e-05 as 0.000043)."""

    __slots__ = ()


def number(value: float) -> float:
    """A float for a document: written exactly as ``json.dumps`` would write it."""
    if value and not 1e-4 <= abs(value) < 1e16:
        return _PythonFloat(value)
    return value


def _hook(value: Any) -> Any:
    import msgspec

    if isinstance(value, float):
        return msgspec.Raw(float.__repr__(value).encode())
    raise NotImplementedError(f"cannot encode {type(value).__name__}")


@functools.cache
def _encoder() -> Any:
    import msgspec  # imported on first use: `hardening lint` starts without it

    return msgspec.json.Encoder(enc_hook=_hook)


def encode(document: Any) -> bytes:
    """Compact JSON, UTF-8, as ``json.dumps(document, ensure_ascii=False, separators=(",",
    ":")).encode()`` would give."""
    data: bytes = _encoder().encode(document)
    return data


def decode(data: Any, shape: Any = Any) -> Any:
    """A JSON document (bytes, str, or raw JSON kept by msgspec: no copy), into plain Python
    objects or into ``shape`` (msgspec structs)."""
    return decoder(shape)(data)


@functools.cache
def decoder(shape: Any = Any) -> Callable[[Any], Any]:
    """A decoder of one shape, made once: for decoding many items of a document one by one."""
    import msgspec

    decode = msgspec.json.Decoder(shape).decode

    def decoded(data: Any) -> Any:
        try:
            return decode(data)
        except msgspec.ValidationError as exc:
            raise WrongShape(str(exc)) from None
        except msgspec.DecodeError as exc:
            raise NotJson(str(exc)) from None

    return decoded
