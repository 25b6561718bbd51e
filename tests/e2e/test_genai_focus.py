"""OpenAI and Anthropic end to end: local API servers → dlt (retries, lag re-reads) → dbt build → FOCUS, validated.

The row model under test: FOCUS rows come from the billed cost endpoints (BilledCost = the provider's cost), carry
the usage quantities and x_CalculatedCost (= quantity × seed price); days with usage but no billed cost become rows
priced from the seed. So BilledCost per day equals the provider's cost per day, nothing is counted twice, and the
variance (injected discounts) is visible in x_CostVariance.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from cloudact.control_plane import get_control_plane
from cloudact.keyring import get_keyring
from cloudact.onboarding import onboard_org
from cloudact.openai_replay import ANTHROPIC_COSTS, ANTHROPIC_USAGE, CostsReplay, GenAIReplay, serve_replay
from cloudact.settings import Settings
from cloudact.transform import transform_org
from cloudact.warehouse import get_warehouse
from ingestion.pipelines import anthropic_source_for, openai_source_for, run_ingest
from tests.conftest import SAMPLES, table_state
from tests.support.focus_validator import assert_focus_valid
from tests.support.genai_data import GenAIData, anthropic_data, openai_data

pytestmark = pytest.mark.slow

DAYS = 40  # > 31 buckets: the usage and cost report endpoints page
OPENAI_KEY = "sk-admin-e2e-test-key-0001"
ANTHROPIC_KEY = "sk-ant-admin01-e2e-test-key-0001"
TABLE = "cost_data_standard_1_3"


def _partial_first_day() -> int:
    """A first-load start inside a day (10:31 UTC): the source must read that whole day, not a partial bucket."""
    first = datetime.now(UTC).replace(hour=10, minute=31, second=0, microsecond=0) - timedelta(days=DAYS - 1)
    return int(first.timestamp())


@pytest.fixture(scope="module")
def genai_org(tmp_path_factory: pytest.TempPathFactory) -> tuple[Settings, str, GenAIData, GenAIData, list[str]]:
    tmp = tmp_path_factory.mktemp("genai")
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, data_dir=tmp / "data", samples_dir=SAMPLES, genai_http_backoff_seconds=0.01,
        genai_http_max_delay_seconds=0.05,
    )  # fmt: skip
    slug = onboard_org(
        get_control_plane(settings), get_warehouse(settings), get_keyring(settings), "Token Burners"
    ).org_slug
    first_day = datetime.now(UTC).date() - timedelta(days=DAYS - 1)
    openai, anthropic = openai_data(first_day, DAYS), anthropic_data(first_day, DAYS)
    openai_replay = CostsReplay(buckets=openai.costs, usage=openai.usage, api_key=OPENAI_KEY, fail_first=[429, 503])
    anthropic_replay = GenAIReplay(
        provider="anthropic", api_key=ANTHROPIC_KEY, fail_first=[429, 502],
        routes={ANTHROPIC_COSTS: anthropic.costs, ANTHROPIC_USAGE: anthropic.usage["usage_report"]},
    )  # fmt: skip
    starts: list[str] = []
    with serve_replay(openai_replay) as openai_url, serve_replay(anthropic_replay) as anthropic_url:
        run = settings.model_copy(update={"openai_base_url": openai_url, "anthropic_base_url": anthropic_url})
        for _ in range(2):  # the second load re-reads the lag window: replaced, never duplicated
            run_ingest(
                settings, slug, "openai", openai_source_for(run, OPENAI_KEY, "org-e2e0001", _partial_first_day())
            )
            run_ingest(settings, slug, "anthropic", anthropic_source_for(run, ANTHROPIC_KEY, "anthropic-org-1",
                                                                           _partial_first_day()))  # fmt: skip
    starts = [q["start_time"][0] for q in openai_replay.requests]
    starts += [q["starting_at"][0] for q in anthropic_replay.queries(ANTHROPIC_COSTS)]
    assert openai_replay.fail_first == [] and anthropic_replay.fail_first == []  # both errors were served, and retried
    transform_org(settings, slug)  # dbt build: every FOCUS data test must pass
    return settings, slug, openai, anthropic, starts


def _per_day(settings: Settings, slug: str, provider: str, column: str) -> dict[str, Decimal]:
    rows = table_state(
        settings,
        f"""select strftime(ChargePeriodStart at time zone 'UTC', '%Y-%m-%d'), sum({column})
            from {slug}_prod.{TABLE} where x_Provider = '{provider}' group by 1""",
    )
    return {str(day): Decimal(str(total)) for day, total in rows}


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
def test_billed_cost_per_day_equals_the_provider_reported_cost(
    genai_org: tuple[Settings, str, GenAIData, GenAIData, list[str]], provider: str
) -> None:
    settings, slug, openai, anthropic, _ = genai_org
    data = openai if provider == "openai" else anthropic
    billed = _per_day(settings, slug, provider, "BilledCost")
    assert len(data.billed) == DAYS - 1
    assert {day: billed[day] for day in data.billed} == data.billed
    # The open last day has usage only: it is priced from the seed, exactly list price × tokens.
    assert {day: billed[day] for day in data.unbilled_days} == {day: data.calculated[day] for day in data.unbilled_days}
    assert set(billed) == set(data.calculated)


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
def test_calculated_cost_and_variance_reconcile_with_the_price_table(
    genai_org: tuple[Settings, str, GenAIData, GenAIData, list[str]], provider: str
) -> None:
    settings, slug, openai, anthropic, _ = genai_org
    data = openai if provider == "openai" else anthropic
    assert _per_day(settings, slug, provider, "x_CalculatedCost") == data.calculated
    [(variance, unpriced)] = table_state(
        settings,
        f"""select sum(x_CostVariance), count(*) filter (where x_CalculatedCost is null)
            from {slug}_prod.{TABLE} where x_Provider = '{provider}'""",
    )
    assert unpriced == 0
    assert Decimal(str(variance)) == -data.discount  # billed below list price by exactly the injected discount


def test_rows_carry_model_token_type_project_and_usage_quantities(
    genai_org: tuple[Settings, str, GenAIData, GenAIData, list[str]],
) -> None:
    settings, slug, openai, anthropic, _ = genai_org
    rows = table_state(
        settings,
        f"""select x_Provider, x_AiModel, x_AiTokenType, ServiceCategory, ServiceSubcategory, ConsumedUnit,
                   sum(ConsumedQuantity), count(distinct x_AiProjectId), count(distinct x_AiApiKeyId)
            from {slug}_prod.{TABLE} group by all order by all""",
    )
    by_key = {(r[0], r[1], r[2]): r[3:] for r in rows}
    assert {r[3:5] for r in rows} == {("AI and Machine Learning", "Generative AI")}
    assert set(by_key) == {
        ("openai", "gpt-4o-2024-08-06", "input"), ("openai", "gpt-4o-2024-08-06", "cached_input"),
        ("openai", "gpt-4o-2024-08-06", "output"), ("openai", "text-embedding-3-small", "input"),
        *(("anthropic", "claude-sonnet-4-20250514", t)
          for t in ("input", "output", "cached_input", "cache_write_5m", "cache_write_1h", "web_search")),
        ("anthropic", None, "web_search"),
    }  # fmt: skip
    tokens = defaultdict(int)
    for bucket in anthropic.usage["usage_report"]:
        for result in bucket["results"]:
            tokens["cache_write_5m"] += result["cache_creation"]["ephemeral_5m_input_tokens"]
            tokens["web_search"] += result["server_tool_use"]["web_search_requests"]
    five_minutes = by_key[("anthropic", "claude-sonnet-4-20250514", "cache_write_5m")]
    assert (five_minutes[2], five_minutes[3]) == ("Tokens", tokens["cache_write_5m"])
    searches = by_key[("anthropic", None, "web_search")][3] + by_key[("anthropic", "claude-sonnet-4-20250514",
                                                                      "web_search")][3]  # fmt: skip
    assert searches == tokens["web_search"]
    # OpenAI rows carry project and API key; Anthropic billed rows carry the workspace (its cost report has no key).
    assert by_key[("openai", "gpt-4o-2024-08-06", "output")][4:] == (2, 2)
    assert by_key[("anthropic", "claude-sonnet-4-20250514", "output")][4] == 1
    completions = sum(r["output_tokens"] for b in openai.usage["completions"] for r in b["results"])
    assert by_key[("openai", "gpt-4o-2024-08-06", "output")][3] == completions


def test_loads_start_on_whole_days_and_reruns_duplicate_nothing(
    genai_org: tuple[Settings, str, GenAIData, GenAIData, list[str]],
) -> None:
    settings, slug, openai, anthropic, starts = genai_org
    # A first-load start at 10:31 is read from midnight, so the first day is whole, not the API's partial bucket.
    assert all(int(s) % 86_400 == 0 for s in starts if s.isdigit())
    assert all(s.endswith("T00:00:00Z") for s in starts if not s.isdigit())
    raw = table_state(settings, f"select count(*), count(distinct cost_result_id) from {slug}_prod.openai_costs")
    assert raw == [(sum(len(b["results"]) for b in openai.costs),) * 2]
    raw = table_state(settings, f"select count(*), count(distinct usage_id) from {slug}_prod.anthropic_usage_report")
    assert raw == [(sum(len(b["results"]) for b in anthropic.usage["usage_report"]) * 6,) * 2]
    dupes = table_state(settings, f"select x_ChargeId from {slug}_prod.{TABLE} group by 1 having count(*) > 1")
    assert dupes == []


def test_exported_focus_file_passes_the_focus_validator(
    genai_org: tuple[Settings, str, GenAIData, GenAIData, list[str]], tmp_path: Path
) -> None:
    settings, slug, *_ = genai_org
    out = tmp_path / f"{slug}.parquet"
    assert get_warehouse(settings).export_focus(slug, out) > 0
    for criteria in ([], ["ALL"]):
        assert_focus_valid(out, tmp_path / "validation", ",".join(criteria))
