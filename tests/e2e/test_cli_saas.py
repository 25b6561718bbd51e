"""`cloudact saas add|list|remove` store an org's SaaS subscriptions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from cloudact.cli import app

runner = CliRunner()


def test_saas_add_list_remove(cli_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import cloudact.cli

    monkeypatch.setattr(cloudact.cli, "console", Console(width=200))  # the table, unwrapped
    created = runner.invoke(app, ["org", "create", "Saas Co", "--json"])
    slug = json.loads(created.output.strip().splitlines()[-1])["org_slug"]
    added = runner.invoke(app, ["saas", "add", "--org", slug, "--provider", "Slack", "--plan", "Business+",
                                "--seats", "12", "--unit-price", "12.50", "--currency", "usd", "--cycle", "monthly",
                                "--start", "2026-01-01"])  # fmt: skip
    assert added.exit_code == 0, added.output
    subscription_id = added.output.split("subscription ", 1)[1].split(":", 1)[0]
    listed = runner.invoke(app, ["saas", "list", "--org", slug])
    assert "Slack" in listed.output and "12.5 USD" in listed.output and subscription_id in listed.output
    bad = runner.invoke(app, ["saas", "add", "--org", slug, "--provider", "Canva", "--plan", "Pro", "--seats", "1",
                              "--unit-price", "120", "--cycle", "weekly", "--start", "2026-01-01"])  # fmt: skip
    assert bad.exit_code == 2 and "--billing-cycle" in bad.output
    assert runner.invoke(app, ["saas", "remove", "--org", slug, subscription_id]).exit_code == 0
    again = runner.invoke(app, ["saas", "remove", "--org", slug, subscription_id])
    assert again.exit_code == 1 and "no subscription" in again.output
