"""Tenants: org slugs and the dataset each tenant's data lives in."""

from __future__ import annotations

import re
import time

SLUG_PATTERN = re.compile(r"^[a-zA-Z0-9_]{3,50}$")
_BASE36 = "0123456789abcdefghijklmnopqrstuvwxyz"
SHARED_DATASET = "organizations"


class InvalidSlugError(ValueError):
    """An org slug that does not match ``^[a-zA-Z0-9_]{3,50}$``."""


def validate_slug(slug: str) -> str:
    """Return ``slug`` unchanged if it is a valid org slug.

    Args:
        slug: The candidate slug, from the CLI, the API, SQL or a dbt var.

    Raises:
        InvalidSlugError: If it does not match ``^[a-zA-Z0-9_]{3,50}$``.
    """
    if not isinstance(slug, str) or not SLUG_PATTERN.fullmatch(slug):
        raise InvalidSlugError(
            f"invalid org slug {slug!r}: expected 3-50 characters from [a-zA-Z0-9_] (pattern ^[a-zA-Z0-9_]{{3,50}}$)"
        )
    return slug


def base36(number: int) -> str:
    """Encode a non-negative integer in lower-case base 36."""
    if number < 0:
        raise ValueError("base36 needs a non-negative integer")
    digits = ""
    while True:
        number, rem = divmod(number, 36)
        digits = _BASE36[rem] + digits
        if number == 0:
            return digits


def company_key(company_name: str) -> str:
    """Lower-case a company name to ``[a-z0-9_]``, collapsing runs of other characters to one underscore."""
    key = re.sub(r"[^a-z0-9]+", "_", company_name.strip().lower()).strip("_")
    return key


def make_slug(company_name: str, now_ms: int | None = None) -> str:
    """Build ``{company_name}_{base36_timestamp}`` for a new org.

    Args:
        company_name: Display name of the company (a name starting with a digit gets the prefix ``org_``).
        now_ms: Timestamp in milliseconds (defaults to now).

    Raises:
        InvalidSlugError: If the company name has no usable character.
    """
    key = company_key(company_name)
    if not key:
        raise InvalidSlugError(f"company name {company_name!r} has no letters or digits to build a slug from")
    suffix = base36(now_ms if now_ms is not None else time.time_ns() // 1_000_000)
    if key[0].isdigit():
        # A slug names SQL datasets: start it with a letter, so it is a plain identifier in DuckDB and for dlt.
        key = f"org_{key}"
    key = key[: 50 - len(suffix) - 1].rstrip("_") or "org"
    return validate_slug(f"{key}_{suffix}")


def tenant_dataset(slug: str) -> str:
    """The tenant's dataset (DuckDB schema / BigQuery dataset): ``{org_slug}_prod``."""
    return f"{validate_slug(slug)}_prod"
