"""Generated OpenAI and Anthropic admin API buckets in the documented shapes, with known totals.

Billed amounts are list price × tokens except for injected discounts (so the calculated-vs-billed variance is known),
and the last day has usage but no billed cost (the cost endpoints lag), so it is priced from usage.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

MILLION = Decimal(1_000_000)
OPENAI_MODEL = "gpt-4o-2024-08-06"
EMBEDDING_MODEL = "text-embedding-3-small"
# Published list prices per 1M tokens (the seed's values), used to build the "billed" amounts.
OPENAI_PRICES = {"input": Decimal("2.50"), "cached input": Decimal("1.25"), "output": Decimal("10.00")}
EMBEDDING_PRICE = Decimal("0.02")
CLAUDE_MODEL = "claude-sonnet-4-20250514"
CLAUDE_PRICES = {
    "uncached_input_tokens": Decimal("3"),
    "output_tokens": Decimal("15"),
    "cache_read_input_tokens": Decimal("0.30"),
    "cache_creation.ephemeral_5m_input_tokens": Decimal("3.75"),
    "cache_creation.ephemeral_1h_input_tokens": Decimal("6"),
}
CLAUDE_DESCRIPTIONS = {
    "uncached_input_tokens": "Claude Sonnet 4 Usage - Input Tokens",
    "output_tokens": "Claude Sonnet 4 Usage - Output Tokens",
    "cache_read_input_tokens": "Claude Sonnet 4 Usage - Cache Read",
    "cache_creation.ephemeral_5m_input_tokens": "Claude Sonnet 4 Usage - Cache Write (5m)",
    "cache_creation.ephemeral_1h_input_tokens": "Claude Sonnet 4 Usage - Cache Write (1h)",
}
WEB_SEARCH_CENTS = Decimal(1)  # $10 per 1,000 searches


def _day_start(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp())


def _iso(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class GenAIData:
    """Buckets per endpoint and the expected figures, per UTC day (``YYYY-MM-DD``)."""

    costs: list[dict[str, Any]] = field(default_factory=list)
    usage: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    billed: dict[str, Decimal] = field(default_factory=dict)  # provider-reported cost per day
    calculated: dict[str, Decimal] = field(default_factory=dict)  # list price × usage per day
    discount: Decimal = Decimal(0)  # billed below list price, in total

    @property
    def unbilled_days(self) -> list[str]:
        """Days with usage but no billed cost."""
        return sorted(set(self.calculated) - set(self.billed))


def openai_data(first_day: date, days: int, seed: int = 3) -> GenAIData:
    """Costs (``group_by`` project, line item, API key) and completions + embeddings usage for ``days`` days."""
    rng = random.Random(seed)
    data = GenAIData(usage={"completions": [], "embeddings": []})
    for offset in range(days):
        day = first_day + timedelta(days=offset)
        start = _day_start(day)
        key = day.isoformat()
        costs: list[dict[str, Any]] = []
        completions: list[dict[str, Any]] = []
        embeddings: list[dict[str, Any]] = []
        for project in ("proj_alpha", "proj_beta"):
            for api_key in ("key_one", "key_two"):
                uncached, cached = rng.randint(10_000, 900_000), rng.randint(0, 300_000)
                output, embedded = rng.randint(5_000, 400_000), rng.randint(100_000, 5_000_000)
                completions.append({
                    "object": "organization.usage.completions.result", "input_tokens": uncached + cached,
                    "input_cached_tokens": cached, "output_tokens": output, "num_model_requests": rng.randint(1, 99),
                    "project_id": project, "user_id": None, "api_key_id": api_key, "model": OPENAI_MODEL,
                    "batch": False, "service_tier": None,
                })  # fmt: skip
                embeddings.append({
                    "object": "organization.usage.embeddings.result", "input_tokens": embedded,
                    "num_model_requests": rng.randint(1, 50), "project_id": project, "user_id": None,
                    "api_key_id": api_key, "model": EMBEDDING_MODEL,
                })  # fmt: skip
                lines = [
                    (f"{OPENAI_MODEL}, {kind}", qty, OPENAI_PRICES[kind])
                    for kind, qty in (("input", uncached), ("cached input", cached), ("output", output))
                ]
                lines.append((f"{EMBEDDING_MODEL}, input", embedded, EMBEDDING_PRICE))  # fmt: skip
                for line_item, quantity, price in lines:
                    listed = (price * quantity / MILLION).quantize(Decimal("1e-9"))
                    amount = listed
                    if offset == 0 and line_item.endswith("output"):  # a negotiated discount on the first day
                        amount = (listed * Decimal("0.9")).quantize(Decimal("1e-9"))
                        data.discount += listed - amount
                    data.calculated[key] = data.calculated.get(key, Decimal(0)) + price * quantity / MILLION
                    if offset < days - 1:
                        data.billed[key] = data.billed.get(key, Decimal(0)) + Decimal(repr(float(amount)))
                        costs.append({
                            "object": "organization.costs.result",
                            "amount": {"value": float(amount), "currency": "usd"}, "line_item": line_item,
                            "project_id": project, "api_key_id": api_key, "quantity": quantity,
                            "quantity_unit": "tokens",
                        })  # fmt: skip
        bucket = {"object": "bucket", "start_time": start, "end_time": start + 86_400}
        data.costs.append({**bucket, "results": costs})  # the open last day: costs not reported yet
        data.usage["completions"].append({**bucket, "results": completions})
        data.usage["embeddings"].append({**bucket, "results": embeddings})
    return data


def anthropic_data(first_day: date, days: int, seed: int = 5) -> GenAIData:
    """Cost report (``group_by[]`` workspace, description) and messages usage report (by API key, workspace, model)."""
    rng = random.Random(seed)
    data = GenAIData(usage={"usage_report": []})
    for offset in range(days):
        day = first_day + timedelta(days=offset)
        start = _day_start(day)
        key = day.isoformat()
        costs: list[dict[str, Any]] = []
        usage: list[dict[str, Any]] = []
        for workspace in ("wrkspc_01JwQvzr7rXLA5AGx3HKfFUJ", None):
            tokens = dict.fromkeys(CLAUDE_PRICES, 0)
            searches = 0
            for api_key in ("apikey_01Rj2N8SVvo6BePZj99NhmiT", "apikey_01Xm4Q2b7LhVw9pDkR3sTyUe"):
                counts = {name: rng.randint(1_000, 2_000_000) for name in CLAUDE_PRICES}
                web = rng.randint(0, 40)
                for name, count in counts.items():
                    tokens[name] += count
                searches += web
                usage.append({
                    "uncached_input_tokens": counts["uncached_input_tokens"],
                    "cache_creation": {
                        "ephemeral_1h_input_tokens": counts["cache_creation.ephemeral_1h_input_tokens"],
                        "ephemeral_5m_input_tokens": counts["cache_creation.ephemeral_5m_input_tokens"],
                    },
                    "cache_read_input_tokens": counts["cache_read_input_tokens"],
                    "output_tokens": counts["output_tokens"],
                    "server_tool_use": {"web_search_requests": web},
                    "api_key_id": api_key, "workspace_id": workspace, "model": CLAUDE_MODEL,
                    "service_tier": "standard", "context_window": "0-200k", "inference_geo": None,
                })  # fmt: skip
            for name, count in tokens.items():
                listed_cents = CLAUDE_PRICES[name] * count * 100 / MILLION
                cents = listed_cents
                if offset == 0 and name == "output_tokens":
                    cents = listed_cents - 10  # ten cents of credit on the first day
                    data.discount += Decimal("0.10")
                data.calculated[key] = data.calculated.get(key, Decimal(0)) + listed_cents / 100
                costs.append({
                    "currency": "USD", "amount": format(cents, "f"), "workspace_id": workspace,
                    "description": CLAUDE_DESCRIPTIONS[name], "cost_type": "tokens", "context_window": "0-200k",
                    "model": CLAUDE_MODEL, "service_tier": "standard", "token_type": name,
                })  # fmt: skip
            web_cents = WEB_SEARCH_CENTS * searches
            data.calculated[key] += web_cents / 100
            costs.append({
                "currency": "USD", "amount": format(web_cents, "f"), "workspace_id": workspace,
                "description": "Web Search", "cost_type": "web_search", "context_window": None, "model": None,
                "service_tier": None, "token_type": None,
            })  # fmt: skip
        bucket = {"starting_at": _iso(start), "ending_at": _iso(start + 86_400)}
        if offset < days - 1:
            data.billed[key] = sum((Decimal(row["amount"]) / 100 for row in costs), Decimal(0))
            data.costs.append({**bucket, "results": costs})
        else:
            data.costs.append({**bucket, "results": []})  # the open last day: not in the cost report yet
        data.usage["usage_report"].append({**bucket, "results": usage})
    return data
