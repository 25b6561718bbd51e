"""Cost reads through the API: exact totals, filters, hierarchy allocation, the Polars cache, reads during writes."""

from __future__ import annotations

import io
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import duckdb
import polars as pl
import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from api.deps import settings_dep
from api.main import create_app
from api.services.read_cache import FrameCache, get_cache
from cloudact.control_plane import get_control_plane
from cloudact.demo_data import generate_cur, generate_openai_buckets
from cloudact.integrations import set_integration
from cloudact.keyring import get_keyring
from cloudact.onboarding import onboard_org
from cloudact.openai_replay import CostsReplay, serve_costs
from cloudact.pipeline import run_in_process
from cloudact.settings import Settings
from cloudact.warehouse import get_warehouse
from tests.api.conftest import ROOT_KEY
from tests.conftest import AWS_SAMPLE, SAMPLES

OPENAI_KEY = "sk-admin-" + "costreads" * 3


@dataclass
class World:
    settings: Settings
    client: TestClient
    orgs: dict[str, dict[str, str]]  # name → {slug, key}

    def get(self, org: str, path: str, **params: object) -> dict:
        slug, key = self.orgs[org]["slug"], self.orgs[org]["key"]
        response = self.client.get(f"/api/v1/orgs/{slug}{path}", params=params, headers={"X-API-Key": key})
        assert response.status_code == 200, response.text
        return response.json()

    def focus_sum(self, org: str, where: str = "true") -> Decimal:
        slug = self.orgs[org]["slug"]
        rows = get_warehouse(self.settings).query_tenant(
            f"select coalesce(sum(BilledCost), 0) as total from {slug}_prod.cost_data_standard_1_3 where {where}"
        )
        return Decimal(rows[0]["total"])


def _run(settings: Settings, slug: str, buckets: list[dict]) -> None:
    with serve_costs(CostsReplay(buckets=buckets, api_key=OPENAI_KEY)) as url:
        outcome = run_in_process(settings.model_copy(update={"openai_base_url": url}), slug)
    assert outcome.status == "succeeded", outcome.errors


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    root = tmp_path_factory.mktemp("costs")
    settings = Settings(_env_file=None, environment="test", data_dir=root / "data", samples_dir=SAMPLES,  # type: ignore[call-arg]
                        root_api_key=SecretStr(ROOT_KEY))  # fmt: skip
    control_plane, warehouse, keyring = get_control_plane(settings), get_warehouse(settings), get_keyring(settings)
    orgs = {}
    today = datetime.now(UTC).date()
    for name, with_aws, seed in (("acme", True, 1), ("globex", False, 2)):
        org = onboard_org(control_plane, warehouse, keyring, f"{name} Reads", "scale")
        orgs[name] = {"slug": org.org_slug, "key": org.api_key}
        if with_aws:
            folder = root / name / "aws"
            folder.mkdir(parents=True)
            shutil.copy(AWS_SAMPLE, folder)
            generate_cur(folder, "111122223333", ["111122223333", "222233334444"], today - timedelta(days=40), 40, 7)
            set_integration(warehouse, keyring, org.org_slug, "aws", {"export_path": str(folder)})
        set_integration(warehouse, keyring, org.org_slug, "openai", {"admin_key": OPENAI_KEY})
        _run(settings, org.org_slug, generate_openai_buckets(today - timedelta(days=20), 20, ["proj_web"], seed))
    app = create_app()
    app.dependency_overrides[settings_dep] = lambda: settings
    with TestClient(app) as client:
        yield World(settings, client, orgs)


def test_summary_reconciles_exactly_with_the_warehouse(world: World) -> None:
    for org in ("acme", "globex"):
        body = world.get(org, "/costs/summary")
        assert body["data_version"] >= 1
        assert [row["BillingCurrency"] for row in body["items"]] == ["USD"]
        assert Decimal(body["items"][0]["BilledCost"]) == world.focus_sum(org)
        assert isinstance(body["items"][0]["BilledCost"], str)  # money is never a float


def test_breakdowns_filters_and_trend(world: World) -> None:
    by_provider = {
        row["value"]: Decimal(row["BilledCost"]) for row in world.get("acme", "/costs/breakdown/provider")["items"]
    }
    assert set(by_provider) == {"aws", "openai"}
    assert by_provider["aws"] == world.focus_sum("acme", "x_Provider = 'aws'")
    openai_only = world.get("acme", "/costs/summary", provider="openai")["items"][0]
    assert Decimal(openai_only["BilledCost"]) == by_provider["openai"]
    services = world.get("acme", "/costs/breakdown/service", limit=3)["items"]
    assert len(services) == 3 and Decimal(services[0]["BilledCost"]) >= Decimal(services[1]["BilledCost"])
    days = world.get("acme", "/costs/periods", granularity="day", provider="openai")["items"]
    assert len(days) == 20 and sum(Decimal(d["BilledCost"]) for d in days) == by_provider["openai"]
    first = days[0]["period"]
    one_day = world.get("acme", "/costs/summary", provider="openai", start=first, end=first)["items"][0]
    assert Decimal(one_day["BilledCost"]) == Decimal(days[0]["BilledCost"])
    assert world.get("acme", "/costs/top-resources", limit=5)["items"][0]["ResourceId"]
    genai = world.get("acme", "/costs/genai")["items"]
    openai_rows = [row for row in genai if row["provider"] == "openai"]
    assert openai_rows and all(row["model"] and row["token_type"] for row in openai_rows)
    assert sum(Decimal(row["BilledCost"]) for row in openai_rows) == by_provider["openai"]


def test_hierarchy_allocates_by_tag_rules(world: World) -> None:
    slug, key = world.orgs["acme"]["slug"], world.orgs["acme"]["key"]
    headers = {"X-API-Key": key}
    tags = get_warehouse(world.settings).query_tenant(
        f"""select json_extract_string(Tags, '$."user:team"') as team, sum(BilledCost) as billed
            from {slug}_prod.cost_data_standard_1_3 where json_extract_string(Tags, '$."user:team"') is not null
            group by 1 order by 2 desc limit 1"""
    )
    value, billed = tags[0]["team"], Decimal(tags[0]["billed"])
    base = f"/api/v1/orgs/{slug}/hierarchy/nodes"
    dept = world.client.post(base, json={"level": "department", "name": "Eng"}, headers=headers).json()
    proj = world.client.post(base, json={"level": "project", "name": "Web", "parent_id": dept["node_id"],
                                         "tag_rules": [{"tag_key": "user:team", "tag_values": [value]}]},
                             headers=headers).json()  # fmt: skip
    bad = world.client.post(base, json={"level": "team", "name": "T", "parent_id": dept["node_id"]}, headers=headers)
    assert bad.status_code == 422 and bad.json()["field"] == "parent_id"
    rows = {row["name"]: row for row in world.get("acme", "/costs/hierarchy")["items"]}
    assert Decimal(rows["Web"]["BilledCost"]) == billed == Decimal(rows["Eng"]["BilledCost"])
    total = world.focus_sum("acme")
    assert Decimal(rows["unallocated"]["BilledCost"]) == total - billed
    scoped = world.get("acme", "/costs/summary", node_id=dept["node_id"])["items"][0]
    assert Decimal(scoped["BilledCost"]) == billed
    assert world.client.delete(f"{base}/{dept['node_id']}", headers=headers).status_code == 409
    # Changing the rules drops the cached reads that depended on them, at once.
    nothing = [{"tag_key": "user:team", "tag_values": ["no-such-team"]}]
    assert world.client.patch(f"{base}/{proj['node_id']}", json={"tag_rules": nothing}, headers=headers).is_success
    rescoped = world.get("acme", "/costs/summary", node_id=dept["node_id"])
    assert rescoped["cached"] is False and rescoped["items"] == []
    assert world.client.delete(f"{base}/{proj['node_id']}", headers=headers).status_code == 204


def test_tag_breakdown_and_bad_input(world: World) -> None:
    teams = world.get("acme", "/costs/breakdown/tag", tag_key="user:team")["items"]
    assert len(teams) >= 2 and any(row["value"] is None for row in teams)  # untagged rows are their own bucket
    slug, key = world.orgs["acme"]["slug"], world.orgs["acme"]["key"]
    for path, params, field in (
        ("/costs/breakdown/tag", {}, "tag_key"),
        ("/costs/breakdown/tag", {"tag_key": "a'b"}, "tag_key"),
        ("/costs/summary", {"start": "2026-02-01", "end": "2026-01-01"}, "end"),
        ("/costs/summary", {"start": "yesterday"}, "start"),
        ("/costs/summary", {"node_id": "nope"}, "node_id"),
        ("/costs/breakdown/colour", {}, "dimension"),
        ("/costs/top-resources", {"limit": 0}, "limit"),
    ):
        response = world.client.get(f"/api/v1/orgs/{slug}{path}", params=params, headers={"X-API-Key": key})
        assert 400 <= response.status_code < 500 and response.json()["field"] == field, (path, response.text)


def test_the_last_representable_day_is_a_valid_end(world: World) -> None:
    body = world.get("acme", "/costs/summary", end="9999-12-31")
    assert Decimal(body["items"][0]["BilledCost"]) == world.focus_sum("acme")


def test_export_pages_csv_and_parquet(world: World) -> None:
    slug, key = world.orgs["globex"]["slug"], world.orgs["globex"]["key"]
    url, headers = f"/api/v1/orgs/{slug}/costs/export", {"X-API-Key": key}
    first = world.client.get(url, params={"limit": 7}, headers=headers)
    assert first.status_code == 200 and first.headers["x-next-offset"] == "7"
    frame = pl.read_csv(io.BytesIO(first.content))
    assert frame.height == 7 and "BilledCost" in frame.columns and frame.columns[-1].startswith("x_")
    total = int(get_warehouse(world.settings).query_tenant(
        f"select count(*) as n from {slug}_prod.cost_data_standard_1_3")[0]["n"])  # fmt: skip
    whole = world.client.get(url, params={"format": "parquet", "limit": 100_000}, headers=headers)
    parquet = pl.read_parquet(io.BytesIO(whole.content))
    assert parquet.height == total and "x-next-offset" not in whole.headers
    assert set(parquet["x_OrgSlug"].unique()) == {slug}


def test_cache_hits_skip_the_snapshot_and_runs_invalidate(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    cache = get_cache(world.settings.read_cache_max_mb, world.settings.read_cache_ttl_seconds)
    first = world.get("globex", "/costs/breakdown/service", limit=11)
    assert first["cached"] is False
    with monkeypatch.context() as patched:  # a hit must not read the snapshot (or anything else) again
        patched.setattr(pl, "scan_parquet", lambda *a, **k: (_ for _ in ()).throw(AssertionError("read")))
        again = world.get("globex", "/costs/breakdown/service", limit=11)
    assert again["cached"] is True and again["items"] == first["items"]
    hits = cache.stats.hits
    slug = world.orgs["globex"]["slug"]
    today = datetime.now(UTC).date()
    _run(world.settings, slug, generate_openai_buckets(today - timedelta(days=3), 3, ["proj_new"], seed=9))
    assert not any(key[0] == slug for key in list(cache._entries))  # dropped when the run completed
    after = world.get("globex", "/costs/breakdown/service", limit=11)
    assert after["cached"] is False and after["data_version"] == first["data_version"] + 1
    assert cache.stats.hits == hits


def test_memory_bound_evicts_least_recently_used() -> None:
    frame = pl.DataFrame({"x": list(range(1000))})
    size = int(frame.estimated_size())
    cache = FrameCache(max_bytes=size * 2 + 10, ttl_seconds=60)
    cache.put(("a", 1, "q", ()), frame)
    cache.put(("b", 1, "q", ()), frame)
    assert cache.get(("a", 1, "q", ())) is not None  # a is now the most recent
    cache.put(("c", 1, "q", ()), frame)
    assert cache.get(("b", 1, "q", ())) is None and cache.get(("a", 1, "q", ())) is not None
    assert cache.stats.evictions == 1 and cache.size_bytes <= cache.max_bytes
    expiring = FrameCache(max_bytes=size * 10, ttl_seconds=0.01)
    expiring.put(("a", 1, "q", ()), frame)
    time.sleep(0.02)
    assert expiring.get(("a", 1, "q", ())) is None


HOLD_WAREHOUSE = """
import sys, time, duckdb
con = duckdb.connect(sys.argv[1])
con.execute("begin transaction")
con.execute("create table hold_lock as select 1 as x")
print("holding", flush=True)
time.sleep(float(sys.argv[2]))
con.execute("rollback")
"""


def test_reads_while_a_pipeline_writes_the_same_org(world: World) -> None:
    before = world.get("acme", "/costs/summary")
    # Another process holds the tenant-data file as a pipeline's dbt build would (DuckDB: one writer process).
    holder = subprocess.Popen([sys.executable, "-c", HOLD_WAREHOUSE, str(world.settings.resolved_duckdb_path), "4"],
                              stdout=subprocess.PIPE, text=True)  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "holding"
        with pytest.raises(duckdb.IOException):  # the file really is held
            duckdb.connect(str(world.settings.resolved_duckdb_path))
        for path in ("/costs/summary", "/costs/breakdown/region", "/pipelines/runs", "/quotas", ""):
            world.get("acme", path)  # 200 each, from the last good data
        assert world.get("acme", "/costs/summary")["items"] == before["items"]
    finally:
        holder.wait(30)

    # An in-process run of the same org while readers hammer it: every read answers, old data then new data.
    slug = world.orgs["acme"]["slug"]
    versions: list[int] = []
    errors: list[str] = []
    done = threading.Event()

    def reader() -> None:
        while not done.is_set():
            response = world.client.get(f"/api/v1/orgs/{slug}/costs/summary",
                                        headers={"X-API-Key": world.orgs["acme"]["key"]})  # fmt: skip
            if response.status_code != 200:
                errors.append(response.text)
            else:
                versions.append(response.json()["data_version"])

    threads = [threading.Thread(target=reader) for _ in range(3)]
    for thread in threads:
        thread.start()
    today = datetime.now(UTC).date()
    _run(world.settings, slug, generate_openai_buckets(today - timedelta(days=2), 2, ["proj_late"], seed=11))
    time.sleep(0.2)
    done.set()
    for thread in threads:
        thread.join()
    assert errors == []
    assert versions and set(versions) <= {before["data_version"], before["data_version"] + 1}
    after = world.get("acme", "/costs/summary")
    assert after["data_version"] == before["data_version"] + 1
    assert Decimal(after["items"][0]["BilledCost"]) == world.focus_sum("acme")
    assert (
        Path(world.settings.resolved_data_dir / "snapshots" / slug / "CURRENT")
        .read_text()
        .endswith(f"v{after['data_version']}.parquet")
    )
