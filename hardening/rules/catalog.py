"""Imports every rule module once, so each registers itself."""

from __future__ import annotations

import importlib
import pkgutil

from hardening.rules import compose, context, dockerfile, image

for _package in (dockerfile, context, compose, image):
    for _module in pkgutil.iter_modules(_package.__path__):
        importlib.import_module(f"{_package.__name__}.{_module.name}")
