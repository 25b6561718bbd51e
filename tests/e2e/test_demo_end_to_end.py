"""The demo world end to end: two orgs ingest → transform → export, checked against the raw inputs."""

from __future__ import annotations

import csv
import gzip
import io
import json
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from rich.console import Console

from cloudact.demo import DEMO_DAYS, DEMO_ORGS, run_demo
from cloudact.demo_data import generate_openai_buckets, openai_totals
from cloudact.settings import Settings
from cloudact.warehouse import DuckDBWarehouse
from tests.conftest import AWS_SAMPLE, OPENAI_SAMPLE, SAMPLES, SHARED, table_state
from tests.support.focus_validator import assert_focus_valid


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Settings, list[str]]:
    data_dir = tmp_path_factory.mktemp("demo") / "data"
    settings = Settings(_env_file=None, data_dir=data_dir, samples_dir=SAMPLES)  # type: ignore[call-arg]
    slugs = run_demo(settings, Console(file=io.StringIO()))
    return settings, slugs


def _focus_by_period(settings: Settings, slug: str) -> dict[tuple[str, str], Decimal]:
    rows = table_state(
        settings,
        f"""select x_Provider, strftime(BillingPeriodStart at time zone 'UTC', '%Y-%m'), sum(BilledCost)
            from {slug}_prod.cost_data_standard_1_3 group by all""",
    )
    return {(str(provider), str(period)): total for provider, period, total in rows}  # type: ignore[misc]


def _raw_cur_totals(files: list[Path]) -> dict[str, Decimal]:
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for path in files:
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rt", newline="") as handle:  # type: ignore[operator]
            for row in csv.DictReader(handle):
                totals[row["bill/BillingPeriodStartDate"][:7]] += Decimal(row["lineItem/UnblendedCost"])
    return totals


def test_each_org_table_holds_only_its_own_rows(demo: tuple[Settings, list[str]]) -> None:
    settings, slugs = demo
    assert len(slugs) == 2
    accounts = {}
    for slug in slugs:
        rows = table_state(
            settings, f"select distinct x_OrgSlug, BillingAccountId from {slug}_prod.cost_data_standard_1_3"
        )
        assert {row[0] for row in rows} == {slug}
        accounts[slug] = {row[1] for row in rows}
    assert accounts[slugs[0]].isdisjoint(accounts[slugs[1]])
    assert "123412340534" in accounts[slugs[0]]  # the public CUR sample went to the first org only


def test_billed_cost_reconciles_to_raw_invoice_cost_per_billing_period(demo: tuple[Settings, list[str]]) -> None:
    settings, slugs = demo
    first_day = datetime.now(UTC).date() - timedelta(days=DEMO_DAYS)
    for slug, (_, seed, _, _, projects, with_samples) in zip(slugs, DEMO_ORGS, strict=True):
        cur_files = sorted((settings.resolved_data_dir / "demo" / slug / "aws_cur").rglob("*.csv.gz"))
        buckets = generate_openai_buckets(first_day, DEMO_DAYS, projects, seed)
        if with_samples:
            cur_files.append(AWS_SAMPLE)
            buckets = json.loads(OPENAI_SAMPLE.read_text())["data"] + buckets
        expected = {("aws", period): total for period, total in _raw_cur_totals(cur_files).items()}
        expected |= {("openai", period): total for period, total in openai_totals(buckets).items()}
        assert _focus_by_period(settings, slug) == expected


def test_focus_table_has_the_65_columns_then_x_columns(demo: tuple[Settings, list[str]]) -> None:
    settings, slugs = demo
    spec = [row["column"] for row in csv.DictReader((SHARED / "focus" / "focus_1_3_columns.csv").open())]
    rows = table_state(
        settings,
        f"""select column_name, data_type from information_schema.columns
            where table_schema = '{slugs[0]}_prod' and table_name = 'cost_data_standard_1_3'
            order by ordinal_position""",
    )
    names = [str(row[0]) for row in rows]
    types = {str(name): str(data_type) for name, data_type in rows}
    assert names[:65] == spec
    assert names[65:] and all(name.startswith("x_") for name in names[65:])
    for money in ("BilledCost", "EffectiveCost", "ListCost", "ContractedCost"):
        assert types[money].startswith("DECIMAL")
    assert types["ChargePeriodStart"] == "TIMESTAMP WITH TIME ZONE"


def test_exported_files_pass_the_focus_validator(demo: tuple[Settings, list[str]], tmp_path: Path) -> None:
    settings, slugs = demo
    warehouse = DuckDBWarehouse(settings.resolved_duckdb_path)
    runs = [(slug, criteria) for slug in slugs for criteria in ([], ["ALL"])]
    for slug, criteria in runs:
        out = tmp_path / f"{slug}.parquet"
        if not out.exists():
            assert warehouse.export_focus(slug, out) > 0
        assert_focus_valid(out, tmp_path / slug, ",".join(criteria))


def test_rerunning_the_whole_demo_changes_nothing(demo: tuple[Settings, list[str]]) -> None:
    settings, slugs = demo
    before = {slug: _focus_by_period(settings, slug) for slug in slugs}
    counts = {
        slug: table_state(settings, f"select count(*) from {slug}_prod.cost_data_standard_1_3")[0][0] for slug in slugs
    }
    assert run_demo(settings, Console(file=io.StringIO())) == slugs
    assert {slug: _focus_by_period(settings, slug) for slug in slugs} == before
    assert {
        slug: table_state(settings, f"select count(*) from {slug}_prod.cost_data_standard_1_3")[0][0] for slug in slugs
    } == counts
