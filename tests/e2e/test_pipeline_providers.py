"""The org pipeline ingests every file-based cloud provider from its stored integration, then builds FOCUS.

One org with AWS, GCP, Azure and OCI integrations (each an ``export_path``, the local/fsspec location a sync job
fills): ``run_in_process`` (what the Prefect flow and ``cloudact pipeline run`` do) loads all four and builds; a second
run changes nothing.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bench.generators.gcp import write_export
from cloudact.control_plane import get_control_plane
from cloudact.integrations import set_integration
from cloudact.keyring import get_keyring
from cloudact.onboarding import onboard_org
from cloudact.pipeline import run_in_process
from cloudact.settings import Settings
from cloudact.warehouse import get_warehouse
from tests.conftest import AWS_SAMPLE, SAMPLES, table_state

pytestmark = pytest.mark.slow


def _provider_rows(settings: Settings, slug: str) -> dict[str, int]:
    rows = table_state(
        settings, f"select x_Provider, count(*) from {slug}_prod.cost_data_standard_1_3 group by all order by all"
    )
    return {str(provider): int(count) for provider, count in rows}  # type: ignore[call-overload]


def test_the_org_pipeline_ingests_aws_gcp_azure_and_oci_from_their_integrations(tmp_path: Path) -> None:
    settings = Settings(_env_file=None, data_dir=tmp_path / "data", samples_dir=SAMPLES)  # type: ignore[call-arg]
    warehouse, keyring = get_warehouse(settings), get_keyring(settings)
    slug = onboard_org(get_control_plane(settings), warehouse, keyring, "Four Clouds", plan="scale").org_slug
    exports = {name: tmp_path / "exports" / name for name in ("aws", "gcp", "azure", "oci")}
    for folder in exports.values():
        folder.mkdir(parents=True)
    shutil.copy(AWS_SAMPLE, exports["aws"])
    write_export(exports["gcp"] / "billing.jsonl.gz", rows_per_month=20, seed=5, months=("202510",))
    shutil.copy(SAMPLES / "azure" / "EA_ActualCost_Small.csv", exports["azure"])
    shutil.copy(SAMPLES / "oci" / "reports_cost-csv_0000000030000269.csv", exports["oci"])
    for provider, folder in exports.items():
        set_integration(warehouse, keyring, slug, provider, {"export_path": str(folder)})

    first = run_in_process(settings, slug, trigger="manual")
    assert first.status == "succeeded", first.errors
    assert set(first.rows) == {"aws", "gcp", "azure", "oci"} and all(first.rows.values())
    counts = _provider_rows(settings, slug)
    assert set(counts) == {"aws", "gcp", "azure", "oci"}
    assert counts["aws"] == 1281  # every line of the public sample

    second = run_in_process(settings, slug, trigger="manual")
    assert second.status == "succeeded", second.errors
    assert _provider_rows(settings, slug) == counts  # re-running loads the same files again: nothing doubles
