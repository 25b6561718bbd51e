{#- What the next incremental build of cost_data_standard_1_3 replaces: one row per unit, either a whole billing period
    (charge_date null) or one UTC day of one (charge_date 'YYYY-MM-DD'), with unit_key = period_key or
    period_key|charge_date, and why (change, from int_focus_changed_periods).
    New and vanished periods are replaced whole. A re-delivered period (a provider re-sends its open month every day)
    is replaced day by day when every row of it, in the raw data and in the FOCUS table, carries a fingerprint of its raw
    line (source_row_hash / x_SourceRowHash: sources whose rows each depend on one raw line, see int_charges_unioned):
    only the days whose row count or fingerprint sum differs are listed, so a month re-delivered with its last two
    days changed rebuilds those two days. Other sources' re-delivered periods are replaced whole.
    The re-delivered periods are read first and inlined as constants beside the bare billing period column, so that
    only their raw rows are scanned and fingerprinted (see int_focus_changed_periods). -#}
{{ config(materialized='table', tags=['focus']) }}
{%- set charges = ref('int_charges_unioned') -%}
{%- set redelivered = [] -%}
{%- set starts = [] -%}
{%- set period_texts = [] -%}
{%- set target_relation = none -%}
{%- if execute and not is_offline_compile() -%}
    {%- set target_relation = adapter.get_relation(database=this.database, schema=this.schema, identifier='cost_data_standard_1_3') -%}
    {%- if target_relation is not none -%}
        {%- set target_columns = adapter.get_columns_in_relation(target_relation) | map(attribute='name') | map('lower') | list -%}
        {%- set listed = run_query("select period_key, billing_period_start, billing_period_text from " ~ ref('int_focus_changed_periods') ~ " where change = 'redelivered'") -%}
        {%- set safe = namespace(keys='x_sourcerowhash' in target_columns) -%}
        {%- set texts = namespace(safe=true) -%}
        {%- for row in listed.rows -%}
            {%- for value in row[:2] if not is_plain_literal(value) -%}
                {%- set safe.keys = false -%}
            {%- endfor -%}
            {%- if not is_plain_literal(row[2]) -%}
                {%- set texts.safe = false -%}
            {%- endif -%}
        {%- endfor -%}
        {#- A key unsafe as a literal (or a FOCUS table from before x_SourceRowHash): every period is replaced whole. #}
        {%- if safe.keys -%}
            {%- set redelivered = listed.columns[0].values() | list -%}
            {%- set starts = listed.columns[1].values() | unique | list -%}
            {%- if texts.safe %}{% set period_texts = listed.columns[2].values() | unique | list %}{% endif -%}
        {%- endif -%}
    {%- endif -%}
{%- endif %}

with periods as (
    select period_key, billing_period_start, change, billing_period_text from {{ ref('int_focus_changed_periods') }}
),

{%- if redelivered %}

{%- set in_starts -%}
    in ({{ timestamp_literals(starts) }})
{%- endset -%}
{%- set in_keys -%}
    in ({{ text_literals(redelivered) }})
{%- endset %}

{%- set source_where -%}
    billing_period_start_at {{ in_starts }}
    {%- if period_texts %}
    and billing_period_text in ({{ text_literals(period_texts) }})
    {%- endif -%}
{%- endset %}

source_days as (
    {{ day_fingerprints(charges, 'provider', 'billing_account_id', 'billing_period_start_at', 'charge_period_start_at',
                        'source_row_hash', source_where, in_keys) }}
),

target_days as (
    {{ day_fingerprints(target_relation, 'x_Provider', 'BillingAccountId', 'BillingPeriodStart', 'ChargePeriodStart',
                        'x_SourceRowHash', 'BillingPeriodStart ' ~ in_starts, in_keys) }}
),

days as (
    select
        coalesce(source_days.period_key, target_days.period_key) as period_key,
        coalesce(source_days.charge_date, target_days.charge_date) as charge_date,
        case
            when source_days.period_key is null or target_days.period_key is null then 1
            when source_days.row_count != target_days.row_count then 1
            when source_days.hash_sum != target_days.hash_sum then 1
            else 0
        end as is_changed,
        {#- A day can be replaced alone when every row of it on both sides carries a fingerprint. #}
        case
            when coalesce(source_days.charge_date, target_days.charge_date) is null then 0
            when coalesce(source_days.hashed_count, 0) != coalesce(source_days.row_count, 0) then 0
            when coalesce(target_days.hashed_count, 0) != coalesce(target_days.row_count, 0) then 0
            else 1
        end as is_hashed
    from source_days
    full outer join target_days
        on source_days.period_key = target_days.period_key
        and source_days.charge_date = target_days.charge_date
),

by_day as (
    select period_key
    from days
    group by 1
    having min(is_hashed) = 1
),

{%- endif %}

units as (
    select period_key, billing_period_start, cast(null as {{ dbt.type_string() }}) as charge_date, change,
        billing_period_text
    from periods
    {%- if redelivered %}
    where period_key not in (select period_key from by_day)
    {%- endif %}
    {%- if redelivered %}

    union all

    select days.period_key, periods.billing_period_start, days.charge_date, periods.change,
        periods.billing_period_text
    from days
    inner join periods
        on days.period_key = periods.period_key
    where days.is_changed = 1
        and days.period_key in (select period_key from by_day)
    {%- endif %}
)

select
    period_key,
    billing_period_start,
    charge_date,
    case when charge_date is null then period_key else concat(period_key, '|', charge_date) end as unit_key,
    change,
    billing_period_text
from units
