"""Shared fixtures: isolated settings per test, the public samples, and a real Costs API server on 127.0.0.1."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from cloudact.settings import REPO_ROOT, Settings, get_settings

os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")


def shared_dir() -> Path:
    """The workspace's ../shared folder (samples, focus-validator); CLOUDACT_SHARED_DIR overrides."""
    candidates = [os.environ.get("CLOUDACT_SHARED_DIR"), REPO_ROOT.parent / "shared", "/work/shared"]
    for candidate in candidates:
        if candidate and (Path(candidate) / "samples").is_dir():
            return Path(candidate)
    raise RuntimeError("../shared (samples and focus-validator) not found: set CLOUDACT_SHARED_DIR")


SHARED = shared_dir()
SAMPLES = SHARED / "samples"
AWS_SAMPLE = SAMPLES / "aws" / "legacy-cur-sample-anonymous-aws-export-dataset.csv"
OPENAI_SAMPLE = SAMPLES / "openai" / "organization_costs_example.json"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings whose whole state lives in this test's own data directory."""
    return Settings(_env_file=None, data_dir=tmp_path / "data", samples_dir=SAMPLES)  # type: ignore[call-arg]


@pytest.fixture
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Environment for CLI tests: CLOUDACT_DATA_DIR in tmp, settings cache cleared before and after."""
    data_dir = tmp_path / "cli-data"
    for key in list(os.environ):
        if key.startswith("CLOUDACT_") and key != "CLOUDACT_SHARED_DIR":
            monkeypatch.delenv(key)
    monkeypatch.setenv("CLOUDACT_DATA_DIR", str(data_dir))
    monkeypatch.setenv("CLOUDACT_SAMPLES_DIR", str(SAMPLES))
    monkeypatch.chdir(tmp_path)
    get_settings.cache_clear()
    yield data_dir
    get_settings.cache_clear()


def table_state(settings: Settings, sql: str) -> list[tuple[object, ...]]:
    """Run a read query on the test's warehouse file (nothing else holds it open between steps)."""
    import duckdb

    path = settings.resolved_duckdb_path
    if not path.exists():
        return []
    con = duckdb.connect(str(path))
    try:
        return con.execute(sql).fetchall()
    except duckdb.CatalogException:
        return []
    finally:
        con.close()


@pytest.fixture(scope="session", autouse=True)
def focus_validator_ready(tmp_path_factory: pytest.TempPathFactory) -> None:
    """The FOCUS validator builds its own venv on first use (about two minutes): done once, under a file lock, so
    that the test workers of `make test` (pytest-xdist) never build it at the same time."""
    import fcntl
    import subprocess

    venv = Path(os.environ.get("FOCUS_VALIDATOR_VENV", Path.home() / ".cache" / "focus-validator-venv"))
    if (venv / "bin" / "focus-validator").exists():
        return
    venv.parent.mkdir(parents=True, exist_ok=True)
    with open(venv.parent / "focus-validator-venv.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (venv / "bin" / "focus-validator").exists():
            tiny = tmp_path_factory.mktemp("validator") / "tiny.csv"
            tiny.write_text("BilledCost\n1\n")  # not FOCUS: the run only installs the venv; its verdict is ignored
            subprocess.run(
                [str(SHARED / "focus-validator" / "validate"), str(tiny)],
                capture_output=True, check=False, timeout=900,
                env={**os.environ, "FOCUS_VALIDATOR_OUT": str(tiny.parent / "out")},
            )  # fmt: skip


@pytest.fixture(autouse=True)
def no_prefect_api_unless_asked(request: pytest.FixtureRequest) -> Iterator[None]:
    """Tests run with no Prefect API configured (the in-process path), unless they use the flows' test harness.

    `make test` runs test files on two workers one after the other: the harness a flows test started earlier in the
    same worker must not turn another file's in-process trigger into a Prefect deployment run.
    """
    if "prefect_harness" in request.fixturenames:
        yield
        return
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings(restore_defaults={PREFECT_API_URL}):
        yield
