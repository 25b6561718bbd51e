{#- The billing periods whose raw delivery differs from what cost_data_standard_1_3 holds: one row per period key
    (provider | billing account | billing period start). int_focus_changed_units then lists what the next build
    replaces: a new or vanished period whole, a re-delivered one whole or only its changed days.
    A period differs when its newest load id or its row count changed (a provider re-delivered it), when it is new, or
    when it vanished from the raw data (e.g. a SaaS subscription removed) so that its old rows must go.
    Sources with a raw period summary (raw_summaries: the AWS CUR, stg_aws__cost_line_item_periods) are compared by
    newest load id and presence only, from their raw table's bare columns: grouping their staging rows costs several
    times the scan (every line through the staging logic), and their raw lines do not map one to one to FOCUS rows,
    so their rows are left out of the row counts on both sides. A re-delivery always brings a new load id; a raw
    line deleted by hand, outside a load, is seen at the next delivery of its period or a --full-refresh. When the FOCUS
    table does not exist yet, was built by another version of the project (focus_fingerprint), predates x_LoadId, or
    under --full-refresh, every period is listed, as new. Materialised as a small table; billing_period_start (UTC ISO
    text) lets the next models filter on the bare billing period column, which the warehouse pushes down to the raw
    scans (a filter on the key text is applied only at the end), and billing_period_text (the raw column's value as
    delivered, for sources that expose it) lets DuckDB skip the other periods' row groups of the raw table. -#}
{{ config(materialized='table', tags=['focus']) }}
{#- source_system -> the model summarising that source's raw periods (provider, billing_account_id,
    billing_period_start_at, billing_period_text, load_id). -#}
{%- set raw_summaries = {'aws_cur': ref('stg_aws__cost_line_item_periods')} -%}
{%- set summarised = text_literals(raw_summaries.keys() | list) -%}
{%- set target_relation = none -%}
{%- set current_state = true -%}
{%- if execute and not is_offline_compile() -%}
    {%- set target_relation = adapter.get_relation(database=this.database, schema=this.schema, identifier='cost_data_standard_1_3') -%}
    {%- set state_relation = adapter.get_relation(database=this.database, schema=this.schema, identifier='focus_build_state') -%}
    {%- if target_relation is not none -%}
        {%- set target_columns = adapter.get_columns_in_relation(target_relation) | map(attribute='name') | map('lower') | list -%}
        {%- if flags.FULL_REFRESH or 'x_loadid' not in target_columns or state_relation is none -%}
            {%- set current_state = false -%}
        {%- else -%}
            {%- set stored = run_query('select fingerprint from ' ~ state_relation) -%}
            {%- set current_state = stored.rows | length == 1 and stored.rows[0][0] == var('focus_fingerprint', '') -%}
        {%- endif -%}
    {%- endif -%}
{%- endif %}

{#- Grouped by the bare columns first and keyed after: building the key text of every row costs more than the scan. #}
with source_periods as (
    select
        {{ period_key('provider', 'billing_account_id', 'billing_period_start_at') }} as period_key,
        min(billing_period_start_at) as billing_period_start_at,
        max(load_id) as load_id,
        coalesce(sum(row_count), 0) as row_count,
        min(min_text) as min_text,
        max(max_text) as max_text
    from (
        select
            provider, billing_account_id, billing_period_start_at,
            max(load_id) as load_id, count(*) as row_count,
            min(billing_period_text) as min_text, max(billing_period_text) as max_text
        from {{ ref('int_charges_unioned') }}
        {#- The warehouse drops the summarised sources' branches of the union here: their source_system is a constant. #}
        where coalesce(source_system, '') not in ({{ summarised }})
        group by 1, 2, 3
        {%- for summary in raw_summaries.values() %}

        union all

        select
            provider, billing_account_id, billing_period_start_at,
            load_id, cast(null as {{ dbt.type_bigint() }}) as row_count,
            billing_period_text as min_text, billing_period_text as max_text
        from {{ summary }}
        {%- endfor %}
    ) as grouped
    group by 1
),

{%- if target_relation is not none and current_state %}

target_periods as (
    select
        {{ period_key('x_Provider', 'BillingAccountId', 'BillingPeriodStart') }} as period_key,
        min(BillingPeriodStart) as billing_period_start_at,
        max(load_id) as load_id,
        sum(row_count) as row_count
    from (
        select
            x_Provider, BillingAccountId, BillingPeriodStart, max(x_LoadId) as load_id,
            count(case when coalesce(x_SourceSystem, '') not in ({{ summarised }}) then 1 end)
                as row_count
        from {{ target_relation }}
        group by 1, 2, 3
    ) as grouped
    group by 1
),

{%- else %}

target_periods as (
    select
        cast(null as {{ dbt.type_string() }}) as period_key,
        billing_period_start_at,
        cast(null as {{ dbt.type_string() }}) as load_id,
        cast(null as {{ dbt.type_bigint() }}) as row_count
    from source_periods
    where 1 = 0
),

{%- endif %}

changed as (
    select
        coalesce(source_periods.period_key, target_periods.period_key) as period_key,
        {{ timestamp_text('coalesce(source_periods.billing_period_start_at, target_periods.billing_period_start_at)') }}
            as billing_period_start,
        case
            when target_periods.period_key is null then 'new'
            when source_periods.period_key is null then 'vanished'
            else 'redelivered'
        end as change,
        {#- The raw billing period column's one value in the period, when it has one (see union_charges). -#}
        case when source_periods.min_text = source_periods.max_text then source_periods.min_text end
            as billing_period_text
    from source_periods
    full outer join target_periods
        on source_periods.period_key = target_periods.period_key
    where source_periods.period_key is null
        or target_periods.period_key is null
        or source_periods.load_id != target_periods.load_id
        or source_periods.row_count != target_periods.row_count
)

select period_key, billing_period_start, change, billing_period_text from changed
