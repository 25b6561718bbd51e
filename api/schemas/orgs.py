"""Models of the org-scoped routes (profile, integrations, quotas)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel


class OrgOut(BaseModel):
    org_slug: str
    company_name: str
    plan: str
    status: str
    limit_pipeline_runs_daily: int
    limit_pipeline_runs_monthly: int
    limit_concurrent_runs: int
    limit_seats: int
    limit_providers: int
    created_at: datetime


class IntegrationOut(BaseModel):
    provider: str
    status: str
    summary: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    validated_at: datetime | None
    last_error: str | None


class IntegrationList(BaseModel):
    items: list[IntegrationOut]


class UsageOut(BaseModel):
    org_slug: str
    plan: str
    usage_date: date
    pipeline_runs_today: int
    pipeline_runs_this_month: int
    running: int
    limit_daily: int
    limit_monthly: int
    limit_concurrent: int
    daily_resets_at: datetime
    monthly_resets_at: datetime
