{%- set string = dbt.type_string() -%}
with source as (
    {{ pinned_source('anthropic', 'anthropic_usage_report', [
        ['usage_id', string], ['organization_id', string],
        ['bucket_start_time', dbt.type_bigint()], ['bucket_end_time', dbt.type_bigint()],
        ['api_key_id', string], ['workspace_id', string], ['model', string], ['service_tier', string],
        ['context_window', string], ['metric', string], ['quantity', dbt.type_bigint()],
        ['_dlt_load_id', string],
    ]) }}
),

renamed as (
    select
        usage_id,
        'anthropic' as provider,
        organization_id as billing_account_id,
        workspace_id as sub_account_id,
        api_key_id,
        model as ai_model,
        service_tier,
        context_window,
        metric,
        {#- The usage report names counts like the cost report's token_type ("cache_creation." in a nested path). -#}
        {{ anthropic_token_type('metric', "case when metric like 'server_tool_use.web_search%' then 'web_search' end", 'service_tier') }}
            as ai_token_type,
        case when metric like 'server_tool_use.%' then 'Requests' else 'Tokens' end as consumed_unit,
        cast(quantity as {{ unit_price_type() }}) as quantity,
        {{ from_unix_seconds('bucket_start_time') }} as charge_period_start_at,
        {{ from_unix_seconds('bucket_end_time') }} as charge_period_end_at,
        _dlt_load_id as load_id
    from source
)

select * from renamed
