"""The shared ``organizations`` dataset: every platform table, declared once in warehouse-neutral types.

Every table carries ``org_slug`` and every query on it filters by ``org_slug``. ``cloudact bootstrap`` compares this
declaration with the warehouse and only ever adds: missing tables, then missing columns (as nullable), never a drop
or a rewrite. To change a column's type, add a new column instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Neutral type → DuckDB type. BigQuery's map lives with its warehouse implementation.
DUCKDB_TYPES = {
    "string": "VARCHAR",
    "int": "BIGINT",
    "bool": "BOOLEAN",
    "date": "DATE",
    "timestamp": "TIMESTAMP WITH TIME ZONE",
    "decimal": "DECIMAL(38, 12)",
    "json": "VARCHAR",
}

SHARED_TABLES: dict[str, tuple[tuple[str, str], ...]] = {
    # An org's API keys: the SHA-256 of the key for auth, and an envelope-encrypted copy only the root can recover.
    "org_api_keys": (
        ("org_slug", "string"),
        ("key_id", "string"),
        ("key_prefix", "string"),
        ("key_sha256", "string"),
        ("created_at", "timestamp"),
        ("revoked_at", "timestamp"),
        ("last_used_at", "timestamp"),
        ("kek_id", "string"),
        ("wrapped_key", "string"),
        ("nonce", "string"),
        ("ciphertext", "string"),
    ),
    # Provider credentials, envelope-encrypted; ``summary`` is the redacted, non-secret part (JSON).
    "org_integration_credentials": (
        ("org_slug", "string"),
        ("provider", "string"),
        ("kek_id", "string"),
        ("wrapped_key", "string"),
        ("nonce", "string"),
        ("ciphertext", "string"),
        ("summary", "json"),
        ("status", "string"),
        ("last_error", "string"),
        ("created_at", "timestamp"),
        ("updated_at", "timestamp"),
        ("validated_at", "timestamp"),
    ),
    # Pipeline runs admitted per org and UTC day; the month's usage is the sum over its days.
    "org_usage_quotas": (
        ("org_slug", "string"),
        ("usage_date", "date"),
        ("usage_month", "date"),
        ("pipeline_runs", "int"),
        ("pipeline_runs_succeeded", "int"),
        ("pipeline_runs_failed", "int"),
        ("updated_at", "timestamp"),
    ),
    "org_pipeline_runs": (
        ("run_id", "string"),
        ("org_slug", "string"),
        ("provider", "string"),
        ("trigger", "string"),
        ("status", "string"),
        ("queued_at", "timestamp"),
        ("started_at", "timestamp"),
        ("finished_at", "timestamp"),
        ("rows_loaded", "json"),
        ("error", "string"),
        ("flow_run_id", "string"),
    ),
    "org_pipeline_logs": (
        ("run_id", "string"),
        ("org_slug", "string"),
        ("logged_at", "timestamp"),
        ("level", "string"),
        ("message", "string"),
    ),
    "org_audit_logs": (
        ("audit_id", "string"),
        ("org_slug", "string"),
        ("occurred_at", "timestamp"),
        ("actor", "string"),
        ("action", "string"),
        ("target", "string"),
        ("details", "json"),
    ),
    # Departments → projects → teams; ``tag_rules`` (JSON) allocate FOCUS rows to a node by tag key and value.
    "org_hierarchy": (
        ("org_slug", "string"),
        ("node_id", "string"),
        ("parent_id", "string"),
        ("level", "string"),
        ("name", "string"),
        ("tag_rules", "json"),
        ("created_at", "timestamp"),
        ("updated_at", "timestamp"),
    ),
    # SaaS subscriptions entered by the org; turned into FOCUS rows by dbt.
    "org_subscriptions": (
        ("org_slug", "string"),
        ("subscription_id", "string"),
        ("provider", "string"),
        ("plan", "string"),
        ("seats", "int"),
        ("unit_price", "decimal"),
        ("currency", "string"),
        ("billing_cycle", "string"),
        ("start_date", "date"),
        ("end_date", "date"),
        ("hierarchy_node_id", "string"),
        ("status", "string"),
        ("created_at", "timestamp"),
        ("updated_at", "timestamp"),
        # 'advance' (invoiced on a cycle's first day; null on rows from before the column) or 'arrears' (at its end).
        ("billing_timing", "string"),
    ),
    # SaaS spend agreements (commit to spend an amount over a term; usage at a contracted unit price; unused fees).
    "org_spend_agreements": (
        ("org_slug", "string"),
        ("agreement_id", "string"),
        ("provider", "string"),
        ("service_name", "string"),
        ("sku_id", "string"),
        ("usage_unit", "string"),
        ("list_unit_price", "decimal"),
        ("contracted_unit_price", "decimal"),
        ("commitment_amount", "decimal"),
        ("monthly_minimum", "decimal"),
        ("prepaid", "bool"),
        ("currency", "string"),
        ("start_date", "date"),
        ("end_date", "date"),
        ("hierarchy_node_id", "string"),
        ("status", "string"),
        ("created_at", "timestamp"),
        ("updated_at", "timestamp"),
    ),
    # Usage entered against a spend agreement: one quantity (in the agreement's usage unit) per calendar month.
    "org_spend_agreement_usage": (
        ("org_slug", "string"),
        ("agreement_id", "string"),
        ("usage_month", "date"),
        ("quantity", "decimal"),
        ("created_at", "timestamp"),
        ("updated_at", "timestamp"),
    ),
    # Bumped when a pipeline run of the org completes: read caches key on it, so they drop stale results at once.
    "org_data_versions": (
        ("org_slug", "string"),
        ("data_version", "int"),
        ("updated_at", "timestamp"),
    ),
    # Monthly budgets per org (whole org, or one provider); alerts_daily compares month-to-date cost against them.
    "org_budgets": (
        ("org_slug", "string"),
        ("budget_id", "string"),
        ("scope", "string"),
        ("scope_value", "string"),
        ("amount", "decimal"),
        ("currency", "string"),
        ("created_at", "timestamp"),
    ),
    # One row per (org, alert type, scope, day): a rerun of alerts_daily never sends the same alert twice.
    "org_alerts": (
        ("org_slug", "string"),
        ("alert_id", "string"),
        ("alert_type", "string"),
        ("alert_date", "date"),
        ("scope", "string"),
        ("message", "string"),
        ("details", "json"),
        ("delivered", "bool"),
        ("delivery_error", "string"),
        ("created_at", "timestamp"),
    ),
}


@dataclass
class BootstrapReport:
    """What a bootstrap changed; empty lists mean the warehouse was already current."""

    created_tables: list[str] = field(default_factory=list)
    added_columns: list[str] = field(default_factory=list)
    type_mismatches: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        """Whether anything was created or added."""
        return bool(self.created_tables or self.added_columns)
