{%- set string = dbt.type_string() -%}
{%- set price = unit_price_type() -%}
{%- set bedrock_codes = "'AmazonBedrock', 'AmazonBedrockService', 'AmazonBedrockFoundationModels', 'AmazonBedrockAgentCore'" -%}
with source as (
    {{ pinned_source('aws', 'aws_focus_export', [
        ['availability_zone', string], ['billed_cost', string], ['billing_account_id', string],
        ['billing_account_name', string], ['billing_account_type', string], ['billing_currency', string],
        ['billing_period_end', string], ['billing_period_start', string], ['capacity_reservation_id', string],
        ['capacity_reservation_status', string], ['charge_category', string], ['charge_class', string],
        ['charge_description', string], ['charge_frequency', string], ['charge_period_end', string],
        ['charge_period_start', string], ['commitment_discount_category', string], ['commitment_discount_id', string],
        ['commitment_discount_name', string], ['commitment_discount_quantity', string],
        ['commitment_discount_status', string], ['commitment_discount_type', string],
        ['commitment_discount_unit', string], ['consumed_quantity', string], ['consumed_unit', string],
        ['contracted_cost', string], ['contracted_unit_price', string], ['effective_cost', string],
        ['invoice_id', string], ['invoice_issuer_name', string], ['list_cost', string], ['list_unit_price', string],
        ['pricing_category', string], ['pricing_quantity', string], ['pricing_unit', string],
        ['provider_name', string], ['publisher_name', string], ['service_provider_name', string],
        ['host_provider_name', string], ['region_id', string], ['region_name', string],
        ['resource_id', string], ['resource_name', string], ['resource_type', string], ['service_name', string],
        ['sku_id', string], ['sku_meter', string], ['sku_price_details', string], ['sku_price_id', string],
        ['sub_account_id', string], ['sub_account_name', string], ['sub_account_type', string], ['tags', string],
        ['x_discounts', string], ['x_operation', string], ['x_service_code', string], ['x_usage_type', string],
        ['billing_period', string], ['source_file', string], ['source_row', string], ['_dlt_load_id', string],
    ]) }}
),

renamed as (
    select
        *,
        {#- 1.2 → 1.3: the publisher (the seller; a marketplace vendor) becomes the service provider, the 1.2
            provider (AWS) the host. A 1.3 export's own columns win. -#}
        coalesce(service_provider_name, publisher_name, provider_name, 'AWS') as service_provider,
        coalesce(host_provider_name, provider_name, 'AWS') as host_provider,
        coalesce(x_usage_type, sku_meter) as usage_type,
        case when pricing_unit = '1K tokens' then '1000 Tokens' else {{ focus_unit('pricing_unit') }} end as focus_pricing_unit,
        case when consumed_unit = '1K tokens' then '1000 Tokens' else {{ focus_unit('consumed_unit') }} end as focus_consumed_unit,
        coalesce(commitment_discount_status = 'Unused', false) as is_unused,
        coalesce(
            x_service_code in ({{ bedrock_codes }}) or service_name like '%Bedrock Edition%',
            false
        ) as is_bedrock,
        {#- FOCUS 1.3: a SKU price comes with its quantity, unit and unit prices, or none of them does. -#}
        (
            sku_price_id is not null and pricing_quantity is not null and pricing_unit is not null
            and list_unit_price is not null and contracted_unit_price is not null
        ) as has_sku_price
    from source
),

final as (
    select
        {{ charge_id(['billing_account_id', 'billing_period', 'source_file', 'source_row']) }} as charge_id,
        'aws' as provider,
        'aws_focus_export' as source_system,
        case when is_bedrock and x_service_code not in ({{ bedrock_codes }}) then 'AmazonBedrock' else x_service_code end
            as service_code,
        billing_account_id,
        coalesce(billing_account_name, billing_account_id) as billing_account_name,
        coalesce(billing_account_type, 'Billing Account') as billing_account_type,
        sub_account_id,
        coalesce(sub_account_name, sub_account_id) as sub_account_name,
        case when sub_account_id is not null then coalesce(sub_account_type, 'Linked Account') end as sub_account_type,
        invoice_id,
        coalesce(invoice_issuer_name, 'AWS') as invoice_issuer_name,
        service_provider as service_provider_name,
        host_provider as host_provider_name,
        service_name,
        charge_category,
        charge_class,
        {#- FOCUS: a purchase is never usage-based. -#}
        case when charge_category = 'Purchase' and charge_frequency = 'Usage-Based' then 'One-Time' else charge_frequency end
            as charge_frequency,
        charge_description,
        case when has_sku_price and charge_category <> 'Tax' then pricing_category end as pricing_category,
        case when has_sku_price then sku_id end as sku_id,
        case when has_sku_price then sku_price_id end as sku_price_id,
        case when has_sku_price then sku_meter end as sku_meter,
        case when has_sku_price then sku_price_details end as sku_price_details,
        case when has_sku_price then focus_pricing_unit end as pricing_unit,
        case when has_sku_price and consumed_quantity is not null and not is_unused then focus_consumed_unit end
            as consumed_unit,
        region_id,
        region_name,
        availability_zone,
        resource_id,
        resource_name,
        resource_type,
        tags,
        upper(billing_currency) as billing_currency,
        usage_type,
        x_operation as operation,
        cast(null as {{ string }}) as line_item_type,
        commitment_discount_id,
        case when commitment_discount_id is not null then commitment_discount_name end as commitment_discount_name,
        case when commitment_discount_id is not null then commitment_discount_category end
            as commitment_discount_category,
        case when commitment_discount_id is not null then commitment_discount_type end as commitment_discount_type,
        case when commitment_discount_id is not null then commitment_discount_status end as commitment_discount_status,
        case when commitment_discount_id is not null and has_sku_price then cast(commitment_discount_quantity as {{ price }}) end
            as commitment_discount_quantity,
        case when commitment_discount_id is not null and has_sku_price then commitment_discount_unit end
            as commitment_discount_unit,
        {{ to_money('billed_cost') }} as billed_cost,
        {{ to_money('effective_cost') }} as effective_cost,
        {{ to_money('list_cost') }} as list_cost,
        {{ to_money('contracted_cost') }} as contracted_cost,
        case when has_sku_price then cast(list_unit_price as {{ price }}) end as list_unit_price,
        case when has_sku_price then cast(contracted_unit_price as {{ price }}) end as contracted_unit_price,
        case when has_sku_price then cast(pricing_quantity as {{ price }}) end as pricing_quantity,
        case when has_sku_price and consumed_unit is not null and not is_unused then cast(consumed_quantity as {{ price }}) end
            as consumed_quantity,
        {{ to_utc_timestamp('billing_period_start') }} as billing_period_start_at,
        {{ to_utc_timestamp('billing_period_end') }} as billing_period_end_at,
        {{ to_utc_timestamp('charge_period_start') }} as charge_period_start_at,
        {{ to_utc_timestamp('charge_period_end') }} as charge_period_end_at,
        _dlt_load_id as load_id,
        case
            when not is_bedrock then null
            when service_name like '%Bedrock Edition%' then trim(replace(service_name, '(Amazon Bedrock Edition)', ''))
            else {{ regexp_group('usage_type',
                '^[A-Za-z0-9]+-(.+?)-(?:[Bb]atch-|[Ff]lex-|[Pp]riority-)?(?:[Cc]ache-?[A-Za-z]+-)?(?:[Ii]nput|[Oo]utput)') }}
        end as ai_model,
        case
            when not is_bedrock then null
            when lower(usage_type) like '%cache%read%' then 'cached_input'
            when lower(usage_type) like '%cache%write%' then 'cache_write'
            when lower(usage_type) like '%input%' then 'input'
            when lower(usage_type) like '%output%' then 'output'
        end as ai_token_type,
        cast(null as {{ string }}) as ai_project_id,
        cast(null as {{ string }}) as ai_api_key_id,
        {{ key_value_json([
            ['x_Discounts', 'x_discounts'], ['x_CapacityReservationId', 'capacity_reservation_id'],
            ['x_CapacityReservationStatus', 'capacity_reservation_status'], ['x_FocusVersion', "'1.2'"],
        ]) }} as provider_details
    from renamed
)

select * from final
