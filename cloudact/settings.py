"""Settings shared by the CLI, ingestion, dbt wrapper, API and flows.

Everything comes from the environment (prefix ``CLOUDACT_``) or a ``.env`` file. All local state lives under one
data directory so that two directories never see each other's data.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_ROOT_API_KEY = "dev-root-key-change-me"
OPENAI_BASE_URL = "https://api.openai.com/v1"
ANTHROPIC_BASE_URL = "https://api.anthropic.com/v1"
REPO_ROOT = Path(__file__).resolve().parent.parent


class SettingsError(ValueError):
    """Raised when the settings are unsafe or inconsistent (e.g. default secrets in production)."""


class Settings(BaseSettings):
    """CloudAct configuration; every field is read from ``CLOUDACT_<FIELD>``."""

    model_config = SettingsConfigDict(env_prefix="CLOUDACT_", env_file=".env", extra="ignore")

    environment: Literal["development", "test", "production"] = "development"
    data_dir: Path = Path(".cloudact")

    warehouse: Literal["duckdb", "bigquery"] = "duckdb"
    duckdb_path: Path | None = Field(default=None, description="Defaults to <data_dir>/warehouse.duckdb")
    duckdb_memory_limit: str = Field(
        default="1536MB",
        pattern=r"^[0-9]+(\.[0-9]+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)$",
        description="DuckDB memory_limit of a dbt build; above it DuckDB spills to disk (BENCHMARKS.md)",
    )
    bq_project: str | None = None
    bq_location: str = "US"
    bq_keyfile: Path | None = None
    bq_api_endpoint: str | None = Field(
        default=None, description="BigQuery REST endpoint override (an emulator, e.g. http://127.0.0.1:9050)"
    )
    bq_inline_params: bool = Field(
        default=False, description="Render @name parameters as escaped literals (emulators without query parameters)"
    )
    bq_max_bytes_billed: int | None = Field(
        default=None, ge=1, description="Cap on the bytes one BigQuery query of CloudAct may bill (fails above it)"
    )

    control_plane: Literal["sqlite", "postgres", "supabase"] = "sqlite"
    database_url: str | None = Field(default=None, description="SQLAlchemy URL; default <data_dir>/control_plane.db")
    supabase_url: str | None = None
    supabase_key: SecretStr | None = None

    root_api_key: SecretStr = SecretStr(DEFAULT_ROOT_API_KEY)
    auth_disabled: bool = False

    keyring: Literal["local", "gcp_kms"] = "local"
    keyring_path: Path | None = Field(default=None, description="Local KEK file; default <data_dir>/keyring.json")
    kms_key_name: str | None = Field(
        default=None, description="projects/P/locations/L/keyRings/R/cryptoKeys/K when CLOUDACT_KEYRING=gcp_kms"
    )

    stripe_webhook_secret: SecretStr | None = None
    stripe_webhook_tolerance: int = Field(default=300, ge=1, description="Seconds a Stripe signature stays valid")
    stripe_price_plans: dict[str, str] = Field(
        default_factory=dict, description='JSON map of Stripe price id to plan, e.g. {"price_123": "professional"}'
    )

    openai_base_url: str = OPENAI_BASE_URL
    openai_initial_days: int = Field(default=90, ge=1, description="How far back the first OpenAI load reads")
    openai_lag_days: int = Field(default=2, ge=0, description="Days re-read on every OpenAI load (still-open days)")
    anthropic_base_url: str = ANTHROPIC_BASE_URL
    anthropic_initial_days: int = Field(default=90, ge=1, description="How far back the first Anthropic load reads")
    anthropic_lag_days: int = Field(default=2, ge=0, description="Days re-read on every Anthropic load (open days)")
    anthropic_endpoints: Literal["legacy"] = Field(
        default="legacy", description="Anthropic report endpoints: the legacy usage/cost reports (analytics API later)"
    )
    # GenAI admin API retries of HTTP 429/5xx; unset = dlt's RUNTIME__REQUEST_* settings (5 tries, factor 1, 300 s).
    genai_http_max_attempts: int | None = Field(default=None, ge=1, description="Tries per GenAI API request")
    genai_http_backoff_seconds: float | None = Field(default=None, ge=0, description="Exponential backoff factor")
    genai_http_max_delay_seconds: float | None = Field(default=None, ge=0, description="Longest wait between retries")

    pipeline_retry_delays: list[float] = Field(
        default_factory=lambda: [10.0, 60.0, 300.0],
        description="Seconds between retries of a provider ingest after a transient error (429, 5xx, timeout)",
    )
    pipeline_wait_seconds: float = Field(default=1800, ge=0, description="How long a run waits for the org's last run")
    pipeline_stale_minutes: int = Field(default=180, ge=1, description="Runs older than this fail in stale_cleanup")
    pipeline_deployment: str = Field(default="org_pipeline/org_pipeline", description="Prefect deployment of org runs")
    quota_retention_days: int = Field(default=400, ge=31, description="Usage rows kept by quota_cleanup")
    alert_webhook_url: str | None = Field(default=None, description="alerts_daily POSTs each new alert here (JSON)")
    alert_quota_ratio: float = Field(default=0.8, gt=0, le=1, description="Quota alert when usage/limit reaches it")
    alert_spike_ratio: float = Field(default=1.5, gt=1, description="Cost spike when yesterday/day before exceeds it")
    alert_spike_min_amount: float = Field(default=10.0, ge=0, description="...and the increase is at least this")

    auth_cache_seconds: float = Field(default=30, ge=0, description="How long the API trusts a verified key")
    read_cache_ttl_seconds: float = Field(default=300, gt=0, description="How long a cached read result lives")
    read_cache_max_mb: float = Field(default=256, gt=0, description="Memory bound of the API's read cache")

    samples_dir: Path | None = Field(default=None, description="Public provider samples; defaults to ../shared/samples")

    @model_validator(mode="after")
    def _refuse_unsafe_production(self) -> Settings:
        if self.environment != "production":
            return self
        if self.root_api_key.get_secret_value() == DEFAULT_ROOT_API_KEY or len(self.root_api_key) < 32:
            raise SettingsError("CLOUDACT_ROOT_API_KEY must be set to a random value of 32+ characters in production")
        if self.auth_disabled:
            raise SettingsError("CLOUDACT_AUTH_DISABLED cannot be true in production")
        return self

    @property
    def resolved_data_dir(self) -> Path:
        """The data directory as an absolute path."""
        return self.data_dir.expanduser().resolve()

    @property
    def resolved_duckdb_path(self) -> Path:
        """The DuckDB warehouse file."""
        return (self.duckdb_path or self.resolved_data_dir / "warehouse.duckdb").expanduser().resolve()

    @property
    def resolved_database_url(self) -> str:
        """SQLAlchemy URL of the control plane."""
        if self.database_url:
            return self.database_url
        if self.control_plane != "sqlite":
            raise SettingsError(f"CLOUDACT_DATABASE_URL is required when CLOUDACT_CONTROL_PLANE={self.control_plane}")
        return f"sqlite:///{self.resolved_data_dir / 'control_plane.db'}"

    @property
    def resolved_platform_path(self) -> Path:
        """The DuckDB file of the shared ``organizations`` dataset (next to the warehouse file)."""
        warehouse = self.resolved_duckdb_path
        return warehouse.with_name(
            "platform.duckdb" if warehouse.name == "warehouse.duckdb" else f"{warehouse.stem}.platform.duckdb"
        )

    @property
    def resolved_keyring_path(self) -> Path:
        """The local keyring file holding the key-encryption keys."""
        return (self.keyring_path or self.resolved_data_dir / "keyring.json").expanduser().resolve()

    @property
    def dlt_pipelines_dir(self) -> Path:
        """Working folders of the dlt pipelines (state, pending packages)."""
        return self.resolved_data_dir / "dlt"

    @property
    def resolved_samples_dir(self) -> Path:
        """Folder with the public provider samples used by the demo."""
        if self.samples_dir:
            return self.samples_dir.expanduser().resolve()
        for candidate in (REPO_ROOT.parent / "shared" / "samples", Path("/work/shared/samples")):
            if candidate.is_dir():
                return candidate
        return REPO_ROOT / "samples"

    def ensure_data_dir(self) -> Path:
        """Create the data directory (mode 0700) and return it."""
        path = self.resolved_data_dir
        path.mkdir(parents=True, exist_ok=True, mode=0o700)
        return path


@lru_cache
def get_settings() -> Settings:
    """Settings of this process (cached; tests build their own ``Settings`` instead)."""
    return Settings()
