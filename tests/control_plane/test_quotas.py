"""Quotas: exact admission under concurrency, the limit that refused and when it resets, daily and monthly resets."""

from __future__ import annotations

import dataclasses
import threading
from datetime import UTC, date, datetime

import pytest

from cloudact.control_plane import Organization, get_control_plane
from cloudact.quotas import (
    OrgNotRunnableError,
    QuotaExceededError,
    admit_pipeline_run,
    cleanup_usage,
    finish_pipeline_run,
    get_usage,
    reset_daily,
    reset_monthly,
)
from cloudact.settings import Settings
from cloudact.warehouse import get_warehouse


@pytest.fixture
def org(settings: Settings) -> Organization:
    get_warehouse(settings).bootstrap()
    return get_control_plane(settings).create_org("acme_abc123", "Acme", "acme", "scale")


def _with(org: Organization, **limits: int) -> Organization:
    return dataclasses.replace(org, **{f"limit_{name}": value for name, value in limits.items()})


def test_fifty_concurrent_triggers_against_a_limit_of_ten_admit_exactly_ten(settings: Settings, org) -> None:  # noqa: ANN001
    warehouse = get_warehouse(settings)
    limited = _with(org, pipeline_runs_daily=10, concurrent_runs=50)
    start = threading.Barrier(50)
    admitted: list[str] = []
    refused: list[QuotaExceededError] = []
    lock = threading.Lock()

    def trigger() -> None:
        start.wait()
        try:
            run_id = admit_pipeline_run(warehouse, limited, "all", "api")
        except QuotaExceededError as exc:
            with lock:
                refused.append(exc)
        else:
            with lock:
                admitted.append(run_id)

    threads = [threading.Thread(target=trigger) for _ in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(admitted) == 10 and len(set(admitted)) == 10
    assert len(refused) == 40 and {exc.limit for exc in refused} == {"pipeline_runs_daily"}
    assert get_usage(warehouse, limited).pipeline_runs_today == 10
    runs = warehouse.query("select count(*) as n from organizations.org_pipeline_runs where status = 'queued'")
    assert runs == [{"n": 10}]


def test_refusals_name_the_limit_and_when_it_resets(settings: Settings, org) -> None:  # noqa: ANN001
    warehouse = get_warehouse(settings)
    now = datetime(2026, 11, 26, 15, 30, tzinfo=UTC)
    one_at_a_time = _with(org, concurrent_runs=1)
    run_id = admit_pipeline_run(warehouse, one_at_a_time, "aws", "api", now)
    with pytest.raises(QuotaExceededError, match="concurrent_runs limit reached \\(1 of 1\\)") as busy:
        admit_pipeline_run(warehouse, one_at_a_time, "aws", "api", now)
    assert busy.value.resets_at is None
    finish_pipeline_run(warehouse, org.org_slug, run_id, "succeeded", {"aws": 12})
    admit_pipeline_run(warehouse, one_at_a_time, "aws", "api", now)  # the slot is free again

    with pytest.raises(QuotaExceededError, match="pipeline_runs_daily limit reached \\(2 of 2\\)") as daily:
        admit_pipeline_run(warehouse, _with(org, pipeline_runs_daily=2), "aws", "api", now)
    assert daily.value.resets_at == datetime(2026, 11, 27, tzinfo=UTC)
    with pytest.raises(QuotaExceededError, match="pipeline_runs_monthly") as monthly:
        admit_pipeline_run(warehouse, _with(org, pipeline_runs_monthly=2), "aws", "api", now)
    assert monthly.value.resets_at == datetime(2026, 12, 1, tzinfo=UTC)


def test_daily_and_monthly_resets(settings: Settings, org) -> None:  # noqa: ANN001
    warehouse = get_warehouse(settings)
    limited = _with(org, pipeline_runs_daily=1, pipeline_runs_monthly=2)
    day_one = datetime(2026, 11, 29, 23, 59, tzinfo=UTC)
    finish_pipeline_run(
        warehouse, org.org_slug, admit_pipeline_run(warehouse, limited, "all", "api", day_one), "failed"
    )
    with pytest.raises(QuotaExceededError, match="daily"):
        admit_pipeline_run(warehouse, limited, "all", "api", day_one)
    day_two = datetime(2026, 11, 30, 0, 1, tzinfo=UTC)
    assert reset_daily(warehouse, [org.org_slug], day_two.date()) == 1
    assert reset_daily(warehouse, [org.org_slug], day_two.date()) == 0  # idempotent
    assert get_usage(warehouse, limited, day_two).pipeline_runs_today == 0
    finish_pipeline_run(
        warehouse, org.org_slug, admit_pipeline_run(warehouse, limited, "all", "api", day_two), "partial"
    )
    next_day = datetime(2026, 11, 30, 23, tzinfo=UTC)
    with pytest.raises(QuotaExceededError):  # the day is used up and the month too (2 of 2)
        admit_pipeline_run(warehouse, limited, "all", "api", next_day)
    december = datetime(2026, 12, 1, 0, 5, tzinfo=UTC)
    assert reset_monthly(warehouse, [org.org_slug], december.date()) == 1
    usage = get_usage(warehouse, limited, december)
    assert (usage.pipeline_runs_today, usage.pipeline_runs_this_month) == (0, 0)
    admit_pipeline_run(warehouse, limited, "all", "api", december)
    counts = warehouse.query(
        """select usage_date, pipeline_runs, pipeline_runs_succeeded, pipeline_runs_failed
           from organizations.org_usage_quotas order by usage_date"""
    )
    assert [(row["usage_date"], row["pipeline_runs"], row["pipeline_runs_failed"]) for row in counts] == [
        (date(2026, 11, 29), 1, 1), (date(2026, 11, 30), 1, 1), (date(2026, 12, 1), 1, 0),
    ]  # fmt: skip
    assert cleanup_usage(warehouse, keep_days=1, today=date(2026, 12, 1)) == 1  # Nov 29 only
    assert cleanup_usage(warehouse, keep_days=1, today=date(2026, 12, 1)) == 0
    assert cleanup_usage(warehouse, keep_days=0, today=date(2026, 12, 1)) == 1  # never the current month


def test_a_suspended_org_cannot_start_pipelines(settings: Settings, org) -> None:  # noqa: ANN001
    with pytest.raises(OrgNotRunnableError, match="suspended"):
        admit_pipeline_run(get_warehouse(settings), dataclasses.replace(org, status="suspended"), "all", "api")
