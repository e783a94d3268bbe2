"""The CLI names the built-in scanners and formats without importing them: a module's name is
the scanner's or the format's name, and this test keeps that true."""

from __future__ import annotations

from hardening import cli
from hardening.report import formats
from hardening.scanners import registry


def test_builtin_module_names_are_the_names_users_write() -> None:
    assert cli.scanner_names() == list(registry.names())
    assert cli.output_formats() == list(formats.formats())


def test_the_ignore_files_listed_are_the_ones_each_scanner_reads() -> None:
    import importlib

    for module in registry.BUILTIN:
        scanner = importlib.import_module(module).SCANNER
        assert registry.IGNORE_FILES[module] == tuple(name for name, _ in scanner.ignore_files)
    every = [name for s in registry.scanners().values() for name, _ in s.ignore_files]
    assert registry.ignore_file_names() == tuple(dict.fromkeys(every))
