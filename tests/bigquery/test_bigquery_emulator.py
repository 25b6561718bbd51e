"""CloudAct on BigQuery, run for real against the crucible emulator (127.0.0.1, own venv, pinned version).

One module-scoped world: bootstrap → onboarding of two orgs → AWS legacy CUR (org A) and OpenAI costs (org B) through
dlt's BigQuery destination (extract + normalize) → ``dbt build --target emulator`` per org → read snapshot from
BigQuery as Arrow → the API's Polars reads. Then AWS restates the period and org A is rebuilt incrementally.

What the emulator refuses, each named where a test meets it (production BigQuery does all of these; the offline
strict compile check in tests/dbt covers every model for the `bigquery` target):
- dlt's load step (JSONL/Parquet load jobs, its staging SQL): dlt's normalized files go in as CSV load jobs;
- DELETE/UPDATE: the raw merge of a restated period is replayed as a CTAS; ``invalidate``'s UPDATE is refused;
- query parameters: the warehouse runs with ``inline_params``;
- BIGNUMERIC: the `emulator` target types money as NUMERIC (9 fractional digits), production as BIGNUMERIC.
"""

from __future__ import annotations

import csv
import gzip
import json
import secrets
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from google.api_core.exceptions import BadRequest

from api.services.costs import CostFilter, CostReader
from api.services.read_cache import FrameCache
from cloudact.control_plane import get_control_plane
from cloudact.keyring import get_keyring
from cloudact.onboarding import onboard_org
from cloudact.read_cache import invalidate
from cloudact.settings import Settings
from cloudact.snapshots import current_snapshot, publish_snapshot
from cloudact.transform import transform_org
from cloudact.warehouse import get_warehouse
from cloudact.warehouse_bigquery import BigQueryWarehouse, literal
from cloudact.warehouse_schema import SHARED_TABLES
from ingestion.pipelines import aws_source_for, build_pipeline, load_buckets, openai_source_for, run_ingest
from tests.conftest import AWS_SAMPLE, OPENAI_SAMPLE, SAMPLES
from tests.support.bq_emulator import load_normalized

pytestmark = pytest.mark.slow

PROJECT = "cloudact-test"
AWS_MERGE_KEY = ("bill_payer_account_id", "billing_period")
# crucible has no BIGNUMERIC: the emulator target's NUMERIC keeps 9 fractional digits (production: BIGNUMERIC).
EMULATOR_SCALE = Decimal("1e-9")


def _bq_settings(data_dir: Path, endpoint: str) -> Settings:
    return Settings(  # type: ignore[call-arg]
        _env_file=None,
        data_dir=data_dir,
        samples_dir=SAMPLES,
        warehouse="bigquery",
        bq_project=PROJECT,
        bq_location="US",
        bq_api_endpoint=endpoint,
        bq_inline_params=True,  # crucible refuses query parameters (@name)
    )


def _dlt_to_emulator(settings: Settings, slug: str, provider: Any, source: Any, merge_key: Any) -> dict[str, int]:
    """dlt's own extract + normalize for the BigQuery destination, then its files as CSV load jobs (see module doc)."""
    pipeline = build_pipeline(settings, slug, provider)
    assert pipeline.destination.destination_type.endswith("bigquery")
    pipeline.extract(source)
    pipeline.normalize()
    warehouse = get_warehouse(settings)
    assert isinstance(warehouse, BigQueryWarehouse)
    return load_normalized(pipeline, warehouse.client, f"{slug}_prod", merge_key)


def _openai_source(settings: Settings, buckets: list[dict[str, Any]]) -> Iterator[Any]:
    from cloudact.openai_replay import CostsReplay, serve_costs

    token = secrets.token_urlsafe(16)
    first = min(int(b["start_time"]) for b in buckets)
    with serve_costs(CostsReplay(buckets=buckets, api_key=token)) as url:
        yield openai_source_for(settings.model_copy(update={"openai_base_url": url}), token, "org-sample", first)


def _cur_rows(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", newline="") as handle:  # type: ignore[operator]
        reader = csv.DictReader(handle)
        return list(reader.fieldnames or []), list(reader)


def _cur_total(path: Path) -> tuple[int, Decimal]:
    _, rows = _cur_rows(path)
    return len(rows), sum((Decimal(r["lineItem/UnblendedCost"]) for r in rows), Decimal(0))


def _restated_cur(folder: Path) -> Path:
    """AWS re-delivers the sample's period: every other line, each 1.25 dearer."""
    header, rows = _cur_rows(AWS_SAMPLE)
    kept = rows[::2]
    for row in kept:
        row["lineItem/UnblendedCost"] = str(Decimal(row["lineItem/UnblendedCost"]) + Decimal("1.25"))
    path = folder / "restated" / "cur-00001.csv"
    path.parent.mkdir(parents=True)
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=header)
        writer.writeheader()
        writer.writerows(kept)
    return path


def _openai_total() -> Decimal:
    return sum(
        (Decimal(str(r["amount"]["value"])) for b in load_buckets(OPENAI_SAMPLE) for r in b.get("results", [])),
        Decimal(0),
    )


@dataclass
class World:
    settings: Settings
    warehouse: BigQueryWarehouse
    aws_org: str
    openai_org: str
    first_bootstrap: Any
    loaded: dict[str, dict[str, int]]
    first_focus: pl.DataFrame
    restated: Path


def _canonical(frame: pl.DataFrame) -> pl.DataFrame:
    """Column names in FOCUS case. crucible lowercases the column names of the FOCUS table once dbt's incremental
    MERGE has run (BigQuery keeps them as created; its column names are case-insensitive in SQL either way)."""
    from cloudact.warehouse_bigquery import READ_COLUMNS

    names = [*READ_COLUMNS, "x_ChargeId", "x_LoadId", "ChargePeriodEnd", "BillingPeriodEnd"]
    by_lower = {name.lower(): name for name in names}
    return frame.rename({c: by_lower.get(c.lower(), c) for c in frame.columns})


def _focus(warehouse: BigQueryWarehouse, slug: str) -> pl.DataFrame:
    return _canonical(pl.from_arrow(warehouse.arrow(f"select * from {warehouse.focus_table(slug)}")))  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def world(bq_endpoint: str, tmp_path_factory: pytest.TempPathFactory) -> World:
    root = tmp_path_factory.mktemp("bq")
    settings = _bq_settings(root / "data", bq_endpoint)
    warehouse = get_warehouse(settings)
    assert isinstance(warehouse, BigQueryWarehouse)
    report = warehouse.bootstrap()
    control, keyring = get_control_plane(settings), get_keyring(settings)
    aws_org = onboard_org(control, warehouse, keyring, "Acme on BigQuery").org_slug
    openai_org = onboard_org(control, warehouse, keyring, "Globex on BigQuery").org_slug

    loaded = {aws_org: _dlt_to_emulator(settings, aws_org, "aws", aws_source_for(AWS_SAMPLE), AWS_MERGE_KEY)}
    source = _openai_source(settings, load_buckets(OPENAI_SAMPLE))
    loaded[openai_org] = _dlt_to_emulator(settings, openai_org, "openai", next(source), None)
    source.close()

    for slug in (aws_org, openai_org):
        transform_org(settings, slug)
        invalidate(warehouse, slug, settings)  # first version: an INSERT (the emulator takes it)
    first_focus = _focus(warehouse, aws_org)

    restated = _restated_cur(root)
    _dlt_to_emulator(settings, aws_org, "aws", aws_source_for(restated.parent), AWS_MERGE_KEY)
    transform_org(settings, aws_org)  # incremental: only the restated period is replaced
    return World(settings, warehouse, aws_org, openai_org, report, loaded, first_focus, restated)


def test_bootstrap_creates_the_shared_tables_once(world: World) -> None:
    assert sorted(world.first_bootstrap.created_tables) == sorted(SHARED_TABLES)
    again = world.warehouse.bootstrap()
    assert not again.changed and not again.type_mismatches
    table = world.warehouse.client.get_table(f"{PROJECT}.organizations.org_budgets")
    types = {f.name: f.field_type for f in table.schema}
    assert types["amount"] == "NUMERIC" and types["created_at"] == "TIMESTAMP" and types["org_slug"] == "STRING"
    assert table.clustering_fields == ["org_slug"]


def test_onboarding_creates_labelled_tenant_datasets(world: World) -> None:
    client = world.warehouse.client
    for slug in (world.aws_org, world.openai_org):
        dataset = client.get_dataset(f"{PROJECT}.{slug}_prod")
        assert dataset.location == "US" and dataset.labels["org_slug"] == slug.lower()
        staging = client.get_dataset(f"{PROJECT}.{slug}_prod_staging")
        assert staging.default_table_expiration_ms == 24 * 3600 * 1000
        keys = world.warehouse.query(
            f"select count(*) as n from {world.warehouse.shared_table('org_api_keys')} where org_slug = @org_slug",
            {"org_slug": slug},
        )
        assert keys[0]["n"] == 1


def test_hostile_strings_round_trip_as_literals(world: World) -> None:
    hostile = ["x'y", "a\\b", "'; drop table organizations.org_budgets; --", "\\'", 'q"r', "l1\nl2\t\x01", "@org_slug",
               "`tick`", "漢字🙂", "' or '1'='1"]  # fmt: skip
    for value in hostile:
        assert world.warehouse.query("select @v as v", {"v": value}) == [{"v": value}]
    assert world.warehouse.query("select @d as d", {"d": Decimal("-12.345678901")})[0]["d"] == Decimal("-12.345678901")
    assert literal(None) == "NULL" and literal(True) == "TRUE"


def test_raw_tables_hold_the_samples(world: World) -> None:
    count, total = _cur_total(AWS_SAMPLE)
    assert world.loaded[world.aws_org]["aws_cur_line_items"] == count
    assert world.loaded[world.openai_org]["openai_costs"] > 0


def test_focus_totals_reconcile_with_the_raw_samples(world: World) -> None:
    """First build: AWS total equals the CUR's UnblendedCost sum (NUMERIC, 9 digits) and OpenAI the sample's sum."""
    aws = world.first_focus
    _, total = _cur_total(AWS_SAMPLE)
    assert aws["x_Provider"].unique().to_list() == ["aws"]
    assert abs(Decimal(str(aws["BilledCost"].sum())) - total) <= EMULATOR_SCALE * aws.height
    openai = _focus(world.warehouse, world.openai_org)
    assert openai["x_Provider"].unique().to_list() == ["openai"]
    assert abs(Decimal(str(openai["BilledCost"].sum())) - _openai_total()) <= EMULATOR_SCALE * openai.height


def test_restated_period_replaces_its_rows_without_duplicates(world: World) -> None:
    focus = _focus(world.warehouse, world.aws_org)
    count, total = _cur_total(world.restated)
    assert focus.height == count < world.first_focus.height
    assert focus["x_ChargeId"].n_unique() == focus.height
    assert abs(Decimal(str(focus["BilledCost"].sum())) - total) <= EMULATOR_SCALE * count
    assert focus["x_LoadId"].n_unique() == 1 and focus["x_LoadId"][0] not in world.first_focus["x_LoadId"].to_list()
    # Every day of the period changed (every other line gone, the rest dearer), and the CUR's lines carry fingerprints:
    # the period was replaced day by day, through the MERGE's day condition.
    units = world.warehouse.query(f"select charge_date from `{PROJECT}.{world.aws_org}_prod.int_focus_changed_units`")
    days = {row["lineItem/UsageStartDate"][:10] for row in _cur_rows(AWS_SAMPLE)[1]}
    assert sorted(unit["charge_date"] for unit in units) == sorted(days)


def test_focus_table_is_partitioned_by_day_and_clustered(world: World) -> None:
    table = world.warehouse.client.get_table(f"{PROJECT}.{world.aws_org}_prod.cost_data_standard_1_3")
    assert table.time_partitioning is not None and table.time_partitioning.field.lower() == "chargeperiodstart"
    assert table.time_partitioning.type_ == "DAY"
    assert [name.lower() for name in table.clustering_fields] == ["serviceprovidername", "subaccountid", "servicename"]
    types = {f.name.lower(): f.field_type for f in table.schema}
    assert types["billedcost"] == "NUMERIC"  # BIGNUMERIC in production: crucible refuses BIGNUMERIC
    assert types["chargeperiodstart"] == "TIMESTAMP" and types["tags"] == "STRING"


def test_api_reads_through_polars_from_the_bigquery_snapshot(world: World) -> None:
    """The restated data, published as a read snapshot from BigQuery (Arrow → Parquet), read by the API's reader."""
    settings, warehouse = world.settings, world.warehouse
    # invalidate() bumps the version with an UPDATE: crucible refuses UPDATE (production BigQuery runs it).
    with pytest.raises(BadRequest, match="(?i)update"):
        invalidate(warehouse, world.aws_org, settings)
    publish_snapshot(settings, warehouse, world.aws_org, 2)
    cache = FrameCache(max_bytes=64 * 2**20, ttl_seconds=60)
    totals: dict[str, Decimal] = {}
    for slug in (world.aws_org, world.openai_org):
        version, path = current_snapshot(settings, slug) or (0, Path())
        assert version == (2 if slug == world.aws_org else 1)
        assert "LineItemDescription" not in pl.read_parquet_schema(path)  # only the API's columns
        rows = CostReader(settings, warehouse, cache, slug).summary(CostFilter()).rows
        assert [row["BillingCurrency"] for row in rows] == ["USD"]
        totals[slug] = Decimal(rows[0]["BilledCost"])
    _, aws_total = _cur_total(world.restated)
    assert abs(totals[world.aws_org] - aws_total) <= Decimal("1e-6")
    assert abs(totals[world.openai_org] - _openai_total()) <= Decimal("1e-6")
    by_provider = CostReader(settings, warehouse, cache, world.openai_org).breakdown(CostFilter(), "provider", None, 10)
    assert [row["value"] for row in by_provider.rows] == ["openai"]  # tenant isolation: no AWS row in org B


def test_focus_frame_prunes_by_date_and_selects_columns(world: World) -> None:
    full = world.warehouse.focus_frame(world.aws_org, ("ChargePeriodStart", "BilledCost"))
    assert full.columns == ["ChargePeriodStart", "BilledCost"]
    day = full["ChargePeriodStart"].min().date()  # type: ignore[union-attr]
    one_day = world.warehouse.focus_frame(world.aws_org, ("ChargePeriodStart", "BilledCost"), start=day, end=day)
    assert 0 < one_day.height < full.height
    assert one_day["ChargePeriodStart"].dt.date().unique().to_list() == [day]


def test_export_matches_the_duckdb_path_for_the_same_input(world: World, tmp_path: Path) -> None:
    """Same input (the sample, then the restatement) through DuckDB: the same rows and values as on BigQuery.

    Money: the emulator's NUMERIC keeps 9 fractional digits (production BigQuery: BIGNUMERIC, as exact as DuckDB's
    DECIMAL(38, 12)), so DuckDB's money is compared rounded half away from zero to 9 digits (NUMERIC's rounding).
    """
    duck = Settings(_env_file=None, data_dir=tmp_path / "duck", samples_dir=SAMPLES)  # type: ignore[call-arg]
    duck_wh = get_warehouse(duck)
    slug = onboard_org(get_control_plane(duck), duck_wh, get_keyring(duck), "Acme on DuckDB").org_slug
    run_ingest(duck, slug, "aws", aws_source_for(AWS_SAMPLE))
    transform_org(duck, slug)
    run_ingest(duck, slug, "aws", aws_source_for(world.restated.parent))
    transform_org(duck, slug)
    duck_wh.export_focus(slug, tmp_path / "duck.parquet")
    world.warehouse.export_focus(world.aws_org, tmp_path / "bq.parquet")
    left, right = pl.read_parquet(tmp_path / "duck.parquet"), pl.read_parquet(tmp_path / "bq.parquet")
    assert [c.lower() for c in left.columns] == [c.lower() for c in right.columns]  # crucible lowercases (see above)
    right = right.rename(dict(zip(right.columns, left.columns, strict=True)))
    assert left.height == right.height > 0
    org_specific = {"x_LoadId", "x_OrgSlug"}  # two orgs, two dlt loads: these differ by construction
    org_specific.add("x_SourceRowHash")  # each warehouse's own hash function (DuckDB hash, md5 on BigQuery)
    # ListCost and ContractedCost are unit price x quantity: on the emulator the unit price itself is NUMERIC (9
    # digits, no BIGNUMERIC), so the product may differ from DuckDB's (18-digit prices) in its last digits.
    from_prices = {"ListCost", "ContractedCost"}
    decimals = {name for name, kind in left.schema.items() if isinstance(kind, pl.Decimal)}
    key = ["ChargePeriodStart", "x_ChargeId"]
    left, right = left.sort(key), right.sort(key)
    mismatches: dict[str, int] = defaultdict(int)
    for name in left.columns:
        if name in org_specific:
            continue
        a, b = left[name].to_list(), right[name].to_list()
        if name in decimals:
            a = [None if v is None else v.quantize(EMULATOR_SCALE, ROUND_HALF_UP) for v in a]
            b = [None if v is None else Decimal(v).quantize(EMULATOR_SCALE) for v in b]
        elif name in ("Tags", "x_ProviderDetails", "SkuPriceDetails"):
            a = [None if v is None else json.loads(v) for v in a]
            b = [None if v is None else json.loads(v) for v in b]
        if name in from_prices:
            close = [
                x == y or (x is not None and y is not None and abs(x - y) <= Decimal("1e-6"))
                for x, y in zip(a, b, strict=True)
            ]
            mismatches[name] = close.count(False)
            continue
        mismatches[name] = sum(1 for x, y in zip(a, b, strict=True) if x != y)
    assert {name: n for name, n in mismatches.items() if n} == {}


def test_saas_subscriptions_become_focus_rows_on_bigquery(world: World) -> None:
    """The subscriptions copy (sync_subscriptions) runs on BigQuery too: NUMERIC money, typed literals, one CTAS."""
    from datetime import date

    from cloudact.subscriptions import create_subscription

    warehouse = world.warehouse
    slug = onboard_org(
        get_control_plane(world.settings), warehouse, get_keyring(world.settings), "Initech SaaS"
    ).org_slug
    create_subscription(
        warehouse, slug, provider="Slack", plan="Pro", seats=3, unit_price=Decimal("8.75"), currency="USD",
        billing_cycle="monthly", start_date=date(2026, 1, 1), end_date=date(2026, 3, 1),
    )  # fmt: skip
    transform_org(world.settings, slug)
    focus = _focus(warehouse, slug)
    assert focus["x_Provider"].unique().to_list() == ["saas"]
    purchases = focus.filter(pl.col("ChargeCategory") == "Purchase")
    assert purchases.height == 2  # January and February invoices
    assert Decimal(str(purchases["BilledCost"].sum())) == Decimal("52.50")  # 2 × 3 seats × 8.75
    assert abs(Decimal(str(focus["EffectiveCost"].sum())) - Decimal("52.50")) <= EMULATOR_SCALE * focus.height
