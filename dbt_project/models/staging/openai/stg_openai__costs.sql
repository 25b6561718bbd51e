{%- set string = dbt.type_string() -%}
with source as (
    {{ pinned_source('openai', 'openai_costs', [
        ['cost_result_id', string], ['organization_id', string],
        ['bucket_start_time', dbt.type_bigint()], ['bucket_end_time', dbt.type_bigint()],
        ['project_id', string], ['line_item', string], ['api_key_id', string],
        ['amount_value', string], ['amount_currency', string], ['quantity', string], ['quantity_unit', string],
        ['_dlt_load_id', string],
    ]) }}
),

renamed as (
    select
        _dlt_load_id as load_id,
        cost_result_id,
        organization_id as billing_account_id,
        project_id as sub_account_id,
        api_key_id,
        {#- Results are grouped by line item ("gpt-4o, input"); an ungrouped result is the day's whole API cost. -#}
        coalesce(line_item, 'OpenAI API usage') as sku_id,
        {#- "gpt-4o-2024-08-06, input" → model and token type; model names hold no comma. -#}
        case when strpos(line_item, ', ') > 0 then substr(line_item, 1, strpos(line_item, ', ') - 1) end as ai_model,
        case when strpos(line_item, ', ') > 0 then lower(trim(substr(line_item, strpos(line_item, ', ') + 2))) end
            as line_item_kind,
        upper(amount_currency) as billing_currency,
        case quantity_unit
            when 'tokens' then 'Tokens'
            when '1000_tokens' then '1000 Tokens'
            when 'duration_seconds' then 'Seconds'
            when 'duration_minutes' then 'Minutes'
            when 'duration_hours' then 'Hours'
            when 'gibibyte_hours' then 'GiB-Hours'
            when 'images' then 'Images'
            when 'characters' then 'Characters'
        end as quantity_unit,
        {{ to_money('amount_value') }} as amount,
        cast(quantity as {{ unit_price_type() }}) as quantity,
        {{ from_unix_seconds('bucket_start_time') }} as charge_period_start_at,
        {{ from_unix_seconds('bucket_end_time') }} as charge_period_end_at
    from source
),

priced as (
    select
        *,
        {#- The API gives money and quantity per line item but no price; the unit price is derived from both. A
            result without a quantity is priced as one unit of a day bucket. -#}
        case when quantity is not null and quantity <> 0 then quantity else 1 end as pricing_quantity,
        case when quantity is not null and quantity <> 0 then quantity_unit else 'Days' end as pricing_unit
    from renamed
),

final as (
    select
        {{ charge_id(['billing_account_id', 'cost_result_id']) }} as charge_id,
        'openai' as provider,
        'openai_costs' as source_system,
        'openai_api' as service_code,
        billing_account_id,
        {#- The Costs API returns ids only: the id is the display name. -#}
        billing_account_id as billing_account_name,
        'Organization' as billing_account_type,
        sub_account_id,
        sub_account_id as sub_account_name,
        case when sub_account_id is not null then 'Project' end as sub_account_type,
        cast(null as {{ dbt.type_string() }}) as invoice_id,
        'OpenAI' as invoice_issuer_name,
        'OpenAI' as service_provider_name,
        'OpenAI' as host_provider_name,
        'OpenAI API' as service_name,
        'Usage' as charge_category,
        cast(null as {{ dbt.type_string() }}) as charge_class,
        'Usage-Based' as charge_frequency,
        sku_id as charge_description,
        'Standard' as pricing_category,
        sku_id,
        sku_id as sku_price_id,
        sku_id as sku_meter,
        cast(null as {{ dbt.type_string() }}) as sku_price_details,
        pricing_unit,
        pricing_unit as consumed_unit,
        cast(null as {{ dbt.type_string() }}) as region_id,
        cast(null as {{ dbt.type_string() }}) as region_name,
        cast(null as {{ dbt.type_string() }}) as availability_zone,
        api_key_id as resource_id,
        cast(null as {{ dbt.type_string() }}) as resource_name,
        case when api_key_id is not null then 'API Key' end as resource_type,
        cast(null as {{ dbt.type_string() }}) as tags,
        billing_currency,
        cast(null as {{ dbt.type_string() }}) as usage_type,
        cast(null as {{ dbt.type_string() }}) as operation,
        cast(null as {{ dbt.type_string() }}) as line_item_type,
        {#- Commitment discounts (RI and Savings Plans amortisation) are not in this source's rows yet. -#}
        cast(null as {{ dbt.type_string() }}) as commitment_discount_id,
        cast(null as {{ dbt.type_string() }}) as commitment_discount_name,
        cast(null as {{ dbt.type_string() }}) as commitment_discount_category,
        cast(null as {{ dbt.type_string() }}) as commitment_discount_type,
        cast(null as {{ dbt.type_string() }}) as commitment_discount_status,
        cast(null as {{ unit_price_type() }}) as commitment_discount_quantity,
        cast(null as {{ dbt.type_string() }}) as commitment_discount_unit,
        amount as billed_cost,
        amount as effective_cost,
        {{ money_product('unit_price', 'pricing_quantity') }} as list_cost,
        {{ money_product('unit_price', 'pricing_quantity') }} as contracted_cost,
        unit_price as list_unit_price,
        unit_price as contracted_unit_price,
        pricing_quantity,
        pricing_quantity as consumed_quantity,
        {{ month_start('charge_period_start_at') }} as billing_period_start_at,
        {{ add_months(month_start('charge_period_start_at'), 1) }} as billing_period_end_at,
        charge_period_start_at,
        charge_period_end_at,
        load_id,
        ai_model,
        {#- The token types of the price seed (seeds/genai/genai_prices.csv); another kind is kept as written. -#}
        case
            when line_item_kind in ('input', 'uncached input') then 'input'
            when line_item_kind = 'output' then 'output'
            when line_item_kind in ('cached input', 'input (cached)', 'cached_input') then 'cached_input'
            when line_item_kind in ('batch input', 'input (batch)', 'batch_input') then 'batch_input'
            when line_item_kind in ('batch output', 'output (batch)', 'batch_output') then 'batch_output'
            else replace(line_item_kind, ' ', '_')
        end as ai_token_type,
        sub_account_id as ai_project_id,
        api_key_id as ai_api_key_id,
        cast(null as {{ dbt.type_string() }}) as provider_details
    from (
        select *, cast(amount / pricing_quantity as {{ unit_price_type() }}) as unit_price
        from priced
    ) as with_unit_price
)

select * from final
