"""Cost reads of an org: totals, periods, breakdowns, top resources, GenAI, and a paged export."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response, StreamingResponse

from api.deps import OrgDep, SettingsDep, WarehouseDep
from api.errors import BadRequest, Forbidden, NotFound, Unauthorized, Unprocessable, responses
from api.schemas.costs import BreakdownRow, CostPage, GenAIRow, NodeRow, PeriodRow, ResourceRow, SummaryRow
from api.services.costs import CacheMiss, CostFilter, CostReader, Read
from api.services.read_cache import FrameCache, get_cache

router = APIRouter(prefix="/api/v1/orgs/{org_slug}/costs", tags=["costs"])
ERRORS = responses(Unauthorized, Forbidden, NotFound, BadRequest, Unprocessable)
Dimension = Literal[
    "provider", "service", "category", "subcategory", "sub_account", "billing_account", "region", "charge_category",
    "resource", "sku", "tag",
]  # fmt: skip


async def cache_dep(settings: SettingsDep) -> FrameCache:
    """The process's read cache."""
    return get_cache(settings.read_cache_max_mb, settings.read_cache_ttl_seconds)


async def reader_dep(org: OrgDep, settings: SettingsDep, warehouse: WarehouseDep,
               cache: Annotated[FrameCache, Depends(cache_dep)]) -> CostReader:  # fmt: skip
    """A reader bound to the authenticated org."""
    return CostReader(settings, warehouse, cache, org.org_slug)


async def filter_dep(
    start: Annotated[date | None, Query(description="First charge day (UTC), inclusive")] = None,
    end: Annotated[date | None, Query(description="Last charge day (UTC), inclusive")] = None,
    provider: Annotated[str | None, Query(max_length=50, description="x_Provider, e.g. aws or openai")] = None,
    service: Annotated[str | None, Query(max_length=200, description="ServiceName")] = None,
    node_id: Annotated[str | None, Query(max_length=64, description="Hierarchy node (with its descendants)")] = None,
) -> CostFilter:
    """The common filters."""
    return CostFilter(start, end, provider, service, node_id)


ReaderDep = Annotated[CostReader, Depends(reader_dep)]


async def _respond(reader: CostReader, query: Callable[[CostReader], Read]) -> Response:
    """Serve a cached result on the event loop; compute a miss in a worker thread."""
    try:
        read = query(reader.probing())
    except CacheMiss:
        read = await run_in_threadpool(query, reader)
    return Response(read.response_body(), media_type="application/json")


FilterDep = Annotated[CostFilter, Depends(filter_dep)]
Limit = Annotated[int, Query(ge=1, le=1000)]


@router.get("/summary", response_model=CostPage[SummaryRow], responses=ERRORS)
async def get_cost_summary(reader: ReaderDep, flt: FilterDep) -> Response:
    """Totals (billed, effective, list, contracted) per billing currency."""
    return await _respond(reader, lambda r: r.summary(flt))


@router.get("/periods", response_model=CostPage[PeriodRow], responses=ERRORS)
async def get_cost_periods(
    reader: ReaderDep, flt: FilterDep, granularity: Annotated[Literal["day", "month"], Query()] = "month"
) -> Response:
    """Totals per billing month, or the daily trend (granularity=day)."""
    return await _respond(reader, lambda r: r.by_period(flt, granularity))


@router.get("/breakdown/{dimension}", response_model=CostPage[BreakdownRow], responses=ERRORS)
async def get_cost_breakdown(
    dimension: Dimension, reader: ReaderDep, flt: FilterDep, limit: Limit = 100,
    tag_key: Annotated[str | None, Query(max_length=128, description="Required for dimension=tag")] = None,
) -> Response:  # fmt: skip
    """Totals by provider, service, category, sub-account, region, tag value…, biggest first."""
    return await _respond(reader, lambda r: r.breakdown(flt, dimension, tag_key, limit))


@router.get("/hierarchy", response_model=CostPage[NodeRow], responses=ERRORS)
async def get_cost_by_node(reader: ReaderDep, flt: FilterDep) -> Response:
    """Totals per hierarchy node (a node includes its descendants) and the unallocated remainder."""
    return await _respond(reader, lambda r: r.breakdown(flt, "node", None, 1000))


@router.get("/top-resources", response_model=CostPage[ResourceRow], responses=ERRORS)
async def get_top_resources(reader: ReaderDep, flt: FilterDep, limit: Limit = 20) -> Response:
    """The most expensive resources."""
    return await _respond(reader, lambda r: r.top_resources(flt, limit))


@router.get("/genai", response_model=CostPage[GenAIRow], responses=ERRORS)
async def get_genai_costs(reader: ReaderDep, flt: FilterDep, limit: Limit = 100) -> Response:
    """GenAI cost and usage by provider, model and token type."""
    return await _respond(reader, lambda r: r.genai(flt, limit))


@router.get(
    "/export",
    response_class=StreamingResponse,
    responses={**ERRORS, 200: {"content": {"text/csv": {}, "application/vnd.apache.parquet": {}},
                               "description": "A page of the org's FOCUS rows"}},
)  # fmt: skip
def export_costs(
    reader: ReaderDep, flt: FilterDep,
    format: Annotated[Literal["csv", "parquet"], Query()] = "csv",  # noqa: A002 (the query parameter's name)
    limit: Annotated[int, Query(ge=1, le=100_000)] = 10_000, offset: Annotated[int, Query(ge=0)] = 0,
) -> Response:  # fmt: skip
    """A page of the org's FOCUS rows as CSV or Parquet; ``X-Next-Offset`` is set while more rows follow."""
    frame, version = reader.export_frame(flt, limit, offset)
    headers = {"X-Data-Version": str(version), "Content-Disposition": f"attachment; filename=focus.{format}"}
    if frame.height == limit:
        headers["X-Next-Offset"] = str(offset + limit)
    if format == "parquet":
        buffer = io.BytesIO()
        frame.write_parquet(buffer, compression="zstd")
        return Response(buffer.getvalue(), media_type="application/vnd.apache.parquet", headers=headers)

    def chunks() -> Iterator[bytes]:
        step = 5_000
        for start in range(0, max(frame.height, 1), step):
            yield frame.slice(start, step).write_csv(include_header=start == 0).encode()

    return StreamingResponse(chunks(), media_type="text/csv", headers=headers)
