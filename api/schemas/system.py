"""Models of the system (root-key) routes and the Stripe webhook."""

from __future__ import annotations

from pydantic import BaseModel, Field

from cloudact.control_plane.plans import DEFAULT_PLAN


class BootstrapOut(BaseModel):
    created_tables: list[str]
    added_columns: list[str]
    type_mismatches: list[str]
    changed: bool


class OnboardIn(BaseModel):
    company_name: str = Field(min_length=1, max_length=200, examples=["Acme Corp"])
    plan: str = Field(default=DEFAULT_PLAN, examples=["starter"])
    owner_email: str | None = Field(default=None, max_length=320, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class OnboardOut(BaseModel):
    org_slug: str
    company_name: str
    plan: str
    dataset: str
    api_key: str = Field(description="Shown once; only its SHA-256 hash and an encrypted copy are stored")
    key_id: str


class RecoveredKeyOut(BaseModel):
    org_slug: str
    key_id: str
    api_key: str


class WebhookOut(BaseModel):
    event_id: str
    event_type: str
    outcome: str = Field(description="applied, ignored_out_of_order, linked, duplicate or ignored_type")
