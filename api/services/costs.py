"""Cost reads on an org's FOCUS snapshot with Polars, cached per (org, data version, query).

Every function takes the org from the authenticated path, so a query can only ever read that org's snapshot file.
Money leaves as decimal strings, never floats.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any

import polars as pl

from api.errors import BadRequest
from api.services.read_cache import FrameCache
from cloudact.hierarchy import TAG_KEY, list_nodes, subtree_rules
from cloudact.settings import Settings
from cloudact.snapshots import current_snapshot
from cloudact.warehouse import Warehouse

UTC = UTC
DIMENSIONS = {
    "provider": "x_Provider",
    "service": "ServiceName",
    "category": "ServiceCategory",
    "subcategory": "ServiceSubcategory",
    "sub_account": "SubAccountId",
    "billing_account": "BillingAccountId",
    "region": "RegionId",
    "charge_category": "ChargeCategory",
    "resource": "ResourceId",
    "sku": "SkuId",
}
MONEY = ("BilledCost", "EffectiveCost", "ListCost", "ContractedCost")
GENAI_CATEGORY = "AI and Machine Learning"


@dataclass(frozen=True)
class CostFilter:
    """Filters shared by every cost read; ``end`` is inclusive (a day)."""

    start: date | None = None
    end: date | None = None
    provider: str | None = None
    service: str | None = None
    node_id: str | None = None

    def key(self) -> tuple[Any, ...]:
        return (self.start, self.end, self.provider, self.service, self.node_id)


@dataclass(frozen=True)
class Read:
    """A query result (its rows as JSON) and where it came from."""

    items_json: bytes
    data_version: int
    cached: bool

    @property
    def rows(self) -> list[dict[str, Any]]:
        return json.loads(self.items_json)

    def response_body(self) -> bytes:
        """The ``CostPage`` body, assembled without re-validating cached rows."""
        cached = b"true" if self.cached else b"false"
        return b'{"data_version":%d,"cached":%s,"items":%s}' % (self.data_version, cached, self.items_json)


def _rules_expr(rules: list[dict[str, Any]]) -> pl.Expr:
    expr = pl.lit(False)
    for rule in rules:
        if not TAG_KEY.fullmatch(rule["tag_key"]):  # validated when stored; checked again before it reaches a path
            continue
        value = pl.col("Tags").str.json_path_match(f"$['{rule['tag_key']}']")
        expr = expr | value.is_in(rule["tag_values"]).fill_null(False)
    return expr


def _filtered(lf: pl.LazyFrame, flt: CostFilter, warehouse: Warehouse, org_slug: str) -> pl.LazyFrame:
    if flt.start and flt.end and flt.end < flt.start:
        raise BadRequest("end is before start", field="end")
    if flt.start:
        lf = lf.filter(pl.col("ChargePeriodStart") >= datetime.combine(flt.start, time(0), tzinfo=UTC))
    if flt.end:  # inclusive day; comparing with its last microsecond cannot overflow at date.max
        lf = lf.filter(pl.col("ChargePeriodStart") <= datetime.combine(flt.end, time.max, tzinfo=UTC))
    if flt.provider:
        lf = lf.filter(pl.col("x_Provider") == flt.provider)
    if flt.service:
        lf = lf.filter(pl.col("ServiceName") == flt.service)
    if flt.node_id:
        nodes = list_nodes(warehouse, org_slug)
        if not any(node.node_id == flt.node_id for node in nodes):
            raise BadRequest(f"no hierarchy node {flt.node_id} in this org", field="node_id")
        lf = lf.filter(_rules_expr(subtree_rules(nodes, flt.node_id)))
    return lf


def _money(frame: pl.DataFrame) -> list[dict[str, Any]]:
    rows = frame.to_dicts()
    for row in rows:
        for key, value in row.items():
            if isinstance(value, Decimal):
                row[key] = format(value.normalize(), "f") if value else "0"
            elif isinstance(value, datetime):
                row[key] = value.astimezone(UTC).isoformat()
            elif isinstance(value, date):
                row[key] = value.isoformat()
    return rows


def _sums(*columns: str) -> list[pl.Expr]:
    return [pl.col(name).sum().alias(name) for name in columns] + [pl.len().alias("rows")]


class CacheMiss(Exception):
    """Raised by a probing reader when the result is not cached (compute it off the event loop)."""


class CostReader:
    """Reads one org's costs through the cache.

    A probing reader (``probing()``) answers only from the cache and raises :class:`CacheMiss` otherwise, so a route
    can serve hits on the event loop and send only misses to a worker thread.
    """

    def __init__(
        self, settings: Settings, warehouse: Warehouse, cache: FrameCache, org_slug: str, probe: bool = False
    ) -> None:
        self.settings, self.warehouse, self.cache, self.org_slug = settings, warehouse, cache, org_slug
        self.probe = probe

    def probing(self) -> CostReader:
        """The same reader in cache-only mode."""
        return CostReader(self.settings, self.warehouse, self.cache, self.org_slug, probe=True)

    def _read(self, name: str, params: tuple[Any, ...], build: Callable[[pl.LazyFrame], pl.DataFrame]) -> Read:
        snapshot = current_snapshot(self.settings, self.org_slug)
        if snapshot is None:
            return Read(b"[]", 0, False)
        version, path = snapshot
        key = (self.org_slug, version, name, params)
        items = self.cache.get(key)
        if items is not None:
            return Read(items, version, True)
        if self.probe:
            raise CacheMiss(key)
        # The rows are kept as their JSON: a hit then costs a dict lookup, not a conversion and a validation.
        items = json.dumps(_money(build(pl.scan_parquet(path))), separators=(",", ":")).encode()
        self.cache.put(key, items)
        return Read(items, version, False)

    def _base(self, lf: pl.LazyFrame, flt: CostFilter) -> pl.LazyFrame:
        return _filtered(lf, flt, self.warehouse, self.org_slug)

    def summary(self, flt: CostFilter) -> Read:
        """Totals per billing currency."""

        def build(lf: pl.LazyFrame) -> pl.DataFrame:
            return self._base(lf, flt).group_by("BillingCurrency").agg(_sums(*MONEY)).sort("BillingCurrency").collect()

        return self._read("summary", flt.key(), build)

    def by_period(self, flt: CostFilter, granularity: str) -> Read:
        """Totals per day or per billing month (``period``), oldest first."""
        source = "ChargePeriodStart" if granularity == "day" else "BillingPeriodStart"

        def build(lf: pl.LazyFrame) -> pl.DataFrame:
            return (
                self._base(lf, flt)
                .group_by(pl.col(source).dt.date().alias("period"), "BillingCurrency")
                .agg(_sums("BilledCost", "EffectiveCost"))
                .sort("period", "BillingCurrency")
                .collect()
            )

        return self._read(f"period:{granularity}", flt.key(), build)

    def breakdown(self, flt: CostFilter, dimension: str, tag_key: str | None, limit: int) -> Read:
        """Totals by one dimension (or one tag key), biggest first."""
        if dimension == "node":
            return self._by_node(flt)
        if dimension == "tag":
            if not tag_key or not TAG_KEY.fullmatch(tag_key):
                raise BadRequest("tag_key is required for dimension=tag (1-128 letters, digits or _.:/@ +=-)",
                                 field="tag_key")  # fmt: skip
            column = pl.col("Tags").str.json_path_match(f"$['{tag_key}']")
        elif dimension in DIMENSIONS:
            column = pl.col(DIMENSIONS[dimension])
        else:
            raise BadRequest(f"dimension must be one of {', '.join([*DIMENSIONS, 'tag', 'node'])}", field="dimension")

        def build(lf: pl.LazyFrame) -> pl.DataFrame:
            return (
                self._base(lf, flt)
                .group_by(column.alias("value"), "BillingCurrency")
                .agg(_sums("BilledCost", "EffectiveCost"))
                .sort("BilledCost", "value", descending=[True, False], nulls_last=True)
                .head(limit)
                .collect()
            )

        return self._read(f"by:{dimension}:{tag_key}", (*flt.key(), limit), build)

    def _by_node(self, flt: CostFilter) -> Read:
        if self.probe:  # the node list is read from the platform tables: never on the event loop
            raise CacheMiss("by:node")
        nodes = list_nodes(self.warehouse, self.org_slug)
        rules_key = json.dumps([[n.node_id, n.parent_id, n.tag_rules] for n in nodes], sort_keys=True)

        def build(lf: pl.LazyFrame) -> pl.DataFrame:
            base = self._base(lf, flt)
            parts = [
                base.filter(_rules_expr(subtree_rules(nodes, node.node_id)))
                .group_by("BillingCurrency").agg(_sums("BilledCost", "EffectiveCost"))
                .with_columns(pl.lit(node.node_id).alias("node_id"), pl.lit(node.level).alias("level"),
                              pl.lit(node.name).alias("name"))
                for node in nodes
            ]  # fmt: skip
            allocated = _rules_expr([rule for node in nodes for rule in node.tag_rules])
            parts.append(base.filter(~allocated).group_by("BillingCurrency").agg(_sums("BilledCost", "EffectiveCost"))
                         .with_columns(pl.lit(None, pl.String).alias("node_id"), pl.lit("unallocated").alias("level"),
                                       pl.lit("unallocated").alias("name")))  # fmt: skip
            return pl.concat([part.collect() for part in parts], how="diagonal_relaxed").select(
                "node_id", "level", "name", "BillingCurrency", "BilledCost", "EffectiveCost", "rows"
            )

        return self._read("by:node", (*flt.key(), rules_key), build)

    def top_resources(self, flt: CostFilter, limit: int) -> Read:
        """The most expensive resources."""

        def build(lf: pl.LazyFrame) -> pl.DataFrame:
            return (
                self._base(lf, flt)
                .filter(pl.col("ResourceId").is_not_null())
                .group_by("ResourceId", "ResourceName", "x_Provider", "ServiceName", "BillingCurrency")
                .agg(_sums("BilledCost", "EffectiveCost"))
                .sort("BilledCost", "ResourceId", descending=[True, False])
                .head(limit)
                .collect()
            )

        return self._read("top_resources", (*flt.key(), limit), build)

    def genai(self, flt: CostFilter, limit: int) -> Read:
        """GenAI cost by provider, model and token type (from the SKU ``model, token type`` where no x_ columns)."""

        def build(lf: pl.LazyFrame) -> pl.DataFrame:
            names = lf.collect_schema().names()
            model = pl.col("x_Model") if "x_Model" in names else pl.col("SkuId").str.split(", ").list.first()
            token = (
                pl.col("x_TokenType")
                if "x_TokenType" in names
                else pl.col("SkuId").str.split(", ").list.get(1, null_on_oob=True)
            )
            return (
                self._base(lf, flt)
                .filter(pl.col("ServiceCategory") == GENAI_CATEGORY)
                .group_by(
                    pl.col("x_Provider").alias("provider"),
                    model.alias("model"),
                    token.alias("token_type"),
                    "ConsumedUnit",
                    "BillingCurrency",
                )  # fmt: skip
                .agg([*_sums("BilledCost", "EffectiveCost"), pl.col("ConsumedQuantity").sum()])
                .sort("BilledCost", "model", descending=[True, False], nulls_last=True)
                .head(limit)
                .collect()
            )

        return self._read("genai", (*flt.key(), limit), build)

    def export_frame(self, flt: CostFilter, limit: int, offset: int) -> tuple[pl.DataFrame, int]:
        """A page of the org's FOCUS rows (not cached: exports are one-off) and the snapshot's version."""
        snapshot = current_snapshot(self.settings, self.org_slug)
        if snapshot is None:
            return pl.DataFrame(), 0
        version, path = snapshot
        lf = _filtered(pl.scan_parquet(path), flt, self.warehouse, self.org_slug)
        return lf.sort("ChargePeriodStart", "x_ChargeId").slice(offset, limit).collect(), version
