"""Models of the pipeline routes."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class TriggerIn(BaseModel):
    providers: list[str] | None = Field(
        default=None, min_length=1, description="Providers to run; omit for every integration"
    )


class TriggerOut(BaseModel):
    run_id: str
    org_slug: str
    mode: str = Field(description="prefect (a flow run of the deployment) or in_process")
    flow_run_id: str | None


class RunOut(BaseModel):
    run_id: str
    provider: str
    trigger: str
    status: str = Field(description="queued, running, succeeded, partial or failed")
    queued_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    rows_loaded: dict[str, int]
    error: str | None
    flow_run_id: str | None


class RunList(BaseModel):
    items: list[RunOut]
    limit: int
    offset: int


class RunLogLine(BaseModel):
    logged_at: datetime
    level: str
    message: str


class RunDetail(RunOut):
    logs: list[RunLogLine]
