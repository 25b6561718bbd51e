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


def test_saas_add_in_arrears(cli_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import cloudact.cli

    monkeypatch.setattr(cloudact.cli, "console", Console(width=200))
    created = runner.invoke(app, ["org", "create", "Arrears Co", "--json"])
    slug = json.loads(created.output.strip().splitlines()[-1])["org_slug"]
    base = ["saas", "add", "--org", slug, "--provider", "ACMECORP", "--plan", "Licenses", "--seats", "500",
            "--unit-price", "100", "--cycle", "annual", "--start", "2025-04-01", "--end", "2026-04-01"]  # fmt: skip
    added = runner.invoke(app, [*base, "--timing", "arrears"])
    assert added.exit_code == 0 and "invoiced in arrears" in added.output, added.output
    listed = runner.invoke(app, ["saas", "list", "--org", slug])
    assert "arrears" in listed.output
    bad = runner.invoke(app, [*base, "--timing", "later"])
    assert bad.exit_code == 2 and "--billing-timing" in bad.output


def test_saas_agreement_and_usage(cli_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import cloudact.cli

    monkeypatch.setattr(cloudact.cli, "console", Console(width=250))
    created = runner.invoke(app, ["org", "create", "Agreement Co", "--json"])
    slug = json.loads(created.output.strip().splitlines()[-1])["org_slug"]
    base = ["saas", "agreement", "add", "--org", slug, "--provider", "Acme Co", "--service", "AwesomeDB",
            "--sku", "U-123", "--unit", "Server Hours", "--list-price", "15", "--contracted-price", "12",
            "--commitment", "1200", "--monthly-minimum", "60", "--start", "2025-04-01"]  # fmt: skip
    added = runner.invoke(app, [*base, "--end", "2026-04-01", "--prepaid"])
    assert added.exit_code == 0 and "prepaid" in added.output, added.output
    agreement_id = added.output.split("agreement ", 1)[1].split(":", 1)[0]
    bad = runner.invoke(app, [*base, "--end", "2026-04-15"])
    assert bad.exit_code == 2 and "--end-date" in bad.output
    assert runner.invoke(app, ["saas", "usage", "add", "--org", slug, agreement_id, "--month", "2025-04",
                               "--quantity", "4"]).exit_code == 0  # fmt: skip
    outside = runner.invoke(app, ["saas", "usage", "add", "--org", slug, agreement_id, "--month", "2026-04",
                                  "--quantity", "4"])  # fmt: skip
    assert outside.exit_code == 2 and "--usage-month" in outside.output
    usage = runner.invoke(app, ["saas", "usage", "list", "--org", slug, agreement_id])
    assert "2025-04" in usage.output and "4" in usage.output
    listed = runner.invoke(app, ["saas", "agreement", "list", "--org", slug])
    assert agreement_id in listed.output and "1200 USD" in listed.output and "prepaid" in listed.output
    assert runner.invoke(app, ["saas", "agreement", "remove", "--org", slug, agreement_id]).exit_code == 0
    again = runner.invoke(app, ["saas", "agreement", "remove", "--org", slug, agreement_id])
    assert again.exit_code == 1 and "no spend agreement" in again.output
