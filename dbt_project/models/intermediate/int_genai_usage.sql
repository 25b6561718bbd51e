{#- GenAI usage of both providers, billable counts only, summed per day and pricing key. -#}
{%- set string = dbt.type_string() -%}
with openai_usage as (
    select * from {{ ref('stg_openai__usage') }}
),

anthropic_usage as (
    select * from {{ ref('stg_anthropic__usage') }}
),

unioned as (
    select
        provider, billing_account_id, charge_period_start_at, charge_period_end_at, sub_account_id, api_key_id,
        ai_model, ai_token_type, consumed_unit, service_tier, cast(null as {{ string }}) as context_window,
        quantity, load_id
    from openai_usage
    where ai_token_type is not null
    union all
    select
        provider, billing_account_id, charge_period_start_at, charge_period_end_at, sub_account_id, api_key_id,
        ai_model, ai_token_type, consumed_unit, service_tier, context_window,
        quantity, load_id
    from anthropic_usage
    where ai_token_type is not null
),

summed as (
    select
        provider, billing_account_id, charge_period_start_at, charge_period_end_at, sub_account_id, api_key_id,
        ai_model, ai_token_type, consumed_unit, service_tier, context_window,
        sum(quantity) as quantity,
        max(load_id) as load_id
    from unioned
    group by
        provider, billing_account_id, charge_period_start_at, charge_period_end_at, sub_account_id, api_key_id,
        ai_model, ai_token_type, consumed_unit, service_tier, context_window
)

select * from summed
