"""OCI FOCUS reports (``FOCUS Reports/YYYY/MM/DD/<n>.csv.gz``) derived line by line from an OCI cost report.

Oracle's FOCUS reports mix FOCUS 1.0-preview names (``UsageQuantity``, ``UsageUnit``, ``Provider``, ``Publisher``,
``InvoiceIssuer``, ``Region``) with 1.1/1.2 columns and ``oci_*`` extensions (oci.md §4, after Oracle's
``focus2adw.py`` loader), write ``Usage-based`` for ChargeFrequency and leave PricingCategory/SkuPriceId empty.
This generator keeps those quirks so the reader and staging are tested against them. Deterministic.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
from collections.abc import Iterable
from decimal import Decimal
from pathlib import Path
from typing import Any

FOCUS_REPORT_COLUMNS = [
    "AvailabilityZone", "BilledCost", "BillingAccountId", "BillingAccountName", "BillingCurrency",
    "BillingPeriodEnd", "BillingPeriodStart", "ChargeCategory", "ChargeClass", "ChargeDescription",
    "ChargeFrequency", "ChargePeriodEnd", "ChargePeriodStart", "CommitmentDiscountCategory", "CommitmentDiscountId",
    "CommitmentDiscountName", "CommitmentDiscountType", "EffectiveCost", "InvoiceIssuer", "ListCost",
    "ListUnitPrice", "PricingCategory", "PricingQuantity", "PricingUnit", "Provider", "Publisher", "Region",
    "ResourceId", "ResourceName", "ResourceType", "ServiceCategory", "ServiceName", "SkuId", "SkuPriceId",
    "SubAccountId", "SubAccountName", "Tags", "UsageQuantity", "UsageUnit", "oci_ReferenceNumber",
    "oci_CompartmentId", "oci_CompartmentName", "oci_OverageFlag", "oci_UnitPriceOverage",
    "oci_BilledQuantityOverage", "oci_CostOverage", "oci_AttributedUsage", "oci_AttributedCost",
    "oci_BackReferenceNumber",
]  # fmt: skip
OCI_CATEGORIES = {"COMPUTE": "Compute", "BLOCK_STORAGE": "Storage", "DATABASE": "Databases", "NETWORK": "Networking"}


def _month_bounds(stamp: str) -> tuple[str, str]:
    year, month = int(stamp[:4]), int(stamp[5:7])
    following = f"{year + month // 12:04d}-{month % 12 + 1:02d}"
    return f"{stamp[:7]}-01T00:00:00.000Z", f"{following}-01T00:00:00.000Z"


def focus_line(line: dict[str, str], billing_account: str = "20209880") -> dict[str, Any]:
    """One cost report line (``reports/cost-csv`` header) as an OCI FOCUS report line."""
    start, end = _month_bounds(line["lineItem/intervalUsageStart"])
    quantity, price, cost = line["usage/billedQuantity"], line["cost/unitPrice"], line["cost/myCost"]
    priced = bool(quantity and price)
    tags = {key[len("tags/") :]: value for key, value in line.items() if key.startswith("tags/") and value}
    correction = line.get("lineItem/isCorrection", "").lower() == "true"
    resource = line["product/resourceId"]
    return {
        "AvailabilityZone": line["product/availabilityDomain"], "BilledCost": cost, "BillingAccountId": billing_account,
        "BillingAccountName": "", "BillingCurrency": line["cost/currencyCode"], "BillingPeriodEnd": end,
        "BillingPeriodStart": start, "ChargeCategory": "Usage" if Decimal(cost or 0) >= 0 or correction else "Credit",
        "ChargeClass": "Correction" if correction else "", "ChargeDescription": line["product/Description"],
        "ChargeFrequency": "Usage-based", "ChargePeriodEnd": line["lineItem/intervalUsageEnd"],
        "ChargePeriodStart": line["lineItem/intervalUsageStart"], "EffectiveCost": cost, "InvoiceIssuer": "Oracle",
        "ListCost": str(Decimal(price) * Decimal(quantity)) if priced else cost, "ListUnitPrice": price,
        "PricingCategory": "", "PricingQuantity": quantity, "PricingUnit": line["cost/skuUnitDescription"],
        "Provider": "Oracle", "Publisher": "Oracle", "Region": line["product/region"],
        "ResourceId": resource, "ResourceName": "",
        "ResourceType": resource.split(".")[1] if resource.startswith("ocid1.") else "",
        "ServiceCategory": OCI_CATEGORIES.get(line["product/service"], "Other"),
        "ServiceName": line["product/service"], "SkuId": line["cost/productSku"], "SkuPriceId": "",
        "SubAccountId": line["lineItem/tenantId"], "SubAccountName": "platformpm2022",
        "Tags": json.dumps(tags, sort_keys=True) if tags else "", "UsageQuantity": quantity,
        "UsageUnit": line["cost/skuUnitDescription"], "oci_ReferenceNumber": line["lineItem/referenceNo"],
        "oci_CompartmentId": line["product/compartmentId"], "oci_CompartmentName": line["product/compartmentName"],
        "oci_OverageFlag": "N" if line["cost/overageFlag"] == "false" else "Y",
        "oci_UnitPriceOverage": line["cost/unitPriceOverage"],
        "oci_BilledQuantityOverage": line["usage/billedQuantityOverage"], "oci_CostOverage": line["cost/myCostOverage"],
        "oci_AttributedUsage": "", "oci_AttributedCost": "",
        "oci_BackReferenceNumber": line.get("lineItem/backreferenceNo", "") if correction else "",
    }  # fmt: skip


def read_cost_report(path: Path) -> list[dict[str, str]]:
    """The lines of a cost report (CSV or CSV.gz)."""
    opener: Any = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", newline="", encoding="utf-8-sig") as handle:
        return list(csv.DictReader(handle))


def write_focus_report(root: Path, day: str, number: int, lines: Iterable[dict[str, Any]]) -> Path:
    """Write ``root/FOCUS Reports/YYYY/MM/DD/<number>.csv.gz`` (``day`` = ``YYYY-MM-DD``); returns its path."""
    folder = root / "FOCUS Reports" / day[:4] / day[5:7] / day[8:10]
    folder.mkdir(parents=True, exist_ok=True)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=FOCUS_REPORT_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(lines)
    path = folder / f"{number:016d}-00001.csv.gz"
    path.write_bytes(gzip.compress(buffer.getvalue().encode(), mtime=0))
    return path
