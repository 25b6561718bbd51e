"""Members: valid email and role, and never more than the plan's seats."""

from __future__ import annotations

import pytest

from cloudact.control_plane import MemberExistsError, get_control_plane
from cloudact.members import SeatLimitError, add_member
from cloudact.settings import Settings


def test_seats_roles_and_emails(settings: Settings) -> None:
    store = get_control_plane(settings)
    store.create_org("acme_abc123", "Acme", "acme", "free")  # 2 seats
    add_member(store, "acme_abc123", "ann@acme.example", "owner")
    with pytest.raises(ValueError, match="not an email"):
        add_member(store, "acme_abc123", "bob at acme", "member")
    with pytest.raises(ValueError, match="unknown role 'boss'"):
        add_member(store, "acme_abc123", "bob@acme.example", "boss")
    with pytest.raises(MemberExistsError):
        add_member(store, "acme_abc123", "ANN@acme.example", "admin")
    add_member(store, "acme_abc123", "bob@acme.example", "viewer")
    with pytest.raises(SeatLimitError, match="all 2 seats of the free plan"):
        add_member(store, "acme_abc123", "cy@acme.example")
    assert [m.email for m in store.list_members("acme_abc123")] == ["ann@acme.example", "bob@acme.example"]
