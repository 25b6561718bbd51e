"""The crucible BigQuery emulator, one per test session (see tests/support/bq_emulator.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.bq_emulator import crucible_server


@pytest.fixture(scope="session")
def bq_endpoint() -> Iterator[str]:
    """URL of a running emulator on 127.0.0.1 (fails, never skips, when `make bq-emulator` was not run)."""
    with crucible_server() as url:
        yield url
