"""The control-plane contract: every store (SQLite, Postgres, Supabase REST) behaves the same."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest

from cloudact.control_plane import (
    ControlPlaneStore,
    MemberExistsError,
    MemberNotFoundError,
    OrgExistsError,
    OrgNotFoundError,
    PlanChange,
    SchemaNotReadyError,
)
from cloudact.control_plane.plans import PLANS

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


def test_create_and_read_back_an_org(store: ControlPlaneStore) -> None:
    created = store.create_org("acme_abc123", "Acme Corp", "acme", "starter")
    org = store.get_org("acme_abc123")
    assert org == created
    assert (org.plan, org.status) == ("starter", "active")
    assert org.limits == PLANS["starter"]
    assert org.created_at.tzinfo is not None and org.created_at.utcoffset() == timedelta(0)
    assert store.find_by_company_key("acme") == org
    assert store.find_by_company_key("nobody") is None


def test_the_same_company_twice_is_a_conflict(store: ControlPlaneStore) -> None:
    store.create_org("acme_abc123", "Acme Corp", "acme", "starter")
    with pytest.raises(OrgExistsError, match="acme_abc123"):
        store.create_org("acme_zzz999", "ACME corp", "acme", "starter")
    assert [org.org_slug for org in store.list_orgs()] == ["acme_abc123"]


def test_unknown_org_is_not_found(store: ControlPlaneStore) -> None:
    with pytest.raises(OrgNotFoundError):
        store.get_org("nobody_here")


def test_list_orgs_filters_and_pages(store: ControlPlaneStore) -> None:
    for index in range(5):
        store.create_org(f"org{index}_slug", f"Org {index}", f"org{index}", "free")
    store.apply_plan_change("org3_slug", plan="free", status="suspended", event_at=T0)
    assert [org.org_slug for org in store.list_orgs(status="suspended")] == ["org3_slug"]
    page = store.list_orgs(limit=2, offset=1)
    assert [org.org_slug for org in page] == ["org1_slug", "org2_slug"]


def test_plan_change_copies_the_limits_and_refuses_older_events(store: ControlPlaneStore) -> None:
    store.create_org("acme_abc123", "Acme Corp", "acme", "starter")
    newer = store.apply_plan_change("acme_abc123", plan="scale", status="active", event_at=T0, price_id="price_s")
    assert newer is not None and newer.limits == PLANS["scale"] and newer.stripe_price_id == "price_s"
    older = store.apply_plan_change("acme_abc123", plan="free", status="active", event_at=T0 - timedelta(seconds=1))
    assert older is None
    assert store.get_org("acme_abc123").plan == "scale"
    # Stripe times are whole seconds: another event of the same second is applied (the last processed wins).
    same = store.apply_plan_change("acme_abc123", plan="professional", status="active", event_at=T0)
    assert same is not None and same.plan == "professional"


def test_concurrent_plan_changes_keep_the_newest(store: ControlPlaneStore) -> None:
    store.create_org("acme_abc123", "Acme Corp", "acme", "starter")
    plans = ["free", "starter", "professional", "scale"] * 3
    with ThreadPoolExecutor(max_workers=6) as pool:
        list(
            pool.map(
                lambda item: store.apply_plan_change(
                    "acme_abc123", plan=item[1], status="active", event_at=T0 + timedelta(seconds=item[0])
                ),
                enumerate(plans),
            )
        )
    org = store.get_org("acme_abc123")
    assert org.plan == plans[-1]
    assert org.plan_event_at == T0 + timedelta(seconds=len(plans) - 1)


def test_stripe_customer_link_and_lookup(store: ControlPlaneStore) -> None:
    store.create_org("acme_abc123", "Acme Corp", "acme", "starter")
    org = store.link_stripe_customer("acme_abc123", "cus_123", "sub_9")
    assert (org.stripe_customer_id, org.stripe_subscription_id) == ("cus_123", "sub_9")
    assert store.find_by_stripe_customer("cus_123") == org
    assert store.find_by_stripe_customer("cus_other") is None
    with pytest.raises(OrgNotFoundError):
        store.link_stripe_customer("nobody_here", "cus_x", None)


def test_plan_change_audit_round_trip(store: ControlPlaneStore) -> None:
    store.create_org("acme_abc123", "Acme Corp", "acme", "starter")
    change = PlanChange("acme_abc123", "starter", "scale", "active", "active", "stripe", "applied", "evt_1",
                        "customer.subscription.updated", T0, T0 + timedelta(seconds=3))  # fmt: skip
    store.add_plan_change(change)
    store.add_plan_change(
        PlanChange(**{**change.__dict__, "stripe_event_id": "evt_2", "outcome": "ignored_out_of_order"})
    )
    assert store.list_plan_changes("acme_abc123") == [
        change,
        PlanChange(**{**change.__dict__, "stripe_event_id": "evt_2", "outcome": "ignored_out_of_order"}),
    ]
    assert store.list_plan_changes("other_org") == []


def test_stripe_events_are_recorded_once(store: ControlPlaneStore) -> None:
    assert not store.has_stripe_event("evt_1")
    assert store.record_stripe_event("evt_1", "invoice.payment_failed", None, "applied") is True
    assert store.record_stripe_event("evt_1", "invoice.payment_failed", None, "applied") is False
    assert store.has_stripe_event("evt_1")


def test_members(store: ControlPlaneStore) -> None:
    store.create_org("acme_abc123", "Acme Corp", "acme", "starter")
    store.add_member("acme_abc123", "Ann@Example.com", "owner")
    store.add_member("acme_abc123", "bob@example.com", "viewer")
    with pytest.raises(MemberExistsError):
        store.add_member("acme_abc123", "ann@example.com", "admin")
    assert [(m.email, m.role) for m in store.list_members("acme_abc123")] == [
        ("ann@example.com", "owner"),
        ("bob@example.com", "viewer"),
    ]
    store.remove_member("acme_abc123", "bob@example.com")
    with pytest.raises(MemberNotFoundError):
        store.remove_member("acme_abc123", "bob@example.com")
    assert len(store.list_members("acme_abc123")) == 1


def test_delete_org_removes_its_rows_only(store: ControlPlaneStore) -> None:
    store.create_org("acme_abc123", "Acme Corp", "acme", "starter")
    store.create_org("globex_abc123", "Globex", "globex", "starter")
    for slug in ("acme_abc123", "globex_abc123"):
        store.add_member(slug, "ann@example.com", "owner")
    store.delete_org("acme_abc123")
    with pytest.raises(OrgNotFoundError):
        store.get_org("acme_abc123")
    assert store.list_members("acme_abc123") == []
    assert len(store.list_members("globex_abc123")) == 1


def test_schema_check_passes_after_migrations(store: ControlPlaneStore) -> None:
    store.check_schema()


def test_invalid_slugs_never_reach_the_store(store: ControlPlaneStore) -> None:
    from cloudact.tenancy import InvalidSlugError

    with pytest.raises(InvalidSlugError):
        store.get_org("x'; drop table organizations; --")


def test_an_unmigrated_database_is_refused(tmp_path) -> None:  # noqa: ANN001
    from cloudact.control_plane.sql_store import SqlControlPlane

    with pytest.raises(SchemaNotReadyError, match="cloudact migrate"):
        SqlControlPlane(f"sqlite:///{tmp_path / 'empty.db'}").check_schema()


def test_long_company_names_and_paging_every_org(store: ControlPlaneStore) -> None:
    from cloudact.control_plane import iter_orgs

    long_key = "a_very_long_company_name_" * 6  # 150 characters: Postgres enforces the column's width
    store.create_org("long_org_1", long_key.replace("_", " "), long_key, "free")
    for index in range(4):
        store.create_org(f"pag{index}_slug", f"Pag {index}", f"pag{index}", "free")
    assert store.find_by_company_key(long_key) is not None
    assert len(iter_orgs(store, page=2)) == 5 and len(iter_orgs(store, status="active", page=3)) == 5
