"""Models of the cost reads; money is a decimal string (exact), never a float."""

from __future__ import annotations

from datetime import date
from typing import Generic, TypeVar

from pydantic import BaseModel, Field

Money = str
Row = TypeVar("Row", bound=BaseModel)


class Totals(BaseModel):
    BillingCurrency: str
    BilledCost: Money = Field(description="Decimal as a string")
    EffectiveCost: Money
    rows: int


class SummaryRow(Totals):
    ListCost: Money | None
    ContractedCost: Money | None


class PeriodRow(Totals):
    period: date = Field(description="The day (granularity=day) or the billing month's first day")


class BreakdownRow(Totals):
    value: str | None = Field(description="The dimension's value (null: not set on those rows)")


class NodeRow(Totals):
    node_id: str | None = Field(description="null for the unallocated remainder")
    level: str
    name: str


class ResourceRow(Totals):
    ResourceId: str
    ResourceName: str | None
    x_Provider: str
    ServiceName: str | None


class GenAIRow(Totals):
    provider: str
    model: str | None
    token_type: str | None
    ConsumedUnit: str | None
    ConsumedQuantity: Money | None


class CostPage(BaseModel, Generic[Row]):
    data_version: int = Field(description="The org's data version the result was computed on (0: no data yet)")
    cached: bool
    items: list[Row]
