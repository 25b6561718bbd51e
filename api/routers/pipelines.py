"""Pipeline runs of an org: trigger (quota-checked), status with its log, history."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import ControlPlaneDep, OrgDep, SettingsDep, WarehouseDep
from api.errors import BadRequest, Forbidden, NotFound, ServiceUnavailable, TooManyRequests, Unauthorized, responses
from api.schemas.pipelines import RunDetail, RunList, RunLogLine, RunOut, TriggerIn, TriggerOut
from cloudact.pipeline import get_run, list_runs
from cloudact.pipeline_trigger import PipelineStartError, trigger_pipeline
from cloudact.quotas import OrgNotRunnableError, QuotaExceededError

router = APIRouter(prefix="/api/v1/orgs/{org_slug}/pipelines", tags=["pipelines"])
AUTH = (Unauthorized, Forbidden, NotFound)


@router.post("/runs", status_code=202, response_model=TriggerOut,
             responses=responses(*AUTH, BadRequest, TooManyRequests, ServiceUnavailable))  # fmt: skip
def trigger_pipeline_run(
    org: OrgDep, settings: SettingsDep, control_plane: ControlPlaneDep, warehouse: WarehouseDep,
    body: TriggerIn | None = None,
) -> TriggerOut:  # fmt: skip
    """Start a run for all of the org's integrations or the given providers; 429 names the limit and its reset."""
    try:
        run = trigger_pipeline(settings, control_plane, warehouse, org.org_slug, body.providers if body else None)
    except QuotaExceededError as exc:
        # A concurrency refusal has no reset time: a slot frees when a run ends, so suggest a minute.
        retry = int((exc.resets_at - _now()).total_seconds()) if exc.resets_at else 60
        headers = {"Retry-After": str(max(1, retry))}
        raise TooManyRequests(str(exc), field=exc.limit, headers=headers) from None
    except OrgNotRunnableError as exc:
        raise Forbidden(str(exc), field="status") from None
    except PipelineStartError as exc:
        raise ServiceUnavailable(str(exc)) from None
    except ValueError as exc:
        raise BadRequest(str(exc), field="providers") from None
    return TriggerOut(run_id=run.run_id, org_slug=run.org_slug, mode=run.mode, flow_run_id=run.flow_run_id)


@router.get("/runs", response_model=RunList, responses=responses(*AUTH))
def list_pipeline_runs(
    org: OrgDep, warehouse: WarehouseDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50, offset: Annotated[int, Query(ge=0)] = 0,
) -> RunList:  # fmt: skip
    """The org's runs, newest first."""
    items = [RunOut(**row) for row in list_runs(warehouse, org.org_slug, limit, offset)]
    return RunList(items=items, limit=limit, offset=offset)


@router.get("/runs/{run_id}", response_model=RunDetail, responses=responses(*AUTH))
def get_pipeline_run(run_id: str, org: OrgDep, warehouse: WarehouseDep) -> RunDetail:
    """One run with its log lines."""
    run = get_run(warehouse, org.org_slug, run_id)
    if run is None:
        raise NotFound(f"org {org.org_slug} has no run {run_id}", field="run_id")
    logs = warehouse.query(
        f"""select logged_at, level, message from {warehouse.shared_table("org_pipeline_logs")}
            where org_slug = @org_slug and run_id = @run_id order by logged_at""",
        {"org_slug": org.org_slug, "run_id": run_id},
    )
    return RunDetail(**run, logs=[RunLogLine(**line) for line in logs])


def _now() -> datetime:
    return datetime.now(UTC)
