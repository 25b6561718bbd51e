"""Provider credential shapes: valid payloads normalise, bad ones name the field without echoing the secret."""

from __future__ import annotations

import json
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from cloudact.credentials import (
    PROVIDER_CREDENTIALS,
    REDACTED,
    CredentialError,
    redacted,
    secret_fields,
    validate_credentials,
)

_KEY = rsa.generate_private_key(public_exponent=65537, key_size=1024)  # shape tests only: small is fast
PKCS8_PEM = _KEY.private_bytes(
    serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
).decode()
ENCRYPTED_PEM = _KEY.private_bytes(
    serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.BestAvailableEncryption(b"pw-123456")
).decode()
PEM_BODY_LINE = PKCS8_PEM.splitlines()[3]  # a line from the middle of the key: must never be shown

OPENAI_KEY = "sk-admin-SECRETopenai0123456789abcdefXYZ"
ANTHROPIC_KEY = "sk-ant-admin01-SECRETanthropic0123456789abcdef-QQAA"
AWS_SECRET = "SECRETawsSECRETawsSECRETaws0123456789+/x"
AZURE_SECRET = "SECRET~azure.Value_0123456789abcdefghij"
SERVICE_ACCOUNT = {
    "type": "service_account",
    "project_id": "acme-billing",
    "private_key_id": "0123456789abcdef0123456789abcdef01234567",
    "private_key": PKCS8_PEM,
    "client_email": "cloudact-reader@acme-billing.iam.gserviceaccount.com",
    "client_id": "112233445566778899",
    "token_uri": "https://oauth2.googleapis.com/token",
    "universe_domain": "googleapis.com",
}

VALID: dict[str, dict[str, Any]] = {
    "openai": {"admin_key": OPENAI_KEY, "organization_id": "org-AbCdEf0123456789AbCdEf01"},
    "anthropic": {"admin_key": ANTHROPIC_KEY, "workspace_id": "wrkspc_01JwQvzr7rXLA5AGx3HKfFUJ"},
    "gcp": {
        "service_account_json": json.dumps(SERVICE_ACCOUNT),
        "billing_export_table": "acme-billing.billing_export.gcp_billing_export_v1_012345_6789AB_CDEF01",
    },
    "aws": {
        "access_key_id": "AKIAIOSFODNN7EXAMPLE",
        "secret_access_key": AWS_SECRET,
        "cur_bucket": "s3://acme-cur/reports/daily",
        "region": "us-east-1",
    },
    "azure": {
        "tenant_id": "72F988BF-86F1-41AF-91AB-2D7CD011DB47",
        "client_id": "0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9",
        "client_secret": AZURE_SECRET,
        "subscription_id": "00000000-1111-2222-3333-444444444444",
        "export_container": "az://cost-exports/acme/daily",
    },
    "oci": {
        "tenancy_ocid": "ocid1.tenancy.oc1..aaaaaaaaba3pv6wkcr4jqae5f15p2b2m2yt2j6rx32uzr4h25vqstifsfdsq",
        "user_ocid": "ocid1.user.oc1..aaaaaaaa4seqx6jeyma46ldy4cbuv35q4l26scz5p4rkz3rauuoioo26qwmq",
        "fingerprint": "20:3B:97:13:55:1C:5B:0D:D3:37:D8:50:4E:C5:3A:34",
        "private_key": PKCS8_PEM + "OCI_API_KEY\n",
        "region": "us-ashburn-1",
    },
}
SECRETS = [OPENAI_KEY, ANTHROPIC_KEY, AWS_SECRET, AZURE_SECRET, PEM_BODY_LINE, "pw-123456"]


def _error(provider: str, payload: Any) -> CredentialError:
    with pytest.raises(CredentialError) as err:
        validate_credentials(provider, payload)
    # Raised outside pydantic's exception so no chained traceback can print the submitted values.
    assert err.value.__cause__ is None and err.value.__context__ is None
    return err.value


def test_every_provider_has_a_valid_example() -> None:
    assert set(VALID) == set(PROVIDER_CREDENTIALS)


@pytest.mark.parametrize("provider", sorted(VALID))
def test_valid_payloads_pass_and_normalise(provider: str) -> None:
    creds = validate_credentials(provider, VALID[provider])
    assert json.loads(json.dumps(creds)) == creds  # plain JSON types, ready to seal


def test_normalisation() -> None:
    gcp = validate_credentials("gcp", VALID["gcp"])
    assert gcp["service_account_json"]["private_key"] == PKCS8_PEM  # JSON text becomes the object
    assert gcp["service_account_json"]["universe_domain"] == "googleapis.com"  # Google's extra fields are kept
    azure = validate_credentials("azure", VALID["azure"])
    assert azure["tenant_id"] == "72f988bf-86f1-41af-91ab-2d7cd011db47"
    oci = validate_credentials("oci", VALID["oci"])
    assert oci["fingerprint"] == "20:3b:97:13:55:1c:5b:0d:d3:37:d8:50:4e:c5:3a:34"
    openai = validate_credentials("openai", {"admin_key": f"  {OPENAI_KEY}\n"})
    assert openai == {"admin_key": OPENAI_KEY}


BAD_FIELDS = [
    ("openai", {"admin_key": "sk-proj-SECRETnotAnAdminKey0123456789"}, "admin_key", "sk-proj-SECRETnotAnAdminKey"),
    ("openai", {"organization_id": "acme"}, "organization_id", None),
    ("anthropic", {"admin_key": "sk-ant-api03-SECRETinferenceKey0123456789"}, "admin_key", "SECRETinferenceKey"),
    ("anthropic", {"workspace_id": "Default Workspace"}, "workspace_id", None),
    (
        "gcp",
        {"service_account_json": {**SERVICE_ACCOUNT, "private_key": PEM_BODY_LINE}},
        "service_account_json.private_key",
        PEM_BODY_LINE,
    ),
    (
        "gcp",
        {"service_account_json": {**SERVICE_ACCOUNT, "type": "authorized_user"}},
        "service_account_json.type",
        PEM_BODY_LINE,
    ),
    (
        "gcp",
        {"service_account_json": {**SERVICE_ACCOUNT, "client_email": "me@gmail.com"}},
        "service_account_json.client_email",
        PEM_BODY_LINE,
    ),
    ("gcp", {"service_account_json": json.dumps(SERVICE_ACCOUNT)[:-5]}, "service_account_json", PEM_BODY_LINE),
    ("gcp", {"billing_export_table": "billing_export"}, "billing_export_table", PEM_BODY_LINE),
    ("aws", {"secret_access_key": AWS_SECRET[:-3]}, "secret_access_key", AWS_SECRET[:-3]),
    ("aws", {"access_key_id": "AKIA-SHORT"}, "access_key_id", AWS_SECRET),
    ("aws", {"cur_bucket": "acme-cur"}, "cur_bucket", AWS_SECRET),
    ("azure", {"tenant_id": "acme.onmicrosoft.com"}, "tenant_id", AZURE_SECRET),
    ("azure", {"client_secret": "SECRET with spaces"}, "client_secret", "SECRET with spaces"),
    ("azure", {"client_secret": "6f1d3c2b-aaaa-4bbb-8ccc-1234567890ab"}, "client_secret", "6f1d3c2b-aaaa"),
    ("oci", {"fingerprint": "20:3b:97"}, "fingerprint", PEM_BODY_LINE),
    ("oci", {"private_key": PKCS8_PEM.replace("PRIVATE KEY", "PUBLIC KEY")}, "private_key", PEM_BODY_LINE),
    ("oci", {"tenancy_ocid": "ocid1.user.oc1..aaaa"}, "tenancy_ocid", PEM_BODY_LINE),
]


# Ids without the secret (some are generated per run, and pytest-xdist workers must collect the same ids).
@pytest.mark.parametrize(
    "provider, change, field, secret", BAD_FIELDS, ids=[f"{case[0]}-{case[2]}-{n}" for n, case in enumerate(BAD_FIELDS)]
)
def test_a_bad_field_is_named_without_echoing_secrets(
    provider: str, change: dict[str, Any], field: str, secret: str | None
) -> None:
    err = _error(provider, {**VALID[provider], **change})
    message = str(err)
    assert message.startswith(f"invalid {provider} credentials: {field}: ")
    assert [problem_field for problem_field, _ in err.problems] == [field]
    for value in [secret, *SECRETS]:
        if value:
            assert value not in message and value not in repr(err.problems)


def test_missing_fields_and_type_errors_are_named() -> None:
    err = _error("azure", {"tenant_id": 42})
    assert dict(err.problems) == {
        "tenant_id": "Input should be a valid string",
        "client_id": "required",
        "client_secret": "required",
    }


def test_unknown_field_is_named() -> None:
    err = _error("openai", {**VALID["openai"], "api_key": "sk-SECRETuser0123456789"})
    assert err.problems == [("api_key", "unknown field")]
    assert "sk-SECRETuser" not in str(err)


def test_unknown_provider_lists_the_known_ones() -> None:
    err = _error("digitalocean", {"token": "dop_v1_SECRET"})
    assert "digitalocean" in str(err) and "anthropic, aws, azure, gcp, oci, openai" in str(err)
    assert "dop_v1_SECRET" not in str(err)
    with pytest.raises(CredentialError, match="unknown provider"):
        secret_fields("digitalocean")


def test_payload_must_be_an_object() -> None:
    assert "expected an object" in str(_error("openai", OPENAI_KEY))  # type: ignore[arg-type]


def test_aws_takes_a_role_or_a_key_pair() -> None:
    role = {"role_arn": "arn:aws:iam::123456789012:role/cloudact-cur-reader", "external_id": "cloudact-acme-7f3a"}
    assert validate_credentials("aws", role) == role
    gov = {**role, "role_arn": "arn:aws-us-gov:iam::123456789012:role/reader", "region": "us-gov-west-1"}
    assert validate_credentials("aws", gov)["region"] == "us-gov-west-1"

    assert _error("aws", {"role_arn": role["role_arn"]}).problems[0][0] == "external_id"
    assert _error("aws", {"role_arn": "arn:aws:iam::1234:role/x", "external_id": "e1"}).problems[0][0] == "role_arn"
    assert "not both" in str(_error("aws", {**role, **VALID["aws"]}))
    assert "expected role_arn" in str(_error("aws", {"region": "us-east-1"}))
    assert _error("aws", {"access_key_id": "AKIAIOSFODNN7EXAMPLE"}).problems[0][0] == "secret_access_key"

    temporary = {"access_key_id": "ASIAIOSFODNN7EXAMPLE", "secret_access_key": AWS_SECRET}
    err = _error("aws", temporary)
    assert err.problems[0][0] == "session_token" and AWS_SECRET not in str(err)
    token = "FwoGZXIvYXdzEJr//////////wEaDSECRETtoken0123456789abcdef=="
    assert validate_credentials("aws", {**temporary, "session_token": token})["session_token"] == token


def test_azure_needs_a_subscription_or_billing_account() -> None:
    scope_free = {k: v for k, v in VALID["azure"].items() if k != "subscription_id"}
    err = _error("azure", scope_free)
    assert err.problems == [("subscription_id", "expected subscription_id or billing_account_id")]
    mca = "7f0a1b2c-0000-1111-2222-333344445555:9e8d7c6b-aaaa-bbbb-cccc-ddddeeeeffff_2019-05-31"
    assert validate_credentials("azure", {**scope_free, "billing_account_id": mca})["billing_account_id"] == mca


def test_oci_encrypted_key_needs_its_pass_phrase() -> None:
    encrypted = {**VALID["oci"], "private_key": ENCRYPTED_PEM}
    assert _error("oci", encrypted).problems == [("pass_phrase", "required: the private key is encrypted")]
    creds = validate_credentials("oci", {**encrypted, "pass_phrase": "pw-123456"})
    assert creds["private_key"].startswith("-----BEGIN ENCRYPTED PRIVATE KEY-----")
    traditional = _KEY.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.BestAvailableEncryption(b"pw-123456"),
    ).decode()  # "-----BEGIN RSA PRIVATE KEY-----" with Proc-Type/DEK-Info headers
    assert _error("oci", {**encrypted, "private_key": traditional}).problems[0][0] == "pass_phrase"
    assert validate_credentials("oci", {**encrypted, "private_key": traditional, "pass_phrase": "pw-123456"})
    trailing = {**VALID["oci"], "private_key": PKCS8_PEM + "something else"}
    assert _error("oci", trailing).problems[0][0] == "private_key"


def test_secret_fields() -> None:
    assert secret_fields("openai") == {"admin_key"}
    assert secret_fields("gcp") == {"service_account_json"}
    assert secret_fields("aws") == {"secret_access_key", "session_token"}
    assert secret_fields("azure") == {"client_secret"}
    assert secret_fields("oci") == {"private_key", "pass_phrase"}


@pytest.mark.parametrize("provider", sorted(VALID))
def test_redacted_contains_no_secret(provider: str) -> None:
    creds = validate_credentials(provider, VALID[provider])
    summary = redacted(provider, creds)
    text = json.dumps(summary)
    for secret in SECRETS:
        assert secret not in text
    assert "PRIVATE KEY" not in text
    for field in secret_fields(provider) & set(summary):
        value = summary[field]
        assert value == REDACTED or isinstance(value, dict) or (value.startswith("…") and len(value) == 5)
    non_secret = set(creds) - secret_fields(provider)
    assert {field: summary[field] for field in non_secret} == {field: creds[field] for field in non_secret}


def test_redacted_shapes() -> None:
    assert redacted("openai", validate_credentials("openai", VALID["openai"]))["admin_key"] == "…fXYZ"
    gcp = redacted("gcp", validate_credentials("gcp", VALID["gcp"]))
    assert gcp["service_account_json"] == {
        "type": "service_account",
        "project_id": "acme-billing",
        "private_key_id": "0123456789abcdef0123456789abcdef01234567",
        "client_email": "cloudact-reader@acme-billing.iam.gserviceaccount.com",
        "client_id": "112233445566778899",
    }
    assert redacted("oci", validate_credentials("oci", VALID["oci"]))["private_key"] == REDACTED
    # Stored dicts are summarised without re-validation; unknown keys are dropped rather than guessed about.
    assert redacted("openai", {"admin_key": "short", "legacy_field": "SECRET?"}) == {"admin_key": REDACTED}


@pytest.mark.parametrize("provider", ["azure", "oci"])
def test_a_local_export_folder_alone_is_an_integration(provider: str) -> None:
    assert validate_credentials(provider, {"export_path": "/srv/exports"}) == {"export_path": "/srv/exports"}
    assert redacted(provider, {"export_path": "/srv/exports"}) == {"export_path": "/srv/exports"}
    assert "export_path" in dict(_error(provider, {"export_path": "relative/folder"}).problems)
    # With any cloud field the provider's full shape applies, and its missing fields are named.
    assert "export_path" not in dict(_error(provider, {"export_path": "/srv/exports", "region": "x"}).problems)
