"""OpenAI Usage APIs and Anthropic cost/usage reports through dlt, against real HTTP servers on 127.0.0.1."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

import ingestion.sources.anthropic as anthropic_module
from cloudact.openai_replay import ANTHROPIC_COSTS, ANTHROPIC_USAGE, CostsReplay, GenAIReplay, serve_replay
from cloudact.settings import Settings
from ingestion.pipelines import (
    IngestError,
    anthropic_source_for,
    build_pipeline,
    ingest_anthropic_pages,
    openai_source_for,
    run_ingest,
)
from tests.conftest import SAMPLES, table_state
from tests.support.genai_data import anthropic_data, openai_data

SLUG = "acme_t1"
OPENAI_KEY = "sk-admin-test-key-000000000001"
ANTHROPIC_KEY = "sk-ant-admin01-test-key-00000001"
USAGE_SAMPLE = SAMPLES / "openai" / "organization_usage_completions_example.json"
FAST = {"genai_http_backoff_seconds": 0.01, "genai_http_max_delay_seconds": 0.05}


def _first_day(days: int) -> Any:
    return datetime.now(UTC).date() - timedelta(days=days - 1)


def _start(days: int) -> int:
    day = _first_day(days)
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp())


def test_openai_usage_sample_loads_every_count_with_the_documented_types(settings: Settings) -> None:
    sample = json.loads(USAGE_SAMPLE.read_text())
    replay = CostsReplay(buckets=[], usage={"completions": sample["data"]}, api_key=OPENAI_KEY)
    with serve_replay(replay) as url:
        run = settings.model_copy(update={"openai_base_url": url})
        run_ingest(settings, SLUG, "openai", openai_source_for(run, OPENAI_KEY, "org-1", 1730419200))
    rows = dict(table_state(settings, f"select metric, quantity from {SLUG}_prod.openai_usage"))
    counts = {k: v for k, v in sample["data"][0]["results"][0].items() if isinstance(v, int) and v is not True}
    assert rows == counts  # every integer field, none invented (the sample has input_uncached_tokens itself)
    schema = build_pipeline(settings, SLUG, "openai").default_schema.get_table_columns("openai_usage")
    assert (schema["quantity"]["data_type"], schema["batch"]["data_type"]) == ("bigint", "bool")
    completions = replay.queries("organization/usage/completions")
    assert completions[0]["group_by"] == ["project_id", "api_key_id", "model", "batch"]
    assert completions[0]["limit"] == ["31"] and completions[0]["bucket_width"] == ["1d"]
    # Every usage endpoint of the issue is read, each with its own grouping.
    read = {path.rsplit("/", 1)[-1] for path, _ in replay.calls if "/usage/" in path}
    assert read == {"completions", "embeddings", "moderations", "images", "audio_speeches", "audio_transcriptions",
                    "vector_stores", "code_interpreter_sessions"}  # fmt: skip
    assert replay.queries("organization/usage/vector_stores")[0]["group_by"] == ["project_id"]


def test_openai_usage_pages_retries_and_derived_uncached_input(settings: Settings) -> None:
    data = openai_data(_first_day(40), 40)
    replay = CostsReplay(buckets=data.costs, usage=data.usage, api_key=OPENAI_KEY, fail_first=[429, 500, 503])
    with serve_replay(replay) as url:
        run = settings.model_copy(update={"openai_base_url": url, **FAST})
        run_ingest(settings, SLUG, "openai", openai_source_for(run, OPENAI_KEY, "org-1", _start(40)))
    assert replay.fail_first == []
    # The three errors were answered to the first request (costs), then it succeeded: 4 tries of that page.
    assert len(replay.queries("organization/costs")) == 4
    pages = [q.get("page") is not None for q in replay.queries("organization/usage/completions")]
    assert pages == [False, True]  # 40 daily buckets, 31 per page
    [(uncached, derived)] = table_state(
        settings,
        f"""select sum(quantity) filter (where metric = 'input_uncached_tokens'),
                   sum(quantity) filter (where metric = 'input_tokens')
                   - sum(quantity) filter (where metric = 'input_cached_tokens')
            from {SLUG}_prod.openai_usage where endpoint = 'completions'""",
    )
    assert uncached == derived and uncached > 0


def test_openai_server_errors_exhaust_retries_and_load_nothing(settings: Settings) -> None:
    data = openai_data(_first_day(3), 3)
    replay = CostsReplay(buckets=data.costs, usage=data.usage, api_key=OPENAI_KEY, fail_first=[503] * 3)
    with serve_replay(replay) as url:
        run = settings.model_copy(update={"openai_base_url": url, "genai_http_max_attempts": 3, **FAST})
        with pytest.raises(IngestError, match=r"OpenAI API organization/costs: HTTP 503 .*retries exhausted"):
            run_ingest(settings, SLUG, "openai", openai_source_for(run, OPENAI_KEY, "org-1", _start(3)))
    assert len(replay.requests) == 3 and len(replay.calls) == 3  # no usage request after the failure
    assert table_state(settings, f"select count(*) from {SLUG}_prod.openai_usage") == []


def _anthropic_replay(days: int, **kwargs: Any) -> tuple[GenAIReplay, Any]:
    data = anthropic_data(_first_day(days), days)
    routes = {ANTHROPIC_COSTS: data.costs, ANTHROPIC_USAGE: data.usage["usage_report"]}
    return GenAIReplay(provider="anthropic", api_key=ANTHROPIC_KEY, routes=routes, **kwargs), data


def _anthropic_totals(settings: Settings) -> tuple[int, Decimal | None]:
    rows = table_state(
        settings,
        f"select count(*), sum(cast(amount_value as decimal(38, 12))) from {SLUG}_prod.anthropic_cost_report",
    )
    return rows[0] if rows else (0, None)  # type: ignore[return-value]


def test_anthropic_reports_page_retry_and_convert_cents_exactly(settings: Settings) -> None:
    replay, data = _anthropic_replay(40, fail_first=[429, 502])
    with serve_replay(replay) as url:
        run = settings.model_copy(update={"anthropic_base_url": url, **FAST})
        run_ingest(settings, SLUG, "anthropic", anthropic_source_for(run, ANTHROPIC_KEY, "org-a", _start(40)))
    costs, usage = replay.queries(ANTHROPIC_COSTS), replay.queries(ANTHROPIC_USAGE)
    assert costs[-1]["group_by[]"] == ["workspace_id", "description"]
    assert usage[0]["group_by[]"] == ["api_key_id", "workspace_id", "model", "service_tier", "context_window"]
    assert [q.get("page") is not None for q in usage] == [False, True]
    assert len(costs) == 2 + 2  # two retried errors, then two pages
    assert _anthropic_totals(settings) == (
        sum(len(b["results"]) for b in data.costs),
        sum(data.billed.values(), Decimal(0)),
    )
    cents = table_state(settings, f"select amount_cents, amount_value from {SLUG}_prod.anthropic_cost_report")
    assert all(Decimal(value) * 100 == Decimal(c) for c, value in cents)
    metrics = table_state(settings, f"select distinct metric from {SLUG}_prod.anthropic_usage_report order by 1")
    assert [m for (m,) in metrics] == [
        "cache_creation.ephemeral_1h_input_tokens", "cache_creation.ephemeral_5m_input_tokens",
        "cache_read_input_tokens", "output_tokens", "server_tool_use.web_search_requests", "uncached_input_tokens",
    ]  # fmt: skip


def test_anthropic_lag_rerun_replaces_open_days_without_duplicates(settings: Settings) -> None:
    replay, data = _anthropic_replay(10)
    with serve_replay(replay) as url:
        run = settings.model_copy(update={"anthropic_base_url": url})
        run_ingest(settings, SLUG, "anthropic", anthropic_source_for(run, ANTHROPIC_KEY, "org-a", _start(10)))
        count, _ = _anthropic_totals(settings)
        # The provider restates yesterday: one result doubles. The re-read replaces that day, adds nothing.
        yesterday = data.costs[-2]["results"][0]
        yesterday["amount"] = format(Decimal(yesterday["amount"]) * 2, "f")
        run_ingest(settings, SLUG, "anthropic", anthropic_source_for(run, ANTHROPIC_KEY, "org-a", _start(10)))
    starts = [q["starting_at"][0] for q in replay.queries(ANTHROPIC_COSTS)]
    assert starts[-1] == (datetime.now(UTC).date() - timedelta(days=3)).isoformat() + "T00:00:00Z"
    expected = sum((Decimal(r["amount"]) / 100 for b in data.costs for r in b["results"]), Decimal(0))
    assert _anthropic_totals(settings) == (count, expected)


def test_anthropic_invalid_key_fails_clearly_and_loads_nothing(settings: Settings) -> None:
    replay, _ = _anthropic_replay(3)
    wrong = "sk-ant-admin01-wrong-key-000000000"
    with serve_replay(replay) as url:
        run = settings.model_copy(update={"anthropic_base_url": url})
        with pytest.raises(IngestError, match="Anthropic API organizations/cost_report: HTTP 401") as error:
            run_ingest(settings, SLUG, "anthropic", anthropic_source_for(run, wrong, "org-a", _start(3)))
    assert wrong not in str(error.value) and "admin key was rejected" in str(error.value)
    assert len(replay.calls) == 1  # a 401 is not retried
    assert _anthropic_totals(settings) == (0, None)


def test_anthropic_amount_must_be_a_cents_string(settings: Settings) -> None:
    replay, data = _anthropic_replay(2)
    data.costs[0]["results"][1]["amount"] = "12,50"  # the documented type is a decimal string in cents
    with serve_replay(replay) as url:
        run = settings.model_copy(update={"anthropic_base_url": url})
        with pytest.raises(IngestError, match=r"cost_report page 1, bucket #1 \(.*\), result #2: field 'amount'"):
            run_ingest(settings, SLUG, "anthropic", anthropic_source_for(run, ANTHROPIC_KEY, "org-a", _start(2)))
    assert _anthropic_totals(settings) == (0, None)


class _AnalyticsStandIn:
    """A stand-in for a future endpoint implementation: same row contract, other origin."""

    def __init__(self, organization_id: str, *_: Any) -> None:
        self.organization_id = organization_id

    def cost_rows(self, start: int) -> Iterator[list[dict[str, Any]]]:
        yield [{"cost_result_id": "c1", "organization_id": self.organization_id, "bucket_start_time": start,
               "bucket_end_time": start + 86_400, "currency": "USD", "amount_cents": "250", "amount_value": "2.5",
               "model": "claude-haiku-4-5", "token_type": "output_tokens", "cost_type": "tokens"}]  # fmt: skip

    def usage_rows(self, start: int) -> Iterator[list[dict[str, Any]]]:
        yield [{"usage_id": "u1", "organization_id": self.organization_id, "bucket_start_time": start,
               "bucket_end_time": start + 86_400, "model": "claude-haiku-4-5", "metric": "output_tokens",
               "quantity": 500_000}]  # fmt: skip


def test_anthropic_endpoint_layer_is_swappable(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(anthropic_module.ENDPOINTS, "analytics", _AnalyticsStandIn)
    source = anthropic_module.anthropic_source(
        "org-a", ANTHROPIC_KEY, "http://unused", _start(1), endpoints="analytics"
    )
    run_ingest(settings, SLUG, "anthropic", source)
    assert _anthropic_totals(settings) == (1, Decimal("2.5"))
    with pytest.raises(ValueError, match="unknown Anthropic endpoints 'nope'"):
        anthropic_module.anthropic_source("org-a", ANTHROPIC_KEY, "http://unused", _start(1), endpoints="nope")


def test_saved_anthropic_pages_load_through_a_local_server(settings: Settings, tmp_path: Path) -> None:
    data = anthropic_data(_first_day(3), 3)
    saved = tmp_path / "anthropic.json"
    saved.write_text(json.dumps({"cost_report": [{"data": data.costs, "has_more": False, "next_page": None}],
                                 "usage_report": data.usage["usage_report"]}))  # fmt: skip
    result = ingest_anthropic_pages(settings, SLUG, saved, "org-a")
    assert result.table == "anthropic_cost_report" and result.rows_loaded == sum(len(b["results"]) for b in data.costs)
    with pytest.raises(IngestError, match="expected a JSON object with 'cost_report'"):
        ingest_anthropic_pages(settings, SLUG, tmp_path, "org-a")
