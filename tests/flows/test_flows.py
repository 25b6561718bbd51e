"""Every flow under Prefect's test harness, its effect asserted on the warehouse and the control plane."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml

from cloudact import api_keys
from cloudact.budgets import set_budget
from cloudact.demo_data import generate_openai_buckets, openai_totals
from cloudact.integrations import set_integration
from cloudact.onboarding import onboard_org
from cloudact.openai_replay import CostsReplay, serve_costs
from cloudact.quotas import admit_pipeline_run, finish_pipeline_run, get_usage
from cloudact.read_cache import data_version
from cloudact.settings import REPO_ROOT
from tests.flows.conftest import Env, aws_export_folder

OPENAI_KEY = "sk-admin-" + "flowtest" * 3
TODAY = datetime.now(UTC).date()


def _onboard(env: Env, name: str, plan: str = "scale") -> str:
    return onboard_org(env.control_plane, env.warehouse, env.keyring, name, plan).org_slug


@contextmanager
def _openai(env: Env, monkeypatch: pytest.MonkeyPatch, replay: CostsReplay) -> Iterator[CostsReplay]:
    with serve_costs(replay) as url:
        monkeypatch.setenv("CLOUDACT_OPENAI_BASE_URL", url)
        env.reload()
        yield replay


def _count(env: Env, slug: str, table: str, where: str = "true") -> int:
    return int(env.warehouse.query_tenant(f"select count(*) as n from {slug}_prod.{table} where {where}")[0]["n"])


def _run_row(env: Env, run_id: str) -> dict[str, Any]:
    rows = env.warehouse.query("select * from organizations.org_pipeline_runs where run_id = @r", {"r": run_id})
    assert len(rows) == 1
    return rows[0]


def test_org_pipeline_loads_every_integration_builds_and_records_the_run(
    flow_env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    from flows.org_pipeline import org_pipeline

    slug = _onboard(flow_env, "Acme Corp")
    set_integration(
        flow_env.warehouse, flow_env.keyring, slug, "aws", {"export_path": str(aws_export_folder(flow_env.data_dir))}
    )
    set_integration(flow_env.warehouse, flow_env.keyring, slug, "openai", {"admin_key": OPENAI_KEY})
    buckets = generate_openai_buckets(TODAY - timedelta(days=10), 10, ["proj_a", "proj_b"], seed=3)
    with _openai(flow_env, monkeypatch, CostsReplay(buckets=buckets, api_key=OPENAI_KEY)):
        outcome = org_pipeline(slug)
    assert outcome["status"] == "succeeded" and outcome["errors"] == {}
    assert outcome["rows"]["aws"] > 1000 and outcome["rows"]["openai"] == sum(len(b["results"]) for b in buckets)
    assert outcome["dbt_nodes"] > 50
    billed = flow_env.warehouse.query_tenant(
        f"""select sum(BilledCost) as billed from {slug}_prod.cost_data_standard_1_3 where x_Provider = 'openai'"""
    )[0]["billed"]
    assert billed == sum(openai_totals(buckets).values(), Decimal(0))
    run = _run_row(flow_env, outcome["run_id"])
    assert run["status"] == "succeeded" and run["trigger"] == "manual" and run["flow_run_id"] is None
    assert json.loads(run["rows_loaded"]) == outcome["rows"]
    usage = flow_env.warehouse.query(
        "select pipeline_runs, pipeline_runs_succeeded from organizations.org_usage_quotas where org_slug = @s",
        {"s": slug},
    )
    assert usage == [{"pipeline_runs": 1, "pipeline_runs_succeeded": 1}]
    assert data_version(flow_env.warehouse, slug) == 1
    logs = [row["message"] for row in flow_env.warehouse.query(
        "select message from organizations.org_pipeline_logs where run_id = @r order by logged_at",
        {"r": outcome["run_id"]})]  # fmt: skip
    assert any("dbt build" in line for line in logs) and logs[-1].startswith("run succeeded")


def test_a_failing_provider_ends_partial_keeps_the_others_and_a_rerun_completes(
    flow_env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    from flows.org_pipeline import org_pipeline

    slug = _onboard(flow_env, "Globex Inc")
    set_integration(
        flow_env.warehouse, flow_env.keyring, slug, "aws", {"export_path": str(aws_export_folder(flow_env.data_dir))}
    )
    set_integration(flow_env.warehouse, flow_env.keyring, slug, "openai", {"admin_key": "sk-admin-" + "revoked" * 3})
    buckets = generate_openai_buckets(TODAY - timedelta(days=5), 5, ["proj_a"], seed=4)
    with _openai(flow_env, monkeypatch, CostsReplay(buckets=buckets, api_key=OPENAI_KEY)):
        first = org_pipeline(slug)
        assert first["status"] == "partial" and set(first["errors"]) == {"openai"}
        assert "HTTP 401 Unauthorized" in first["errors"]["openai"]
        assert _run_row(flow_env, first["run_id"])["error"].startswith("openai: ")
        aws_rows = _count(flow_env, slug, "cost_data_standard_1_3", "x_Provider = 'aws'")
        assert aws_rows > 1000 and _count(flow_env, slug, "cost_data_standard_1_3", "x_Provider = 'openai'") == 0

        set_integration(flow_env.warehouse, flow_env.keyring, slug, "openai", {"admin_key": OPENAI_KEY})
        second = org_pipeline(slug)
    assert second["status"] == "succeeded"
    assert _count(flow_env, slug, "cost_data_standard_1_3", "x_Provider = 'aws'") == aws_rows  # not doubled
    assert _count(flow_env, slug, "cost_data_standard_1_3", "x_Provider = 'openai'") == sum(
        len(b["results"]) for b in buckets
    )


def test_transient_errors_are_retried_with_backoff(flow_env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    from flows.org_pipeline import org_pipeline

    slug = _onboard(flow_env, "Initech")
    set_integration(flow_env.warehouse, flow_env.keyring, slug, "openai", {"admin_key": OPENAI_KEY})
    buckets = generate_openai_buckets(TODAY - timedelta(days=3), 3, ["proj_a"], seed=5)
    replay = CostsReplay(buckets=buckets, api_key=OPENAI_KEY, fail_first=[429, 503])
    with _openai(flow_env, monkeypatch, replay):
        outcome = org_pipeline(slug, providers=["openai"])
    assert outcome["status"] == "succeeded" and outcome["rows"]["openai"] == sum(len(b["results"]) for b in buckets)
    assert replay.fail_first == [] and len(replay.requests) >= 3  # two refused tries, then the load

    replay = CostsReplay(buckets=buckets, api_key=OPENAI_KEY, fail_first=[503, 503, 503])  # more than the retries
    with _openai(flow_env, monkeypatch, replay), pytest.raises(RuntimeError, match="failed"):
        org_pipeline(slug, providers=["openai"])
    assert len(replay.requests) == 3  # the first try plus CLOUDACT_PIPELINE_RETRY_DELAYS (two) retries


def test_a_build_failure_fails_the_flow_with_the_dbt_error(flow_env: Env) -> None:
    from flows.org_pipeline import org_pipeline

    slug = _onboard(flow_env, "Hooli")
    folder = flow_env.data_dir / "exports" / "bad"
    folder.mkdir(parents=True)
    set_integration(flow_env.warehouse, flow_env.keyring, slug, "aws", {"export_path": str(folder)})
    # Raw rows no ingest of ours would write (the loader validates decimals): the build's cast fails on them.
    flow_env.warehouse.execute_tenant(f"""create table {slug}_prod.aws_cur_line_items as
        select 'li-1' as identity_line_item_id, 'not-a-number' as line_item_unblended_cost,
               'Usage' as line_item_line_item_type, '111122223333' as bill_payer_account_id,
               '2026-01-01T00:00:00Z' as bill_billing_period_start_date,
               '2026-02-01T00:00:00Z' as bill_billing_period_end_date, 'AmazonEC2' as line_item_product_code,
               '2026-01-01T00:00:00Z' as line_item_usage_start_date,
               '2026-01-01T01:00:00Z' as line_item_usage_end_date, 'load-1' as _dlt_load_id""")
    with pytest.raises(Exception, match="dbt build for .* failed"):
        org_pipeline(slug)
    runs = flow_env.warehouse.query("select status, error from organizations.org_pipeline_runs where org_slug = @s",
                                    {"s": slug})  # fmt: skip
    assert runs[0]["status"] == "failed" and "dbt" in runs[0]["error"]


def test_daily_pipelines_runs_every_active_org_and_skips_those_over_quota(flow_env: Env) -> None:
    from flows.daily_pipelines import daily_pipelines

    busy, idle = _onboard(flow_env, "Busy Co", plan="free"), _onboard(flow_env, "Idle Co")
    org = flow_env.control_plane.get_org(busy)
    for _ in range(org.limit_pipeline_runs_daily):
        finish_pipeline_run(flow_env.warehouse, busy, admit_pipeline_run(flow_env.warehouse, org, "all", "api"),
                            "succeeded")  # fmt: skip
    results = daily_pipelines()
    assert results[idle] == "succeeded"
    assert results[busy].startswith("skipped: pipeline_runs_daily limit reached")
    idle_runs = flow_env.warehouse.query(
        "select trigger, status from organizations.org_pipeline_runs where org_slug = @s", {"s": idle}
    )
    assert idle_runs == [{"trigger": "schedule", "status": "succeeded"}]


def test_quota_resets_and_cleanup(flow_env: Env) -> None:
    from flows.quota_cleanup import quota_cleanup
    from flows.quota_reset_daily import quota_reset_daily
    from flows.quota_reset_monthly import quota_reset_monthly

    slugs = [_onboard(flow_env, "Acme Corp"), _onboard(flow_env, "Globex Inc")]
    assert quota_reset_daily(day="2026-12-24") == 2
    assert quota_reset_daily(day="2026-12-24") == 0
    assert quota_reset_monthly(day="2027-01-01") == 2
    org = flow_env.control_plane.get_org(slugs[0])
    usage = get_usage(flow_env.warehouse, org, datetime(2027, 1, 1, 0, 6, tzinfo=UTC))
    assert (usage.pipeline_runs_today, usage.pipeline_runs_this_month) == (0, 0)
    flow_env.warehouse.execute("""insert into organizations.org_usage_quotas
        values (@s, date '2024-01-05', date '2024-01-01', 3, 3, 0, now())""", {"s": slugs[0]})  # fmt: skip
    assert quota_cleanup() == 1
    left = flow_env.warehouse.query("select min(usage_date) as first from organizations.org_usage_quotas")
    assert left[0]["first"] > date(2024, 1, 5)


def test_stale_runs_become_failed_and_free_their_slot(flow_env: Env) -> None:
    from cloudact.quotas import QuotaExceededError
    from flows.stale_cleanup import stale_cleanup

    slug = _onboard(flow_env, "Stuck Co", plan="starter")
    org = flow_env.control_plane.get_org(slug)
    old = datetime.now(UTC) - timedelta(minutes=flow_env.settings.pipeline_stale_minutes + 5)
    stuck = admit_pipeline_run(flow_env.warehouse, org, "all", "api", old)
    with pytest.raises(QuotaExceededError, match="concurrent_runs"):
        admit_pipeline_run(flow_env.warehouse, org, "all", "api")
    fresh_usage = get_usage(flow_env.warehouse, org).running
    assert fresh_usage == 1
    assert stale_cleanup() == [stuck]
    row = _run_row(flow_env, stuck)
    assert row["status"] == "failed" and row["error"].startswith("stale:")
    admit_pipeline_run(flow_env.warehouse, org, "all", "api")  # the slot is free
    assert stale_cleanup() == []


class _Receiver(BaseHTTPRequestHandler):
    received: list[dict[str, Any]] = []
    fail = False

    def do_POST(self) -> None:  # noqa: N802 (http.server API)
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if type(self).fail:
            self.send_response(503)
        else:
            type(self).received.append(body)
            self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[tuple[str, type[_Receiver]]]:
    handler = type("Receiver", (_Receiver,), {"received": [], "fail": False})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/alerts", handler
    server.shutdown()
    server.server_close()


def test_alerts_are_recorded_once_and_posted_to_the_webhook(
    flow_env: Env, monkeypatch: pytest.MonkeyPatch, receiver: tuple[str, type[_Receiver]]
) -> None:
    from flows.alerts_daily import alerts_daily

    url, handler = receiver
    monkeypatch.setenv("CLOUDACT_ALERT_WEBHOOK_URL", url)
    flow_env.reload()
    day = date(2026, 11, 20)
    slug = _onboard(flow_env, "Spiky Co", plan="free")
    quiet = _onboard(flow_env, "Quiet Co")
    org = flow_env.control_plane.get_org(slug)
    for _ in range(org.limit_pipeline_runs_daily):
        run_id = admit_pipeline_run(flow_env.warehouse, org, "all", "api", datetime(2026, 11, 20, 1, tzinfo=UTC))
        finish_pipeline_run(flow_env.warehouse, slug, run_id, "succeeded")
    # The org's FOCUS table, reduced to the columns the alerts read: 100 on Nov 18, 400 on Nov 19 (a spike).
    flow_env.warehouse.execute_tenant(f"""create table {slug}_prod.cost_data_standard_1_3 as
        select * from (values (timestamptz '2026-11-18 00:00:00+00', 100.00::decimal(38, 12), 'USD', 'aws'),
                              (timestamptz '2026-11-19 00:00:00+00', 400.00::decimal(38, 12), 'USD', 'aws'))
          t(ChargePeriodStart, BilledCost, BillingCurrency, x_Provider)""")  # fmt: skip
    set_budget(flow_env.warehouse, slug, Decimal("450"), "USD")
    set_budget(flow_env.warehouse, quiet, Decimal("1"), "USD")

    handler.fail = True
    first = alerts_daily(day=str(day))
    assert first == {"recorded": 3, "delivered": 0, "undelivered": 3}
    handler.fail = False
    second = alerts_daily(day=str(day))
    assert second == {"recorded": 0, "delivered": 3, "undelivered": 0}
    assert alerts_daily(day=str(day)) == {"recorded": 0, "delivered": 0, "undelivered": 0}
    kinds = sorted((body["org_slug"], body["alert_type"]) for body in handler.received)
    assert kinds == [(slug, "budget_exceeded"), (slug, "cost_spike"), (slug, "quota")]
    spike = next(body for body in handler.received if body["alert_type"] == "cost_spike")
    assert spike["details"] == {"day": "2026-11-19", "cost": "400.000000000000", "previous": "100.000000000000"}
    stored = flow_env.warehouse.query("select count(*) as n from organizations.org_alerts where delivered")
    assert stored == [{"n": 3}]


def test_maintenance_flows(flow_env: Env) -> None:
    from flows.bootstrap_smart import bootstrap_smart
    from flows.control_plane_migrate import control_plane_migrate
    from flows.org_sync_all import org_sync_all

    assert control_plane_migrate() == "0004"
    slug = _onboard(flow_env, "Acme Corp")
    flow_env.warehouse.execute("alter table organizations.org_alerts drop column delivery_error")
    assert bootstrap_smart() == {"created_tables": [], "added_columns": ["org_alerts.delivery_error"]}
    flow_env.warehouse.drop_dataset(f"{slug}_prod")
    assert org_sync_all()[slug].endswith(" nodes")
    assert flow_env.warehouse.dataset_exists(f"{slug}_prod")
    assert _count(flow_env, slug, "cost_data_standard_1_3") == 0
    assert api_keys.recover_api_key(flow_env.warehouse, flow_env.keyring, slug).org_slug == slug


def test_every_deployment_has_its_schedule_in_utc() -> None:
    spec = yaml.safe_load((REPO_ROOT / "prefect.yaml").read_text())
    deployments = {item["name"]: item for item in spec["deployments"]}
    expected = {
        "daily_pipelines": "0 4 * * *",
        "quota_reset_daily": "0 0 * * *",
        "quota_reset_monthly": "5 0 1 * *",
        "quota_cleanup": "0 1 * * *",
        "stale_cleanup": "0 2 * * *",
        "alerts_daily": "0 8 * * *",
    }
    one_off = {"org_pipeline", "control_plane_migrate", "bootstrap_smart", "org_sync_all"}
    assert set(deployments) == set(expected) | one_off
    for name, cron in expected.items():
        assert deployments[name]["schedules"] == [{"cron": cron, "timezone": "UTC"}], name
    for name in one_off:
        assert not deployments[name].get("schedules"), name
    for name, item in deployments.items():
        assert item["work_pool"]["name"] == "cloudact-process"
        path, function = item["entrypoint"].split(":")
        assert path == f"flows/{name}.py" and function == name
        module = __import__(f"flows.{name}", fromlist=[function])
        assert getattr(module, function).name == name  # the flow's name is the deployment's
    assert Path(REPO_ROOT / "prefect.yaml").is_file()


def test_a_run_failed_while_waiting_is_never_revived_and_a_busy_org_frees_the_slot(flow_env: Env) -> None:
    from cloudact.pipeline import RunBusyError, RunNotQueuedError, claim_run, fail_stale_runs, run_in_process

    slug = _onboard(flow_env, "Waiting Co")
    org = flow_env.control_plane.get_org(slug)
    old = datetime.now(UTC) - timedelta(minutes=flow_env.settings.pipeline_stale_minutes + 5)
    late = admit_pipeline_run(flow_env.warehouse, org, "all", "api", old)
    assert fail_stale_runs(flow_env.warehouse, timedelta(minutes=flow_env.settings.pipeline_stale_minutes)) == [late]
    with pytest.raises(RunNotQueuedError, match="failed"):
        claim_run(flow_env.warehouse, slug, late, wait_s=0)
    assert _run_row(flow_env, late)["status"] == "failed"

    holder = admit_pipeline_run(flow_env.warehouse, org, "all", "api")
    claim_run(flow_env.warehouse, slug, holder, wait_s=0)  # running
    waiting = admit_pipeline_run(flow_env.warehouse, org, "all", "api")
    with pytest.raises(RunBusyError):
        run_in_process(flow_env.settings.model_copy(update={"pipeline_wait_seconds": 0.2}), slug, run_id=waiting)
    assert _run_row(flow_env, waiting)["status"] == "failed"  # its concurrency slot is free again
    assert get_usage(flow_env.warehouse, org).running == 1
