{%- set string = dbt.type_string() -%}
with source as (
    {{ pinned_source('anthropic', 'anthropic_cost_report', [
        ['cost_result_id', string], ['organization_id', string],
        ['bucket_start_time', dbt.type_bigint()], ['bucket_end_time', dbt.type_bigint()],
        ['workspace_id', string], ['description', string], ['cost_type', string], ['model', string],
        ['service_tier', string], ['context_window', string], ['token_type', string], ['inference_geo', string],
        ['currency', string], ['amount_cents', string], ['amount_value', string],
        ['_dlt_load_id', string],
    ]) }}
),

renamed as (
    select
        cost_result_id,
        'anthropic' as provider,
        organization_id as billing_account_id,
        workspace_id as sub_account_id,
        description,
        cost_type,
        model as ai_model,
        service_tier,
        context_window,
        inference_geo,
        token_type as anthropic_token_type,
        {{ anthropic_token_type('token_type', 'cost_type', 'service_tier') }} as ai_token_type,
        case when cost_type = 'web_search' then 'Requests' else 'Tokens' end as consumed_unit,
        upper(currency) as billing_currency,
        {{ to_money('amount_value') }} as amount,
        amount_cents,
        {{ from_unix_seconds('bucket_start_time') }} as charge_period_start_at,
        {{ from_unix_seconds('bucket_end_time') }} as charge_period_end_at,
        _dlt_load_id as load_id
    from source
)

select * from renamed
