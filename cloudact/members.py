"""Org members within the plan's seats, with one of four roles."""

from __future__ import annotations

import re

from cloudact.control_plane import MEMBER_ROLES, ControlPlaneError, ControlPlaneStore, Member

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class SeatLimitError(ControlPlaneError):
    """Every seat of the plan is taken (HTTP 409)."""


def add_member(control_plane: ControlPlaneStore, org_slug: str, email: str, role: str = "member") -> Member:
    """Add a member if the email and role are valid and a seat is free.

    Raises:
        ValueError: If the email or role is invalid.
        SeatLimitError: If the plan's seats are all taken.
        MemberExistsError: If the email is already a member.
    """
    if not EMAIL.fullmatch(email.strip()):
        raise ValueError(f"{email!r} is not an email address")
    if role not in MEMBER_ROLES:
        raise ValueError(f"unknown role {role!r}: expected one of {', '.join(MEMBER_ROLES)}")
    org = control_plane.get_org(org_slug)
    taken = len(control_plane.list_members(org.org_slug))
    if taken >= org.limit_seats:
        raise SeatLimitError(f"all {org.limit_seats} seats of the {org.plan} plan are taken; upgrade for more")
    return control_plane.add_member(org.org_slug, email, role)
