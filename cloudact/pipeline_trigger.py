"""Start an org pipeline run: a Prefect flow run of the deployment when a Prefect server is configured, otherwise the
same pipeline in a background thread of this process. Either way the run is admitted and recorded identically.
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass

from cloudact.control_plane import ControlPlaneStore
from cloudact.pipeline import PIPELINE_PROVIDERS, run_in_process
from cloudact.quotas import admit_pipeline_run, finish_pipeline_run
from cloudact.settings import Settings
from cloudact.warehouse import Warehouse

log = logging.getLogger(__name__)
_IN_PROCESS: dict[str, threading.Thread] = {}


class PipelineStartError(RuntimeError):
    """The Prefect server did not accept the flow run (HTTP 503); the run is recorded as failed."""


@dataclass(frozen=True)
class TriggeredRun:
    """A run that was admitted and started."""

    run_id: str
    org_slug: str
    mode: str  # "prefect" or "in_process"
    flow_run_id: str | None


def prefect_api_url() -> str | None:
    """The Prefect API this process talks to, if one is configured (``PREFECT_API_URL``)."""
    from prefect.settings import PREFECT_API_URL

    return os.environ.get("PREFECT_API_URL") or PREFECT_API_URL.value() or None


def trigger_pipeline(
    settings: Settings,
    control_plane: ControlPlaneStore,
    warehouse: Warehouse,
    org_slug: str,
    providers: list[str] | None = None,
    trigger: str = "api",
) -> TriggeredRun:
    """Admit a run against the org's quotas and start it.

    Raises:
        ValueError: If a provider is unknown.
        QuotaExceededError: If a limit refuses the run (nothing is started).
        OrgNotRunnableError: If the org's status forbids runs.
    """
    unknown = [name for name in providers or [] if name not in PIPELINE_PROVIDERS]
    if unknown:
        raise ValueError(f"unknown provider {unknown[0]!r}: expected one of {', '.join(PIPELINE_PROVIDERS)}")
    org = control_plane.get_org(org_slug)
    run_id = admit_pipeline_run(warehouse, org, ",".join(providers) if providers else "all", trigger)
    if prefect_api_url():
        from prefect.deployments import run_deployment

        try:
            flow_run = run_deployment(
                settings.pipeline_deployment,
                parameters={"org_slug": org.org_slug, "providers": providers, "run_id": run_id, "trigger": trigger},
                timeout=0,
            )
        except Exception as exc:  # unknown deployment, server down...: the run is recorded failed, the caller told
            finish_pipeline_run(warehouse, org.org_slug, run_id, "failed", None, f"could not start the flow: {exc}")
            raise PipelineStartError(
                f"could not start a flow run of deployment {settings.pipeline_deployment!r} on {prefect_api_url()}: "
                f"{type(exc).__name__}: {exc}"
            ) from exc
        try:
            warehouse.execute(
                f"""update {warehouse.shared_table("org_pipeline_runs")} set flow_run_id = @flow
                    where org_slug = @org_slug and run_id = @run_id""",
                {"flow": str(flow_run.id), "org_slug": org.org_slug, "run_id": run_id},
            )
        except Exception as exc:  # the flow records its own id as it starts; this early copy is a convenience
            log.warning("could not record flow run %s on run %s yet: %s", flow_run.id, run_id, exc)
        return TriggeredRun(run_id, org.org_slug, "prefect", str(flow_run.id))

    def run() -> None:
        try:
            run_in_process(settings, org.org_slug, providers, run_id, trigger)
        except Exception:
            log.exception("in-process run %s of %s failed", run_id, org.org_slug)  # recorded on the run already

    thread = threading.Thread(target=run, name=f"pipeline-{org.org_slug}-{run_id}", daemon=True)
    _IN_PROCESS[run_id] = thread
    thread.start()
    return TriggeredRun(run_id, org.org_slug, "in_process", None)


def wait_in_process(run_id: str, timeout: float | None = None) -> None:
    """Wait for an in-process run started by this process (tests and the CLI use it)."""
    thread = _IN_PROCESS.get(run_id)
    if thread is not None:
        thread.join(timeout)
