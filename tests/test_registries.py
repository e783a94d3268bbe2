"""The CLI names the built-in scanners and formats without importing them: a module's name is
the scanner's or the format's name, and this test keeps that true."""

from __future__ import annotations

from hardening import cli
from hardening.report import formats
from hardening.scanners import registry


def test_builtin_module_names_are_the_names_users_write() -> None:
    assert cli.scanner_names() == list(registry.names())
    assert cli.output_formats() == list(formats.formats())
