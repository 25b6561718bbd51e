"""The platform audit log (``organizations.org_audit_logs``): who did what to which org, without secrets."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

from cloudact.tenancy import validate_slug
from cloudact.warehouse import Sql, Warehouse


def write_audit(
    warehouse: Warehouse,
    org_slug: str,
    action: str,
    *,
    actor: str,
    target: str = "",
    details: dict[str, Any] | None = None,
    sql: Sql | None = None,
) -> None:
    """Append one audit row; ``details`` must hold no secret (callers pass redacted summaries only)."""
    (sql or warehouse).execute(
        f"""insert into {warehouse.shared_table("org_audit_logs")}
            (audit_id, org_slug, occurred_at, actor, action, target, details)
            values (@audit_id, @org_slug, @occurred_at, @actor, @action, @target, @details)""",
        {
            "audit_id": uuid.uuid4().hex,
            "org_slug": validate_slug(org_slug),
            "occurred_at": datetime.now(UTC),
            "actor": actor,
            "action": action,
            "target": target,
            "details": json.dumps(details or {}, sort_keys=True, default=str),
        },
    )


def list_audit(warehouse: Warehouse, org_slug: str, limit: int = 100) -> list[dict[str, Any]]:
    """An org's audit rows, newest first."""
    return warehouse.query(
        f"""select occurred_at, actor, action, target, details from {warehouse.shared_table("org_audit_logs")}
            where org_slug = @org_slug order by occurred_at desc limit @limit""",
        {"org_slug": validate_slug(org_slug), "limit": limit},
    )
