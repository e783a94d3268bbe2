"""The fake GitHub every test here publishes to (it checks each request against GitHub's
published API description)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.fake_github import FakeGitHub, serve


@pytest.fixture
def github() -> Iterator[FakeGitHub]:
    yield from serve()
