"""`cloudact serve`: the real API process on 127.0.0.1, driven over HTTP."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = "serve-test-root-key-0123456789abcdef"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_serve_answers_onboarding_and_org_reads(tmp_path: Path) -> None:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLOUDACT_")}
    env.update({"CLOUDACT_DATA_DIR": str(tmp_path / "data"), "CLOUDACT_ROOT_API_KEY": ROOT})
    cli = Path(sys.executable).parent / "cloudact"
    process = subprocess.Popen([str(cli), "serve", "--port", str(port)], env=env, cwd=tmp_path,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline and process.poll() is None, "the API did not start"
            time.sleep(0.2)
        created = httpx.post(f"{base}/api/v1/admin/organizations", json={"company_name": "Served Co"},
                             headers={"X-CA-Root-Key": ROOT})  # fmt: skip
        assert created.status_code == 201, created.text
        org = created.json()
        profile = httpx.get(f"{base}/api/v1/orgs/{org['org_slug']}", headers={"X-API-Key": org["api_key"]})
        assert profile.status_code == 200 and profile.json()["company_name"] == "Served Co"
        summary = httpx.get(f"{base}/api/v1/orgs/{org['org_slug']}/costs/summary",
                            headers={"X-API-Key": org["api_key"]})  # fmt: skip
        assert summary.json() == {"data_version": 0, "cached": False, "items": []}  # no build yet
        assert httpx.get(f"{base}/openapi.json").json()["info"]["title"] == "CloudAct API"
    finally:
        process.terminate()
        output = process.communicate(timeout=20)[0]
    assert org["api_key"] not in output  # the key is never logged
