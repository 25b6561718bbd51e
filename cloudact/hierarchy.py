"""An org's cost hierarchy: departments → projects → teams, with tag rules that allocate FOCUS rows to nodes.

A rule is ``{"tag_key": "team", "tag_values": ["web", "api"]}``: a FOCUS row whose ``Tags`` has ``team`` set to one
of the values belongs to the node. A node's cost includes its descendants'. Stored in ``organizations.org_hierarchy``.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cloudact.tenancy import validate_slug
from cloudact.warehouse import Warehouse

LEVELS = ("department", "project", "team")
PARENT_LEVEL = {"department": None, "project": "department", "team": "project"}
# Tag keys reach JSON paths: letters, digits and a few separators only.
TAG_KEY = re.compile(r"^[A-Za-z0-9_.:/@ +=-]{1,128}$")


class HierarchyError(ValueError):
    """Invalid node or rule; ``field`` names the offending input."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


class NodeNotFoundError(LookupError):
    """No such node in the org."""


@dataclass(frozen=True)
class Node:
    """One node of the hierarchy."""

    node_id: str
    parent_id: str | None
    level: str
    name: str
    tag_rules: list[dict[str, Any]]
    created_at: datetime
    updated_at: datetime


def validate_rules(rules: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Normalised tag rules.

    Raises:
        HierarchyError: If a rule is malformed.
    """
    clean = []
    for index, rule in enumerate(rules):
        key, values = rule.get("tag_key"), rule.get("tag_values")
        if not isinstance(key, str) or not TAG_KEY.fullmatch(key):
            raise HierarchyError(f"tag_rules[{index}].tag_key must be 1-128 letters, digits or _.:/@ +=-", "tag_rules")
        if not isinstance(values, list) or not values or not all(isinstance(v, str) and v for v in values):
            raise HierarchyError(f"tag_rules[{index}].tag_values must be a non-empty list of strings", "tag_rules")
        clean.append({"tag_key": key, "tag_values": sorted(set(values))})
    return clean


def list_nodes(warehouse: Warehouse, org_slug: str) -> list[Node]:
    """Every node of the org, departments first."""
    rows = warehouse.query(
        f"""select node_id, parent_id, level, name, tag_rules, created_at, updated_at
            from {warehouse.shared_table("org_hierarchy")} where org_slug = @org_slug
            order by case level when 'department' then 0 when 'project' then 1 else 2 end, name, node_id""",
        {"org_slug": validate_slug(org_slug)},
    )
    return [Node(**{**row, "tag_rules": json.loads(row["tag_rules"] or "[]")}) for row in rows]


def get_node(warehouse: Warehouse, org_slug: str, node_id: str) -> Node:
    """One node.

    Raises:
        NodeNotFoundError: If the org has no such node.
    """
    for node in list_nodes(warehouse, org_slug):
        if node.node_id == node_id:
            return node
    raise NodeNotFoundError(f"org {org_slug} has no hierarchy node {node_id}")


def create_node(
    warehouse: Warehouse, org_slug: str, level: str, name: str, parent_id: str | None, tag_rules: list[dict[str, Any]]
) -> Node:
    """Add a node under a parent of the level above (departments have none).

    Raises:
        HierarchyError: If the level, parent or rules are invalid.
    """
    if level not in LEVELS:
        raise HierarchyError(f"level must be one of {', '.join(LEVELS)}", "level")
    expected_parent = PARENT_LEVEL[level]
    if expected_parent is None and parent_id is not None:
        raise HierarchyError("a department has no parent", "parent_id")
    if expected_parent is not None:
        if parent_id is None:
            raise HierarchyError(f"a {level} needs a parent {expected_parent}", "parent_id")
        try:
            parent = get_node(warehouse, org_slug, parent_id)
        except NodeNotFoundError:
            raise HierarchyError(f"parent {parent_id} is not a node of this org", "parent_id") from None
        if parent.level != expected_parent:
            raise HierarchyError(f"the parent of a {level} must be a {expected_parent}, not a {parent.level}",
                                 "parent_id")  # fmt: skip
    now = datetime.now(UTC)
    node_id = uuid.uuid4().hex[:16]
    warehouse.execute(
        f"""insert into {warehouse.shared_table("org_hierarchy")}
            (org_slug, node_id, parent_id, level, name, tag_rules, created_at, updated_at)
            values (@org_slug, @node_id, @parent_id, @level, @name, @rules, @now, @now)""",
        {"org_slug": validate_slug(org_slug), "node_id": node_id, "parent_id": parent_id, "level": level,
         "name": name, "rules": json.dumps(validate_rules(tag_rules)), "now": now},
    )  # fmt: skip
    return get_node(warehouse, org_slug, node_id)


def update_node(
    warehouse: Warehouse, org_slug: str, node_id: str, name: str | None, tag_rules: list[dict[str, Any]] | None
) -> Node:
    """Rename a node or replace its rules.

    Raises:
        NodeNotFoundError: If the org has no such node.
        HierarchyError: If the rules are invalid.
    """
    node = get_node(warehouse, org_slug, node_id)
    rules = validate_rules(tag_rules) if tag_rules is not None else node.tag_rules
    warehouse.execute(
        f"""update {warehouse.shared_table("org_hierarchy")} set name = @name, tag_rules = @rules, updated_at = @now
            where org_slug = @org_slug and node_id = @node_id""",
        {"name": name or node.name, "rules": json.dumps(rules), "now": datetime.now(UTC),
         "org_slug": validate_slug(org_slug), "node_id": node_id},
    )  # fmt: skip
    return get_node(warehouse, org_slug, node_id)


def delete_node(warehouse: Warehouse, org_slug: str, node_id: str) -> None:
    """Delete a node without children.

    Raises:
        NodeNotFoundError: If the org has no such node.
        HierarchyError: If the node still has children.
    """
    nodes = list_nodes(warehouse, org_slug)
    if not any(node.node_id == node_id for node in nodes):
        raise NodeNotFoundError(f"org {org_slug} has no hierarchy node {node_id}")
    if any(node.parent_id == node_id for node in nodes):
        raise HierarchyError("the node has children: delete or move them first", "node_id")
    warehouse.execute(
        f"delete from {warehouse.shared_table('org_hierarchy')} where org_slug = @org_slug and node_id = @node_id",
        {"org_slug": validate_slug(org_slug), "node_id": node_id},
    )


def subtree_rules(nodes: list[Node], node_id: str) -> list[dict[str, Any]]:
    """The rules of a node and all its descendants (what allocates cost to it)."""
    children: dict[str | None, list[Node]] = {}
    for node in nodes:
        children.setdefault(node.parent_id, []).append(node)
    rules: list[dict[str, Any]] = []
    todo = [node for node in nodes if node.node_id == node_id]
    while todo:
        node = todo.pop()
        rules.extend(node.tag_rules)
        todo.extend(children.get(node.node_id, []))
    return rules
