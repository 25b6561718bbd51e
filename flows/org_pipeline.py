"""``org_pipeline``: one org's run — ingest each enabled integration, dbt build, invalidate reads, record the run."""

from __future__ import annotations

from typing import Any

from prefect import flow, get_run_logger, task
from prefect.client.schemas.objects import TaskRun
from prefect.runtime import flow_run
from prefect.states import State

from cloudact.pipeline import execute_run, ingest_provider, is_transient
from cloudact.transform import transform_org
from flows._runtime import runtime


def retry_on_transient(task: Any, task_run: TaskRun, state: State) -> bool:
    """Retry only errors worth retrying: HTTP 429/5xx, timeouts, dropped connections."""
    exc = state.result(raise_on_failure=False)
    return isinstance(exc, BaseException) and is_transient(exc)


@task(name="ingest_provider", task_run_name="ingest-{provider}", retry_condition_fn=retry_on_transient)
def ingest_provider_task(org_slug: str, provider: str) -> int:
    """Load one provider's raw data for the org with dlt; returns the rows loaded."""
    rt = runtime()
    rows = ingest_provider(rt.settings, rt.warehouse, rt.keyring, org_slug, provider)
    get_run_logger().info("%s: %d rows loaded into %s_prod", provider, rows, org_slug)
    return rows


@task(name="dbt_build", task_run_name="dbt-build-{org_slug}")
def dbt_build_task(org_slug: str) -> int:
    """``dbt build`` for the org (parsed manifest reused); a failed node fails the task with its error."""
    return transform_org(runtime().settings, org_slug).nodes


@flow(name="org_pipeline", flow_run_name="org-pipeline-{org_slug}")
def org_pipeline(
    org_slug: str, providers: list[str] | None = None, run_id: str | None = None, trigger: str = "manual"
) -> dict[str, Any]:
    """Run one org's pipeline; with no ``run_id`` the run is first admitted against the org's quotas.

    Args:
        org_slug: The org.
        providers: Providers to ingest (default: every enabled integration).
        run_id: A run already admitted (by the API's trigger); otherwise one is admitted here.
        trigger: Who started it (manual, schedule, api), recorded with the run.
    """
    rt = runtime()
    delays = rt.settings.pipeline_retry_delays
    if run_id is not None and flow_run.id:
        rt.warehouse.execute(
            f"""update {rt.warehouse.shared_table("org_pipeline_runs")} set flow_run_id = @flow
                where org_slug = @org_slug and run_id = @run_id""",
            {"flow": str(flow_run.id), "org_slug": org_slug, "run_id": run_id},
        )
    outcome = execute_run(
        rt.settings, rt.control_plane, rt.warehouse, org_slug, providers=providers, run_id=run_id, trigger=trigger,
        ingest=ingest_provider_task.with_options(retries=len(delays), retry_delay_seconds=delays),
        build=dbt_build_task, logger=get_run_logger(),
    )  # fmt: skip
    if outcome.status == "failed":
        raise RuntimeError(f"run {outcome.run_id} of {org_slug} failed: {outcome.errors}")
    return outcome.__dict__
