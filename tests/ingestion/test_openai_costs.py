"""OpenAI Costs API through dlt against a real HTTP server on 127.0.0.1 serving the documented shape."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from cloudact.demo_data import generate_openai_buckets, openai_totals
from cloudact.openai_replay import CostsReplay, serve_costs
from cloudact.settings import Settings
from ingestion.pipelines import IngestError, build_pipeline, openai_source_for, run_ingest
from tests.conftest import OPENAI_SAMPLE, table_state

SLUG = "acme_t1"
KEY = "sk-admin-test"


def _buckets(days: int = 200) -> list[dict]:
    first = datetime.now(UTC).date() - timedelta(days=days - 1)
    return generate_openai_buckets(first, days, ["proj_a", "proj_b"], seed=7)


def _totals(settings: Settings) -> tuple[int, Decimal]:
    rows = table_state(
        settings, f"select count(*), sum(cast(amount_value as decimal(38, 12))) from {SLUG}_prod.openai_costs"
    )
    return rows[0] if rows else (0, None)  # type: ignore[return-value]


def test_sample_page_loads_with_documented_types(settings: Settings) -> None:
    replay = CostsReplay(buckets=json.loads(OPENAI_SAMPLE.read_text())["data"], api_key=KEY)
    with serve_costs(replay) as url:
        run = settings.model_copy(update={"openai_base_url": url})
        result = run_ingest(settings, SLUG, "openai", openai_source_for(run, KEY, "org-1", 1730419200))
    assert result.rows_loaded == 1
    assert _totals(settings) == (1, Decimal("0.06"))
    schema = build_pipeline(settings, SLUG, "openai").default_schema.get_table_columns("openai_costs")
    assert schema["amount_value"]["data_type"] == "text"  # money never passes through a float
    assert schema["bucket_start_time"]["data_type"] == "bigint"
    assert replay.requests[0]["group_by"] == ["project_id", "line_item", "api_key_id"]
    assert replay.requests[0]["bucket_width"] == ["1d"]


def test_cursor_pagination_reads_every_page_and_reruns_are_idempotent(settings: Settings) -> None:
    buckets = _buckets(200)  # > 180 buckets per page: two pages
    expected = sum(openai_totals(buckets).values(), Decimal(0))
    replay = CostsReplay(buckets=buckets, api_key=KEY)
    with serve_costs(replay) as url:
        run = settings.model_copy(update={"openai_base_url": url, "openai_initial_days": 400})
        first = run_ingest(settings, SLUG, "openai", openai_source_for(run, KEY, "org-1"))
        assert [r.get("page") is None for r in replay.requests] == [True, False]
        assert first.rows_loaded == 200 * 2 * 4
        count, total = _totals(settings)
        assert count == 1600 and total == expected

        second = run_ingest(settings, SLUG, "openai", openai_source_for(run, KEY, "org-1"))
    # The incremental cursor re-reads only the lag window (2 open days + today), and replaces those days.
    last_start = max(b["start_time"] for b in buckets)
    assert int(replay.requests[-1]["start_time"][0]) == last_start - 2 * 86_400
    assert second.rows_loaded == 3 * 2 * 4
    assert _totals(settings) == (count, total)


def test_api_rows_load_from_parquet_files_and_no_data_file_is_kept(settings: Settings) -> None:
    """DuckDB loads API rows from dlt's parquet files (not SQL INSERTs); a loaded package keeps no copy of the data."""
    buckets = _buckets(20)
    with serve_costs(CostsReplay(buckets=buckets, api_key=KEY)) as url:
        run = settings.model_copy(update={"openai_base_url": url, "openai_initial_days": 30})
        result = run_ingest(settings, SLUG, "openai", openai_source_for(run, KEY, "org-1"))
    assert result.rows_loaded == 20 * 2 * 4 and _totals(settings)[0] == 160
    trace = build_pipeline(settings, SLUG, "openai").last_trace
    assert trace is not None and trace.last_load_info is not None
    jobs = trace.last_load_info.load_packages[0].jobs["completed_jobs"]
    formats: dict[str, set[str]] = {}
    for job in jobs:  # each table's data file, and the merge's SQL job
        formats.setdefault(job.job_file_info.table_name, set()).add(job.job_file_info.file_format)
    assert formats["openai_costs"] == {"parquet", "sql"}
    kept = [path for path in settings.dlt_pipelines_dir.rglob("*") if path.suffix in (".parquet", ".jsonl", ".gz")]
    assert kept == []


def test_reread_day_with_changed_costs_replaces_that_day(settings: Settings) -> None:
    buckets = _buckets(10)
    replay = CostsReplay(buckets=buckets, api_key=KEY)
    with serve_costs(replay) as url:
        run = settings.model_copy(update={"openai_base_url": url})
        run_ingest(settings, SLUG, "openai", openai_source_for(run, KEY, "org-1"))
        # The provider restates the last day: one result grows, one disappears.
        last = buckets[-1]
        last["results"] = last["results"][:-1]
        last["results"][0]["amount"]["value"] = 999.5
        run_ingest(settings, SLUG, "openai", openai_source_for(run, KEY, "org-1"))
    count, total = _totals(settings)
    assert count == 10 * 8 - 1
    assert total == sum(openai_totals(buckets).values(), Decimal(0))


def test_malformed_record_names_the_field_and_keeps_loaded_data(settings: Settings) -> None:
    buckets = _buckets(5)
    replay = CostsReplay(buckets=buckets, api_key=KEY)
    with serve_costs(replay) as url:
        run = settings.model_copy(update={"openai_base_url": url})
        run_ingest(settings, SLUG, "openai", openai_source_for(run, KEY, "org-1"))
        before = _totals(settings)
        bad = json.loads(json.dumps(buckets))
        bad[-1]["results"][2]["amount"]["value"] = "12,50"
        replay.buckets = bad
        expected = r"page 1, bucket #\d+ \(\d{4}-\d\d-\d\d\), result #3: field 'amount.value'"
        with pytest.raises(IngestError, match=expected):
            run_ingest(settings, SLUG, "openai", openai_source_for(run, KEY, "org-1"))
        assert _totals(settings) == before
        # After the provider fixes the page, the next run loads normally: nothing half-done was left behind.
        replay.buckets = buckets
        run_ingest(settings, SLUG, "openai", openai_source_for(run, KEY, "org-1"))
    assert _totals(settings) == before


@pytest.mark.parametrize(
    ("page", "message"),
    [
        ('{"object": "page", "data": [{"start_time": 1, "end_time": 2}]}', "field 'results' expected a list"),
        ('{"data": [{"start_time": "x", "end_time": 2, "results": []}]}', "field 'start_time' expected Unix seconds"),
        ('{"data": [{"start_time": 1, "end_time": 2, "results": [{"amount": {"value": 1}}]}]}', "amount.currency"),
    ],
)
def test_malformed_pages_are_rejected(settings: Settings, page: str, message: str) -> None:
    replay = CostsReplay(buckets=[], api_key=KEY, raw_pages={("organization/costs", 1): page})
    with serve_costs(replay) as url:
        run = settings.model_copy(update={"openai_base_url": url})
        with pytest.raises(IngestError, match=message):
            run_ingest(settings, SLUG, "openai", openai_source_for(run, KEY, "org-1", 0))
    assert _totals(settings) == (0, None)


def test_wrong_admin_key_is_a_clear_http_error(settings: Settings) -> None:
    with serve_costs(CostsReplay(buckets=_buckets(2), api_key=KEY)) as url:
        run = settings.model_copy(update={"openai_base_url": url})
        with pytest.raises(IngestError, match="OpenAI API organization/costs: HTTP 401") as error:
            run_ingest(settings, SLUG, "openai", openai_source_for(run, "sk-wrong-key-0123456789", "org-1"))
    assert "sk-wrong-key-0123456789" not in str(error.value)
    assert _totals(settings) == (0, None)
