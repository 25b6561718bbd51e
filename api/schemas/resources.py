"""Models of the hierarchy and SaaS-subscription routes."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, Field


class TagRule(BaseModel):
    tag_key: str = Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.:/@ +=-]+$")
    tag_values: list[str] = Field(min_length=1, max_length=200)


class NodeIn(BaseModel):
    level: Literal["department", "project", "team"]
    name: str = Field(min_length=1, max_length=200)
    parent_id: str | None = Field(default=None, max_length=64)
    tag_rules: list[TagRule] = Field(default_factory=list, max_length=100)


class NodePatch(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    tag_rules: list[TagRule] | None = Field(default=None, max_length=100)


class NodeOut(BaseModel):
    node_id: str
    parent_id: str | None
    level: str
    name: str
    tag_rules: list[TagRule]
    created_at: datetime
    updated_at: datetime


class NodeList(BaseModel):
    items: list[NodeOut]
    limit: int
    offset: int


class SubscriptionIn(BaseModel):
    provider: str = Field(min_length=1, max_length=100, examples=["Slack"])
    plan: str = Field(min_length=1, max_length=100, examples=["Business+"])
    seats: int = Field(ge=1, le=1_000_000)
    unit_price: Decimal = Field(ge=0, max_digits=18, decimal_places=6, description="Per seat per billing cycle")
    currency: str = Field(pattern=r"^[A-Z]{3}$", examples=["USD"])
    billing_cycle: Literal["monthly", "annual"]
    start_date: date
    end_date: date | None = None
    hierarchy_node_id: str | None = Field(default=None, max_length=64)
    billing_timing: Literal["advance", "arrears"] = Field(
        default="advance", description="Invoiced on a cycle's first day (advance) or after its last day (arrears)"
    )


class SubscriptionPatch(BaseModel):
    plan: str | None = Field(default=None, min_length=1, max_length=100)
    seats: int | None = Field(default=None, ge=1, le=1_000_000)
    unit_price: Decimal | None = Field(default=None, ge=0, max_digits=18, decimal_places=6)
    end_date: date | None = None
    hierarchy_node_id: str | None = Field(default=None, max_length=64)
    billing_timing: Literal["advance", "arrears"] | None = None


class SubscriptionOut(BaseModel):
    subscription_id: str
    provider: str
    plan: str
    seats: int
    unit_price: str = Field(description="Decimal as a string")
    currency: str
    billing_cycle: str
    billing_timing: str
    start_date: date
    end_date: date | None
    hierarchy_node_id: str | None
    status: str
    created_at: datetime
    updated_at: datetime


class SubscriptionList(BaseModel):
    items: list[SubscriptionOut]
    limit: int
    offset: int


class AgreementIn(BaseModel):
    provider: str = Field(min_length=1, max_length=100, examples=["Acme Co"])
    service_name: str = Field(min_length=1, max_length=100, examples=["AwesomeDB"])
    sku_id: str = Field(min_length=1, max_length=100, examples=["U-123"])
    usage_unit: str = Field(min_length=1, max_length=100, examples=["Server Hours"])
    list_unit_price: Decimal = Field(ge=0, max_digits=18, decimal_places=6, description="Per usage unit")
    contracted_unit_price: Decimal = Field(ge=0, max_digits=18, decimal_places=6, description="Per usage unit")
    commitment_amount: Decimal = Field(gt=0, max_digits=18, decimal_places=2, description="Committed spend, whole term")
    monthly_minimum: Decimal | None = Field(
        default=None, ge=0, max_digits=18, decimal_places=2, description="Spend owed each month (unused fee below it)"
    )
    prepaid: bool = Field(default=False, description="The commitment is invoiced up front and drawn down")
    currency: str = Field(pattern=r"^[A-Z]{3}$", examples=["USD"])
    start_date: date = Field(description="First day of a month")
    end_date: date = Field(description="First day of a month, exclusive")
    hierarchy_node_id: str | None = Field(default=None, max_length=64)


class AgreementOut(BaseModel):
    agreement_id: str
    provider: str
    service_name: str
    sku_id: str
    usage_unit: str
    list_unit_price: str = Field(description="Decimal as a string")
    contracted_unit_price: str = Field(description="Decimal as a string")
    commitment_amount: str = Field(description="Decimal as a string")
    monthly_minimum: str | None = Field(description="Decimal as a string")
    prepaid: bool
    currency: str
    start_date: date
    end_date: date
    hierarchy_node_id: str | None
    status: str
    created_at: datetime
    updated_at: datetime


class AgreementList(BaseModel):
    items: list[AgreementOut]
    limit: int
    offset: int


class UsageIn(BaseModel):
    quantity: Decimal = Field(ge=0, max_digits=24, decimal_places=6, description="Usage units consumed in the month")


class UsageOut(BaseModel):
    agreement_id: str
    usage_month: date
    quantity: str = Field(description="Decimal as a string")
    updated_at: datetime


class UsageList(BaseModel):
    items: list[UsageOut]
