"""Deterministic Azure Cost Management exports: EA/MCA ActualCost + AmortizedCost and FocusCost, with manifests.

One billing month of one scope is generated as neutral charges, then rendered as the datasets Cost Management
writes (column sets from azure.md §2/§5: EA c360 PascalCase, MCA camelCase, FocusCost 1.0r2 / 1.2), in CSV,
CSV.gz or Parquet, split into parts of ``chunk_rows`` rows, each run with its ``manifest.json``. Rows are produced
lazily, so a million-row month streams with flat memory.

Every month holds, besides ``usage_rows`` on-demand VM rows: a reservation (purchase, covered usage, unused
remainder), a savings plan (same), a refund of an earlier reservation, tax, a marketplace purchase and Azure OpenAI
token usage (input and output). Amounts are exact decimals, so totals reconcile to the cent:
``sum(ActualCost) = sum(FocusCost BilledCost)`` and ``sum(AmortizedCost) = sum(FocusCost EffectiveCost)``.

Usage: python -m bench.generators.azure OUT_DIR [--schema ea|mca] [--rows N] [--format csv|csv.gz|parquet]
"""

from __future__ import annotations

import argparse
import csv
import gzip
import io
import json
import random
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

import pyarrow as pa
import pyarrow.parquet as pq

Schema = Literal["ea", "mca"]
Kind = Literal["actual", "amortized", "focus"]
Format = Literal["csv", "csv.gz", "parquet"]

EXPORT_TYPES = {"actual": "ActualCost", "amortized": "AmortizedCost", "focus": "FocusCost"}
RESERVATION_ORDER = "/providers/Microsoft.Capacity/reservationOrders/ro-{n}"
SAVINGS_PLAN_ORDER = "/providers/Microsoft.BillingBenefits/savingsPlanOrders/spo-{n}"

EA_COLUMNS = [
    "BillingAccountId", "BillingAccountName", "BillingPeriodStartDate", "BillingPeriodEndDate", "BillingProfileId",
    "BillingProfileName", "AccountOwnerId", "AccountName", "SubscriptionId", "SubscriptionName", "Date", "Product",
    "PartNumber", "MeterId", "ServiceFamily", "MeterCategory", "MeterSubCategory", "MeterRegion", "MeterName",
    "Quantity", "EffectivePrice", "Cost", "UnitPrice", "BillingCurrency", "ResourceLocation", "AvailabilityZone",
    "ConsumedService", "ResourceId", "ResourceName", "ServiceInfo1", "ServiceInfo2", "AdditionalInfo", "Tags",
    "InvoiceSectionId", "InvoiceSection", "CostCenter", "UnitOfMeasure", "ResourceGroup", "ReservationId",
    "ReservationName", "ProductOrderId", "ProductOrderName", "OfferId", "IsAzureCreditEligible", "Term",
    "PublisherName", "PlanName", "ChargeType", "Frequency", "PublisherType", "PayGPrice", "PricingModel",
    "CostAllocationRuleName", "benefitId", "benefitName",
]  # fmt: skip
MCA_COLUMNS = [
    "invoiceId", "previousInvoiceId", "billingAccountId", "billingAccountName", "billingProfileId",
    "billingProfileName", "invoiceSectionId", "invoiceSectionName", "billingPeriodStartDate", "billingPeriodEndDate",
    "servicePeriodStartDate", "servicePeriodEndDate", "date", "serviceFamily", "productOrderId", "productOrderName",
    "consumedService", "meterId", "meterName", "meterCategory", "meterSubCategory", "meterRegion", "ProductId",
    "ProductName", "SubscriptionId", "subscriptionName", "publisherType", "publisherName", "resourceGroupName",
    "ResourceId", "resourceLocation", "location", "effectivePrice", "quantity", "unitOfMeasure", "chargeType",
    "billingCurrency", "pricingCurrency", "costInBillingCurrency", "costInPricingCurrency", "costInUsd",
    "paygCostInBillingCurrency", "paygCostInUsd", "exchangeRatePricingToBilling", "exchangeRateDate",
    "isAzureCreditEligible", "serviceInfo1", "serviceInfo2", "additionalInfo", "tags", "PayGPrice", "frequency",
    "term", "reservationId", "reservationName", "pricingModel", "unitPrice", "costAllocationRuleName", "benefitId",
    "benefitName",
]  # fmt: skip
FOCUS_1_0_COLUMNS = [
    "BilledCost", "BillingAccountId", "BillingAccountName", "BillingAccountType", "BillingCurrency",
    "BillingPeriodEnd", "BillingPeriodStart", "ChargeCategory", "ChargeClass", "ChargeDescription", "ChargeFrequency",
    "ChargePeriodEnd", "ChargePeriodStart", "CommitmentDiscountCategory", "CommitmentDiscountId",
    "CommitmentDiscountName", "CommitmentDiscountStatus", "CommitmentDiscountType", "ConsumedQuantity",
    "ConsumedUnit", "ContractedCost", "ContractedUnitPrice", "EffectiveCost", "InvoiceIssuerName", "ListCost",
    "ListUnitPrice", "PricingCategory", "PricingQuantity", "PricingUnit", "ProviderName", "PublisherName", "RegionId",
    "RegionName", "ResourceId", "ResourceName", "ResourceType", "ServiceCategory", "ServiceName", "SkuId",
    "SkuPriceId", "SubAccountId", "SubAccountName", "SubAccountType", "Tags", "x_AccountName", "x_BilledCostInUsd",
    "x_BillingExchangeRate", "x_BillingProfileId", "x_BillingProfileName", "x_EffectiveCostInUsd", "x_InvoiceId",
    "x_InvoiceSectionName", "x_PricingBlockSize", "x_PricingCurrency", "x_PricingUnitDescription",
    "x_PublisherCategory", "x_ResourceGroupName", "x_ResourceType", "x_SkuMeterCategory", "x_SkuMeterId",
    "x_SkuMeterName", "x_SkuMeterSubcategory", "x_SkuOfferId", "x_SkuPartNumber", "x_SkuTerm",
]  # fmt: skip
FOCUS_1_2_EXTRA = [
    "AvailabilityZone", "CapacityReservationId", "CapacityReservationStatus", "CommitmentDiscountQuantity",
    "CommitmentDiscountUnit", "InvoiceId", "PricingCurrency", "PricingCurrencyContractedUnitPrice",
    "PricingCurrencyEffectiveCost", "PricingCurrencyListUnitPrice", "ServiceSubcategory", "SkuMeter",
    "SkuPriceDetails",
]  # fmt: skip
FOCUS_DECIMALS = {
    "BilledCost", "EffectiveCost", "ListCost", "ContractedCost", "ListUnitPrice", "ContractedUnitPrice",
    "PricingQuantity", "ConsumedQuantity", "CommitmentDiscountQuantity", "PricingCurrencyContractedUnitPrice",
    "PricingCurrencyEffectiveCost", "PricingCurrencyListUnitPrice", "x_BilledCostInUsd", "x_EffectiveCostInUsd",
    "x_BillingExchangeRate", "x_PricingBlockSize",
}  # fmt: skip
FOCUS_TIMESTAMPS = {"BillingPeriodStart", "BillingPeriodEnd", "ChargePeriodStart", "ChargePeriodEnd"}
COST_DECIMALS = {
    "Quantity", "EffectivePrice", "Cost", "UnitPrice", "PayGPrice", "quantity", "effectivePrice",
    "costInBillingCurrency", "costInPricingCurrency", "costInUsd", "paygCostInBillingCurrency", "paygCostInUsd",
    "exchangeRatePricingToBilling", "unitPrice",
}  # fmt: skip
COST_DATES = {
    "BillingPeriodStartDate", "BillingPeriodEndDate", "Date", "billingPeriodStartDate", "billingPeriodEndDate",
    "servicePeriodStartDate", "servicePeriodEndDate", "date", "exchangeRateDate",
}  # fmt: skip


# FocusCost PricingUnit as Microsoft derives it from UnitOfMeasure (FinOps toolkit PricingUnits.csv).
PRICING_UNITS = {"1 Hour": "Hours", "1/Month": "Units/Month", "1K": "1000 Units"}


@dataclass(frozen=True)
class Account:
    """The scope a month is generated for (EA: billing account; MCA: billing profile in EUR priced in USD)."""

    schema: Schema = "ea"
    billing_account_id: str = "8611537"
    billing_profile_id: str = "AB12-CD34-BG7-TGB"
    name: str = "Contoso"
    currency: str = "USD"
    exchange_rate: Decimal = Decimal(1)
    subscription_id: str = "00000000-0000-0000-0000-0000000000a1"

    @property
    def scope_id(self) -> str:
        """FOCUS BillingAccountId: the EA billing account, the MCA billing profile."""
        return self.billing_profile_id if self.schema == "mca" else self.billing_account_id

    @property
    def resource_id(self) -> str:
        """The export's scope as Cost Management writes it in ``exportConfig.resourceId``."""
        base = f"/providers/Microsoft.Billing/billingAccounts/{self.billing_account_id}"
        return base + (f"/billingProfiles/{self.billing_profile_id}" if self.schema == "mca" else "")


def mca_account(**values: Any) -> Account:
    """An MCA billing profile billed in EUR, priced in USD at 0.9 EUR per USD."""
    return Account(**({"schema": "mca", "billing_account_id": "ba-1:mca", "currency": "EUR",
                       "exchange_rate": Decimal("0.9")} | values))  # fmt: skip


@dataclass
class Charge:
    """One neutral charge; ``actual``/``amortized`` say in which dataset it appears and with what cost."""

    day: date
    charge_type: str
    pricing_model: str
    frequency: str
    meter_category: str
    meter_sub_category: str
    meter_name: str
    meter_id: str
    product: str
    part_number: str
    consumed_service: str
    resource_type: str
    resource_id: str
    unit_of_measure: str
    block_size: int
    quantity: Decimal
    unit_price: Decimal  # contracted, pricing currency
    payg_price: Decimal  # list, pricing currency
    actual: Decimal | None  # billing-currency cost in ActualCost (None: not in ActualCost)
    amortized: Decimal | None  # billing-currency cost in AmortizedCost (None: not in AmortizedCost)
    location: str = "westeurope"
    publisher_type: str = "Microsoft"
    publisher_name: str = "Microsoft"
    benefit_id: str = ""
    benefit_name: str = ""
    term: str = ""
    tags: dict[str, str] = field(default_factory=dict)
    key: str = ""


@dataclass(frozen=True)
class Month:
    """The month to generate: ``usage_rows`` on-demand VM rows plus the fixed scenario rows."""

    year: int = 2026
    month: int = 3
    usage_rows: int = 6
    seed: int = 7

    @property
    def start(self) -> date:
        """First day."""
        return date(self.year, self.month, 1)

    @property
    def end(self) -> date:
        """Last day (inclusive, as Azure writes it)."""
        following = date(self.year + self.month // 12, self.month % 12 + 1, 1)
        return following - timedelta(days=1)


def charges(account: Account, month: Month) -> Iterator[Charge]:
    """The month's charges, scenario rows first, then ``usage_rows`` on-demand VM rows (lazily)."""
    rate = account.exchange_rate
    sub = f"/subscriptions/{account.subscription_id}/resourceGroups/rg-app/providers"
    vm = dict(
        meter_category="Virtual Machines", meter_sub_category="Dsv3 Series", meter_name="D2s v3", meter_id="m-d2s",
        product="Virtual Machines Dsv3 Series - D2s v3 - EU West", part_number="AAA-12345",
        consumed_service="Microsoft.Compute", resource_type="microsoft.compute/virtualmachines",
        unit_of_measure="1 Hour", block_size=1,
    )  # fmt: skip
    reservation = RESERVATION_ORDER.format(n=1) + "/reservations/r-1"
    savings_plan = SAVINGS_PLAN_ORDER.format(n=1) + "/savingsPlans/sp-1"
    day1, day2 = month.start, month.start + timedelta(days=1)
    # Reservation: 72 paid up front this month, 40 of it covers usage, 32 is unused.
    yield Charge(day1, "Purchase", "Reservation", "Recurring", **(vm | dict(consumed_service="Microsoft.Capacity",
                 resource_type="microsoft.capacity/reservationorders", resource_id=reservation)),
                 quantity=Decimal(1), unit_price=Decimal(72), payg_price=Decimal(80), actual=Decimal(72) * rate,
                 amortized=None, benefit_id=reservation, benefit_name="RI D2s", term="P1Y",
                 key="reservation-purchase")  # fmt: skip
    yield Charge(day2, "Usage", "Reservation", "UsageBased", **vm,
                 resource_id=f"{sub}/Microsoft.Compute/virtualMachines/vm-ri",
                 quantity=Decimal(480), unit_price=Decimal("0.1"), payg_price=Decimal("0.1"), actual=Decimal(0),
                 amortized=Decimal(40) * rate, benefit_id=reservation, benefit_name="RI D2s", term="P1Y",
                 tags={"env": "prod"}, key="reservation-covered")  # fmt: skip
    yield Charge(day2, "UnusedReservation", "Reservation", "UsageBased", **vm, resource_id=reservation,
                 quantity=Decimal(320), unit_price=Decimal("0.1"), payg_price=Decimal("0.1"), actual=None,
                 amortized=Decimal(32) * rate, benefit_id=reservation, benefit_name="RI D2s", term="P1Y",
                 key="reservation-unused")  # fmt: skip
    # Savings plan: 50 billed this month, 30 covers usage, 20 is unused.
    yield Charge(day1, "Purchase", "SavingsPlan", "Recurring", **(vm | dict(
                 consumed_service="Microsoft.BillingBenefits",
                 resource_type="microsoft.billingbenefits/savingsplanorders", resource_id=savings_plan)),
                 quantity=Decimal(1), unit_price=Decimal(50), payg_price=Decimal(50), actual=Decimal(50) * rate,
                 amortized=None, benefit_id=savings_plan, benefit_name="SP compute", term="P3Y",
                 key="savings-plan-purchase")  # fmt: skip
    yield Charge(day2, "Usage", "SavingsPlan", "UsageBased", **vm,
                 resource_id=f"{sub}/Microsoft.Compute/virtualMachines/vm-sp",
                 quantity=Decimal(360), unit_price=Decimal("0.1"), payg_price=Decimal("0.1"), actual=Decimal(0),
                 amortized=Decimal(30) * rate, benefit_id=savings_plan, benefit_name="SP compute", term="P3Y",
                 key="savings-plan-covered")  # fmt: skip
    yield Charge(day2, "UnusedSavingsPlan", "SavingsPlan", "UsageBased", **vm, resource_id=savings_plan,
                 quantity=Decimal(1), unit_price=Decimal(20), payg_price=Decimal(20), actual=None,
                 amortized=Decimal(20) * rate, benefit_id=savings_plan, benefit_name="SP compute", term="P3Y",
                 key="savings-plan-unused")  # fmt: skip
    # A refund of an earlier month's reservation (a correction of a purchase invoiced before).
    old = RESERVATION_ORDER.format(n=0) + "/reservations/r-0"
    yield Charge(month.start + timedelta(days=14), "Refund", "Reservation", "OneTime", **(vm | dict(
                 consumed_service="Microsoft.Capacity", resource_type="microsoft.capacity/reservationorders",
                 resource_id=old)), quantity=Decimal(-1), unit_price=Decimal(10), payg_price=Decimal(10),
                 actual=Decimal(-10) * rate, amortized=None, benefit_id=old, benefit_name="RI old", term="P1Y",
                 key="refund")  # fmt: skip
    # A marketplace SaaS plan bought through Azure: the vendor sells it, Microsoft invoices it.
    yield Charge(day1, "Purchase", "OnDemand", "Recurring", meter_category="SaaS", meter_sub_category="Contoso Data",
                 meter_name="Seat", meter_id="m-saas", product="Contoso Data Platform - Seat", part_number="",
                 consumed_service="Microsoft.SaaS", resource_type="microsoft.saas/resources",
                 resource_id=f"/subscriptions/{account.subscription_id}/providers/Microsoft.SaaS/resources/contoso",
                 unit_of_measure="1/Month", block_size=1, quantity=Decimal(1), unit_price=Decimal(10),
                 payg_price=Decimal(10), actual=Decimal(10) * rate, amortized=Decimal(10) * rate,
                 publisher_type="Marketplace", publisher_name="Contoso Data", tags={"team": "data"},
                 key="marketplace")  # fmt: skip
    # Azure OpenAI tokens, priced per 1K: input and output of gpt-4o 0513, global deployment.
    openai = f"{sub}/Microsoft.CognitiveServices/accounts/oai-1"
    for direction, price, blocks in (("Input", Decimal("0.0025"), Decimal("1234.5")),
                                     ("Output", Decimal("0.01"), Decimal("321.25"))):  # fmt: skip
        cost = blocks * price * rate
        yield Charge(day2, "Usage", "OnDemand", "UsageBased", meter_category="Azure OpenAI",
                     meter_sub_category=f"gpt 4o 0513 {direction} global Tokens",
                     meter_name=f"gpt-4o-0513-{direction}-glbl", meter_id=f"m-gpt4o-{direction.lower()}",
                     product=f"Azure OpenAI - gpt-4o-0513-{direction}-glbl", part_number="",
                     consumed_service="Microsoft.CognitiveServices",
                     resource_type="microsoft.cognitiveservices/accounts", resource_id=openai,
                     unit_of_measure="1K", block_size=1000, quantity=blocks, unit_price=price, payg_price=price,
                     actual=cost, amortized=cost, location="eastus", tags={"app": "chat"},
                     key=f"openai-{direction.lower()}")  # fmt: skip
    yield Charge(month.end, "Tax", "OnDemand", "OneTime", meter_category="", meter_sub_category="", meter_name="",
                 meter_id="", product="Tax", part_number="", consumed_service="", resource_type="", resource_id="",
                 unit_of_measure="", block_size=1, quantity=Decimal(0), unit_price=Decimal(0), payg_price=Decimal(0),
                 actual=Decimal("4.2") * rate, amortized=Decimal("4.2") * rate, location="", key="tax")  # fmt: skip
    rng = random.Random(month.seed)
    days = (month.end - month.start).days + 1
    for index in range(month.usage_rows):
        hours = Decimal(rng.randint(1, 96)) / 4
        cost = hours * Decimal("0.1") * rate
        yield Charge(month.start + timedelta(days=index % days), "Usage", "OnDemand", "UsageBased", **vm,
                     resource_id=f"{sub}/Microsoft.Compute/virtualMachines/vm-{index % 500}", quantity=hours,
                     unit_price=Decimal("0.1"), payg_price=Decimal("0.1"), actual=cost, amortized=cost,
                     tags={"env": "prod" if index % 2 else "dev", "n": str(index % 7)}, key=f"vm-{index}")  # fmt: skip


def _us(day: date) -> str:
    return day.strftime("%m/%d/%Y")


def _text(value: Decimal) -> str:
    return format(value.normalize(), "f") if value else "0"


def cost_row(account: Account, month: Month, charge: Charge, kind: Kind) -> dict[str, Any]:
    """A charge as an ActualCost or AmortizedCost row of the account's schema (values as Python objects)."""
    cost = charge.actual if kind == "actual" else charge.amortized
    assert cost is not None
    rate = account.exchange_rate
    tags = ",".join(f'"{key}": "{value}"' for key, value in charge.tags.items())
    benefit = charge.benefit_id if charge.pricing_model in ("Reservation", "SavingsPlan") else ""
    common = {
        "Date": charge.day, "MeterId": charge.meter_id, "MeterCategory": charge.meter_category,
        "MeterSubCategory": charge.meter_sub_category, "MeterName": charge.meter_name,
        "Quantity": charge.quantity, "UnitPrice": charge.unit_price, "PayGPrice": charge.payg_price,
        "EffectivePrice": (cost / charge.quantity / rate) if charge.quantity else Decimal(0),
        "ConsumedService": charge.consumed_service, "ResourceId": charge.resource_id,
        "UnitOfMeasure": charge.unit_of_measure, "ChargeType": charge.charge_type, "Frequency": charge.frequency,
        "PricingModel": charge.pricing_model, "PublisherType": charge.publisher_type,
        "PublisherName": charge.publisher_name, "Term": charge.term, "benefitId": benefit,
        "benefitName": charge.benefit_name if benefit else "", "Tags": tags,
        "ResourceLocation": charge.location, "SubscriptionId": account.subscription_id,
        "SubscriptionName": "prod", "BillingCurrency": account.currency, "AdditionalInfo": charge.key,
        "BillingPeriodStartDate": month.start, "BillingPeriodEndDate": month.end,
    }  # fmt: skip
    if account.schema == "ea":
        return common | {
            "BillingAccountId": account.billing_account_id, "BillingAccountName": account.name,
            "Product": charge.product, "PartNumber": charge.part_number, "Cost": cost, "ResourceGroup": "rg-app",
            "ResourceName": charge.resource_id.rsplit("/", 1)[-1] if charge.resource_id else "",
            "ReservationId": charge.benefit_id.rsplit("/", 1)[-1] if "Capacity" in charge.benefit_id else "",
            "ReservationName": charge.benefit_name if "Capacity" in charge.benefit_id else "",
            "IsAzureCreditEligible": "True", "OfferId": "MS-AZR-0017P",
        }  # fmt: skip
    lower = {
        key[0].lower() + key[1:]: value for key, value in common.items() if key not in ("benefitId", "benefitName")
    }
    return lower | {
        "benefitId": benefit, "benefitName": common["benefitName"], "invoiceId": "G012345678",
        "billingAccountId": account.billing_account_id, "billingAccountName": account.name,
        "billingProfileId": account.billing_profile_id, "billingProfileName": f"{account.name} EU",
        "invoiceSectionId": "is-1", "invoiceSectionName": "Platform",
        "ProductId": charge.part_number or charge.meter_id,
        "ProductName": charge.product, "SubscriptionId": account.subscription_id, "ResourceId": charge.resource_id,
        "PayGPrice": charge.payg_price, "resourceGroupName": "rg-app", "pricingCurrency": "USD",
        "costInBillingCurrency": cost, "costInPricingCurrency": cost / rate, "costInUsd": cost / rate,
        "exchangeRatePricingToBilling": rate, "exchangeRateDate": month.start,
    }  # fmt: skip


def focus_row(account: Account, month: Month, charge: Charge, version: str = "1.2") -> dict[str, Any] | None:
    """A charge as a FocusCost row (Microsoft's conversion: amortized rows plus commitment purchases/refunds)."""
    commitment = charge.pricing_model in ("Reservation", "SavingsPlan")
    purchase = charge.charge_type in ("Purchase", "Refund")
    if charge.amortized is None and not (commitment and purchase):
        return None
    rate = account.exchange_rate
    cost = charge.actual if (commitment and purchase) else charge.amortized
    assert cost is not None
    billed = (
        Decimal(0) if commitment and charge.charge_type in ("Usage", "UnusedReservation", "UnusedSavingsPlan") else cost
    )
    effective = Decimal(0) if commitment and purchase else cost
    category = {"UnusedReservation": "Usage", "UnusedSavingsPlan": "Usage", "Refund": "Purchase"}.get(
        charge.charge_type, charge.charge_type
    )
    priced = category in ("Usage", "Purchase")
    start = datetime(charge.day.year, charge.day.month, charge.day.day)
    reservation = "capacity" in charge.benefit_id.lower()
    row: dict[str, Any] = {
        "BilledCost": billed, "EffectiveCost": effective, "BillingAccountId": account.scope_id,
        "BillingAccountName": account.name, "BillingCurrency": account.currency,
        "BillingAccountType": "Billing Profile" if account.schema == "mca" else "Billing Account",
        "BillingPeriodStart": datetime(month.year, month.month, 1),
        "BillingPeriodEnd": datetime.combine(month.end + timedelta(days=1), datetime.min.time()),
        "ChargeCategory": category, "ChargeClass": "Correction" if charge.charge_type == "Refund" else None,
        "ChargeDescription": charge.product,
        "ChargeFrequency": {"UsageBased": "Usage-Based", "OneTime": "One-Time"}.get(charge.frequency, charge.frequency),
        "ChargePeriodStart": start, "ChargePeriodEnd": start + timedelta(days=1),
        "CommitmentDiscountCategory": ("Usage" if reservation else "Spend") if commitment else None,
        "CommitmentDiscountId": charge.benefit_id if commitment else None,
        "CommitmentDiscountName": charge.benefit_name if commitment else None,
        "CommitmentDiscountStatus": (("Unused" if charge.charge_type.startswith("Unused") else "Used")
                                     if commitment and category == "Usage" else None),
        "CommitmentDiscountType": ("Reservation" if reservation else "Savings Plan") if commitment else None,
        "ConsumedQuantity": charge.quantity * charge.block_size if charge.charge_type == "Usage" else None,
        "ConsumedUnit": ("Hours" if charge.block_size == 1 else "Tokens") if charge.charge_type == "Usage" else None,
        "ListUnitPrice": charge.payg_price * rate if priced else None,
        "ContractedUnitPrice": charge.unit_price * rate if priced else None,
        "ListCost": charge.payg_price * rate * charge.quantity if priced else cost,
        "ContractedCost": charge.unit_price * rate * charge.quantity if priced else cost,
        "InvoiceIssuerName": "Microsoft", "ProviderName": "Microsoft", "PublisherName": charge.publisher_name,
        "PricingCategory": ("Committed" if commitment and category == "Usage" else "Standard") if priced else None,
        "PricingQuantity": charge.quantity if priced else None,
        "PricingUnit": PRICING_UNITS.get(charge.unit_of_measure, charge.unit_of_measure) if priced else None,
        "RegionId": charge.location or None, "RegionName": charge.location.title() if charge.location else None,
        "ResourceId": charge.resource_id or None,
        "ResourceName": charge.resource_id.rsplit("/", 1)[-1] if charge.resource_id else None,
        "ResourceType": charge.resource_type or None, "ServiceCategory": "Compute",
        "ServiceName": charge.meter_category or "Tax",
        "SkuId": (charge.part_number or charge.meter_id) or None,
        "SkuPriceId": f"{charge.meter_id}/{charge.pricing_model}" if priced else None,
        "SubAccountId": account.subscription_id, "SubAccountName": "prod", "SubAccountType": "Subscription",
        "Tags": json.dumps(charge.tags) if charge.tags else None,
        "x_AccountName": account.name if account.schema == "ea" else None, "x_BilledCostInUsd": billed / rate,
        "x_BillingExchangeRate": rate, "x_BillingProfileId": account.billing_profile_id,
        "x_BillingProfileName": f"{account.name} EU", "x_EffectiveCostInUsd": effective / rate,
        "x_InvoiceId": "G012345678" if account.schema == "mca" else None, "x_InvoiceSectionName": "Platform",
        "x_PricingBlockSize": Decimal(charge.block_size), "x_PricingCurrency": "USD",
        "x_PricingUnitDescription": charge.unit_of_measure or None,
        "x_PublisherCategory": "Vendor" if charge.publisher_type == "Marketplace" else "Cloud Provider",
        "x_ResourceGroupName": "rg-app" if charge.resource_id.startswith("/subscriptions/") else None,
        "x_ResourceType": charge.resource_type or None, "x_SkuMeterCategory": charge.meter_category or None,
        "x_SkuMeterId": charge.meter_id or None, "x_SkuMeterName": charge.meter_name or None,
        "x_SkuMeterSubcategory": charge.meter_sub_category or None, "x_SkuOfferId": "MS-AZR-0017P",
        "x_SkuPartNumber": charge.part_number or None, "x_SkuTerm": charge.term or None,
        "AdditionalKey": charge.key,
    }  # fmt: skip
    if version.startswith("1.2"):
        row |= {
            "AvailabilityZone": None, "CapacityReservationId": None, "CapacityReservationStatus": None,
            "CommitmentDiscountQuantity": None, "CommitmentDiscountUnit": None,
            "InvoiceId": "G012345678" if account.schema == "mca" else None, "PricingCurrency": "USD",
            "PricingCurrencyContractedUnitPrice": charge.unit_price if priced else None,
            "PricingCurrencyEffectiveCost": effective / rate,
            "PricingCurrencyListUnitPrice": charge.payg_price if priced else None,
            "ServiceSubcategory": "Virtual Machines", "SkuMeter": charge.meter_name or None,
            "SkuPriceDetails": json.dumps({"MeterRegion": charge.location}) if priced and charge.location else None,
        }  # fmt: skip
    return row


def rows(account: Account, month: Month, kind: Kind, version: str = "1.2") -> Iterator[dict[str, Any]]:
    """The rows of one dataset (``actual``, ``amortized`` or ``focus``), lazily."""
    for charge in charges(account, month):
        if kind == "focus":
            row = focus_row(account, month, charge, version)
            if row is not None:
                yield row
        elif (charge.actual if kind == "actual" else charge.amortized) is not None:
            yield cost_row(account, month, charge, kind)


def columns_of(account: Account, kind: Kind, version: str = "1.2") -> list[str]:
    """The header of a dataset as Cost Management writes it."""
    if kind == "focus":
        extra = FOCUS_1_2_EXTRA if version.startswith("1.2") else []
        return sorted(FOCUS_1_0_COLUMNS + extra, key=lambda name: (name.startswith("x_"), name))
    return MCA_COLUMNS if account.schema == "mca" else EA_COLUMNS


def _csv_value(value: Any, name: str) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return _text(value)
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, date):
        return _us(value)
    return str(value)


def _arrow_chunk(batch: list[dict[str, Any]], header: list[str]) -> pa.Table:
    arrays = {}
    for name in header:
        values = [row.get(name) for row in batch]
        if name in FOCUS_DECIMALS or name in COST_DECIMALS:
            arrays[name] = pa.array([None if v is None else Decimal(v).quantize(Decimal("1e-12")) for v in values],
                                    pa.decimal128(38, 12))  # fmt: skip
        elif name in FOCUS_TIMESTAMPS:
            arrays[name] = pa.array(values, pa.timestamp("ms", "UTC"))
        elif name in COST_DATES:
            arrays[name] = pa.array([v if isinstance(v, date) else None for v in values], pa.date32())
        else:
            arrays[name] = pa.array([None if v in (None, "") else str(v) for v in values], pa.string())
    return pa.table(arrays)


def _chunks(items: Iterable[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def write_export(
    root: Path,
    account: Account,
    month: Month,
    kind: Kind,
    file_format: Format = "csv",
    *,
    version: str = "1.2",
    chunk_rows: int = 100_000,
    submitted: datetime | None = None,
    export_name: str | None = None,
    row_filter: Any = None,
) -> Path:
    """Write one export run (parts + ``manifest.json``) as Cost Management lays it out; returns the run folder.

    Layout: ``root/<export name>/<YYYYMMDD-YYYYMMDD>/<run id>/<guid>/part_<n>_0001.<ext>``; the manifest lists
    every part in ``blobs[]`` as ``<container>/<path>``.

    Args:
        root: The container root folder.
        account: The scope.
        month: The month and its size.
        kind: ``actual``, ``amortized`` or ``focus``.
        file_format: ``csv``, ``csv.gz`` or ``parquet``.
        version: FocusCost ``dataVersion`` (``1.0r2`` or ``1.2``).
        chunk_rows: Rows per part file (the generator never holds more than one part in memory).
        submitted: The run's submitted time (default: the 16th of the month, 06:00 UTC); newer runs replace older.
        export_name: Default ``<schema>-<kind>``.
        row_filter: Optional ``(row) -> bool`` to drop rows (e.g. to restate a month with fewer rows).
    """
    submitted = submitted or datetime(month.year, month.month, 16, 6, 0)
    export_name = export_name or f"{account.schema}-{kind}"
    run_id = submitted.strftime("%Y%m%d%H%M")
    guid = str(uuid.UUID(int=random.Random(f"{export_name}{run_id}").getrandbits(128)))
    folder = root / export_name / f"{month.start:%Y%m%d}-{month.end:%Y%m%d}" / run_id / guid
    folder.mkdir(parents=True, exist_ok=True)
    header = columns_of(account, kind, version)
    source = rows(account, month, kind, version)
    if row_filter is not None:
        source = (row for row in source if row_filter(row))
    blobs, total = [], 0
    for number, batch in enumerate(_chunks(source, chunk_rows)):
        name = f"part_{number}_0001.{file_format}"
        path = folder / name
        if file_format == "parquet":
            pq.write_table(_arrow_chunk(batch, header), path, compression="snappy")
        else:
            buffer = io.StringIO()
            writer = csv.writer(buffer, lineterminator="\n")
            writer.writerow(header)
            writer.writerows([[_csv_value(row.get(name), name) for name in header] for row in batch])
            data = buffer.getvalue().encode("utf-8-sig")
            path.write_bytes(gzip.compress(data, mtime=0) if file_format == "csv.gz" else data)
        total += len(batch)
        blobs.append({"blobName": f"costs/{path.relative_to(root).as_posix()}", "byteCount": path.stat().st_size})
    manifest = {
        "manifestVersion": "2024-04-01",
        "byteCount": sum(blob["byteCount"] for blob in blobs),
        "blobCount": len(blobs),
        "dataRowCount": total,
        "exportConfig": {
            "exportName": export_name, "resourceId": account.resource_id,
            "dataVersion": version if kind == "focus" else "2023-12-01-preview", "apiVersion": "2023-07-01-preview",
            "type": EXPORT_TYPES[kind], "timeFrame": "MonthToDate", "granularity": "Daily",
        },
        "deliveryConfig": {
            "partitionData": True, "dataOverwriteBehavior": "CreateNewReport",
            "fileFormat": "Parquet" if file_format == "parquet" else "Csv",
            "containerUri": "/subscriptions/x/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/sa",
            "rootFolderPath": "",
        },
        "runInfo": {
            "executionType": "Scheduled", "submittedTime": submitted.isoformat() + "Z", "runId": run_id,
            "startDate": f"{month.start.isoformat()}T00:00:00", "endDate": f"{month.end.isoformat()}T00:00:00",
        },
        "blobs": blobs,
    }  # fmt: skip
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2))
    return folder


def expected_totals(account: Account, month: Month, kind: Kind, version: str = "1.2") -> tuple[int, Decimal, Decimal]:
    """(rows, sum of billed/actual cost, sum of effective/amortized cost) of what :func:`write_export` writes."""
    count, billed, effective = 0, Decimal(0), Decimal(0)
    for row in rows(account, month, kind, version):
        count += 1
        if kind == "focus":
            billed += row["BilledCost"]
            effective += row["EffectiveCost"]
        else:
            cost = row.get("Cost", row.get("costInBillingCurrency"))
            billed += cost
            effective += cost
    return count, billed, effective


def main() -> None:  # pragma: no cover - command line wrapper
    """Write Actual, Amortized and FocusCost runs of one month."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path)
    parser.add_argument("--schema", choices=["ea", "mca"], default="ea")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--format", choices=["csv", "csv.gz", "parquet"], default="parquet")
    parser.add_argument("--chunk-rows", type=int, default=250_000)
    args = parser.parse_args()
    account = mca_account() if args.schema == "mca" else Account()
    month = Month(usage_rows=args.rows)
    for kind in ("actual", "amortized", "focus"):
        write_export(args.out, account, month, kind, args.format, chunk_rows=args.chunk_rows)  # type: ignore[arg-type]


if __name__ == "__main__":  # pragma: no cover
    main()
