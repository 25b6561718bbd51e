"""The control-plane commands of `cloudact` end to end on the embedded defaults (SQLite, DuckDB, local keyring).

Every invocation goes through `typer.testing.CliRunner` on `cloudact.cli.app`; the state lives in the `cli_env`
data directory. The Rich consoles are widened so that tables and summaries are never wrapped or truncated (a secret
split over two lines would slip past the leak checks, a truncated cell past the content checks).
"""

from __future__ import annotations

import json
import re
import sqlite3
import traceback
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest
from rich.console import Console
from typer.testing import CliRunner

from cloudact import cli
from cloudact.cli import app
from cloudact.control_plane import get_control_plane
from cloudact.control_plane.plans import PLANS, PlanLimits
from cloudact.integrations import get_credentials
from cloudact.keyring import LocalKeyring, get_keyring
from cloudact.settings import get_settings
from cloudact.tenancy import validate_slug
from cloudact.warehouse import get_warehouse
from cloudact.warehouse_schema import SHARED_TABLES

runner = CliRunner()

OPENAI_KEY_1 = "sk-admin-Lk7QzP2mWv9XrT4nBc8YhJ1dFs6GaUe3" + "wxyz"
OPENAI_KEY_2 = "sk-admin-Ry5TnM8kQw2ZpV6cXb1LhD9fJs4GeWa7" + "k9q2"
ANTHROPIC_KEY = "sk-ant-admin01-Hd3KfL8pQz1WmX6vRt9NcB2yJg5TsUa4" + "m3n8"
OPENAI_ORG = "org-Qm4Tz8Wk2Lp6"
AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzq2Tk8Lm3V"  # 40 characters
AWS_CREDS = {"access_key_id": "AKIAZ7Q2M4N6P8R1T3V5", "secret_access_key": AWS_SECRET, "region": "eu-west-1"}
UUID = "3f2b8c1e-5d4a-4e6f-9a7b-1c2d3e4f5a6b"
AZURE_IDS = {"tenant_id": UUID, "client_id": UUID, "subscription_id": UUID}


@pytest.fixture(autouse=True)
def wide_console(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli, "console", Console(width=400))
    monkeypatch.setattr(cli, "err_console", Console(stderr=True, width=400))


class Cli:
    """Runs `cloudact` and keeps everything it printed (tracebacks of unexpected exceptions included)."""

    def __init__(self) -> None:
        self.transcript: list[str] = []

    def __call__(self, *args: str, input: str | None = None) -> tuple[int, str]:
        result = runner.invoke(app, list(args), input=input)
        self.transcript.append(result.output)
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            self.transcript.append("".join(traceback.format_exception(result.exception)))
        return result.exit_code, result.output

    def create_org(self, name: str, *options: str) -> tuple[str, str]:
        code, output = self("org", "create", name, *options, "--json")
        assert code == 0, output
        created = json.loads(output.strip().splitlines()[-1])
        assert set(created) == {"org_slug", "api_key"}
        return created["org_slug"], created["api_key"]


def _table_rows(output: str) -> list[list[str]]:
    """The body rows of a Rich table as lists of stripped cells."""
    return [[cell.strip() for cell in line.strip().strip("│").split("│")] for line in output.splitlines()
            if line.startswith("│")]  # fmt: skip


def _integrations(cli_run: Cli, slug: str) -> dict[str, tuple[str, dict[str, object]]]:
    code, output = cli_run("integration", "list", "--org", slug)
    assert code == 0, output
    return {row[0]: (row[1], json.loads(row[2])) for row in _table_rows(output)}


def _query(data_dir: Path, sql: str) -> list[tuple[object, ...]]:
    con = duckdb.connect(str(data_dir / "platform.duckdb"))  # the shared `organizations` dataset
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def _fragments(secret: str, size: int = 10) -> set[str]:
    """The secret and every run of ``size`` characters of it after its well-known prefix (catches partial leaks)."""
    body = re.sub(r"^(sk-admin-|sk-ant-admin\d\d-|sk-live-|ca_)", "", secret)
    return {secret} | {body[start : start + size] for start in range(len(body) - size + 1)}


def _stored_text(data_dir: Path) -> str:
    """Every value of every table of the warehouse and of the control plane, as text (survives compression)."""
    parts: list[str] = []
    for name in ("warehouse.duckdb", "platform.duckdb"):
        if not (data_dir / name).exists():
            continue
        con = duckdb.connect(str(data_dir / name), read_only=True)
        try:
            tables = con.execute("select table_schema, table_name from information_schema.tables").fetchall()
            for schema, table in tables:
                parts.extend(repr(row) for row in con.execute(f'select * from "{schema}"."{table}"').fetchall())
        finally:
            con.close()
    lite = sqlite3.connect(data_dir / "control_plane.db")
    try:
        parts.extend(lite.iterdump())
    finally:
        lite.close()
    return "\n".join(parts)


def test_migrate_twice_reports_then_stays_at_0004(cli_env: Path) -> None:
    run = Cli()
    code, output = run("migrate")
    assert code == 0 and "control plane migrated from empty to revision 0004" in output, output
    code, output = run("migrate")
    assert code == 0 and "control plane already at revision 0004" in output, output
    assert "migrated" not in output
    lite = sqlite3.connect(cli_env / "control_plane.db")
    try:
        assert lite.execute("select version_num from alembic_version").fetchall() == [("0004",)]
    finally:
        lite.close()


def test_bootstrap_twice_creates_the_shared_tables_then_is_current(cli_env: Path) -> None:
    run = Cli()
    code, output = run("bootstrap")
    assert code == 0, output
    created = re.findall(r"^\+ table organizations\.(\w+)$", output, re.M)
    assert sorted(created) == sorted(SHARED_TABLES) and "warehouse bootstrap: updated" in output
    in_warehouse = _query(cli_env, "select table_name from duckdb_tables() where schema_name = 'organizations'")
    assert sorted(name for (name,) in in_warehouse) == sorted(SHARED_TABLES)

    code, output = run("bootstrap")
    assert code == 0 and "warehouse bootstrap: already current" in output, output
    assert "+ table" not in output and "+ column" not in output


def test_org_create_list_refusals_and_recover_key(cli_env: Path) -> None:
    run = Cli()
    slug, api_key = run.create_org("Acme Corp", "--plan", "professional", "--owner", "a@b.example")
    assert validate_slug(slug) == slug and slug.startswith("acme_corp_")
    assert api_key.startswith("ca_") and len(api_key) >= 43

    code, output = run("org", "list")
    assert code == 0, output
    assert [row[:4] for row in _table_rows(output)] == [[slug, "Acme Corp", "professional", "active"]]
    store = get_control_plane(get_settings())
    assert store.get_org(slug).limits == PlanLimits(24, 600, 3, 20, 10)  # the README's professional row
    assert [(m.email, m.role) for m in store.list_members(slug)] == [("a@b.example", "owner")]

    code, output = run("org", "create", "Globex", "--plan", "gold")
    assert code != 0 and "unknown plan 'gold'" in output, output
    assert all(plan in output for plan in PLANS)

    code, output = run("org", "create", "  ACME corp ")
    assert code != 0 and "already onboarded" in output and slug in output, output

    code, output = run("org", "list")
    assert [row[0] for row in _table_rows(output)] == [slug]  # neither refusal left an org behind

    code, output = run("org", "recover-key", slug)
    assert code == 0 and output == api_key + "\n"


def test_integrations_are_validated_redacted_deleted_and_never_leak(cli_env: Path, tmp_path: Path) -> None:
    run = Cli()
    slug, api_key = run.create_org("Initech")

    creds_file = tmp_path / "creds.json"
    creds_file.write_text(json.dumps({"admin_key": OPENAI_KEY_1, "organization_id": OPENAI_ORG}))
    code, output = run("integration", "set", "--org", slug, "--provider", "openai", "--file", str(creds_file))
    assert code == 0, output
    prefix = f"openai credentials stored for {slug}: "
    assert prefix in output
    summary = json.loads(output.split(prefix, 1)[1])
    assert summary == {"admin_key": "…wxyz", "organization_id": OPENAI_ORG}

    code, output = run("integration", "set", "--org", slug, "--provider", "anthropic", "--file", "-",
                       input=json.dumps({"admin_key": ANTHROPIC_KEY}))  # fmt: skip
    assert code == 0 and "anthropic credentials stored" in output, output
    assert _integrations(run, slug) == {
        "anthropic": ("valid", {"admin_key": "…m3n8"}),
        "openai": ("valid", {"admin_key": "…wxyz", "organization_id": OPENAI_ORG}),
    }

    # Replacing through stdin: one openai row, showing the new key's fingerprint.
    code, output = run("integration", "set", "--org", slug, "--provider", "openai", "--file", "-",
                       input=json.dumps({"admin_key": OPENAI_KEY_2}))  # fmt: skip
    assert code == 0, output
    assert _integrations(run, slug)["openai"] == ("valid", {"admin_key": "…k9q2"})
    rows = _query(cli_env, f"select provider from organizations.org_integration_credentials where org_slug = '{slug}'")
    assert sorted(rows) == [("anthropic",), ("openai",)]

    invalid = [
        ("openai", {"admin_key": "sk-live-Zt8RmQ3vWx6NbP1kLc4J"}, "admin_key", "Zt8RmQ3vWx6NbP1kLc4J"),
        ("aws", {**AWS_CREDS, "secret_access_key": "Vq7Bw2Nc9Xs4Kd1Tshort"}, "secret_access_key", "Vq7Bw2Nc9Xs4Kd1T"),
        ("azure", {**AZURE_IDS, "client_secret": "Pm6 Yt3Hr8Gf5Jw1"}, "client_secret", "Yt3Hr8Gf5Jw1"),
        ("gcp", {"service_account_json": '{"private_key": "Qe4Ua9Io2Wd7Sz5'}, "service_account_json", "Qe4Ua9Io2Wd7"),
    ]
    for provider, payload, field, secret in invalid:
        code, output = run("integration", "set", "--org", slug, "--provider", provider, "--file", "-",
                           input=json.dumps(payload))  # fmt: skip
        assert code != 0 and f"invalid {provider} credentials" in output and field in output, output
        assert secret not in output
    # A rejected replacement keeps the previous credentials.
    assert _integrations(run, slug)["openai"] == ("valid", {"admin_key": "…k9q2"})
    assert set(_integrations(run, slug)) == {"anthropic", "openai"}

    code, output = run("integration", "delete", "--org", slug, "--provider", "anthropic")
    assert code == 0 and f"anthropic credentials of {slug} deleted" in output, output
    assert set(_integrations(run, slug)) == {"openai"}
    assert _query(cli_env, "select count(*) from organizations.org_integration_credentials "
                           f"where org_slug = '{slug}' and provider = 'anthropic'") == [(0,)]  # fmt: skip
    code, output = run("integration", "delete", "--org", slug, "--provider", "anthropic")
    assert code == 1 and f"org {slug} has no anthropic integration" in output, output

    # The one credential left is really stored (so the absence checks below are not vacuous) ...
    settings = get_settings()
    left = get_credentials(get_warehouse(settings), get_keyring(settings), slug, "openai")
    assert left == {"admin_key": OPENAI_KEY_2}

    # ... yet no secret, nor any 10 characters of it, is printed or stored anywhere in clear.
    secrets = [OPENAI_KEY_1, OPENAI_KEY_2, ANTHROPIC_KEY] + [secret for *_, secret in invalid]
    needles = set().union(*(_fragments(secret) for secret in secrets))
    key_needles = _fragments(api_key)  # printed on purpose, but stored only as its hash and an encrypted copy
    transcript = "\n".join(run.transcript)
    assert slug in transcript and "k9q2" in transcript
    for needle in sorted(needles):
        assert needle not in transcript, f"{needle!r} printed by the CLI"
    files = [path for path in cli_env.rglob("*") if path.is_file()]
    assert {"platform.duckdb", "control_plane.db", "keyring.json"} <= {path.name for path in files}
    assert slug.encode() in (cli_env / "control_plane.db").read_bytes()  # the byte scan does find stored text
    for path in files:
        raw = path.read_bytes()
        for needle in sorted(needles | key_needles):
            assert needle.encode() not in raw, f"{needle!r} stored in clear in {path.name}"
    stored_text = _stored_text(cli_env)
    assert slug in stored_text
    for needle in sorted(needles | key_needles):
        assert needle not in stored_text, f"{needle!r} stored in clear in a table"


def test_keyring_rotate_rewraps_every_secret_and_recovery_still_works(cli_env: Path) -> None:
    run = Cli()
    acme, acme_key = run.create_org("Acme Corp", "--plan", "professional")
    globex, globex_key = run.create_org("Globex")
    stored = {
        (acme, "openai"): {"admin_key": OPENAI_KEY_1, "organization_id": OPENAI_ORG},
        (acme, "aws"): AWS_CREDS,
        (globex, "anthropic"): {"admin_key": ANTHROPIC_KEY},
    }
    for (slug, provider), creds in stored.items():
        code, output = run("integration", "set", "--org", slug, "--provider", provider, "--file", "-",
                           input=json.dumps(creds))  # fmt: skip
        assert code == 0, output
    keyring = LocalKeyring(cli_env / "keyring.json")
    first = keyring.primary_key_id()
    n_secrets = 2 + len(stored)  # one API key per org plus the credentials

    kek_ids = [first]
    for _ in range(2):
        code, output = run("keyring", "rotate")
        assert code == 0, output
        new_id = re.search(r"new primary key-encryption key (\S+)", output)
        moved = re.search(r"(\d+) stored secrets re-wrapped under (\S+)", output)
        assert new_id and moved, output
        assert new_id[1] not in kek_ids and moved[2] == new_id[1] and int(moved[1]) == n_secrets
        kek_ids.append(new_id[1])
        assert keyring.primary_key_id() == new_id[1] and keyring.key_ids() == kek_ids  # old KEKs are kept
        wrapped_by = _query(cli_env, "select kek_id from organizations.org_api_keys union all "
                                     "select kek_id from organizations.org_integration_credentials")  # fmt: skip
        assert wrapped_by == [(new_id[1],)] * n_secrets

    for slug, api_key in ((acme, acme_key), (globex, globex_key)):
        code, output = run("org", "recover-key", slug)
        assert code == 0 and output == api_key + "\n", output
    settings = get_settings()
    warehouse, keyring_in_use = get_warehouse(settings), get_keyring(settings)
    for (slug, provider), creds in stored.items():
        assert get_credentials(warehouse, keyring_in_use, slug, provider) == creds


def test_quota_show_lists_the_plan_limits(cli_env: Path) -> None:
    run = Cli()
    pro, _ = run.create_org("Acme Corp", "--plan", "professional")
    starter, _ = run.create_org("Globex")
    before = datetime.now(UTC)
    results = {slug: run("quota", "show", "--org", slug) for slug in (pro, starter)}
    after = datetime.now(UTC)
    midnights = {f"{(moment + timedelta(days=1)):%Y-%m-%d} 00:00" for moment in (before, after)}

    # The README's plan table: runs/day, runs/month, concurrent runs.
    for slug, plan, (daily, monthly, concurrent) in (
        (pro, "professional", (24, 600, 3)),
        (starter, "starter", (6, 150, 1)),
    ):
        code, output = results[slug]
        assert code == 0 and f"{slug}: plan {plan} (active)" in output, output
        rows = {row[0]: row[1:] for row in _table_rows(output)}
        assert rows["pipeline runs today"][:2] == ["0", str(daily)]
        assert rows["pipeline runs today"][2] in midnights
        assert rows["pipeline runs this month"][:2] == ["0", str(monthly)]
        assert rows["pipeline runs this month"][2].endswith("-01 00:00")
        assert rows["concurrent runs"] == ["0", str(concurrent), "when a run ends"]


@pytest.mark.parametrize(
    "args",
    [
        ("quota", "show", "--org", "bad slug!"),
        ("integration", "set", "--org", "bad slug!", "--provider", "openai", "--file", "-"),
        ("integration", "list", "--org", "bad slug!"),
        ("integration", "delete", "--org", "bad slug!", "--provider", "openai"),
        ("org", "recover-key", "bad slug!"),
    ],
    ids=lambda args: " ".join(args[:2]),
)
def test_invalid_slug_exits_2(cli_env: Path, args: tuple[str, ...]) -> None:
    code, output = Cli()(*args, input=json.dumps({"admin_key": OPENAI_KEY_1}))
    assert code == 2, output
    assert "invalid org slug 'bad slug!'" in output and "^[a-zA-Z0-9_]{3,50}$" in output
    assert len(output.strip().splitlines()) == 1
    assert not (cli_env / "platform.duckdb").exists() and not (cli_env / "keyring.json").exists()


def test_integration_set_with_a_missing_file_is_a_one_line_error(cli_env: Path, tmp_path: Path) -> None:
    run = Cli()
    slug, _ = run.create_org("Initech")
    result = runner.invoke(app, ["integration", "set", "--org", slug, "--provider", "openai",
                                 "--file", str(tmp_path / "missing.json")])  # fmt: skip
    assert isinstance(result.exception, SystemExit) and result.exit_code == 2
    assert "missing.json" in result.output and "cannot read" in result.output
