"""The org's cost hierarchy (departments → projects → teams) with tag rules that allocate FOCUS rows."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from api.deps import OrgDep, WarehouseDep
from api.errors import Conflict, Forbidden, NotFound, Unauthorized, Unprocessable, responses
from api.schemas.resources import NodeIn, NodeList, NodeOut, NodePatch
from cloudact import hierarchy
from cloudact.audit import write_audit
from cloudact.read_cache import notify_changed

router = APIRouter(prefix="/api/v1/orgs/{org_slug}/hierarchy/nodes", tags=["hierarchy"])
AUTH = (Unauthorized, Forbidden, NotFound)


def _out(node: hierarchy.Node) -> NodeOut:
    return NodeOut(**node.__dict__)


@router.get("", response_model=NodeList, responses=responses(*AUTH))
def list_hierarchy_nodes(
    org: OrgDep, warehouse: WarehouseDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200, offset: Annotated[int, Query(ge=0)] = 0,
) -> NodeList:  # fmt: skip
    """Every node, departments first."""
    nodes = hierarchy.list_nodes(warehouse, org.org_slug)[offset : offset + limit]
    return NodeList(items=[_out(node) for node in nodes], limit=limit, offset=offset)


@router.post("", status_code=201, response_model=NodeOut, responses=responses(*AUTH, Unprocessable))
def create_hierarchy_node(body: NodeIn, org: OrgDep, warehouse: WarehouseDep) -> NodeOut:
    """Add a department, or a project under a department, or a team under a project."""
    try:
        node = hierarchy.create_node(warehouse, org.org_slug, body.level, body.name, body.parent_id,
                                     [rule.model_dump() for rule in body.tag_rules])  # fmt: skip
    except hierarchy.HierarchyError as exc:
        raise Unprocessable(str(exc), field=exc.field) from None
    write_audit(warehouse, org.org_slug, "hierarchy.node_created", actor="api_key", target=node.node_id)
    notify_changed(org.org_slug)  # cached reads filtered or grouped by nodes are stale now
    return _out(node)


@router.get("/{node_id}", response_model=NodeOut, responses=responses(*AUTH))
def get_hierarchy_node(node_id: str, org: OrgDep, warehouse: WarehouseDep) -> NodeOut:
    """One node."""
    try:
        return _out(hierarchy.get_node(warehouse, org.org_slug, node_id))
    except hierarchy.NodeNotFoundError as exc:
        raise NotFound(str(exc), field="node_id") from None


@router.patch("/{node_id}", response_model=NodeOut, responses=responses(*AUTH, Unprocessable))
def update_hierarchy_node(node_id: str, body: NodePatch, org: OrgDep, warehouse: WarehouseDep) -> NodeOut:
    """Rename a node or replace its tag rules."""
    rules = [rule.model_dump() for rule in body.tag_rules] if body.tag_rules is not None else None
    try:
        node = hierarchy.update_node(warehouse, org.org_slug, node_id, body.name, rules)
    except hierarchy.NodeNotFoundError as exc:
        raise NotFound(str(exc), field="node_id") from None
    except hierarchy.HierarchyError as exc:
        raise Unprocessable(str(exc), field=exc.field) from None
    notify_changed(org.org_slug)
    return _out(node)


@router.delete("/{node_id}", status_code=204, responses=responses(*AUTH, Conflict))
def delete_hierarchy_node(node_id: str, org: OrgDep, warehouse: WarehouseDep) -> Response:
    """Delete a node that has no children."""
    try:
        hierarchy.delete_node(warehouse, org.org_slug, node_id)
    except hierarchy.NodeNotFoundError as exc:
        raise NotFound(str(exc), field="node_id") from None
    except hierarchy.HierarchyError as exc:
        raise Conflict(str(exc), field=exc.field) from None
    write_audit(warehouse, org.org_slug, "hierarchy.node_deleted", actor="api_key", target=node_id)
    notify_changed(org.org_slug)
    return Response(status_code=204)
