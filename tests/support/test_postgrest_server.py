"""Contract tests for the PostgREST-protocol test server, driven through supabase-py against a real Postgres."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pgserver
import psycopg
import pytest
from postgrest.exceptions import APIError
from supabase import Client, create_client

from tests.support.postgrest_server import PostgrestServer, make_jwt

# supabase-py 2.34's create_client hands postgrest-py its own deprecated timeout/verify defaults; callers cannot
# avoid these warnings, so they are silenced here rather than repeated for every client.
pytestmark = pytest.mark.filterwarnings("ignore:The '(timeout|verify)' parameter is deprecated:DeprecationWarning")

SECRET = "contract-test-secret-of-at-least-thirty-two-bytes"

SCHEMA = """
CREATE ROLE anon NOLOGIN;
CREATE ROLE authenticated NOLOGIN;
CREATE ROLE service_role NOLOGIN BYPASSRLS;
GRANT USAGE ON SCHEMA public TO anon, authenticated, service_role;

CREATE TABLE public.items (
    id serial PRIMARY KEY,
    org_slug text NOT NULL,
    name text NOT NULL UNIQUE,
    amount numeric(12, 2),
    tags jsonb,
    created_at timestamptz NOT NULL DEFAULT now()
);
ALTER TABLE public.items ENABLE ROW LEVEL SECURITY;
GRANT SELECT ON public.items TO anon;
GRANT SELECT, INSERT, UPDATE, DELETE ON public.items TO authenticated, service_role;
GRANT USAGE ON SEQUENCE public.items_id_seq TO authenticated, service_role;
CREATE POLICY items_of_own_org ON public.items FOR ALL TO authenticated
    USING (org_slug = current_setting('request.jwt.claims', true)::json ->> 'org_slug')
    WITH CHECK (org_slug = current_setting('request.jwt.claims', true)::json ->> 'org_slug');

-- Granted to nobody but the owner: authenticated callers get 403, anonymous ones 401.
CREATE TABLE public.secrets (id int PRIMARY KEY);

CREATE FUNCTION public.org_total(p_org text) RETURNS numeric LANGUAGE sql STABLE
    AS $$ SELECT coalesce(sum(amount), 0) FROM public.items WHERE org_slug = p_org $$;
CREATE FUNCTION public.items_above(p_min numeric) RETURNS SETOF public.items LANGUAGE sql STABLE
    AS $$ SELECT * FROM public.items WHERE amount > p_min $$;
CREATE FUNCTION public.whoami() RETURNS text LANGUAGE sql STABLE
    AS $$ SELECT current_user || ':' || coalesce(current_setting('request.jwt.claim.org_slug', true), '-') $$;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA public TO authenticated, service_role;
"""


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A throwaway Postgres 16 cluster with the roles, table, RLS policy and functions the tests use."""
    server = pgserver.get_server(Path(tmp_path_factory.mktemp("pg")), cleanup_mode="stop")
    dsn = server.get_uri()
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(SCHEMA)
    yield dsn
    server.cleanup()


@pytest.fixture(scope="module")
def server(database: str) -> Iterator[PostgrestServer]:
    """The PostgREST-protocol server under test."""
    with PostgrestServer(database, SECRET) as running:
        yield running


@pytest.fixture(autouse=True)
def empty_items(database: str) -> None:
    """Every test starts from an empty items table with ids from 1."""
    with psycopg.connect(database, autocommit=True) as conn:
        conn.execute("TRUNCATE public.items RESTART IDENTITY")


def client(server: PostgrestServer, role: str, **claims: object) -> Client:
    """A supabase-py client whose key is a JWT for ``role`` with the given claims."""
    return create_client(server.url, make_jwt(SECRET, role, **claims))


def raw(
    server: PostgrestServer,
    method: str,
    path: str,
    token: str | None,
    *,
    headers: dict[str, str] | None = None,
    **kwargs: Any,
) -> httpx.Response:
    """Send one request with plain httpx, to see the statuses and headers supabase-py hides."""
    all_headers = dict(headers or {})
    if token is not None:
        all_headers["Authorization"] = f"Bearer {token}"
    return httpx.request(method, f"{server.url}/rest/v1/{path}", headers=all_headers, **kwargs)


@pytest.fixture
def service(server: PostgrestServer) -> Client:
    """A client with the service_role, which bypasses RLS."""
    return client(server, "service_role")


def seed(service: Client) -> list[dict]:
    """Insert five rows over two orgs through a bulk insert."""
    rows = [
        {"org_slug": "acme", "name": "alpha", "amount": 10},
        {"org_slug": "acme", "name": "beta", "amount": 20.5},
        {"org_slug": "acme", "name": "c d", "amount": None},
        {"org_slug": "globex", "name": "a,b", "amount": 30},
        {"org_slug": "globex", "name": "epsilon", "amount": 40},
    ]
    return service.table("items").insert(rows).execute().data


def test_insert_single_row_comes_back_as_postgres_encodes_it(server: PostgrestServer, service: Client) -> None:
    """A single insert returns Postgres's own JSON: numeric exact, timestamptz with offset, jsonb nested."""
    row = {"org_slug": "acme", "name": "alpha", "amount": "12.50", "tags": {"env": ["prod"]}}
    data = service.table("items").insert(row).execute().data
    assert len(data) == 1
    assert data[0]["id"] == 1
    assert data[0]["amount"] == 12.5
    assert data[0]["tags"] == {"env": ["prod"]}
    assert datetime.fromisoformat(data[0]["created_at"]).utcoffset() is not None

    response = raw(server, "GET", "items?select=amount,tags&id=eq.1", make_jwt(SECRET, "service_role"))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    # PostgREST sends numeric as a JSON number with the column's scale, not as a float repr or a string.
    assert json.loads(response.text) == [{"amount": 12.5, "tags": {"env": ["prod"]}}]
    assert '"amount":12.50' in response.text


def test_bulk_insert_then_filter_order_and_page(service: Client) -> None:
    """Bulk insert, then eq, in (with quoted values), order, limit and offset as postgrest-py encodes them."""
    inserted = seed(service)
    assert [r["name"] for r in inserted] == ["alpha", "beta", "c d", "a,b", "epsilon"]

    acme = service.table("items").select("name").eq("org_slug", "acme").order("name", desc=True).execute()
    assert [r["name"] for r in acme.data] == ["c d", "beta", "alpha"]

    picked = service.table("items").select("id,name").in_("name", ["c d", "a,b", "nope"]).order("id").execute()
    assert [r["name"] for r in picked.data] == ["c d", "a,b"]

    page = (
        service.table("items").select("name").order("amount", desc=True, nullsfirst=True).limit(2).offset(1).execute()
    )
    assert [r["name"] for r in page.data] == ["epsilon", "a,b"]

    aliased = service.table("items").select("label:name,amount::text").eq("name", "beta").execute()
    assert aliased.data == [{"label": "beta", "amount": "20.50"}]


def test_filter_operators_and_logic_trees(service: Client) -> None:
    """gt/lte, is null, not, ilike with * wildcards and or= trees select exactly the expected rows."""
    seed(service)
    table = service.table("items")

    def names(builder: Any) -> list[str]:
        return sorted(r["name"] for r in builder.execute().data)

    assert names(table.select("name").gt("amount", 20).lte("amount", 40)) == ["a,b", "beta", "epsilon"]
    assert names(table.select("name").is_("amount", None)) == ["c d"]
    assert names(table.select("name").not_.is_("amount", None).lt("amount", 25)) == ["alpha", "beta"]
    assert names(table.select("name").ilike("name", "%PS%")) == ["epsilon"]
    assert names(table.select("name").or_("amount.gte.40,name.eq.alpha")) == ["alpha", "epsilon"]
    assert names(table.select("name").or_('name.eq."a,b",and(org_slug.eq.acme,amount.gt.15)')) == ["a,b", "beta"]
    assert names(table.select("name").not_.in_("org_slug", ["acme"])) == ["a,b", "epsilon"]


def test_count_exact_sets_content_range(server: PostgrestServer, service: Client) -> None:
    """count=exact gives the total beside a partial page, also for HEAD, and Content-Range says which rows came."""
    seed(service)
    result = service.table("items").select("id", count="exact").order("id").limit(2).execute()
    assert result.count == 5
    assert [r["id"] for r in result.data] == [1, 2]

    head = service.table("items").select("*", count="exact", head=True).eq("org_slug", "globex").execute()
    assert head.count == 2

    token = make_jwt(SECRET, "service_role")
    response = raw(server, "GET", "items?select=id&order=id&offset=1&limit=2", token, headers={"Prefer": "count=exact"})
    assert response.status_code == 206
    assert response.headers["content-range"] == "1-2/5"
    beyond = raw(server, "GET", "items?offset=9", token, headers={"Prefer": "count=exact"})
    assert beyond.status_code == 416
    assert beyond.json()["code"] == "PGRST103"


def test_update_and_delete_return_the_affected_rows(service: Client) -> None:
    """PATCH and DELETE touch only the filtered rows and return them."""
    seed(service)
    updated = service.table("items").update({"amount": 99.99}).eq("org_slug", "globex").execute().data
    assert sorted(r["name"] for r in updated) == ["a,b", "epsilon"]
    assert {r["amount"] for r in updated} == {99.99}

    deleted = service.table("items").delete().eq("name", "alpha").execute().data
    assert [r["name"] for r in deleted] == ["alpha"]
    remaining = service.table("items").select("name,amount").order("name").execute().data
    assert [r["name"] for r in remaining] == ["a,b", "beta", "c d", "epsilon"]
    assert [r["amount"] for r in remaining] == [99.99, 20.5, None, 99.99]


def test_upsert_merges_or_ignores_duplicates(service: Client) -> None:
    """on_conflict upserts update the existing row with merge-duplicates and leave it alone with ignore-duplicates."""
    seed(service)
    items = service.table("items")
    merged = items.upsert({"org_slug": "acme", "name": "alpha", "amount": 11}, on_conflict="name").execute().data
    assert [(r["id"], r["amount"]) for r in merged] == [(1, 11)]

    ignored = items.upsert(
        [{"org_slug": "acme", "name": "alpha", "amount": 12}, {"org_slug": "acme", "name": "zeta", "amount": 1}],
        on_conflict="name",
        ignore_duplicates=True,
    ).execute()
    assert [r["name"] for r in ignored.data] == ["zeta"]
    assert items.select("amount").eq("name", "alpha").single().execute().data == {"amount": 11}

    by_primary_key = items.upsert({"id": 2, "org_slug": "acme", "name": "beta", "amount": 2}).execute().data
    assert by_primary_key[0]["amount"] == 2
    assert items.select("id", count="exact").execute().count == 6


def test_single_and_maybe_single(service: Client) -> None:
    """.single() needs exactly one row (406 PGRST116 otherwise); .maybe_single() returns None for no row."""
    seed(service)
    items = service.table("items")
    one = items.select("name,amount").eq("name", "beta").single().execute()
    assert one.data == {"name": "beta", "amount": 20.5}

    with pytest.raises(APIError) as many:
        items.select("name").eq("org_slug", "acme").single().execute()
    assert many.value.code == "PGRST116"
    assert many.value.details == "The result contains 3 rows"

    assert items.select("name").eq("name", "nobody").maybe_single().execute() is None
    assert items.select("name").eq("name", "alpha").maybe_single().execute().data == {"name": "alpha"}


def test_singular_mutation_that_hits_several_rows_is_rolled_back(service: Client) -> None:
    """An update asking for one object but matching two answers 406 and changes nothing, as in PostgREST."""
    seed(service)
    with pytest.raises(APIError) as error:
        service.table("items").update({"amount": 0}).eq("org_slug", "globex").single().execute()
    assert error.value.code == "PGRST116"
    amounts = service.table("items").select("amount").eq("org_slug", "globex").order("id").execute().data
    assert amounts == [{"amount": 30}, {"amount": 40}]


def test_unique_violation_is_409_with_the_sqlstate(server: PostgrestServer, service: Client) -> None:
    """A duplicate name surfaces as postgrest's APIError 23505, sent with HTTP 409."""
    seed(service)
    with pytest.raises(APIError) as error:
        service.table("items").insert({"org_slug": "acme", "name": "alpha"}).execute()
    assert error.value.code == "23505"
    assert "items_name_key" in (error.value.message or "")

    response = raw(
        server, "POST", "items", make_jwt(SECRET, "service_role"), json={"org_slug": "acme", "name": "alpha"}
    )
    assert response.status_code == 409
    assert response.headers["proxy-status"] == "PostgREST; error=23505"


def test_bad_signature_expired_and_missing_jwts_are_401(server: PostgrestServer) -> None:
    """Wrong secret, expired token and no token at all are refused with PostgREST's 401 errors."""
    forged_token = make_jwt("another-secret-that-is-also-thirty-two-bytes", "service_role")
    with pytest.raises(APIError) as bad_signature:
        create_client(server.url, forged_token).table("items").select("*").execute()
    assert bad_signature.value.code == "PGRST301"
    assert raw(server, "GET", "items", forged_token).status_code == 401

    expired_token = make_jwt(SECRET, "service_role", exp=int(time.time()) - 3600)
    with pytest.raises(APIError) as expired:
        create_client(server.url, expired_token).table("items").select("*").execute()
    assert expired.value.code == "PGRST303"
    assert expired.value.message == "JWT expired"

    response = raw(server, "GET", "items", expired_token)
    assert response.status_code == 401
    assert response.json() == {"code": "PGRST303", "details": None, "hint": None, "message": "JWT expired"}
    assert response.headers["www-authenticate"].startswith('Bearer error="invalid_token"')
    missing = raw(server, "GET", "items", None)
    assert (missing.status_code, missing.json()["code"]) == (401, "PGRST302")
    garbage = raw(server, "GET", "items", "not-a-jwt")
    assert (garbage.status_code, garbage.json()["code"]) == (401, "PGRST301")


def test_row_level_security_follows_the_org_claim(server: PostgrestServer, service: Client) -> None:
    """An authenticated org sees and changes only its own rows; service_role sees all of them."""
    seed(service)
    acme = client(server, "authenticated", org_slug="acme")
    assert sorted(r["name"] for r in acme.table("items").select("name").execute().data) == ["alpha", "beta", "c d"]
    assert acme.table("items").select("id", count="exact").execute().count == 3

    hijack = acme.table("items").update({"amount": 0}).eq("name", "epsilon").execute()
    assert hijack.data == []
    assert service.table("items").select("amount").eq("name", "epsilon").single().execute().data == {"amount": 40}
    assert acme.table("items").delete().eq("org_slug", "globex").execute().data == []

    with pytest.raises(APIError) as smuggle:
        acme.table("items").insert({"org_slug": "globex", "name": "smuggled"}).execute()
    assert smuggle.value.code == "42501"

    own = acme.table("items").insert({"org_slug": "acme", "name": "own"}).execute().data
    assert own[0]["org_slug"] == "acme"
    assert len(service.table("items").select("id").execute().data) == 6


def test_role_claim_drives_postgres_role_and_permissions(server: PostgrestServer, service: Client) -> None:
    """The role claim becomes current_user; missing privileges are 401 for anon, 403 otherwise; unknown roles 401."""
    seed(service)
    acme = client(server, "authenticated", org_slug="acme")
    assert acme.rpc("whoami", {}).execute().data == "authenticated:acme"

    anon_token, user_token = make_jwt(SECRET, "anon"), make_jwt(SECRET, "authenticated", org_slug="acme")
    # anon may read items but RLS has no policy for it, so it sees nothing; it may not write at all.
    assert raw(server, "GET", "items", anon_token).json() == []
    anon_write = raw(server, "POST", "items", anon_token, json={"org_slug": "acme", "name": "x"})
    assert (anon_write.status_code, anon_write.json()["code"]) == (401, "42501")
    forbidden = raw(server, "GET", "secrets", user_token)
    assert (forbidden.status_code, forbidden.json()["code"]) == (403, "42501")
    unknown_role = raw(server, "GET", "items", make_jwt(SECRET, "no_such_role"))
    assert (unknown_role.status_code, unknown_role.json()["code"]) == (401, "22023")


def test_rpc_calls_functions_with_named_arguments(server: PostgrestServer, service: Client) -> None:
    """Scalar and set-returning functions are called with named JSON arguments; unknown functions are 404."""
    seed(service)
    assert service.rpc("org_total", {"p_org": "acme"}).execute().data == 30.5
    above = service.rpc("items_above", {"p_min": 25}).select("name").order("name").execute().data
    assert above == [{"name": "a,b"}, {"name": "epsilon"}]
    assert service.rpc("org_total", {"p_org": "globex"}, get=True).execute().data == 70

    with pytest.raises(APIError) as missing:
        service.rpc("no_such_function", {"x": 1}).execute()
    assert missing.value.code == "PGRST202"


def test_unknown_table_column_and_bad_requests_map_to_postgrest_errors(server: PostgrestServer) -> None:
    """404 for an unknown table, 400 for an unknown column or bad JSON, and the server keeps serving after them."""
    token = make_jwt(SECRET, "service_role")
    table = raw(server, "GET", "nope", token)
    assert (table.status_code, table.json()["code"]) == (404, "PGRST205")
    column = raw(server, "GET", "items?select=nope", token)
    assert (column.status_code, column.json()["code"]) == (400, "42703")
    assert column.json()["message"] == "column items.nope does not exist"
    body_column = raw(server, "POST", "items", token, json={"nope": 1})
    assert (body_column.status_code, body_column.json()["code"]) == (400, "PGRST204")
    bad_json = raw(server, "POST", "items", token, content=b"{not json", headers={"Content-Type": "application/json"})
    assert (bad_json.status_code, bad_json.json()["code"]) == (400, "PGRST102")
    bad_filter = raw(server, "GET", "items?id=nope.1", token)
    assert (bad_filter.status_code, bad_filter.json()["code"]) == (400, "PGRST100")
    bad_value = raw(server, "GET", "items?id=eq.abc", token)
    assert (bad_value.status_code, bad_value.json()["code"]) == (400, "22P02")
    assert raw(server, "GET", "items", token).status_code == 200


def test_prefer_return_minimal_missing_default_and_count(server: PostgrestServer) -> None:
    """return=minimal answers 201 without a body, missing=default fills defaults, count=exact counts deletions."""
    token = make_jwt(SECRET, "service_role")
    minimal = raw(
        server, "POST", "items", token, json={"org_slug": "acme", "name": "m"}, headers={"Prefer": "return=minimal"}
    )
    assert (minimal.status_code, minimal.content) == (201, b"")

    rows = [
        {"org_slug": "acme", "name": "d1", "created_at": "2020-01-01T00:00:00Z"},
        {"org_slug": "acme", "name": "d2"},
    ]
    prefer = {"Prefer": "return=representation,missing=default"}
    defaulted = raw(server, "POST", "items?columns=org_slug,name,created_at", token, json=rows, headers=prefer)
    assert defaulted.status_code == 201
    created = [row["created_at"] for row in defaulted.json()]
    assert created[0].startswith("2020-01-01T00:00:00")
    assert not created[1].startswith("2020")

    deleted = raw(server, "DELETE", "items?name=neq.m", token, headers={"Prefer": "return=minimal,count=exact"})
    assert (deleted.status_code, deleted.content) == (204, b"")
    assert deleted.headers["content-range"] == "0-1/2"
    assert [row["name"] for row in raw(server, "GET", "items?select=name", token).json()] == ["m"]


def test_concurrent_requests_are_served_in_parallel_transactions(server: PostgrestServer, service: Client) -> None:
    """Many threads at once each get their own transaction and a correct answer."""
    seed(service)

    def org_count(index: int) -> int:
        org = "acme" if index % 2 else "globex"
        tenant = client(server, "authenticated", org_slug=org)
        return len(tenant.table("items").select("id").execute().data)

    with ThreadPoolExecutor(max_workers=8) as pool:
        counts = list(pool.map(org_count, range(16)))
    assert counts == [2, 3] * 8
