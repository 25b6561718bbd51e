"""Supabase over REST with a tenant's JWT: row-level security from migration 0003 confines it to its own org."""

from __future__ import annotations

import pytest
from postgrest.exceptions import APIError
from supabase import create_client

from cloudact.control_plane.migrate import migrate
from cloudact.control_plane.supabase_store import SupabaseControlPlane
from tests.control_plane.conftest import JWT_SECRET, psycopg_dsn
from tests.support.postgrest_server import PostgrestServer, make_jwt


def test_a_tenant_jwt_reads_only_its_org_and_cannot_write(postgres_url: str) -> None:
    migrate(postgres_url)
    with PostgrestServer(psycopg_dsn(postgres_url), JWT_SECRET) as server:
        service = SupabaseControlPlane(server.url, make_jwt(JWT_SECRET, "service_role"))
        service.create_org("acme_abc123", "Acme", "acme", "starter")
        service.create_org("globex_abc123", "Globex", "globex", "starter")
        service.add_member("globex_abc123", "ann@globex.example", "owner")

        tenant = create_client(server.url, make_jwt(JWT_SECRET, "authenticated", org_slug="acme_abc123"))
        orgs = tenant.table("organizations").select("org_slug").execute().data
        assert orgs == [{"org_slug": "acme_abc123"}]
        assert tenant.table("organization_members").select("*").execute().data == []
        with pytest.raises(APIError) as refused:
            tenant.table("organizations").update({"plan": "scale"}).eq("org_slug", "acme_abc123").execute()
        assert refused.value.code == "42501"
        assert service.get_org("acme_abc123").plan == "starter"

        forged = create_client(server.url, make_jwt("another-secret-of-32-characters-xx", "service_role"))
        with pytest.raises(APIError) as unauthorized:
            forged.table("organizations").select("*").execute()
        assert str(unauthorized.value.code).startswith("PGRST30")
