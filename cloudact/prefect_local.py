"""A local Prefect server, worker and the deployments of ``prefect.yaml`` on 127.0.0.1 (``cloudact prefect up``)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

from cloudact.settings import REPO_ROOT, Settings

WORK_POOL = "cloudact-process"


def prefect_env(settings: Settings, api_url: str | None = None) -> dict[str, str]:
    """Environment for the Prefect CLI, server and worker: own PREFECT_HOME under the data dir, no telemetry."""
    env = {
        **os.environ,
        "PREFECT_HOME": str(settings.ensure_data_dir() / "prefect"),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "DO_NOT_TRACK": "1",
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
        "CLOUDACT_REPO_DIR": str(REPO_ROOT),
        "CLOUDACT_DATA_DIR": str(settings.resolved_data_dir),
    }
    if api_url:
        env["PREFECT_API_URL"] = api_url
    return env


def _prefect(*args: str) -> list[str]:
    return [str(Path(sys.executable).parent / "prefect"), *args]


def start_server(settings: Settings, port: int, log_file: Path) -> subprocess.Popen[bytes]:
    """Start ``prefect server start`` on 127.0.0.1:``port`` in the background."""
    with log_file.open("ab") as log:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(
            _prefect("server", "start", "--host", "127.0.0.1", "--port", str(port)),
            env=prefect_env(settings), stdout=log, stderr=subprocess.STDOUT, cwd=REPO_ROOT,
        )  # fmt: skip


def wait_healthy(api_url: str, timeout: float = 120, process: subprocess.Popen[bytes] | None = None) -> None:
    """Wait until the server answers ``/health``.

    Raises:
        RuntimeError: If it does not within ``timeout`` seconds, or its process exits.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"the Prefect server exited with code {process.returncode}")
        try:
            if httpx.get(f"{api_url}/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"the Prefect server at {api_url} was not healthy after {timeout:.0f}s")


def deploy_all(settings: Settings, api_url: str) -> str:
    """Create the process work pool (if missing) and deploy everything in ``prefect.yaml``; returns the CLI output."""
    env = prefect_env(settings, api_url)
    pool = subprocess.run(_prefect("work-pool", "inspect", WORK_POOL), env=env, capture_output=True, text=True,
                          cwd=REPO_ROOT)  # fmt: skip
    if pool.returncode != 0:
        created = subprocess.run(_prefect("work-pool", "create", WORK_POOL, "--type", "process"), env=env,
                                 capture_output=True, text=True, cwd=REPO_ROOT)  # fmt: skip
        if created.returncode != 0:
            raise RuntimeError(f"could not create work pool {WORK_POOL}:\n{created.stdout}\n{created.stderr}")
    done = subprocess.run(_prefect("--no-prompt", "deploy", "--all"), env=env, capture_output=True, text=True,
                          cwd=REPO_ROOT)  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"prefect deploy failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def start_worker(settings: Settings, api_url: str, log_file: Path) -> subprocess.Popen[bytes]:
    """Start a process worker on the CloudAct pool in the background."""
    with log_file.open("ab") as log:
        return subprocess.Popen(
            _prefect("worker", "start", "--pool", WORK_POOL), env=prefect_env(settings, api_url), stdout=log,
            stderr=subprocess.STDOUT, cwd=REPO_ROOT,
        )  # fmt: skip


def stop(process: subprocess.Popen[bytes], timeout: float = 20) -> None:
    """Stop a server or worker the way Prefect expects (SIGINT), then harder if needed."""
    import signal

    if process.poll() is not None:
        return
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(5)
