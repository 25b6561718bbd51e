{#- One row per payer account and billing period of the raw CUR that reaches stg_aws__cost_line_items (periods that
    AWS's own FOCUS export supersedes left out, as there): its newest load id and its raw billing period text.
    int_focus_changed_periods reads this instead of grouping the staging rows: the raw table's bare columns are
    grouped before any staging logic (at 10M rows 0.08 s instead of 0.5 s, BENCHMARKS.md), and only the few groups
    are typed. Ephemeral: it runs inside the model that reads it. -#}
{{ config(materialized='ephemeral') }}
{%- set string = dbt.type_string() -%}
with periods as (
    select
        bill_payer_account_id as billing_account_id,
        bill_billing_period_start_date as billing_period_text,
        max(_dlt_load_id) as load_id
    from ({{ pinned_source('aws', 'aws_cur_line_items', [
        ['bill_payer_account_id', string], ['bill_billing_period_start_date', string], ['_dlt_load_id', string],
    ]) }}) as source
    group by 1, 2
),

focus_periods as (
    {{ aws_focus_export_periods() }}
)

select
    'aws' as provider,
    periods.billing_account_id,
    {{ to_utc_timestamp('periods.billing_period_text') }} as billing_period_start_at,
    periods.billing_period_text,
    periods.load_id
from periods
left join focus_periods
    on periods.billing_account_id = focus_periods.billing_account_id
    and {{ to_utc_timestamp('periods.billing_period_text') }} = {{ to_utc_timestamp('focus_periods.billing_period_start') }}
where focus_periods.billing_account_id is null
