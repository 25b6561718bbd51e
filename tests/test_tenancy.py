import pytest

from cloudact.tenancy import InvalidSlugError, base36, company_key, make_slug, tenant_dataset, validate_slug


@pytest.mark.parametrize("slug", ["abc", "acme_corp_lq2x9a", "A_b_9", "x" * 50])
def test_valid_slugs_pass(slug: str) -> None:
    assert validate_slug(slug) == slug


@pytest.mark.parametrize("slug", ["ab", "x" * 51, "acme-corp", "acme corp", "acme;drop", "acme_prod.x", "", "é_acme"])
def test_invalid_slugs_are_rejected_with_the_pattern(slug: str) -> None:
    with pytest.raises(InvalidSlugError, match=r"\^\[a-zA-Z0-9_\]\{3,50\}\$"):
        validate_slug(slug)


def test_make_slug_is_company_key_and_base36_timestamp() -> None:
    slug = make_slug("Acme Corp, Inc.", now_ms=1_700_000_000_000)
    assert slug == f"acme_corp_inc_{base36(1_700_000_000_000)}"
    assert base36(35) == "z" and base36(36) == "10"


def test_long_company_names_still_give_valid_slugs() -> None:
    slug = make_slug("The " + "Very " * 20 + "Long Company", now_ms=1)
    assert validate_slug(slug) and len(slug) <= 50


def test_company_key_needs_a_letter_or_digit() -> None:
    assert company_key("  ACME--Corp!! ") == "acme_corp"
    with pytest.raises(InvalidSlugError):
        make_slug("!!!")


def test_tenant_dataset_validates_before_building_a_name() -> None:
    assert tenant_dataset("acme_1") == "acme_1_prod"
    with pytest.raises(InvalidSlugError):
        tenant_dataset("acme; drop schema x")


def test_a_company_name_starting_with_a_digit_gives_a_slug_starting_with_a_letter() -> None:
    from cloudact.tenancy import make_slug

    slug = make_slug("3M Company", now_ms=0)
    assert slug == "org_3m_company_0" and slug[0].isalpha()
    assert make_slug("0" * 200, now_ms=0).startswith("org_000")
