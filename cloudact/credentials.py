"""Provider credentials: validate their shape (no network calls) and normalise them to a plain dict.

The dict returned by :func:`validate_credentials` holds the secrets in clear text on purpose: the caller seals the
whole dict with :func:`cloudact.keyring.seal`. Anything shown to users or logs goes through :func:`redacted`.
Error messages (:class:`CredentialError`) name the provider, the field and what was expected, never the value given.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable
from typing import Annotated, Any, ClassVar, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, ValidationError, model_validator

Redaction = Literal["last4", "hidden"]
REDACTED = "(redacted)"


class CredentialError(ValueError):
    """Credentials do not have the provider's shape. The message never contains a submitted value.

    Attributes:
        provider: The provider the credentials were for.
        problems: ``(field, problem)`` pairs; ``field`` is a dotted path such as ``service_account_json.private_key``,
            or ``""`` for the payload as a whole.
    """

    def __init__(self, provider: str, problems: list[tuple[str, str]]) -> None:
        self.provider = provider
        self.problems = problems
        detail = "; ".join(f"{field}: {problem}" if field else problem for field, problem in problems)
        super().__init__(f"invalid {provider} credentials: {detail}")


class _FieldProblem(ValueError):
    """Raised inside model validators to blame a specific field (pydantic would otherwise report the whole model)."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(problem)
        self.field = field
        self.problem = problem


def _matching(pattern: str, expected: str, *, flags: int = 0, normalise: Callable[[str], str] | None = None) -> Any:
    """A validator checking a whole string against ``pattern``; its error says what was expected, not what came."""
    compiled = re.compile(pattern, flags)

    def check(value: str) -> str:
        if not compiled.fullmatch(value):
            raise ValueError(f"expected {expected}")
        return normalise(value) if normalise else value

    return AfterValidator(check)


def _pem_private_key(labels: tuple[str, ...], *, trailing: tuple[str, ...] = ()) -> Any:
    """A validator for a PEM private key with one of ``labels``; ``trailing`` lists text allowed after the block."""
    block = re.compile(r"-----BEGIN ([A-Z ]+)-----\r?\n(.*?)\r?\n?-----END \1-----", re.S)
    expected = " or ".join(f"'-----BEGIN {label}-----'" for label in labels)

    def check(value: str) -> str:
        text = value.strip()
        match = block.match(text)
        if not match or match.group(1) not in labels:
            raise ValueError(f"expected a PEM private key starting with {expected}")
        rest = text[match.end() :].strip()
        if rest and rest not in trailing:
            raise ValueError("expected nothing after the '-----END ...-----' line")
        # Encrypted traditional RSA keys carry "Proc-Type:"/"DEK-Info:" headers before the base64 body.
        body = "".join(line.strip() for line in match.group(2).splitlines() if ":" not in line)
        try:
            base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            raise ValueError("expected a PEM private key whose body is base64 (was it truncated?)") from None
        if not body:
            raise ValueError("expected a PEM private key, got an empty PEM block")
        return text + "\n"

    return AfterValidator(check)


def _is_encrypted_pem(pem: str) -> bool:
    return "ENCRYPTED PRIVATE KEY" in pem or "Proc-Type: 4,ENCRYPTED" in pem


_UUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
_REGION = r"[a-z]{2}(-[a-z]+)+-\d{1,2}"
_GCP_PROJECT = r"([a-z][a-z0-9.-]*[a-z0-9]:)?[a-z][a-z0-9-]{4,28}[a-z0-9]"  # optional legacy "domain.com:" scope

Uuid = Annotated[str, _matching(_UUID, "a UUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)", normalise=str.lower)]


class _ProviderCredentials(BaseModel):
    """Common configuration: unknown fields are errors, surrounding whitespace (a copy-paste accident) is dropped."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)

    #: Secret fields and how :func:`redacted` shows them: ``last4`` keeps a short fingerprint, ``hidden`` nothing.
    SECRETS: ClassVar[dict[str, Redaction]] = {}

    @classmethod
    def redact(cls, creds: dict[str, Any]) -> dict[str, Any]:
        """A summary safe for API responses and logs.

        Works on the stored dict without re-validating it, so credentials stored under older rules still show;
        keys that are not fields of the model are dropped, since nothing is known about them.
        """
        summary: dict[str, Any] = {}
        for name, value in creds.items():
            if value is None or name not in cls.model_fields:
                continue
            mode = cls.SECRETS.get(name)
            if mode is None:
                summary[name] = value
            elif mode == "last4" and isinstance(value, str) and len(value) >= 20:
                summary[name] = f"…{value[-4:]}"
            else:
                summary[name] = REDACTED
        return summary


class OpenAICredentials(_ProviderCredentials):
    """OpenAI organization Admin API key (read access to the Costs and Usage APIs)."""

    SECRETS: ClassVar[dict[str, Redaction]] = {"admin_key": "last4"}

    admin_key: Annotated[
        str, _matching(r"sk-admin-[A-Za-z0-9_-]{16,}", "an OpenAI Admin API key starting with 'sk-admin-'")
    ]
    organization_id: (
        Annotated[str, _matching(r"org-[A-Za-z0-9]{8,64}", "an OpenAI organization id 'org-...'")] | None
    ) = None


class AnthropicCredentials(_ProviderCredentials):
    """Anthropic Admin API key (Usage and Cost API), optionally limited to one workspace."""

    SECRETS: ClassVar[dict[str, Redaction]] = {"admin_key": "last4"}

    admin_key: Annotated[
        str,
        _matching(
            r"sk-ant-admin\d{2}-[A-Za-z0-9_-]{16,}", "an Anthropic Admin API key starting with 'sk-ant-admin01-'"
        ),
    ]
    workspace_id: Annotated[str, _matching(r"wrkspc_[A-Za-z0-9]{8,64}", "a workspace id 'wrkspc_...'")] | None = None


def _json_object(value: Any) -> Any:
    """Accept a service-account key as an object or as the text of the downloaded JSON file."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            # JSONDecodeError keeps the whole document (private key included) in .doc: report only the expectation.
            raise ValueError("expected a service-account key as a JSON object or JSON text") from None
    return value


class GcpServiceAccountKey(BaseModel):
    """A Google service-account key file. Google's optional fields are kept as given (google-auth needs them)."""

    model_config = ConfigDict(extra="allow", str_strip_whitespace=True, frozen=True)

    type: Literal["service_account"]
    project_id: Annotated[str, _matching(_GCP_PROJECT, "a Google Cloud project id (6-30 lowercase letters, digits, -)")]
    private_key_id: Annotated[str, _matching(r"[0-9a-f]{40}", "a 40-character hex key id", flags=re.I)]
    private_key: Annotated[str, _pem_private_key(("PRIVATE KEY",))]
    client_email: Annotated[
        str,
        _matching(
            r"[a-z0-9-]{1,64}@[a-z0-9.:-]+\.(iam|appspot)\.gserviceaccount\.com",
            "a service-account email NAME@PROJECT.iam.gserviceaccount.com",
        ),
    ]

    #: Fields of the key file shown by :func:`redacted` (everything else, private key first, is left out).
    PUBLIC: ClassVar[tuple[str, ...]] = ("type", "project_id", "private_key_id", "client_email", "client_id")


class GcpCredentials(_ProviderCredentials):
    """A service-account key plus the BigQuery table Cloud Billing exports to, or a folder of exported rows."""

    SECRETS: ClassVar[dict[str, Redaction]] = {"service_account_json": "hidden"}

    service_account_json: Annotated[GcpServiceAccountKey, BeforeValidator(_json_object)] | None = None
    # Embedded/on-premise use: the export's rows extracted to files (bq extract, NDJSON or Parquet) in a local folder.
    export_path: Annotated[str, _matching(r"/[^\x00]*", "an absolute local folder path")] | None = None
    billing_export_table: (
        Annotated[
            str,
            _matching(
                rf"{_GCP_PROJECT}\.[A-Za-z0-9_]{{1,1024}}\.[\w-]{{1,1024}}",
                "a BigQuery table 'project.dataset.table'",
            ),
        ]
        | None
    ) = None

    @classmethod
    def redact(cls, creds: dict[str, Any]) -> dict[str, Any]:
        """Keep the key's identifying fields (project, email, key id), never its private key or unknown fields."""
        summary = super().redact(creds)
        try:
            key = _json_object(creds.get("service_account_json"))
        except ValueError:
            key = None
        if isinstance(key, dict):
            summary["service_account_json"] = {
                name: key[name] for name in GcpServiceAccountKey.PUBLIC if isinstance(key.get(name), str)
            }
        return summary

    @model_validator(mode="after")
    def _key_or_folder(self) -> GcpCredentials:
        if self.export_path is None and self.service_account_json is None:
            raise _FieldProblem("service_account_json", "required (or export_path, a folder of exported rows)")
        return self


class AwsCredentials(_ProviderCredentials):
    """An IAM role to assume (preferred) or an access key pair with the CUR bucket, or a local export folder."""

    # The external id is not a secret (AWS: it guards against the confused deputy, not against disclosure).
    SECRETS: ClassVar[dict[str, Redaction]] = {"secret_access_key": "hidden", "session_token": "hidden"}

    role_arn: (
        Annotated[
            str,
            _matching(
                r"arn:aws(-cn|-us-gov)?:iam::\d{12}:role/[\w+=,.@/-]{1,512}",
                "an IAM role ARN 'arn:aws:iam::<12-digit account>:role/NAME'",
            ),
        ]
        | None
    ) = None
    external_id: (
        Annotated[str, _matching(r"[\w+=,.@:/-]{2,1224}", "2-1224 characters of letters, digits and +=,.@:/-")] | None
    ) = None
    access_key_id: (
        Annotated[str, _matching(r"(AKIA|ASIA)[A-Z0-9]{16}", "a 20-character access key id starting with AKIA or ASIA")]
        | None
    ) = None
    secret_access_key: Annotated[str, _matching(r"[A-Za-z0-9/+]{40}", "a 40-character secret access key")] | None = None
    session_token: Annotated[str, _matching(r"[A-Za-z0-9/+=]{16,}", "an STS session token")] | None = None
    cur_bucket: (
        Annotated[
            str,
            _matching(r"s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/[^\s]*)?", "an S3 URI 's3://bucket/prefix'"),
        ]
        | None
    ) = None
    region: Annotated[str, _matching(_REGION, "an AWS region such as 'us-east-1'")] | None = None
    # Embedded/on-premise use: CUR deliveries synced to a local folder (e.g. by `aws s3 sync`); needs no AWS auth.
    export_path: Annotated[str, _matching(r"/[^\x00]*", "an absolute local folder path")] | None = None

    @model_validator(mode="after")
    def _one_way_to_authenticate(self) -> AwsCredentials:
        role = self.role_arn is not None or self.external_id is not None
        keys = any(v is not None for v in (self.access_key_id, self.secret_access_key, self.session_token))
        if self.export_path is not None:
            if role or keys or self.cur_bucket is not None:
                raise _FieldProblem("export_path", "a local folder is read as is: give it without role, keys or bucket")
            return self
        if role and keys:
            raise _FieldProblem("", "give either role_arn + external_id or an access key pair, not both")
        if not role and not keys:
            raise _FieldProblem("", "expected role_arn + external_id, or access_key_id + secret_access_key")
        if role:
            if self.role_arn is None:
                raise _FieldProblem("role_arn", "required with external_id")
            if self.external_id is None:
                raise _FieldProblem("external_id", "required with role_arn (the external id set in the role's trust)")
            return self
        if self.access_key_id is None:
            raise _FieldProblem("access_key_id", "required with secret_access_key")
        if self.secret_access_key is None:
            raise _FieldProblem("secret_access_key", "required with access_key_id")
        # ASIA keys are temporary STS credentials and only work with their session token; AKIA keys never take one.
        if self.access_key_id.startswith("ASIA") and self.session_token is None:
            raise _FieldProblem("session_token", "required with a temporary (ASIA...) access key")
        if self.access_key_id.startswith("AKIA") and self.session_token is not None:
            raise _FieldProblem("session_token", "only used with temporary (ASIA...) access keys")
        return self


class AzureCredentials(_ProviderCredentials):
    """An Entra ID app registration (client secret) with read access to a subscription or billing account."""

    SECRETS: ClassVar[dict[str, Redaction]] = {"client_secret": "hidden"}

    tenant_id: Uuid
    client_id: Uuid
    client_secret: Annotated[str, _matching(r"\S{8,512}", "the client secret's Value (8+ characters, no spaces)")]
    subscription_id: Uuid | None = None
    billing_account_id: (
        Annotated[str, _matching(r"[A-Za-z0-9][A-Za-z0-9:_.-]{0,255}", "a billing account id (letters, digits, :_.-)")]
        | None
    ) = None
    export_container: (
        Annotated[
            str,
            _matching(r"az://[a-z0-9][a-z0-9-]{1,61}[a-z0-9](/[^\s]*)?", "a container URI 'az://container/path'"),
        ]
        | None
    ) = None
    # Cost Management export runs synced to a local folder (e.g. by azcopy); read instead of export_container.
    export_path: Annotated[str, _matching(r"/[^\x00]*", "an absolute local folder path")] | None = None

    @model_validator(mode="after")
    def _scope_and_secret(self) -> AzureCredentials:
        if self.subscription_id is None and self.billing_account_id is None:
            raise _FieldProblem("subscription_id", "expected subscription_id or billing_account_id")
        # The portal shows a secret's "Secret ID" (a UUID) next to its "Value"; pasting the ID is a common mistake.
        if re.fullmatch(_UUID, self.client_secret):
            raise _FieldProblem("client_secret", "looks like the secret's ID; paste the secret's Value instead")
        return self


class OciCredentials(_ProviderCredentials):
    """An OCI API signing key: tenancy, user, key fingerprint, private key and home region."""

    SECRETS: ClassVar[dict[str, Redaction]] = {"private_key": "hidden", "pass_phrase": "hidden"}

    tenancy_ocid: Annotated[
        str, _matching(r"ocid1\.tenancy\.[a-z0-9-]+\.[a-z0-9-]*\.[a-z0-9]+", "a tenancy OCID 'ocid1.tenancy.oc1..'")
    ]
    user_ocid: Annotated[
        str, _matching(r"ocid1\.user\.[a-z0-9-]+\.[a-z0-9-]*\.[a-z0-9]+", "a user OCID 'ocid1.user.oc1..'")
    ]
    fingerprint: Annotated[
        str,
        _matching(
            r"[0-9a-f]{2}(:[0-9a-f]{2}){15}",
            "16 colon-separated hex pairs (aa:bb:...)",
            flags=re.I,
            normalise=str.lower,
        ),
    ]
    # Oracle recommends an "OCI_API_KEY" line after the key (leak detection) and passphrase-protected keys.
    private_key: Annotated[
        str,
        _pem_private_key(("PRIVATE KEY", "RSA PRIVATE KEY", "ENCRYPTED PRIVATE KEY"), trailing=("OCI_API_KEY",)),
    ]
    pass_phrase: str | None = None
    region: Annotated[str, _matching(_REGION, "an OCI region identifier such as 'us-ashburn-1'")]
    # Cost and FOCUS reports synced from the tenancy's report bucket to a local folder (e.g. by `oci os object
    # bulk-download`); the pipeline reads them from there.
    export_path: Annotated[str, _matching(r"/[^\x00]*", "an absolute local folder path")] | None = None

    @model_validator(mode="after")
    def _pass_phrase_matches_key(self) -> OciCredentials:
        if _is_encrypted_pem(self.private_key) and not self.pass_phrase:
            raise _FieldProblem("pass_phrase", "required: the private key is encrypted")
        return self


class LocalExportCredentials(_ProviderCredentials):
    """Azure or OCI exports that the customer's own job syncs to a local folder (azcopy, `oci os object
    bulk-download`): the pipeline reads the folder and needs no cloud credentials, as AWS's and GCP's export_path."""

    SECRETS: ClassVar[dict[str, Redaction]] = {}

    export_path: Annotated[str, _matching(r"/[^\x00]*", "an absolute local folder path")]


# Providers whose integration may be a local export folder alone (AWS and GCP take export_path in their own shapes).
LOCAL_EXPORT_PROVIDERS = ("azure", "oci")

PROVIDER_CREDENTIALS: dict[str, type[_ProviderCredentials]] = {
    "openai": OpenAICredentials,
    "anthropic": AnthropicCredentials,
    "gcp": GcpCredentials,
    "aws": AwsCredentials,
    "azure": AzureCredentials,
    "oci": OciCredentials,
}


def validate_credentials(provider: str, payload: dict[str, Any]) -> dict[str, Any]:
    """Check credentials against the provider's shape and normalise them.

    Args:
        provider: One of :data:`PROVIDER_CREDENTIALS`.
        payload: The credentials as submitted (a GCP key may be an object or JSON text).

    Returns:
        The normalised credentials (plain JSON types, secrets in clear: seal the result before storing it).

    Raises:
        CredentialError: Unknown provider, unknown field, or a field without the expected shape.
    """
    model = _model(provider)
    if provider in LOCAL_EXPORT_PROVIDERS and isinstance(payload, dict) and set(payload) == {"export_path"}:
        model = LocalExportCredentials
    if not isinstance(payload, dict):
        raise CredentialError(provider, [("", f"expected an object of fields, got {type(payload).__name__}")])
    problems: list[tuple[str, str]] = []
    try:
        creds = model.model_validate(payload)
    except ValidationError as exc:
        problems = _problems(exc)
    # Raised outside the except block so the ValidationError, whose text echoes the input, is not chained to it.
    if problems:
        raise CredentialError(provider, problems)
    return creds.model_dump(mode="json", exclude_none=True)


def secret_fields(provider: str) -> set[str]:
    """Top-level fields of the provider's credentials that hold secrets.

    Args:
        provider: One of :data:`PROVIDER_CREDENTIALS`.

    Returns:
        Field names (for ``gcp``, the whole ``service_account_json`` since it contains the private key).

    Raises:
        CredentialError: Unknown provider.
    """
    return set(_model(provider).SECRETS)


def redacted(provider: str, creds: dict[str, Any]) -> dict[str, Any]:
    """A summary of credentials safe for API responses and logs.

    Non-secret fields are kept; API keys become a fingerprint of their last four characters (``"…wxyz"``);
    private keys, secret access keys and client secrets become ``"(redacted)"``; a GCP service-account key is
    reduced to its type, project, key id, email and client id.

    Args:
        provider: One of :data:`PROVIDER_CREDENTIALS`.
        creds: Credentials as returned by :func:`validate_credentials`.

    Returns:
        The summary.

    Raises:
        CredentialError: Unknown provider.
    """
    if not isinstance(creds, dict):
        raise CredentialError(provider, [("", f"expected an object of fields, got {type(creds).__name__}")])
    return _model(provider).redact(creds)


def _model(provider: str) -> type[_ProviderCredentials]:
    model = PROVIDER_CREDENTIALS.get(provider)
    if model is None:
        known = ", ".join(sorted(PROVIDER_CREDENTIALS))
        raise CredentialError(str(provider), [("", f"unknown provider; expected one of: {known}")])
    return model


def _problems(exc: ValidationError) -> list[tuple[str, str]]:
    """Field and message of each error, dropping ``input`` (pydantic's errors carry the submitted value)."""
    problems: list[tuple[str, str]] = []
    for error in exc.errors(include_url=False, include_input=False, include_context=True):
        field = ".".join(str(part) for part in error["loc"])
        cause = (error.get("ctx") or {}).get("error")
        if isinstance(cause, _FieldProblem):
            problems.append((cause.field or field, cause.problem))
        elif error["type"] == "value_error" and cause is not None:
            problems.append((field, str(cause)))
        elif error["type"] == "extra_forbidden":
            problems.append((field, "unknown field"))
        elif error["type"] == "missing":
            problems.append((field, "required"))
        else:
            # pydantic's own messages ("Input should be a valid string", "Input should be 'service_account'")
            # describe the expectation and do not quote the input.
            problems.append((field, error["msg"]))
    return problems
