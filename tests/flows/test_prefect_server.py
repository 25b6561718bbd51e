"""End to end on a real Prefect server: deploy ``prefect.yaml``, run a process worker, trigger an org run through the
API and check what the flow wrote to the warehouse.

Slow (about two minutes): it starts ``prefect server start``, ``prefect deploy --all`` and ``prefect worker start`` as
subprocesses, exactly as ``cloudact prefect up`` does.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar
from uuid import UUID

import duckdb
import pytest
import yaml
from pydantic import SecretStr

from cloudact import prefect_local
from cloudact.control_plane import get_control_plane
from cloudact.integrations import set_integration
from cloudact.keyring import get_keyring
from cloudact.onboarding import onboard_org
from cloudact.pipeline import get_run
from cloudact.settings import REPO_ROOT, Settings
from cloudact.warehouse import get_warehouse
from tests.conftest import AWS_SAMPLE

ROOT_KEY = "root-key-for-prefect-tests-0123456789abcdef"
FLOW_RUN_TIMEOUT_S = 240
STEP = "prefect.deployments.steps.set_working_directory"
T = TypeVar("T")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _tail(path: Path, lines: int = 60) -> str:
    if not path.exists():
        return f"({path.name} does not exist)"
    text = path.read_text(errors="replace").splitlines()
    return "\n".join(text[-lines:]) or f"({path.name} is empty)"


def _retry_locked(read: Callable[[], T], timeout: float = 30) -> T:
    """Read the warehouse, waiting while another process (the flow's, exiting) still holds the DuckDB file."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return read()
        except duckdb.IOException:
            if time.monotonic() >= deadline:
                raise
            time.sleep(0.5)


def _check_deployments(api_url: str) -> None:
    """Every deployment of prefect.yaml is on the server, on the pool, with its cron schedules in UTC."""
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL, temporary_settings

    spec = yaml.safe_load((REPO_ROOT / "prefect.yaml").read_text())
    with temporary_settings(updates={PREFECT_API_URL: api_url}), get_client(sync_client=True) as client:
        for wanted in spec["deployments"]:
            flow_name = wanted["entrypoint"].rsplit(":", 1)[1]
            deployment = client.read_deployment_by_name(f"{flow_name}/{wanted['name']}")
            assert deployment.entrypoint == wanted["entrypoint"]
            assert deployment.work_pool_name == prefect_local.WORK_POOL
            # `prefect deploy` resolves `{{ $CLOUDACT_REPO_DIR }}` from its own environment (prefect_env sets it): the
            # deployment stores this checkout's absolute path, and the worker runs flows from there.
            assert spec["pull"] == [{STEP: {"directory": "{{ $CLOUDACT_REPO_DIR }}"}}]
            assert deployment.pull_steps == [{STEP: {"directory": str(REPO_ROOT)}}], deployment.pull_steps
            expected = [(item["cron"], item["timezone"]) for item in wanted.get("schedules") or []]
            actual = [(item.schedule.cron, item.schedule.timezone) for item in deployment.schedules]  # type: ignore[union-attr]
            assert actual == expected, f"{wanted['name']}: schedules {actual}, expected {expected}"
            assert all(item.active for item in deployment.schedules), wanted["name"]
            assert all(tz == "UTC" for _, tz in actual), wanted["name"]


def _wait_final(api_url: str, flow_run_id: str, timeout: float) -> Any:
    """The flow run once its state is final (completed, failed, crashed, cancelled)."""
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL, temporary_settings

    deadline = time.monotonic() + timeout
    with temporary_settings(updates={PREFECT_API_URL: api_url}), get_client(sync_client=True) as client:
        while True:
            flow_run = client.read_flow_run(UUID(flow_run_id))
            if flow_run.state is not None and flow_run.state.is_final():
                return flow_run
            if time.monotonic() >= deadline:
                state = flow_run.state.name if flow_run.state else None
                raise AssertionError(f"flow run {flow_run_id} is still {state} after {timeout:.0f}s")
            time.sleep(2)


@pytest.mark.slow
@pytest.mark.timeout(400)
def test_prefect_server_deploys_and_runs_an_org_pipeline_triggered_by_the_api(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fastapi.testclient import TestClient
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from api.deps import settings_dep
    from api.main import create_app

    # The worker (and the flow processes it starts) inherit this process's environment: keep it clean and fast.
    for key in list(os.environ):
        if key.startswith("CLOUDACT_") and key != "CLOUDACT_SHARED_DIR":
            monkeypatch.delenv(key)
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    monkeypatch.setenv("CLOUDACT_PIPELINE_RETRY_DELAYS", "[1.0]")
    monkeypatch.setenv("CLOUDACT_PIPELINE_WAIT_SECONDS", "30")
    monkeypatch.setenv("PREFECT_WORKER_QUERY_SECONDS", "2")
    monkeypatch.setenv("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    monkeypatch.setenv("DO_NOT_TRACK", "1")
    client_home = tmp_path / "client-prefect-home"
    client_home.mkdir()
    monkeypatch.setenv("PREFECT_HOME", str(client_home))  # the test's own client; the server gets its own home

    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, data_dir=tmp_path / "data", environment="test", root_api_key=SecretStr(ROOT_KEY)
    )
    warehouse = get_warehouse(settings)
    org = onboard_org(get_control_plane(settings), warehouse, get_keyring(settings), "Deploy Test")
    exports = tmp_path / "exports" / "aws"
    exports.mkdir(parents=True)
    shutil.copy(AWS_SAMPLE, exports)
    set_integration(warehouse, get_keyring(settings), org.org_slug, "aws", {"export_path": str(exports)})

    port = _free_port()
    api_url = f"http://127.0.0.1:{port}/api"
    server_log, worker_log = tmp_path / "server.log", tmp_path / "worker.log"
    assert prefect_local.prefect_env(settings)["CLOUDACT_DATA_DIR"] == str(settings.resolved_data_dir)

    server: subprocess.Popen[bytes] | None = None
    worker: subprocess.Popen[bytes] | None = None
    deploy_output = ""
    started = time.monotonic()
    try:
        server = prefect_local.start_server(settings, port, server_log)
        prefect_local.wait_healthy(api_url, timeout=150, process=server)
        deploy_output = prefect_local.deploy_all(settings, api_url)
        worker = prefect_local.start_worker(settings, api_url, worker_log)

        _check_deployments(api_url)

        monkeypatch.setenv("PREFECT_API_URL", api_url)
        app = create_app()
        app.dependency_overrides[settings_dep] = lambda: settings
        with temporary_settings(updates={PREFECT_API_URL: api_url}), TestClient(app) as client:
            response = client.post(
                f"/api/v1/orgs/{org.org_slug}/pipelines/runs", headers={"X-API-Key": org.api_key}, json={}
            )
        assert response.status_code == 202, response.text
        body = response.json()
        assert body["mode"] == "prefect", body
        assert body["org_slug"] == org.org_slug
        assert body["flow_run_id"], body
        run_id, flow_run_id = body["run_id"], body["flow_run_id"]

        flow_run = _wait_final(api_url, flow_run_id, FLOW_RUN_TIMEOUT_S)
        assert flow_run.state.is_completed(), f"flow run ended {flow_run.state.name}: {flow_run.state.message}"
        assert flow_run.parameters["run_id"] == run_id
        assert flow_run.parameters["org_slug"] == org.org_slug

        # Only now: while the flow runs, its process holds the DuckDB file (one writer process at a time).
        run = _retry_locked(lambda: get_run(warehouse, org.org_slug, run_id))
        assert run is not None
        assert run["status"] == "succeeded", run
        assert run["flow_run_id"] == flow_run_id
        assert run["trigger"] == "api"
        assert run["rows_loaded"].get("aws", 0) > 0, run
        focus = _retry_locked(
            lambda: warehouse.query_tenant(f"select count(*) as n from {org.org_slug}_prod.cost_data_standard_1_3")
        )
        assert focus[0]["n"] > 0
    except (Exception, pytest.fail.Exception) as exc:  # also a pytest-timeout failure: show the logs
        raise AssertionError(
            f"{type(exc).__name__}: {exc}\n(after {time.monotonic() - started:.0f}s)\n"
            f"--- prefect deploy output ---\n{deploy_output[-3000:]}\n"
            f"--- server log ({server_log}) ---\n{_tail(server_log)}\n"
            f"--- worker log ({worker_log}) ---\n{_tail(worker_log, 120)}"
        ) from exc
    finally:
        if worker is not None:
            prefect_local.stop(worker)
        if server is not None:
            prefect_local.stop(server)
