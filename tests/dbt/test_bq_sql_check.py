"""Tests for cloudact.bq_sql_check: BigQuery-only SQL passes, DuckDB-isms are reported."""

from __future__ import annotations

import pytest

from cloudact.bq_sql_check import ALLOWED_ANONYMOUS, check_bigquery_sql

VALID_BIGQUERY = """
-- a comment with x::date and strftime( in it
with events as (
    select
        cast(e.amount as numeric) as amount,
        timestamp_trunc(e.ts, hour) as hour_ts,
        safe_divide(e.cost, e.usage) as unit_cost,
        struct(e.id as id, e.name as name) as ref,
        coalesce(e.region, 'global') as region,
        date_trunc(date(e.ts), month) as billing_month,
        format_timestamp('%Y-%m-%dT%H:%M:%S', e.ts) as ts_text,
        concat(e.provider, '::', e.service) as provider_service,
        if(e.cost > 0, 'paid', 'free') as tier,
        case when e.usage is null then 0 else e.usage end as usage_qty,
        label.value as label_value
    from `proj.dataset.raw_events` as e
    cross join unnest(e.labels) as label
)
select * from events /* trailing :: comment */
"""


def test_valid_bigquery_passes() -> None:
    assert check_bigquery_sql(VALID_BIGQUERY) == []


def test_double_colon_cast_fails_with_line() -> None:
    problems = check_bigquery_sql("select 1 as a,\n  x::date as d\nfrom t")
    assert len(problems) == 1
    assert "::" in problems[0]
    assert "line 2" in problems[0]


def test_double_colon_in_string_literal_passes() -> None:
    assert check_bigquery_sql("select 'a::b' as s, \"c::d\" as q, r'::' as r from t") == []


def test_unknown_function_fails_naming_it() -> None:
    problems = check_bigquery_sql("select my_udf(x) from t")
    assert len(problems) == 1
    assert "MY_UDF" in problems[0]


def test_qualified_unknown_function_reports_prefix() -> None:
    problems = check_bigquery_sql("select mydataset.my_udf(x) from t")
    assert len(problems) == 1
    assert "MYDATASET.MY_UDF" in problems[0]


def test_allow_list_accepts_anonymous_function() -> None:
    assert "ERROR" in ALLOWED_ANONYMOUS
    assert check_bigquery_sql("select error('boom') from t") == []
    assert check_bigquery_sql("select my_udf(x) from t", allow=frozenset({"MY_UDF"})) == []


@pytest.mark.parametrize(
    ("sql", "name"),
    [
        ("select strftime(ts, '%Y') from t", "STRFTIME"),
        ("select epoch(ts) from t", "EPOCH"),
        ("select to_timestamp(secs) from t", "TO_TIMESTAMP"),
        ("select list_value(1, 2) from t", "LIST_VALUE"),
        ("select struct_pack(a := 1) from t", "STRUCT_PACK"),
        ("select regexp_matches(s, 'a') from t", "REGEXP_MATCHES"),
        # These parse as known sqlglot expressions with read="bigquery".
        ("select len(s) from t", "LEN"),
        ("select datediff('day', a, b) from t", "DATEDIFF"),
        ("select try_cast(s as int64) from t", "TRY_CAST"),
    ],
)
def test_duckdb_only_functions_fail(sql: str, name: str) -> None:
    problems = check_bigquery_sql(sql)
    assert len(problems) == 1, problems
    assert name in problems[0]
    assert "DuckDB" in problems[0]


def test_duckdb_function_name_in_string_passes() -> None:
    assert check_bigquery_sql("select 'strftime(x)' as s from t") == []


def test_syntax_error_fails() -> None:
    problems = check_bigquery_sql("select a, from where t")
    assert problems
    assert problems[0].startswith("parse error")


def test_unterminated_string_fails_and_still_finds_double_colon() -> None:
    problems = check_bigquery_sql("select x::date, 'oops from t")
    assert problems[0].startswith("parse error")
    assert any("::" in problem for problem in problems[1:])
