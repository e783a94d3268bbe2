"""``primaryLocationLineHash``: the line fingerprint GitHub's upload step computes for results
that point at a file line, so alerts keep their identity when lines move.

The same rolling hash as GitHub's codeql-action (``src/fingerprints.ts``): for every line, a
polynomial hash (base 37, signed 64-bit wrap-around) over the next 100 characters of the file
from the start of that line, ignoring spaces and tabs and normalizing CR and CRLF to LF, with
an end-of-file marker and zero padding; identical hashes are told apart by a ``:<n>`` suffix
counting their occurrences. Characters are UTF-16 code units, as in JavaScript.
"""

from __future__ import annotations

from collections.abc import Iterator

_BLOCK = 100
_BASE = 37
_MASK = (1 << 64) - 1
_EOF = 65535
_TAB, _SPACE, _LF, _CR = 9, 32, 10, 13
_FIRST_MOD = pow(_BASE, _BLOCK, 1 << 64)


def _code_units(text: str) -> Iterator[int]:
    data = text.encode("utf-16-le", errors="surrogatepass")
    for i in range(0, len(data), 2):
        yield data[i] | (data[i + 1] << 8)


def line_hashes(text: str) -> dict[int, str]:
    """Map each 1-based line number of ``text`` to its fingerprint."""
    window = [0] * _BLOCK
    line_at = [-1] * _BLOCK
    value = 0  # kept as an unsigned 64-bit number; two's complement matches JS Long
    index = 0
    line = 0
    line_start = True
    prev_cr = False
    counts: dict[str, int] = {}
    out: dict[int, str] = {}

    def emit() -> None:
        key = format(value, "x")
        counts[key] = counts.get(key, 0) + 1
        out[line_at[index]] = f"{key}:{counts[key]}"
        line_at[index] = -1

    def update(current: int) -> None:
        nonlocal value, index
        begin = window[index]
        window[index] = current
        value = (_BASE * value + current - _FIRST_MOD * begin) & _MASK
        index = (index + 1) % _BLOCK

    def process(current: int) -> None:
        nonlocal line, line_start, prev_cr
        if current in (_SPACE, _TAB) or (prev_cr and current == _LF):
            prev_cr = False
            return
        if current == _CR:
            current = _LF
            prev_cr = True
        else:
            prev_cr = False
        if line_at[index] != -1:
            emit()
        if line_start:
            line_start = False
            line += 1
            line_at[index] = line
        if current == _LF:
            line_start = True
        update(current)

    for unit in _code_units(text):
        process(unit)
    process(_EOF)
    for _ in range(_BLOCK):
        if line_at[index] != -1:
            emit()
        update(0)
    return out
