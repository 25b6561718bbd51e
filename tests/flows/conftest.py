"""Flow fixtures: one Prefect test harness per session, and a fresh CloudAct environment per test."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from cloudact.control_plane import ControlPlaneStore, get_control_plane
from cloudact.keyring import Keyring, get_keyring
from cloudact.settings import Settings, get_settings
from cloudact.warehouse import Warehouse, get_warehouse
from tests.conftest import AWS_SAMPLE, SAMPLES


@pytest.fixture(scope="session")
def prefect_harness() -> Iterator[None]:
    """Prefect's own test harness (a temporary server), started once: it takes about 25 s."""
    home = tempfile.mkdtemp(prefix="cloudact-prefect-")
    os.environ["PREFECT_HOME"] = home
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield
    shutil.rmtree(home, ignore_errors=True)


@dataclass
class Env:
    """The stores a flow sees, built from the same environment."""

    settings: Settings
    control_plane: ControlPlaneStore
    warehouse: Warehouse
    keyring: Keyring
    data_dir: Path

    def reload(self) -> None:
        get_settings.cache_clear()
        self.settings = get_settings()


@pytest.fixture
def flow_env(prefect_harness: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Env]:
    """CLOUDACT_* for the flows (they read the environment, as in a worker), fast retries, no dlt-level retries."""
    for key in list(os.environ):
        if key.startswith("CLOUDACT_") and key != "CLOUDACT_SHARED_DIR":
            monkeypatch.delenv(key)
    data_dir = tmp_path / "data"
    monkeypatch.setenv("CLOUDACT_DATA_DIR", str(data_dir))
    monkeypatch.setenv("CLOUDACT_SAMPLES_DIR", str(SAMPLES))
    monkeypatch.setenv("CLOUDACT_PIPELINE_RETRY_DELAYS", "[0.1, 0.1]")
    monkeypatch.setenv("CLOUDACT_PIPELINE_WAIT_SECONDS", "5")
    # dlt retries HTTP errors itself; turn that off so these tests see our own retry policy alone.
    monkeypatch.setenv("RUNTIME__REQUEST_MAX_ATTEMPTS", "1")
    get_settings.cache_clear()
    settings = get_settings()
    yield Env(settings, get_control_plane(settings), get_warehouse(settings), get_keyring(settings), data_dir)
    get_settings.cache_clear()


def aws_export_folder(root: Path) -> Path:
    """A local 'CUR delivery' folder holding the public sample."""
    folder = root / "exports" / "aws"
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(AWS_SAMPLE, folder)
    return folder
